"""Our own pygame games, registered as Gymnasium envs under the `playground/` namespace.

Each game comes twice: `playground/<Game>-v0` observes compact feature vectors, `playground/<Game>Pixels-v0`
the 64x64x3 uint8 image drawn by the same routine as its frames. Either id takes `obs_mode=` to switch.
Importing this package registers the ids; pygame itself is only imported when something is drawn.
"""

from __future__ import annotations

import gymnasium as gym

# (name, entry point, step limit)
GAMES = (
    ("Snake", "envs.games.snake:SnakeEnv", 1000),
    ("Pong", "envs.games.pong:PongEnv", 2000),
    ("Bricks", "envs.games.bricks:BricksEnv", 2000),
    ("CueCorridor", "envs.games.cue_corridor:CueCorridorEnv", 40),
)


def game_ids() -> list[str]:
    """Every id registered here, vector and pixel variants."""
    return [f"playground/{name}{suffix}-v0" for name, _, _ in GAMES for suffix in ("", "Pixels")]


def register_games() -> None:
    """Register the vector and pixel variant of every game (once)."""
    for name, entry_point, steps in GAMES:
        for suffix, obs_mode in (("", "vector"), ("Pixels", "pixels")):
            env_id = f"playground/{name}{suffix}-v0"
            if env_id not in gym.envs.registry:
                gym.register(env_id, entry_point=entry_point, max_episode_steps=steps, kwargs={"obs_mode": obs_mode})


register_games()
