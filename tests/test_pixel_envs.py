"""Pixel worlds: Atari through ale-py, MinAtar, CartPolePixels; the env contract and the preprocessing."""

from __future__ import annotations

import importlib.util
import sys
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers the playground/ ids)
from core.errors import PlaygroundError
from envs.catalog import CATALOG, resolve_env_id
from envs.make import make_env

PIXEL_KINDS = ("atari", "minatar", "pixels")
PIXEL_ENVS = [entry.env_id for _, entry in CATALOG.items() if entry.kind in PIXEL_KINDS]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", PIXEL_ENVS)
def test_every_pixel_env_passes_the_env_checkers(env_id):
    env = make_env(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # checkers advise on wrapped envs; failures raise
        check_env(env)
        sb3_check_env(env, warn=False)
    assert env.observation_space.dtype == np.uint8 and len(env.observation_space.shape) == 3
    env.close()


def test_any_ale_id_works_and_is_preprocessed():
    env_id = resolve_env_id("ALE/Freeway-v5")
    env = make_env(env_id)
    observation, _ = env.reset(seed=0)
    assert env_id == "ALE/Freeway-v5" and observation.shape == (4, 84, 84) and observation.dtype == np.uint8
    env.close()


def _play_until_done(env, seed: int, limit: int = 5000) -> tuple[list[float], dict]:
    env.reset(seed=seed)
    env.action_space.seed(seed)
    rewards, info = [], {}
    for _ in range(limit):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        rewards.append(float(reward))
        if terminated or truncated:
            break
    return rewards, info


def test_atari_training_clips_rewards_and_ends_at_a_lost_life_evaluation_does_not():
    training = make_env("ALE/SpaceInvaders-v5", training=True)
    rewards, _ = _play_until_done(training, seed=1)
    assert training.unwrapped.ale.lives() > 0  # the episode ended with lives left: a life was lost
    assert set(rewards) <= {-1.0, 0.0, 1.0} and 1.0 in rewards
    playing = make_env("ALE/SpaceInvaders-v5")
    rewards, _ = _play_until_done(playing, seed=1, limit=20000)
    assert playing.unwrapped.ale.lives() == 0  # the whole game
    assert max(rewards) >= 5  # raw scores: Space Invaders aliens are worth 5 to 30


def test_atari_frame_stack_holds_consecutive_frames():
    env = make_env("ALE/Breakout-v5")
    env.reset(seed=0)
    for _ in range(30):
        observation, *_ = env.step(1)  # FIRE, then the ball moves
    frames = observation.astype(int)
    assert all(np.abs(frames[i + 1] - frames[i]).sum() > 0 for i in range(3))


def test_minatar_same_seed_same_game_and_observation_is_the_grid():
    def trajectory(seed: int) -> list[np.ndarray]:
        env = make_env("playground/Breakout-MinAtar-v0")
        observation, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        seen = [observation]
        for _ in range(50):
            observation, _, terminated, _, _ = env.step(env.action_space.sample())
            seen.append(observation)
            if terminated:
                break
        assert np.array_equal(observation.transpose(1, 2, 0), env.unwrapped.game.state())
        return seen

    first, again, other = trajectory(3), trajectory(3), trajectory(4)
    assert len(first) == len(again) and all(np.array_equal(a, b) for a, b in zip(first, again))
    assert len(first) != len(other) or any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_minatar_frames_are_drawn_from_the_grid():
    env = make_env("playground/Breakout-MinAtar-v0", render_mode="rgb_array")
    observation, _ = env.reset(seed=0)
    frame = env.render()
    cell = frame.shape[0] // 10
    centres = frame[cell // 2::cell, cell // 2::cell]  # the centre pixel of each of the 10x10 cells
    assert np.array_equal(centres.any(axis=2), observation.any(axis=0))
    env.close()


def test_cartpole_pixels_sees_the_pole_move():
    env = make_env("playground/CartPolePixels-v1")
    observation, _ = env.reset(seed=0)
    assert observation.shape == (4, 80, 120)
    for _ in range(8):
        observation, *_ = env.step(0)
    assert np.abs(observation[-1].astype(int) - observation[0].astype(int)).sum() > 0
    assert observation.min() < 50 and observation.max() > 200  # a dark cart on a light background


def _uninstalled(monkeypatch, module: str) -> None:
    """Make `importlib.util.find_spec` report `module` as not installed."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == module else real_find_spec(name, *args))


def test_missing_ale_py_is_a_one_line_fix(monkeypatch):
    _uninstalled(monkeypatch, "ale_py")
    with pytest.raises(PlaygroundError, match="pip install ale-py"):
        resolve_env_id("Breakout")
    with pytest.raises(PlaygroundError, match="pip install ale-py"):
        resolve_env_id("ALE/Asterix-v5")


def test_missing_minatar_is_a_one_line_fix(monkeypatch):
    _uninstalled(monkeypatch, "minatar")
    with pytest.raises(PlaygroundError, match="pip install minatar"):
        resolve_env_id("Breakout-MinAtar")
    monkeypatch.setitem(sys.modules, "minatar", None)  # importing it now fails, as when it is not installed
    with pytest.raises(PlaygroundError, match="pip install minatar"):
        make_env("playground/Asterix-MinAtar-v0")


@pytest.mark.skipif(importlib.util.find_spec("minatar") is None, reason="needs the minatar package")
@pytest.mark.parametrize("game", ["breakout", "space_invaders", "asterix", "freeway", "seaquest"])
def test_our_minatar_games_follow_minatar_environment_exactly(game):
    """StickyGame skips minatar's display imports; same seed and actions give the same states, rewards, ends."""
    from minatar import Environment

    from envs.minatar import StickyGame

    reference, ours = Environment(game, sticky_action_prob=0.1, difficulty_ramping=True), StickyGame(game)
    reference.seed(7)
    ours.seed(7)
    reference.reset()
    ours.reset()
    actions = ours.minimal_action_set()
    assert actions == reference.minimal_action_set()
    rng = np.random.default_rng(0)
    for _ in range(3000):
        action = int(rng.choice(actions))
        step = reference.act(action)
        assert ours.act(action) == step and (ours.state() == reference.state()).all()
        if step[1]:
            reference.reset()
            ours.reset()
