"""When training stops: an evaluation that reaches the target is confirmed on fresh episodes first."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3.common.logger import configure

from agents.callbacks import Evaluations, SolvedRule
from agents.evaluator import EvaluationResult
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


class _Evaluator:
    """Hands back the results it is given, in place of playing episodes."""

    def __init__(self, results: list[EvaluationResult]) -> None:
        self.results_left = results
        self.submitted: list[int] = []

    def submit(self, snapshot) -> None:
        self.submitted.append(snapshot.step)

    def results(self, wait: bool = False) -> list[EvaluationResult]:
        done, self.results_left = self.results_left, []
        return done


def _judge(model, mean: float, confirmation: np.ndarray | float | None, margin: float = 0.0,
           solved_at: float = 475.0) -> tuple[Evaluations, bool]:
    """One evaluation of mean `mean` (and a confirmation, when the evaluator played one): whether training goes on."""
    if np.isscalar(confirmation):
        confirmation = np.full(CONFIRM_EPISODES, confirmation)
    result = EvaluationResult(int(model.num_timesteps), np.full(20, mean), np.full(20, 100), confirmation)
    seen: list[float] = []
    evaluations = Evaluations(_Evaluator([result]), every=1, rule=SolvedRule(solved_at, margin),
                              on_evaluation=lambda snapshot, value: seen.append(value))
    evaluations.init_callback(model)
    goes_on = evaluations.on_step()
    assert evaluations.evaluator.submitted == [model.num_timesteps] and seen == [pytest.approx(mean)]
    return evaluations, goes_on


def test_an_evaluation_below_the_target_trains_on(model):
    evaluations, goes_on = _judge(model, 474.9, None)
    assert goes_on and evaluations.solved is None and evaluations.rule.confirmed_return is None
    assert evaluations.best_return == pytest.approx(474.9) and evaluations.best.step == model.num_timesteps


def test_a_confirmed_evaluation_stops_training(model):
    evaluations, goes_on = _judge(model, 480.0, 490.0)
    assert not goes_on and evaluations.solved is not None and evaluations.rule.confirmed_return == 490.0


def test_a_lucky_evaluation_that_fresh_episodes_refute_trains_on(model):
    evaluations, goes_on = _judge(model, 500.0, 471.0)
    assert goes_on and evaluations.solved is None and evaluations.rule.confirmed_return == 471.0


def _returns_with(mean: float, standard_error: float) -> np.ndarray:
    """CONFIRM_EPISODES returns with exactly this mean and standard error of the mean."""
    spread = np.resize([-1.0, 1.0], CONFIRM_EPISODES)
    return mean + spread * standard_error * np.sqrt(CONFIRM_EPISODES) / spread.std(ddof=1)


def test_a_margin_refuses_a_confirmation_within_one_standard_error_of_the_target():
    rule = SolvedRule(-73.5, margin=1.0)
    assert not rule.confirms(_returns_with(-72.9, standard_error=1.0))  # 0.6 points clear: by luck as likely as not
    assert rule.confirmed_return == pytest.approx(-72.9)


def test_a_margin_accepts_a_confirmation_clear_of_the_target():
    assert SolvedRule(-73.5, margin=1.0).confirms(_returns_with(-72.3, standard_error=1.0))


def test_without_a_margin_reaching_the_target_is_enough():
    assert SolvedRule(-73.5).confirms(_returns_with(-73.4, 1.0))


def test_the_confirmation_plays_fresh_episodes_with_the_policy(model):
    returns = _confirmation("CartPole-v1", 0)(model, None)
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
    shown = np.mean(_confirmation("CartPole-v1", 3)(result.model, result.normalizer))
    assert shown > 9.5  # ... and a policy that balances, not a collapsed one
