"""MinAtar (Young & Tian 2019) as Gymnasium envs, drawn by this project in pygame.

The `minatar` package runs the games; its own renderer needs matplotlib, so the frames come from our
canvas instead. Observations are `(channels, 10, 10)` uint8 grids of 0/1, one channel per kind of object
(ball, paddle, bricks, ...), channels first as PyTorch convolutions want them. Actions are each game's
minimal action set. Ids: `playground/Breakout-MinAtar-v0`, ...; short names `Breakout-MinAtar`, ...
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.base import PygameGame
from envs.games.canvas import Painter

# short name -> (minatar module, action labels of the minimal action set)
GAMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Breakout": ("breakout", ("none", "left", "right")),
    "Asterix": ("asterix", ("none", "left", "up", "right", "down")),
    "Freeway": ("freeway", ("none", "up", "down")),
    "Seaquest": ("seaquest", ("none", "left", "up", "right", "down", "fire")),
    "SpaceInvaders": ("space_invaders", ("none", "left", "right", "fire")),
}
STEP_LIMIT = 10_000
INSTALL_HINT = "pip install minatar (or pip install -e '.[minatar]')"
# One colour per channel; cell colour = its highest-numbered channel set (as MinAtar's own display).
PALETTE = np.array([(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
                    (213, 94, 0), (204, 121, 167), (255, 255, 255), (150, 150, 150), (255, 80, 80)], np.uint8)


def minatar_id(game: str) -> str:
    """The Gymnasium id of a MinAtar game (`Breakout` -> `playground/Breakout-MinAtar-v0`)."""
    return f"playground/{game}-MinAtar-v0"


def _game_module(game: str) -> ModuleType:
    """minatar's module for one game, loaded from its file.

    `import minatar` runs the package's `__init__`, whose `Environment` imports matplotlib and seaborn for its
    own display (1-1.7 s here, before any frame could be drawn); the games themselves need only NumPy.
    """
    try:
        package = importlib.util.find_spec("minatar")  # locates the package without running its __init__
    except (ImportError, ValueError):  # ValueError: a module entry without a spec (blocked in sys.modules)
        package = None
    if package is None or not package.submodule_search_locations:
        raise PlaygroundError(f"MinAtar games need the minatar package: {INSTALL_HINT}.")
    name = f"_minatar_games.{game}"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(package.submodule_search_locations[0]) / "environments" / f"{game}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise PlaygroundError(f"this minatar package has no game {game!r}; reinstall it: {INSTALL_HINT}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class StickyGame:
    """One MinAtar game with sticky actions: the rules of `minatar.Environment`, without its display imports.

    Args:
        game: The minatar module name.
        sticky_action_prob: The chance that the previous action is repeated instead of the chosen one.
        difficulty_ramping: Whether the game speeds up as it goes (as in the paper).
    """

    def __init__(self, game: str, sticky_action_prob: float = 0.1, difficulty_ramping: bool = True) -> None:
        self.env = _game_module(game).Env(ramping=difficulty_ramping)
        self.random = np.random.RandomState()
        self.sticky_action_prob = sticky_action_prob
        self.last_action = 0

    def seed(self, seed: int) -> None:
        """Seed the sticky actions and the game from one RandomState, as minatar does."""
        self.random = np.random.RandomState(seed)
        self.env.random = self.random

    def reset(self) -> None:
        self.env.reset()

    def act(self, action: int) -> tuple[float, bool]:
        if self.random.rand() < self.sticky_action_prob:
            action = self.last_action
        self.last_action = action
        return self.env.act(action)

    def state(self) -> np.ndarray:
        return self.env.state()

    def state_shape(self) -> tuple[int, int, int]:
        return self.env.state_shape()

    def minimal_action_set(self) -> list[int]:
        return self.env.minimal_action_set()


class MinAtarEnv(PygameGame):
    """One MinAtar game with sticky actions (probability 0.1) and difficulty ramping, as in the paper.

    Args:
        game: The minatar module name (`breakout`, `space_invaders`, ...).
        render_mode: None, "human" or "rgb_array".
        obs_mode: "vector" for the (channels, 10, 10) grid, "pixels" for a 64x64x3 image of it.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 15}
    units = (10.0, 10.0)
    window_size = (400, 400)

    def __init__(self, game: str, render_mode: str | None = None, obs_mode: str = "vector") -> None:
        self.game = StickyGame(game, sticky_action_prob=0.1, difficulty_ramping=True)
        self.title = f"{game} (MinAtar)"
        self.actions = list(self.game.minimal_action_set())
        height, width, channels = self.game.state_shape()
        self.vector_space = gym.spaces.Box(0, 1, (channels, height, width), np.uint8)
        super().__init__(render_mode, obs_mode)
        self.action_space = gym.spaces.Discrete(len(self.actions))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.game.seed(int(self.np_random.integers(2**31)))  # MinAtar draws from its own RandomState
        self.game.reset()
        self._after_step()
        return self.observe(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward, terminated = self.game.act(self.actions[int(action)])
        self._after_step()
        return self.observe(), float(reward), bool(terminated), False, {}

    def vector_observation(self) -> np.ndarray:
        return np.ascontiguousarray(np.transpose(self.game.state(), (2, 0, 1)), dtype=np.uint8)

    def draw(self, painter: Painter) -> None:
        painter.fill((0, 0, 0))
        state = self.game.state()
        present = state.any(axis=2)
        top_channel = state.shape[2] - 1 - np.argmax(state[:, :, ::-1], axis=2)
        for row, column in zip(*np.nonzero(present)):
            color = PALETTE[top_channel[row, column] % len(PALETTE)]
            painter.tile(tuple(int(c) for c in color), float(column), float(row), 1.0, 1.0)


def register_minatar() -> None:
    """Register `playground/<Game>-MinAtar-v0` for every game (once); minatar is imported only when made."""
    for name, (module, _) in GAMES.items():
        env_id = minatar_id(name)
        if env_id not in gym.envs.registry:
            gym.register(env_id, entry_point="envs.minatar:MinAtarEnv", max_episode_steps=STEP_LIMIT,
                         kwargs={"game": module})
