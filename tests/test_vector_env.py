"""The NumPy-batched CartPole behind SB3's VecEnv API: same physics, same-step resets, episode stats."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecMonitor

from envs.vector import GymnasiumVecEnv, SameStepCartPoleVectorEnv


def test_physics_match_gymnasium_cartpole():
    vec_env = GymnasiumVecEnv(SameStepCartPoleVectorEnv(num_envs=1))
    vec_env.seed(3)
    observation = vec_env.reset()
    single = gym.make("CartPole-v1").unwrapped
    single.reset(seed=0)
    single.state = observation[0].astype(np.float64)
    rng = np.random.default_rng(0)
    for _ in range(200):
        action = int(rng.integers(2))
        observation, _, done, infos = vec_env.step(np.array([action]))
        expected, _, terminated, _, _ = single.step(action)
        if done[0]:
            np.testing.assert_allclose(infos[0]["terminal_observation"], expected, rtol=1e-5, atol=1e-6)
            assert terminated
            break
        np.testing.assert_allclose(observation[0], expected, rtol=1e-5, atol=1e-6)
    else:
        raise AssertionError("a random policy should drop the pole within 200 steps")


def test_finished_envs_reset_in_the_same_step_and_report_truncation():
    vec_env = VecMonitor(GymnasiumVecEnv(SameStepCartPoleVectorEnv(num_envs=4, max_episode_steps=5)))
    vec_env.seed(0)
    vec_env.reset()
    for step in range(5):
        observation, rewards, dones, infos = vec_env.step(np.zeros(4, dtype=np.int64) + step % 2)
    assert dones.all() and (rewards == 1).all()
    for index in range(4):
        assert infos[index]["TimeLimit.truncated"] is True
        assert infos[index]["episode"] == {"r": 5.0, "l": 5, "t": infos[index]["episode"]["t"]}
        assert np.abs(observation[index]).max() <= 0.05  # a fresh start state
        assert not np.allclose(infos[index]["terminal_observation"], observation[index])


def test_same_seed_same_trajectory():
    def trajectory() -> np.ndarray:
        vec_env = GymnasiumVecEnv(SameStepCartPoleVectorEnv(num_envs=3))
        vec_env.seed(11)
        observations = [vec_env.reset()]
        for step in range(60):
            observations.append(vec_env.step(np.array([step % 2, 1, 0]))[0])
        return np.stack(observations)

    np.testing.assert_array_equal(trajectory(), trajectory())
