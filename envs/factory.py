"""Vectorised env factories for training and evaluation (single envs: envs.make)."""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium as gym
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor, VecNormalize

from envs.atari_vector import can_batch_atari, make_atari_vector_env
from envs.games import batched_game_ids
from envs.games.batch import Player
from envs.make import make_env
from envs.vector import BATCHED_CLASSIC, GymnasiumVecEnv


def make_vector_env(env_id: str, n_envs: int, seed: int, env_kwargs: dict[str, Any] | None = None,
                    training: bool = False, opponent: Player | None = None) -> VecEnv:
    """`n_envs` copies of an env as an SB3 VecEnv with episode statistics (VecMonitor / Monitor).

    `training=True` adds the training-only wrappers of Atari games (life loss ends an episode, clipped
    rewards); evaluation envs leave it False so that they score whole games.

    CartPole-v1 and MountainCar-v0 run NumPy-batched (envs/vector.py) and our games on their batched engines
    (envs/games/batch.py), one call per step for all copies; every other env runs as a DummyVecEnv of
    Monitor-wrapped Gymnasium envs. Two-player games take `opponent`, the batched player of their other side
    (self-play's pool); without it they play their scripted opponent.
    """
    env_kwargs = env_kwargs or {}
    if env_id in BATCHED_CLASSIC and not env_kwargs:
        vec_env: VecEnv = VecMonitor(GymnasiumVecEnv(BATCHED_CLASSIC[env_id](num_envs=n_envs)))
    elif env_id in batched_game_ids() and not env_kwargs:
        extra = {"opponent": opponent} if opponent is not None else {}
        games = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", **extra)
        vec_env = VecMonitor(GymnasiumVecEnv(games))
    elif not env_kwargs and can_batch_atari(env_id):  # ale-py's C++ vector env (envs/atari_vector.py)
        vec_env = make_atari_vector_env(env_id, n_envs, training=training)
    else:
        make_env(env_id, **env_kwargs).close()  # fail early with a clear message
        vec_env = make_vec_env(partial(make_env, env_id, training=training), n_envs=n_envs, seed=seed,
                               env_kwargs=env_kwargs, vec_env_cls=DummyVecEnv)
    vec_env.seed(seed)
    return vec_env


def normalized(vec_env: VecEnv, settings: dict[str, Any] | None, gamma: float, training: bool) -> VecEnv:
    """Wrap `vec_env` in VecNormalize when `settings` asks for it.

    Args:
        vec_env: The env to wrap.
        settings: VecNormalize keyword arguments (norm_obs, norm_reward, clip_obs, ...), or None for none.
        gamma: The discount, for reward normalisation.
        training: False for evaluation envs: statistics frozen and rewards left raw.
    """
    if settings is None:
        return vec_env
    kwargs = {**settings, "gamma": gamma}
    if not training:
        kwargs.update(training=False, norm_reward=False)
    return VecNormalize(vec_env, **kwargs)
