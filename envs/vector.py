"""Fast vectorised environments: Gymnasium vector envs seen through stable-baselines3's VecEnv API.

stable-baselines3 steps a list of single envs (DummyVecEnv); Gymnasium ships envs that step a
whole batch with NumPy in one call (CartPole's vector env is ~20x faster per step than a list of
CartPoles). `GymnasiumVecEnv` lets SB3 algorithms train on those batched envs directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import AutoresetMode
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
