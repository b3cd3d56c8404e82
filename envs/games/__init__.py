"""Our own pygame games, registered as Gymnasium envs under the `playground/` namespace.

Each game comes twice: `playground/<Game>-v0` observes compact feature vectors, `playground/<Game>Pixels-v0`
the 64x64x3 uint8 image drawn by the same routine as its frames. Either id takes `obs_mode=` to switch.
`playground/Snake-v1` adds the whole board to Snake's features.
Batched games (envs/games/batch.py) also register a `vector_entry_point`: `gymnasium.make_vec(id, num_envs=N)`
steps N games at once with NumPy. Importing this package registers the ids; pygame itself is only imported when
something is drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym

# (name, module, env class, step limit, batched: whether the module has a `vector_env` for many games at once,
#  players: 2 for games whose batch is `TwoPlayerGames`, with an opponent and a league)
GAMES = (
    ("Snake", "envs.games.snake", "SnakeEnv", 1000, True, 1),
    ("Pong", "envs.games.pong", "PongEnv", 2000, True, 2),
    ("Bricks", "envs.games.bricks", "BricksEnv", 2000, True, 1),
    ("CueCorridor", "envs.games.cue_corridor", "CueCorridorEnv", 40, False, 1),
)
# Later versions of a game's vector variant, (name, version, env kwargs): Snake-v1 also sees the whole board.
LATER_VERSIONS = (("Snake", "v1", {"board": True}),)


def _variants() -> Iterator[tuple[str, tuple, dict[str, Any]]]:
    """(id, its row of GAMES, its env kwargs) for every id registered here."""
    for game in GAMES:
        name = game[0]
        yield f"playground/{name}-v0", game, {"obs_mode": "vector"}
        yield f"playground/{name}Pixels-v0", game, {"obs_mode": "pixels"}
        for later, version, kwargs in LATER_VERSIONS:
            if later == name:
                yield f"playground/{name}-{version}", game, {"obs_mode": "vector", **kwargs}


def game_ids() -> list[str]:
    """Every id registered here, vector and pixel variants."""
    return [env_id for env_id, _, _ in _variants()]


def batched_game_ids() -> list[str]:
    """The ids whose games also step in batches (`gymnasium.make_vec`)."""
    return [env_id for env_id, game, _ in _variants() if game[4]]


def two_player_game(env_id: str) -> str | None:
    """The name of the two-player game `env_id` is a variant of (Pong), or None."""
    return next((game[0] for variant, game, _ in _variants() if variant == env_id and game[5] == 2), None)


def game_variants(name: str) -> list[tuple[str, str]]:
    """(id, observation mode) of every registered variant of the game `name`."""
    return [(env_id, kwargs["obs_mode"]) for env_id, game, kwargs in _variants() if game[0] == name]


def register_games() -> None:
    """Register every variant of every game (once)."""
    for env_id, (_, module, env_class, steps, batched, _), kwargs in _variants():
        if env_id not in gym.envs.registry:
            gym.register(env_id, entry_point=f"{module}:{env_class}", max_episode_steps=steps,
                         vector_entry_point=f"{module}:vector_env" if batched else None, kwargs=kwargs)


register_games()
