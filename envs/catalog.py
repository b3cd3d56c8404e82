"""The catalog: short, case-insensitive names for the built-in worlds, and env-id resolution."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from core.errors import PlaygroundError
from core.registry import Registry, did_you_mean
from envs.atari import is_atari, register_atari
from envs.games import bricks, cue_corridor, pong, snake
from envs.minatar import GAMES as MINATAR_GAMES


@dataclass(frozen=True)
class CatalogEntry:
    """One built-in world.

    Args:
        name: The short name users type (`CartPole`).
        env_id: The Gymnasium id it stands for (`CartPole-v1`).
        kind: A family name used to pick defaults (`classic`, `box2d`, ...).
        needs_module: A module that must be importable for the env to work, with its install hint.
        action_labels: Names of the discrete actions, for the heads-up display.
        agent: The agent `--agent` defaults to here: the one that reaches the world's published score fastest
            (README, "Every world"), or the one with memory where the world hides what it needs.
    """

    name: str
    env_id: str
    kind: str = "classic"
    needs_module: tuple[str, str] | None = None
    action_labels: tuple[str, ...] = ()
    agent: str = "ppo"

    def missing_requirement(self) -> str | None:
        """A hint naming what to install, or None when the env can be made."""
        if self.needs_module and importlib.util.find_spec(self.needs_module[0]) is None:
            return self.needs_module[1]
        return None


BOX2D = ("Box2D", "pip install box2d")
ATARI = ("ale_py", "pip install ale-py opencv-python-headless")
MINATAR = ("minatar", "pip install minatar")

CATALOG: Registry[CatalogEntry] = Registry("environment")
for _entry in (
    CatalogEntry("CartPole", "CartPole-v1", action_labels=("left", "right")),
    CatalogEntry("Acrobot", "Acrobot-v1", action_labels=("torque -1", "none", "torque +1")),
    # ppo, not dqn: Zoo's ppo settings confirmed Zoo's ppo score (-110.4) on 8 of the tuning seeds 0-9 in about a
    # minute each; dqn's preset reached Zoo's dqn score (-100.8) on none of the report seeds 100-104 (README).
    CatalogEntry("MountainCar", "MountainCar-v0", action_labels=("left", "none", "right")),
    CatalogEntry("MountainCarContinuous", "MountainCarContinuous-v0", agent="sac"),
    CatalogEntry("Pendulum", "Pendulum-v1", agent="sac"),
    CatalogEntry("LunarLander", "LunarLander-v3", kind="box2d", needs_module=BOX2D,
                 action_labels=("none", "left eng", "main eng", "right eng")),
    # ppo, not sac: about 2 min to a 260-270 lander on 2 CPU cores; sac's 400x300 (12 ms a step) would take 1.7 h.
    CatalogEntry("LunarLanderContinuous", "LunarLanderContinuous-v3", kind="box2d", needs_module=BOX2D),
    # Our own games (envs/games); the *Pixels names observe 64x64x3 images instead of feature vectors.
    # Snake-v1 sees the whole board (Snake-v0, the 11 nearby features only, stays registered for its runs).
    CatalogEntry("Snake", "playground/Snake-v1", kind="game", action_labels=snake.ACTION_LABELS),
    CatalogEntry("SnakePixels", "playground/SnakePixels-v0", kind="game", action_labels=snake.ACTION_LABELS),
    CatalogEntry("Pong", "playground/Pong-v0", kind="game", action_labels=pong.ACTION_LABELS),
    CatalogEntry("PongPixels", "playground/PongPixels-v0", kind="game", action_labels=pong.ACTION_LABELS),
    CatalogEntry("Bricks", "playground/Bricks-v0", kind="game", action_labels=bricks.ACTION_LABELS),
    CatalogEntry("BricksPixels", "playground/BricksPixels-v0", kind="game", action_labels=bricks.ACTION_LABELS),
    # Partially observable worlds, for agents with memory (ppo-lstm). *NoVel: velocities hidden (envs/masking.py).
    CatalogEntry("CartPoleNoVel", "playground/CartPoleNoVel-v1", kind="masked", action_labels=("left", "right"),
                 agent="ppo-lstm"),
    CatalogEntry("PendulumNoVel", "playground/PendulumNoVel-v1", kind="masked", agent="ppo-lstm"),
    CatalogEntry("LunarLanderNoVel", "playground/LunarLanderNoVel-v3", kind="masked", needs_module=BOX2D,
                 action_labels=("none", "left eng", "main eng", "right eng"), agent="ppo-lstm"),
    CatalogEntry("CueCorridor", "playground/CueCorridor-v0", kind="game", action_labels=cue_corridor.ACTION_LABELS,
                 agent="ppo-lstm"),
    CatalogEntry("CueCorridorPixels", "playground/CueCorridorPixels-v0", kind="game",
                 action_labels=cue_corridor.ACTION_LABELS),
    # Seen only through pixels (envs/pixels.py): frames shrunk to 80x120 grayscale, a stack of 4.
    CatalogEntry("CartPolePixels", "playground/CartPolePixels-v1", kind="pixels", action_labels=("left", "right")),
    # MinAtar (envs/minatar.py): 10x10 grids with one channel per kind of object.
    *(CatalogEntry(f"{game}-MinAtar", f"playground/{game}-MinAtar-v0", kind="minatar", needs_module=MINATAR,
                   action_labels=labels) for game, (_, labels) in MINATAR_GAMES.items()),
    # Atari through ale-py (envs/atari.py), with the standard preprocessing; any other ALE/<Game>-v5 id works too.
    CatalogEntry("Breakout", "ALE/Breakout-v5", kind="atari", needs_module=ATARI,
                 action_labels=("none", "fire", "right", "left")),
    CatalogEntry("AtariPong", "ALE/Pong-v5", kind="atari", needs_module=ATARI,
                 action_labels=("none", "fire", "right", "left", "right fire", "left fire")),
    CatalogEntry("SpaceInvaders", "ALE/SpaceInvaders-v5", kind="atari", needs_module=ATARI,
                 action_labels=("none", "fire", "right", "left", "right fire", "left fire")),
    CatalogEntry("Seaquest", "ALE/Seaquest-v5", kind="atari", needs_module=ATARI),
):
    CATALOG.register(_entry.name, _entry)


def observed_env(name: str | None, observation: str | None, perception: str | None) -> str | None:
    """The env name to train on: a game's (or CartPole's) pixel variant when pixels are asked for.

    Args:
        name: The `--env` value (None: CartPole).
        observation: `--obs`: "vector", "pixels" or None (the default: pixels only with a perception network).
        perception: `--perception`, which asks for pixels when `--obs` is not given.

    Raises:
        PlaygroundError: Pixels asked of an env that has no pixel variant.
    """
    wants_pixels = observation == "pixels" or (perception and observation is None)
    if not wants_pixels:
        return name
    # --obs pixels needs a catalog world (unknown names get the did-you-mean error); --perception alone does not.
    entry = CATALOG.get(name or "CartPole") if observation == "pixels" else CATALOG.find(name or "CartPole")
    pixels = CATALOG.find(f"{entry.name}Pixels") if entry is not None else None
    if pixels is not None:
        return pixels.name
    if observation != "pixels":  # --perception on a world that observes images already, or any other id: as given
        return name
    games = [game for game, _ in CATALOG.items() if CATALOG.find(f"{game}Pixels")]
    raise PlaygroundError(f"--obs pixels: {entry.name} has no pixel variant. Games that have one: {', '.join(games)}.")


def catalog_entry_for_id(env_id: str) -> CatalogEntry | None:
    """The catalog entry whose Gymnasium id is `env_id`, if any."""
    return next((entry for _, entry in CATALOG.items() if entry.env_id == env_id), None)


def default_agent(env_id: str) -> str:
    """The agent `--agent` means when it is left out: the catalog world's own, else ppo (it fits every space)."""
    entry = catalog_entry_for_id(env_id)
    return entry.agent if entry is not None else "ppo"


def env_kind(env_id: str) -> str:
    """The family of an env (`atari`, `minatar`, `game`, ...), for defaults such as the perception network."""
    entry = catalog_entry_for_id(env_id)
    if entry is not None:
        return entry.kind
    return "atari" if is_atari(env_id) else "other"


def resolve_env_id(name: str) -> str:
    """Turn a short name or any registered Gymnasium id into a Gymnasium id that can be made.

    Args:
        name: `CartPole`, `cartpole`, `CartPole-v1`, `ALE/Pong-v5`, ...

    Returns:
        The Gymnasium id.

    Raises:
        PlaygroundError: For an unknown name (with a suggestion) or a missing optional install.
    """
    import gymnasium as gym

    if ":" in name:  # "package.module:EnvId-v0": import the module that registers the env
        module, _, name = name.partition(":")
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise PlaygroundError(f"--env {module}:{name}: cannot import {module} ({error}).") from None
    entry = CATALOG.find(name)
    if entry is None and is_atari(name):
        register_atari()  # the ALE/ ids exist once ale-py is imported
    if entry is None:
        registered = {env_id.lower(): env_id for env_id in gym.envs.registry}
        env_id = registered.get(name.lower())
        if env_id is None:
            known = [*CATALOG.names(), *gym.envs.registry]
            raise PlaygroundError(
                f"unknown environment {name!r}.{did_you_mean(name, known)} "
                "Run `python play.py --env list` to see the catalog, or pass any registered Gymnasium id."
            )
        entry = catalog_entry_for_id(env_id)
        if entry is None:
            return env_id
    hint = entry.missing_requirement()
    if hint:
        raise PlaygroundError(f"{entry.name} needs {entry.needs_module[0]}, which is not installed: run `{hint}`.")
    return entry.env_id
