"""Evaluating an agent over many episodes at once on vectorised envs."""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy

from agents.normalization import ObservationNormalizer
from envs.factory import make_vector_env
from envs.guard import GuardedVecEnv

MAX_PARALLEL_EPISODES = 128


def evaluate(controller: Any, env_id: str, episodes: int, seed: int,
             normalizer: ObservationNormalizer | None = None) -> list[float]:
    """Play `episodes` episodes (up to 128 side by side) and return their undiscounted returns.

    Args:
        controller: Anything with the stable-baselines3 `predict` signature.
        env_id: The Gymnasium id.
        episodes: How many episodes.
        seed: Seeds the evaluation envs.
        normalizer: Observation statistics the agent was trained with.
    """
    env = GuardedVecEnv(make_vector_env(env_id, min(episodes, MAX_PARALLEL_EPISODES), seed), env_id)
    if normalizer is not None:
        env = normalizer.wrap(env)
    returns, _ = evaluate_policy(controller, env, n_eval_episodes=episodes, deterministic=True,
                                 return_episode_rewards=True, warn=False)
    env.close()
    return [float(r) for r in returns]


def summarize(returns: list[float]) -> dict[str, float]:
    """Mean, std, min and max of a list of returns."""
    values = np.asarray(returns, dtype=np.float64)
    return {"mean": float(values.mean()), "std": float(values.std()),
            "min": float(values.min()), "max": float(values.max())}
