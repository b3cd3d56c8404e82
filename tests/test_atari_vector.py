"""Atari in batches (envs/atari_vector.py) against the single-env wrapper chain (envs/atari.py).

The two pipelines play different random no-op starts, so they are compared on what they promise: spaces,
dtypes, frames, stacking, episode ends, rewards, automatic resets, terminal observations and statistics.
"""

from __future__ import annotations

from functools import partial

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("ale_py")
pytest.importorskip("cv2")

from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv  # noqa: E402

from core.errors import PlaygroundError  # noqa: E402
from envs.atari import register_atari  # noqa: E402
from envs.atari_vector import AtariVecEnv, LifeLossAndClipping, available_cores, can_batch_atari  # noqa: E402
from envs.factory import make_vector_env  # noqa: E402

SHORT_BREAKOUT = "ALE/PlaygroundShortBreakout-v5"  # Breakout cut at 400 frames, to reach the time limit fast


def wrapper_chain(env_id: str, n_envs: int, seed: int, training: bool) -> VecEnv:
    """Today's pipeline for Atari: a DummyVecEnv of Monitor-wrapped preprocessed single envs."""
    from envs.make import make_env

    vec_env = make_vec_env(partial(make_env, env_id, training=training), n_envs=n_envs, seed=seed,
                           vec_env_cls=DummyVecEnv)
    vec_env.seed(seed)
    return vec_env


def play(vec_env: VecEnv, steps: int, seed: int = 0, action: int | None = None, close: bool = True) -> list[tuple]:
    """(obs before, obs after, reward, done, info) per env and step, under random actions (or one fixed action)."""
    rng = np.random.default_rng(seed)
    observations = vec_env.reset()
    record = []
    for _ in range(steps):
        actions = (rng.integers(0, vec_env.action_space.n, vec_env.num_envs) if action is None
                   else np.full(vec_env.num_envs, action))
        after, rewards, dones, infos = vec_env.step(actions)
        record.extend((observations[i], after[i], rewards[i], dones[i], infos[i]) for i in range(vec_env.num_envs))
        observations = after
    if close:
        vec_env.close()
    return record


def test_only_rgb_ale_ids_are_batched():
    assert can_batch_atari("ALE/Breakout-v5") and can_batch_atari("ALE/Pong-v5")
    assert not can_batch_atari("ALE/Breakout-ram-v5") and not can_batch_atari("CartPole-v1")
    assert not can_batch_atari("ALE/NoSuchGame-v5")
    with pytest.raises(PlaygroundError):  # unknown ids still get the single-env path's clear error
        make_vector_env("ALE/NoSuchGame-v5", 2, 0)


@pytest.mark.parametrize("training", [False, True])
def test_the_factory_batches_atari_with_the_chain_spaces_dtypes_and_info_keys(training):
    batched = make_vector_env("ALE/Breakout-v5", 2, 0, training=training)
    chain = wrapper_chain("ALE/Breakout-v5", 2, 0, training)
    assert isinstance(batched, LifeLossAndClipping) == training
    assert isinstance(batched.unwrapped, AtariVecEnv)
    assert batched.observation_space == chain.observation_space  # Box(0, 255, (4, 84, 84), uint8)
    assert batched.action_space == chain.action_space
    assert batched.observation_space.shape == (4, 84, 84) and batched.observation_space.dtype == np.uint8
    for env in (batched, chain):
        observations = env.reset()
        assert observations.shape == (2, 4, 84, 84) and observations.dtype == np.uint8
    observations, rewards, dones, infos = batched.step(np.array([1, 0]))
    chain_obs, chain_rewards, chain_dones, chain_infos = chain.step(np.array([1, 0]))
    assert observations.shape == chain_obs.shape and observations.dtype == chain_obs.dtype
    assert rewards.dtype == chain_rewards.dtype == np.float32
    assert dones.dtype == chain_dones.dtype == np.bool_
    assert infos[0].keys() == chain_infos[0].keys()  # lives, frame numbers, TimeLimit.truncated
    batched.close()
    chain.close()


@pytest.mark.parametrize("env_id", ["ALE/Breakout-v5", "ALE/Pong-v5", "ALE/Freeway-v5", "ALE/Seaquest-v5"])
def test_frames_are_the_chains_frames(env_id):
    # The same picture, within the no-op starts and where the max-pool is taken (grey vs colour): a transposed,
    # cropped, rescaled or differently weighted frame would differ on most pixels.
    batched, chain = AtariVecEnv(env_id, 2), wrapper_chain(env_id, 2, 0, training=False)
    batched.seed(0)
    for first, second in ((batched.reset(), chain.reset()),
                          *((batched.step(np.zeros(2, int))[0], chain.step(np.zeros(2, int))[0]) for _ in range(20))):
        difference = np.abs(first.astype(int) - second.astype(int))
        assert difference.mean() < 2 and (difference > 10).mean() < 0.05
    batched.close()
    chain.close()


@pytest.mark.parametrize("make", [lambda: make_vector_env("ALE/Breakout-v5", 2, 0),
                                  lambda: wrapper_chain("ALE/Breakout-v5", 2, 0, training=False)],
                         ids=["batched", "chain"])
def test_stack_starts_with_the_first_frame_and_shifts_one_frame_a_step(make):
    record = play(make(), 400)
    first_observation = record[0][0]
    assert all(np.array_equal(first_observation[0], frame) for frame in first_observation)
    moving = 0
    for before, after, _, done, info in record:
        if done:
            last = info["terminal_observation"]
            assert np.array_equal(last[:-1], before[1:])
            assert not np.array_equal(last[-1], after[0])  # the old game's last frame, not the new one's first
            assert all(np.array_equal(after[0], frame) for frame in after)  # the next game's first frame, 4 times
        else:
            assert np.array_equal(after[:-1], before[1:])
            moving += not np.array_equal(after[-1], before[-1])
    assert moving > 100
    assert sum(done for *_, done, _ in record) >= 1  # random Breakout games last about 150-300 steps


def episode_ends(record: list[tuple]) -> tuple[int, int]:
    """(ends at a lost life, ends of a whole game) in a played record: only whole games carry statistics."""
    ends = [info for *_, done, info in record if done]
    games = sum("episode" in info for info in ends)
    return len(ends) - games, games


@pytest.mark.parametrize("training", [False, True])
def test_episode_ends_and_rewards_agree_with_the_chain(training):
    # Space Invaders: raw rewards are 5 to 30 points, and a random game loses its 3 lives in ~500-900 steps.
    batched = play(make_vector_env("ALE/SpaceInvaders-v5", 2, 1, training=training), 1200)
    chain = play(wrapper_chain("ALE/SpaceInvaders-v5", 2, 1, training), 1200)
    for record in (batched, chain):
        rewards = {float(reward) for *_, reward, _, _ in record}
        if training:
            assert rewards <= {-1.0, 0.0, 1.0} and 1.0 in rewards
        else:
            assert max(rewards) >= 5
        for *_, done, info in record:
            if done:
                assert info["terminal_observation"].shape == (4, 84, 84)
                assert not info["TimeLimit.truncated"]
    lost_lives, games = episode_ends(batched)
    assert games >= 1 and (lost_lives >= 2 if training else lost_lives == 0)
    chain_dones = [info for *_, done, info in chain if done]
    if training:  # the chain's Monitor sits outside its life-loss wrapper: every life is an "episode"
        assert any(info["lives"] > 0 for info in chain_dones)
    else:
        assert chain_dones and all(info["lives"] == 0 for info in chain_dones)


def test_training_statistics_are_whole_games_with_raw_scores():
    # A lost life changes neither the game nor its score: training and evaluation envs with the same seed and
    # actions play the same games, and the training env's statistics are the evaluation env's whole games.
    training = play(make_vector_env("ALE/SpaceInvaders-v5", 2, 3, training=True), 1500, seed=3)
    evaluation = play(make_vector_env("ALE/SpaceInvaders-v5", 2, 3), 1500, seed=3)
    returns = [[info["episode"]["r"] for _, _, _, done, info in record if done and "episode" in info]
               for record in (training, evaluation)]
    assert returns[0] == returns[1] and len(returns[0]) >= 1 and max(returns[0]) >= 50
    raw_total = sum(reward for _, _, reward, _, _ in evaluation)
    assert raw_total > sum(reward for _, _, reward, _, _ in training)  # training saw them clipped
    for (_, after, _, done, info), (_, evaluation_after, _, _, _) in zip(training, evaluation):
        if done and "episode" not in info:  # a lost life: the game goes on from its newest frame
            assert np.array_equal(info["terminal_observation"], evaluation_after)
            assert all(np.array_equal(frame, evaluation_after[-1]) for frame in after)
            assert info["lives"] > 0


def test_sticky_actions_frame_limit_and_threads_come_from_the_id_and_the_cores(monkeypatch):
    import ale_py.vector_env

    from envs.make import make_env

    settings = {}
    original = ale_py.vector_env.AtariVectorEnv

    def recording(*args, **kwargs):
        settings.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(ale_py.vector_env, "AtariVectorEnv", recording)
    AtariVecEnv("ALE/Breakout-v5", 3).close()
    single = make_env("ALE/Breakout-v5")
    ale = single.unwrapped.ale
    assert settings["repeat_action_probability"] == pytest.approx(ale.getFloat("repeat_action_probability"))
    assert settings["repeat_action_probability"] == pytest.approx(0.25)  # -v5's sticky actions
    assert settings["max_num_frames_per_episode"] == ale.getInt("max_num_frames_per_episode") == 108_000
    assert settings["num_threads"] == min(3, available_cores())
    single.close()


def test_time_limit_truncates_in_both_pipelines():
    register_atari()
    if SHORT_BREAKOUT not in gym.envs.registry:
        spec = gym.spec("ALE/Breakout-v5")
        gym.register(SHORT_BREAKOUT, entry_point=spec.entry_point, vector_entry_point=spec.vector_entry_point,
                     kwargs={**spec.kwargs, "max_num_frames_per_episode": 400})
    # NOOP only: the 400-frame limit comes before the fifth ball is lost.
    for record in (play(make_vector_env(SHORT_BREAKOUT, 2, 0), 120, action=0),
                   play(wrapper_chain(SHORT_BREAKOUT, 2, 0, training=False), 120, action=0)):
        ends = [info for *_, done, info in record if done]
        assert ends and all(info["TimeLimit.truncated"] and "episode" in info for info in ends)
        assert all(90 <= info["episode"]["l"] <= 100 for info in ends)  # 400 frames at 4 a step


def test_same_seed_same_games_other_seed_other_games():
    def trajectory(seed: int, env: VecEnv | None = None) -> list[tuple]:
        env = env or make_vector_env("ALE/Breakout-v5", 2, seed, training=True)
        return [(before, reward, done) for before, _, reward, done, _ in play(env, 200)]

    def same(first: list[tuple], second: list[tuple]) -> bool:
        return all(np.array_equal(a[0], b[0]) and a[1:] == b[1:] for a, b in zip(first, second))

    assert same(trajectory(7), trajectory(7))
    assert not same(trajectory(7), trajectory(8))
    env = make_vector_env("ALE/Breakout-v5", 2, 7, training=True)
    play(env, 50, close=False)
    env.seed(7)  # reseeding a used env replays its first games
    assert same(trajectory(7), trajectory(7, env))


@pytest.mark.slow
def test_ppo_cnn_trains_on_the_batched_env():
    from stable_baselines3 import PPO

    env = make_vector_env("ALE/Breakout-v5", 2, 0, training=True)
    model = PPO("CnnPolicy", env, n_steps=128, batch_size=64, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"features_extractor_kwargs": {"features_dim": 64}})
    assert model.get_env().observation_space.shape == (4, 84, 84)  # channels first: no VecTransposeImage
    weights = next(model.policy.parameters()).detach().clone()
    model.learn(total_timesteps=512)
    assert model.num_timesteps == 512
    assert not np.array_equal(weights.numpy(), next(model.policy.parameters()).detach().numpy())
    env.close()


def test_an_agent_that_never_presses_fire_cannot_freeze_a_whole_game():
    # Breakout waits for FIRE after each lost life. Whole games (evaluation, the viewer) press it once there, so a
    # NOOP agent loses its five balls in about 120 steps in both pipelines instead of idling to the 27,000-step
    # limit; a training env leaves the agent in control (its actions are never replaced).
    for vec_env in (make_vector_env("ALE/Breakout-v5", 2, 0), wrapper_chain("ALE/Breakout-v5", 2, 0, False)):
        games = [info for *_, done, info in play(vec_env, 400, action=0) if done]
        assert games and not any(info["TimeLimit.truncated"] for info in games)  # the game ended: lives out
        assert all(100 <= info["episode"]["l"] <= 200 for info in games)
    training = play(make_vector_env("ALE/Breakout-v5", 2, 0, training=True), 400, action=0)
    assert not any("episode" in info for *_, done, info in training if done)


def test_games_that_do_not_need_fire_are_played_as_the_agent_says():
    from envs.atari import needs_fire

    breakout, freeway = (AtariVecEnv(env_id, 1, fire_after_life_loss=True)
                         for env_id in ("ALE/Breakout-v5", "ALE/Freeway-v5"))
    assert breakout.fire_after_life_loss and not freeway.fire_after_life_loss  # Freeway: NOOP, UP, DOWN
    assert not needs_fire([action.name for action in freeway.vector_env.ale.get_action_set()])
    for vec_env in (breakout, freeway):
        vec_env.close()
