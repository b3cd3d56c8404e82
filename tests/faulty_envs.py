"""Broken environments for the reliability tests: `--env tests.faulty_envs:faulty/NaN-v0`."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

FAULT_STEP = 300


class FaultyCartPole(CartPoleEnv):
    """CartPole that fails in a chosen way once it has taken `fault_step` steps in total."""

    def __init__(self, fault: str, fault_step: int = FAULT_STEP, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        self.fault = fault
        self.fault_step = fault_step
        self.total_steps = 0

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        self.total_steps += 1
        if self.total_steps >= self.fault_step:
            if self.fault == "raise":
                raise RuntimeError("the physics engine crashed")
            if self.fault == "nan":
                observation = np.full_like(observation, np.nan)
            if self.fault == "inf":
                reward = float("inf")
            if self.fault == "hang":
                time.sleep(30)
        return observation, reward, terminated, truncated, info


for _fault, _name in (("raise", "Raise"), ("nan", "NaN"), ("inf", "InfReward"), ("hang", "Hang")):
    gym.register(f"faulty/{_name}-v0", entry_point=FaultyCartPole, kwargs={"fault": _fault}, max_episode_steps=500)
gym.register("faulty/EarlyNaN-v0", entry_point=FaultyCartPole, kwargs={"fault": "nan", "fault_step": 5},
             max_episode_steps=500)
