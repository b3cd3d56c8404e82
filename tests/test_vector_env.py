"""The NumPy-batched CartPole and MountainCar behind SB3's VecEnv API: same physics, same-step resets, episode stats."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecMonitor

from envs.factory import make_vector_env
from envs.vector import GymnasiumVecEnv, SameStepCartPoleVectorEnv, SameStepMountainCarVectorEnv


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


def test_physics_match_gymnasium_mountain_car():
    """Side by side with Gymnasium's MountainCar-v0 from the same start: every step, the reward and the flag."""
    vec_env = GymnasiumVecEnv(SameStepMountainCarVectorEnv(num_envs=1))
    vec_env.seed(5)
    observation = vec_env.reset()
    assert -0.6 <= observation[0, 0] <= -0.4 and observation[0, 1] == 0
    single = gym.make("MountainCar-v0")
    single.reset(seed=0)
    single.unwrapped.state = np.array([float(vec_env.vector_env.position[0]), 0.0])
    # Rock back and forth with the velocity: a policy that reaches the flag.
    for step in range(200):
        action = 2 if observation[0, 1] >= 0 else 0
        observation, reward, done, infos = vec_env.step(np.array([action]))
        expected, expected_reward, terminated, truncated, _ = single.step(action)
        assert reward[0] == expected_reward
        if done[0]:
            np.testing.assert_allclose(infos[0]["terminal_observation"], expected, rtol=1e-6, atol=1e-7)
            assert terminated and not truncated and not infos[0]["TimeLimit.truncated"]
            assert step > 60  # it took a real climb, not a first-step accident
            break
        np.testing.assert_allclose(observation[0], expected, rtol=1e-6, atol=1e-7)
    else:
        raise AssertionError("the rocking policy should reach the flag within 200 steps")


def test_mountain_car_stops_at_the_left_wall_as_gymnasium_does():
    batched = SameStepMountainCarVectorEnv(num_envs=1)
    batched.reset(seed=0)
    single = gym.make("MountainCar-v0")
    single.reset(seed=0)
    batched.position[:], batched.velocity[:] = -1.15, -0.05
    single.unwrapped.state = np.array([-1.15, -0.05])
    positions = []
    for _ in range(5):
        observation = batched.step(np.array([0]))[0]
        np.testing.assert_allclose(observation[0], single.step(0)[0], rtol=1e-6, atol=1e-7)
        positions.append(observation[0, 0])
    assert np.float32(-1.2) in positions  # the wall was reached (and its velocity set to 0, as compared above)


def test_mountain_car_is_truncated_at_gymnasiums_limit_and_restarts():
    vec_env = VecMonitor(GymnasiumVecEnv(SameStepMountainCarVectorEnv(num_envs=3)))
    vec_env.seed(0)
    vec_env.reset()
    for _ in range(gym.spec("MountainCar-v0").max_episode_steps):
        observation, rewards, dones, infos = vec_env.step(np.ones(3, dtype=np.int64))  # do nothing: never there
    assert dones.all() and (rewards == -1).all()
    for index in range(3):
        assert infos[index]["TimeLimit.truncated"] is True
        assert infos[index]["episode"]["r"] == -200.0 and infos[index]["episode"]["l"] == 200
        assert -0.6 <= observation[index, 0] <= -0.4 and observation[index, 1] == 0  # a fresh start state


def test_factory_serves_mountain_car_batched_and_seeded():
    vec_env = make_vector_env("MountainCar-v0", 4, seed=1)
    assert isinstance(vec_env.venv, GymnasiumVecEnv)
    first = vec_env.reset()
    vec_env.seed(1)
    np.testing.assert_array_equal(vec_env.reset(), first)  # seeded: the same start states again
