"""Masked velocity: classic worlds with their velocities hidden, so that acting well needs memory.

As rl-baselines3-zoo's MaskVelocityWrapper, but the hidden entries are dropped rather than zeroed, so an
observation holds only what the agent may see. The `playground/<Name>NoVel-v*` ids keep the underlying
env's step limit and reward threshold.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

# Underlying id -> (the masked id, the observation indices that stay visible).
MASKED: dict[str, tuple[str, tuple[int, ...]]] = {
    "CartPole-v1": ("playground/CartPoleNoVel-v1", (0, 2)),  # cart position, pole angle
    "Pendulum-v1": ("playground/PendulumNoVel-v1", (0, 1)),  # cos and sin of the angle
    # x, y, angle, both leg contacts; the linear and angular velocities are hidden.
    "LunarLander-v3": ("playground/LunarLanderNoVel-v3", (0, 1, 4, 6, 7)),
}


class MaskVelocity(gym.ObservationWrapper):
    """Keep only the chosen entries of a Box observation.

    Args:
        env: An env with a 1-D Box observation space.
        visible: The indices that stay in the observation, in order.
    """

    def __init__(self, env: gym.Env, visible: tuple[int, ...]) -> None:
        super().__init__(env)
        space = env.observation_space
        assert isinstance(space, gym.spaces.Box) and len(space.shape) == 1, "MaskVelocity needs a 1-D Box"
        self.visible = np.asarray(visible, dtype=np.int64)
        self.observation_space = gym.spaces.Box(space.low[self.visible], space.high[self.visible],
                                                dtype=space.dtype)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation[self.visible]


def make_masked_env(base_id: str, render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """The env `base_id` without its own wrappers (the masked id adds the time limit), velocities hidden."""
    env = gym.make(base_id, render_mode=render_mode, disable_env_checker=True, **kwargs).unwrapped
    return MaskVelocity(env, MASKED[base_id][1])


def register_masked() -> None:
    """Register every masked id (once), with the underlying env's step limit and reward threshold."""
    for base_id, (masked_id, _) in MASKED.items():
        if masked_id in gym.envs.registry:
            continue
        try:
            base = gym.spec(base_id)
        except gym.error.Error:  # an underlying family that this Gymnasium lacks
            continue
        gym.register(masked_id, entry_point="envs.masking:make_masked_env", kwargs={"base_id": base_id},
                     max_episode_steps=base.max_episode_steps, reward_threshold=base.reward_threshold)


def masked_ids() -> list[str]:
    """Every masked id registered here."""
    return [masked_id for masked_id, _ in MASKED.values() if masked_id in gym.envs.registry]
