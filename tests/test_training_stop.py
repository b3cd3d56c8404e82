"""When training stops: an evaluation that reaches the target is confirmed on fresh episodes first."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from stable_baselines3.common.logger import configure

from agents.callbacks import StopWhenSolved
from agents.models import build_model
from agents.registry import AGENTS
from agents.training import CONFIRM_EPISODES, _confirmation
from envs.factory import make_vector_env


@pytest.fixture(scope="module")
def model():
    env = make_vector_env("CartPole-v1", 2, 0, training=True)
    built = build_model(AGENTS.get("ppo"), {"n_steps": 32}, env, 0, torch.device("cpu"), tensorboard_log=None)
    built.set_logger(configure(None, []))
    return built


def _stopper(model, last_mean: float, confirmed: float | np.ndarray,
             margin: float = 0.0, solved_at: float = 475.0) -> tuple[StopWhenSolved, list[int]]:
    calls: list[int] = []

    def confirm(policy_model, env):
        calls.append(1)
        return np.full(CONFIRM_EPISODES, confirmed) if np.isscalar(confirmed) else confirmed

    stopper = StopWhenSolved(solved_at, confirm, margin)
    stopper.init_callback(model)
    stopper.parent = SimpleNamespace(last_mean_reward=last_mean)
    return stopper, calls


def test_an_evaluation_below_the_target_trains_on_without_a_confirmation(model):
    stopper, calls = _stopper(model, last_mean=474.9, confirmed=500.0)
    assert stopper.on_step() is True
    assert calls == [] and not stopper.solved


def test_a_confirmed_evaluation_stops_training(model):
    stopper, calls = _stopper(model, last_mean=480.0, confirmed=490.0)
    assert stopper.on_step() is False
    assert calls == [1] and stopper.solved and stopper.confirmed_return == 490.0


def test_a_lucky_evaluation_that_fresh_episodes_refute_trains_on(model):
    stopper, calls = _stopper(model, last_mean=500.0, confirmed=471.0)
    assert stopper.on_step() is True
    assert calls == [1] and not stopper.solved and stopper.confirmed_return == 471.0


def _returns_with(mean: float, standard_error: float) -> np.ndarray:
    """CONFIRM_EPISODES returns with exactly this mean and standard error of the mean."""
    spread = np.resize([-1.0, 1.0], CONFIRM_EPISODES)
    return mean + spread * standard_error * np.sqrt(CONFIRM_EPISODES) / spread.std(ddof=1)


def test_a_margin_refuses_a_confirmation_within_one_standard_error_of_the_target(model):
    returns = _returns_with(-72.9, standard_error=1.0)  # clears -73.5 by 0.6 points: by luck as likely as not
    stopper, calls = _stopper(model, last_mean=-70.0, confirmed=returns, margin=1.0, solved_at=-73.5)
    assert stopper.on_step() is True
    assert calls == [1] and not stopper.solved and stopper.confirmed_return == pytest.approx(-72.9)


def test_a_margin_accepts_a_confirmation_clear_of_the_target(model):
    returns = _returns_with(-72.3, standard_error=1.0)
    stopper, _ = _stopper(model, last_mean=-70.0, confirmed=returns, margin=1.0, solved_at=-73.5)
    assert stopper.on_step() is False and stopper.solved


def test_without_a_margin_reaching_the_target_is_enough(model):
    stopper, _ = _stopper(model, last_mean=-70.0, confirmed=_returns_with(-73.4, 1.0), solved_at=-73.5)
    assert stopper.on_step() is False and stopper.solved


def test_the_confirmation_plays_fresh_episodes_with_the_policy(model):
    env = make_vector_env("CartPole-v1", 2, 0, training=True)
    returns = _confirmation("CartPole-v1", 0)(model, env)
    assert len(returns) == CONFIRM_EPISODES == 100
    assert 8.0 <= np.mean(returns) <= 500.0  # CartPole returns of an untrained policy


@pytest.mark.slow
def test_an_unsolved_run_saves_the_policy_of_its_best_evaluation_not_the_last(tmp_path):
    from agents.presets import resolve_hyperparams
    from agents.training import train
    from agents.training_state import load_checkpoint
    from core.checkpoint import load_state

    spec = AGENTS.get("dqn")
    hyperparams = resolve_hyperparams("dqn", "CartPole-v1", spec.algorithm_class(), [], {"n_timesteps": 12_000})
    hyperparams.update(eval_every=2_000, eval_episodes=5)
    result = train(spec, "CartPole-v1", hyperparams, solved_at=1e6, seed=3, device=torch.device("cpu"),
                   run_dir=tmp_path, progress=False, checkpoint_every=0)
    assert not result.solved and result.best_step is not None and result.best_step < result.timesteps
    saved = load_state(result.model_path, "model")
    last = load_checkpoint(tmp_path)["parameters"]["policy"]
    assert any(not torch.equal(saved[name], last[name]) for name in saved)  # not the last weights ...
    shown = np.mean(_confirmation("CartPole-v1", 3)(result.model, result.model.get_env()))
    assert shown > 9.5  # ... and a policy that balances, not a collapsed one
