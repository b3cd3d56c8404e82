"""Our own pygame games, registered as Gymnasium envs under the `playground/` namespace.

Each game comes twice: `playground/<Game>-v0` observes compact feature vectors, `playground/<Game>Pixels-v0`
the 64x64x3 uint8 image drawn by the same routine as its frames. Either id takes `obs_mode=` to switch.
Batched games (envs/games/batch.py) also register a `vector_entry_point`: `gymnasium.make_vec(id, num_envs=N)`
steps N games at once with NumPy. Importing this package registers the ids; pygame itself is only imported when
something is drawn.
"""

from __future__ import annotations

import gymnasium as gym

# (name, module, env class, step limit, batched: whether the module has a `vector_env` for many games at once)
GAMES = (
    ("Snake", "envs.games.snake", "SnakeEnv", 1000, True),
    ("Pong", "envs.games.pong", "PongEnv", 2000, True),
    ("Bricks", "envs.games.bricks", "BricksEnv", 2000, True),
    ("CueCorridor", "envs.games.cue_corridor", "CueCorridorEnv", 40, False),
)


def game_ids() -> list[str]:
    """Every id registered here, vector and pixel variants."""
    return [f"playground/{name}{suffix}-v0" for name, *_ in GAMES for suffix in ("", "Pixels")]


def batched_game_ids() -> list[str]:
    """The ids whose games also step in batches (`gymnasium.make_vec`)."""
    return [f"playground/{name}{suffix}-v0" for name, *_, batched in GAMES if batched for suffix in ("", "Pixels")]


def register_games() -> None:
    """Register the vector and pixel variant of every game (once)."""
    for name, module, env_class, steps, batched in GAMES:
        for suffix, obs_mode in (("", "vector"), ("Pixels", "pixels")):
            env_id = f"playground/{name}{suffix}-v0"
            if env_id not in gym.envs.registry:
                gym.register(env_id, entry_point=f"{module}:{env_class}", max_episode_steps=steps,
                             vector_entry_point=f"{module}:vector_env" if batched else None,
                             kwargs={"obs_mode": obs_mode})


register_games()
