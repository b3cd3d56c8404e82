"""Fast vectorised environments: Gymnasium vector envs seen through stable-baselines3's VecEnv API.

stable-baselines3 steps a list of single envs (DummyVecEnv); Gymnasium ships envs that step a
whole batch with NumPy in one call (CartPole's vector env is ~20x faster per step than a list of
CartPoles). MountainCar gets the same here, with Gymnasium's physics. `GymnasiumVecEnv` lets SB3
algorithms train on those batched envs directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.envs.classic_control.mountain_car import MountainCarEnv
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn


class SameStepCartPoleVectorEnv(CartPoleVectorEnv):
    """Gymnasium's batched CartPole, resetting finished episodes in the same step.

    SB3 expects a finished env to return its first observation of the next episode at once,
    with the last observation in the info. Gymnasium's CartPoleVectorEnv resets one step later.
    Physics, rewards and truncation are Gymnasium's own; only the reset timing changes.
    """

    metadata = {**CartPoleVectorEnv.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        self.prev_done = np.zeros(self.num_envs, dtype=np.bool_)  # nothing left to reset lazily
        obs, reward, terminated, truncated, info = super().step(action)
        done = terminated | truncated
        if done.any():
            info = {"final_obs": obs.copy(), "_final_obs": done}
            self.state[:, done] = self.np_random.uniform(low=self.low, high=self.high, size=(4, done.sum()))
            self.steps[done] = 0
            obs = self.state.T.astype(np.float32)
        self.prev_done = np.zeros(self.num_envs, dtype=np.bool_)
        return obs, reward, terminated, truncated, info


class SameStepMountainCarVectorEnv(VectorEnv):
    """MountainCar-v0 stepped for a whole batch in NumPy, finished episodes reset in the same step.

    The physics, start states, rewards (-1 a step) and time limit are those of Gymnasium's MountainCarEnv and
    MountainCar-v0's registration (tests/test_vector_env.py steps both side by side). Finished envs report their
    last observation in `info["final_obs"]`, as Gymnasium's SAME_STEP autoreset mode does.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 1, max_episode_steps: int | None = None) -> None:
        single = MountainCarEnv()
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps or gym.spec("MountainCar-v0").max_episode_steps
        self.min_position, self.max_position = single.min_position, single.max_position
        self.max_speed, self.goal_position = single.max_speed, single.goal_position
        self.goal_velocity = single.goal_velocity
        self.force, self.gravity = single.force, single.gravity
        self.single_observation_space = single.observation_space
        self.single_action_space = spaces.Discrete(3)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.position = np.zeros(num_envs)
        self.velocity = np.zeros(num_envs)
        self.steps = np.zeros(num_envs, dtype=np.int32)

    def _start(self, which: np.ndarray) -> None:
        """Put the envs of the boolean mask `which` at Gymnasium's start states (position in [-0.6, -0.4], at rest)."""
        self.position[which] = self.np_random.uniform(low=-0.6, high=-0.4, size=int(which.sum()))
        self.velocity[which] = 0.0
        self.steps[which] = 0

    def _observation(self) -> np.ndarray:
        return np.stack([self.position, self.velocity], axis=1).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._start(np.ones(self.num_envs, dtype=np.bool_))
        return self._observation(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        velocity = self.velocity + (np.asarray(action) - 1) * self.force + np.cos(3 * self.position) * -self.gravity
        velocity = np.clip(velocity, -self.max_speed, self.max_speed)
        position = np.clip(self.position + velocity, self.min_position, self.max_position)
        velocity[(position == self.min_position) & (velocity < 0)] = 0.0
        self.position, self.velocity = position, velocity
        self.steps += 1
        terminated = (position >= self.goal_position) & (velocity >= self.goal_velocity)
        truncated = self.steps >= self.max_episode_steps
        reward = np.full(self.num_envs, -1.0, dtype=np.float32)
        done = terminated | truncated
        info: dict[str, Any] = {}
        if done.any():
            info = {"final_obs": self._observation(), "_final_obs": done}
            self._start(done)
        return self._observation(), reward, terminated, truncated, info


BATCHED_CLASSIC: dict[str, type[VectorEnv]] = {
    "CartPole-v1": SameStepCartPoleVectorEnv,
    "MountainCar-v0": SameStepMountainCarVectorEnv,
}
"""Classic-control ids whose training and evaluation envs step as one NumPy batch (envs/factory.py)."""


class GymnasiumVecEnv(VecEnv):
    """An SB3 VecEnv over a Gymnasium VectorEnv whose autoreset mode is SAME_STEP.

    Args:
        vector_env: The batched env. Its finished sub-envs must reset within the same step and
            report their last observation in `info["final_obs"]`, as Gymnasium's SAME_STEP mode does.
    """

    def __init__(self, vector_env: gym.vector.VectorEnv) -> None:
        mode = vector_env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(f"GymnasiumVecEnv needs autoreset_mode SAME_STEP, got {mode}")
        self.vector_env = vector_env
        self.render_mode = None
        super().__init__(vector_env.num_envs, vector_env.single_observation_space, vector_env.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        seed = self._seeds[0]
        obs, _ = self.vector_env.reset(seed=seed)
        self._reset_seeds()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        obs, reward, terminated, truncated, info = self.vector_env.step(self._actions)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            final_obs = info["final_obs"]
            for index in np.flatnonzero(dones):
                infos[index]["terminal_observation"] = final_obs[index]
                infos[index]["TimeLimit.truncated"] = bool(truncated[index] and not terminated[index])
        return obs, np.asarray(reward, dtype=np.float32), dones, infos

    def close(self) -> None:
        self.vector_env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        if attr_name == "render_mode":
            return [None for _ in self._get_indices(indices)]
        value = getattr(self.vector_env, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.vector_env, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list:
        result = getattr(self.vector_env, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]
