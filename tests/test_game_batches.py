"""Batched games: a batch plays each game exactly like the single game, draws the same pixels, resets per game
and honours the Gymnasium and stable-baselines3 vector-env contracts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the playground/ ids)
from envs.games import batched_game_ids
from envs.games.batch import GameStreams

VECTOR_IDS = [env_id for env_id in batched_game_ids() if "Pixels" not in env_id]
PIXEL_IDS = [env_id for env_id in batched_game_ids() if "Pixels" in env_id]


def batch(env_id: str, games: int, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=games, vectorization_mode="vector_entry_point", **kwargs)


def play_side_by_side(env_id: str, games: int, steps: int, seed: int, **kwargs) -> dict[str, int]:
    """Step a batch and `games` single games seeded seed + i with the same random actions; assert every
    observation, reward, end and final observation agree. Returns how often each kind of end happened."""
    vector_env = batch(env_id, games, **kwargs)
    singles = [gym.make(env_id, **kwargs) for _ in range(games)]
    observations, _ = vector_env.reset(seed=seed)
    for index, single in enumerate(singles):
        assert np.array_equal(observations[index], single.reset(seed=seed + index)[0])
    actions = np.random.default_rng(seed).integers(3, size=(steps, games))
    ends = {"terminated": 0, "truncated": 0, "rewards": 0}
    for step, action in enumerate(actions):
        observations, rewards, terminated, truncated, info = vector_env.step(action)
        for index, single in enumerate(singles):
            observation, reward, single_terminated, single_truncated, _ = single.step(int(action[index]))
            where = f"step {step}, game {index}"
            assert (reward, single_terminated, single_truncated) == (rewards[index], terminated[index],
                                                                     truncated[index]), where
            if single_terminated or single_truncated:
                assert np.array_equal(info["final_obs"][index], observation), where
                observation, _ = single.reset()
            assert np.array_equal(observations[index], observation), where
        ends["terminated"] += int(terminated.sum())
        ends["truncated"] += int(truncated.sum())
        ends["rewards"] += int(np.count_nonzero(rewards))
    return ends


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_a_batch_plays_every_game_like_the_single_game_seeded_alike(env_id):
    ends = play_side_by_side(env_id, games=8, steps=2500, seed=11)
    assert ends["terminated"] > 0 and ends["rewards"] > 10, ends  # the rollout reached scores and episode ends


@pytest.mark.parametrize("env_id", PIXEL_IDS)
def test_a_batch_draws_the_same_frames_as_the_single_game(env_id):
    play_side_by_side(env_id, games=4, steps=300, seed=3)


def test_short_games_end_and_restart_alike():
    # Small worlds end often: episode ends, step limits and restarts are exercised many times.
    ends = play_side_by_side("playground/Snake-v0", games=6, steps=1500, seed=0, size=5, max_episode_steps=40)
    assert ends["terminated"] > 50 and ends["truncated"] > 0, ends


@pytest.mark.parametrize("env_id", batched_game_ids())
def test_single_game_pixel_observations_are_the_pygame_drawing(env_id):
    env = gym.make(env_id, obs_mode="pixels")
    observation, _ = env.reset(seed=2)
    actions = np.random.default_rng(2).integers(3, size=600)
    for action in actions:
        assert np.array_equal(observation, env.unwrapped.frame((64, 64)))
        observation, _, terminated, truncated, _ = env.step(int(action))
        if terminated or truncated:
            observation, _ = env.reset()


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_a_game_does_not_depend_on_the_batch_it_is_in(env_id):
    actions = np.random.default_rng(0).integers(3, size=(200, 16))
    small, large = batch(env_id, 4), batch(env_id, 16)
    small_obs, _ = small.reset(seed=7)
    large_obs, _ = large.reset(seed=7)
    for action in actions:
        assert np.array_equal(small_obs, large_obs[:4])
        small_obs, *_ = small.step(action[:4])
        large_obs, *_ = large.step(action)
    other, _ = batch(env_id, 4).reset(seed=8)
    first, _ = batch(env_id, 4).reset(seed=7)
    assert not np.array_equal(first, other)


def test_batches_check_their_actions():
    vector_env = batch("playground/Snake-v0", 4)
    vector_env.reset(seed=0)
    with pytest.raises(ValueError, match="4 actions"):
        vector_env.step(np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="4 actions"):
        vector_env.step(np.array([0, 1]))


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_a_reset_without_a_seed_goes_on_reproducibly(env_id):
    """Evaluations reset their envs without a seed each time: two runs seeded alike must see the same games."""
    first, second = batch(env_id, 4), batch(env_id, 4)
    openings = []
    for vector_env in (first, second):
        vector_env.reset(seed=5)
        openings.append([vector_env.reset()[0] for _ in range(3)])
    assert all(np.array_equal(a, b) for a, b in zip(*openings))
    assert not np.array_equal(openings[0][0], openings[0][1])  # the streams went on: new games, not the same again


def test_streams_draw_evenly_and_within_bounds():
    streams = GameStreams(1000)
    every = np.arange(1000)
    streams.seed(every, every)
    draws = np.stack([streams.uniform(every) for _ in range(50)])
    assert draws.min() >= 0.0 and draws.max() < 1.0 and abs(draws.mean() - 0.5) < 0.01
    counts = np.bincount(streams.integers(every, 7), minlength=7)
    assert counts.min() > 100 and counts.max() < 190
    assert (streams.integers(every, np.arange(1, 1001)) < np.arange(1, 1001)).all()


@pytest.mark.parametrize("env_id", VECTOR_IDS)
def test_training_uses_the_batch_through_stable_baselines3(env_id):
    from stable_baselines3 import PPO

    from envs.factory import make_vector_env
    from envs.vector import GymnasiumVecEnv

    vec_env = make_vector_env(env_id, 16, seed=0, training=True)
    assert isinstance(vec_env.venv, GymnasiumVecEnv)
    vec_env.reset()
    finished = []
    for _ in range(300):
        _, _, dones, infos = vec_env.step(np.random.default_rng(0).integers(3, size=16))
        finished += [info for done, info in zip(dones, infos) if done]
    assert finished and all("terminal_observation" in info and "episode" in info for info in finished)
    PPO("MlpPolicy", vec_env, n_steps=16, batch_size=64, n_epochs=1, device="cpu").learn(256)
