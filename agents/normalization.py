"""Observation-normalisation statistics, saved as JSON beside the model and applied when playing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from core.schema import Fields


@dataclass
class ObservationNormalizer:
    """Frozen VecNormalize observation statistics: `(obs - mean) / sqrt(var + epsilon)`, clipped."""

    mean: np.ndarray
    var: np.ndarray
    count: float
    clip_obs: float
    epsilon: float

    @classmethod
    def from_vec_env(cls, env: VecEnv) -> ObservationNormalizer | None:
        """The statistics of a VecNormalize env that normalises observations, else None."""
        if not isinstance(env, VecNormalize) or not env.norm_obs:
            return None
        rms = env.obs_rms
        return cls(rms.mean.copy(), rms.var.copy(), float(rms.count), float(env.clip_obs), float(env.epsilon))

    @classmethod
    def from_json(cls, data: Any, observation_shape: tuple[int, ...], where: str) -> ObservationNormalizer:
        """Rebuild from `to_json()` output read from a file, checking every field against the observations.

        Raises:
            PlaygroundError: A field of the wrong type, range or length for `observation_shape`.
        """
        fields = Fields(data, where)
        size = int(np.prod(observation_shape))
        mean = np.asarray(fields.numbers("mean", length=size), dtype=np.float64).reshape(observation_shape)
        var = np.asarray(fields.numbers("var", length=size), dtype=np.float64).reshape(observation_shape)
        if (var < 0).any():
            raise fields.fail("var", "a list of variances, none below 0", "a negative value")
        return cls(mean, var, fields.number("count", 0, 1e15), fields.number("clip_obs", 1e-6, 1e6),
                   fields.number("epsilon", 1e-20, 1.0))

    def to_json(self) -> dict[str, Any]:
        """Plain lists and numbers, for JSON."""
        return {
            "mean": self.mean.tolist(),
            "var": self.var.tolist(),
            "count": self.count,
            "clip_obs": self.clip_obs,
            "epsilon": self.epsilon,
        }

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        normalized = (observation - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(normalized, -self.clip_obs, self.clip_obs).astype(np.float32)

    def wrap(self, env: VecEnv) -> VecNormalize:
        """Wrap an evaluation env so it applies these statistics (frozen, rewards left raw)."""
        wrapped = VecNormalize(env, training=False, norm_obs=True, norm_reward=False,
                               clip_obs=self.clip_obs, epsilon=self.epsilon)
        wrapped.obs_rms.mean, wrapped.obs_rms.var, wrapped.obs_rms.count = self.mean, self.var, self.count
        return wrapped
