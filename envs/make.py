"""Single Gymnasium envs, for playing and rendering; no stable-baselines3 import, so a window opens fast."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from core.errors import PlaygroundError
from core.headless import ensure_sdl_runtime_dir
from envs.atari import is_atari, make_atari


def make_env(env_id: str, render_mode: str | None = None, training: bool = False, **env_kwargs: Any) -> gym.Env:
    """One Gymnasium env, with a clear error when it cannot be made.

    Args:
        env_id: A Gymnasium id.
        render_mode: None, "human" or "rgb_array".
        training: For Atari, end episodes at a lost life and clip rewards (training only; see envs/atari.py).
        env_kwargs: Passed on to the env.
    """
    if render_mode is not None:
        ensure_sdl_runtime_dir()
    try:
        if is_atari(env_id):
            return make_atari(env_id, render_mode=render_mode, training=training, **env_kwargs)
        return gym.make(env_id, render_mode=render_mode, **env_kwargs)
    except gym.error.DependencyNotInstalled as error:
        raise PlaygroundError(f"{env_id} cannot start: {error}") from None
    except (gym.error.Error, TypeError) as error:
        raise PlaygroundError(f"{env_id} cannot be made: {error}") from None


def env_spaces(env_id: str) -> tuple[gym.Space, gym.Space]:
    """The observation and action spaces of an env."""
    env = make_env(env_id)
    spaces = (env.observation_space, env.action_space)
    env.close()
    return spaces
