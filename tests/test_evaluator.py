"""Evaluations beside training: the forked worker gives what in-place evaluation gives, and fails as loudly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import VecEnvWrapper

import agents.training
from agents.evaluator import MAX_IN_FLIGHT, EvaluationPlan, ForkedEvaluator, InlineEvaluator, choose_evaluator
from agents.live_files import snapshot_from_model
from agents.models import build_model
from agents.presets import resolve_hyperparams
from agents.registry import AGENTS
from agents.training import _confirmation, train
from core.checkpoint import load_state
from envs.factory import make_vector_env
from envs.guard import EnvFault, GuardedVecEnv


def _model(seed: int = 0):
    env = make_vector_env("CartPole-v1", 4, seed, training=True)
    return build_model(AGENTS.get("ppo"), {"n_steps": 32}, env, seed, torch.device("cpu"), tensorboard_log=None)


def _plan(episodes: int = 6, solved_at: float | None = None, env=None) -> EvaluationPlan:
    return EvaluationPlan(env or make_vector_env("CartPole-v1", episodes, 10_000), episodes, solved_at,
                          _confirmation("CartPole-v1", 0))


def _snapshots(model, count: int):
    """Copies of the policy at `count` different weights (perturbed in place, stamped with distinct steps)."""
    generator = torch.Generator().manual_seed(0)
    copies = []
    for index in range(count):
        with torch.no_grad():
            for parameter in model.policy.parameters():
                parameter.add_(0.3 * torch.randn(parameter.shape, generator=generator))
        model.num_timesteps = 1_000 * (index + 1)
        copies.append(snapshot_from_model(model, None))
    return copies


def test_the_worker_gives_the_results_of_evaluating_in_place():
    model = _model()
    copies = _snapshots(model, 4)
    inline_model = _model()
    inline, forked = InlineEvaluator(inline_model, _plan(solved_at=20.0)), ForkedEvaluator(_model(), _plan(solved_at=20.0))
    try:
        expected = []
        for copy in copies:
            inline_model.policy.load_state_dict(copy.weights)
            inline.submit(copy)
            expected += inline.results()
            forked.submit(copy)
        got = forked.results(wait=True)
    finally:
        forked.close()
    assert [result.step for result in got] == [copy.step for copy in copies]
    for mine, theirs in zip(got, expected):
        np.testing.assert_array_equal(mine.returns, theirs.returns)
        np.testing.assert_array_equal(mine.lengths, theirs.lengths)
        assert (mine.confirmation is None) == (theirs.confirmation is None)
        if mine.confirmation is not None:
            np.testing.assert_array_equal(mine.confirmation, theirs.confirmation)
    assert len({tuple(result.returns) for result in got}) > 1  # the copies differ, and so do their evaluations


def test_training_never_owes_more_than_max_in_flight_evaluations():
    model = _model()
    forked = ForkedEvaluator(model, _plan(episodes=20))
    try:
        for copy in _snapshots(model, MAX_IN_FLIGHT + 3):
            forked.submit(copy)
            assert forked._in_flight <= MAX_IN_FLIGHT
        assert len(forked.results(wait=True)) == MAX_IN_FLIGHT + 3
    finally:
        forked.close()


class _Exploding(VecEnvWrapper):
    """Raises on the third step, as a broken env would."""

    def reset(self):
        self.steps = 0
        return self.venv.reset()

    def step_wait(self):
        self.steps += 1
        if self.steps == 3:
            raise ValueError("the physics blew up")
        return self.venv.step_wait()


def test_an_env_fault_in_the_worker_reaches_the_trainer_as_the_same_error():
    model = _model()
    env = GuardedVecEnv(_Exploding(make_vector_env("CartPole-v1", 4, 10_000)), "CartPole-v1")
    forked = ForkedEvaluator(model, _plan(episodes=4, env=env))
    try:
        forked.submit(snapshot_from_model(model, None))
        with pytest.raises(EnvFault, match="CartPole-v1 raised ValueError.*the physics blew up"):
            forked.results(wait=True)
    finally:
        forked.close()


def test_a_worker_killed_from_outside_is_an_error_not_a_hang():
    model = _model()
    forked = ForkedEvaluator(model, _plan())
    forked._process.kill()
    forked._process.join()
    with pytest.raises((RuntimeError, BrokenPipeError)):
        forked.submit(snapshot_from_model(model, None))
        forked.results(wait=True)
    forked.close()


def test_evaluations_stay_in_place_where_a_worker_cannot_run_beside_training():
    model = _model()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # OpenMP threads that have run make fork unsafe
        assert isinstance(choose_evaluator(model, _plan()), InlineEvaluator)
    finally:
        torch.set_num_threads(threads)


def _train(tmp_path, name: str, seed: int):
    spec = AGENTS.get("ppo")
    hyperparams = resolve_hyperparams("ppo", "CartPole-v1", spec.algorithm_class(), [], {})
    torch.set_num_threads(1)
    return train(spec, "CartPole-v1", hyperparams, solved_at=475.0, seed=seed, device=torch.device("cpu"),
                 run_dir=tmp_path / name, progress=False, checkpoint_every=0)


def test_a_run_evaluated_beside_training_ends_with_the_policy_it_would_have_in_place(tmp_path, monkeypatch):
    beside = _train(tmp_path, "beside", seed=5)
    assert beside.solved
    monkeypatch.setattr(agents.training, "choose_evaluator", InlineEvaluator)
    in_place = _train(tmp_path, "in_place", seed=5)
    assert (beside.timesteps, beside.confirmed_return) == (in_place.timesteps, in_place.confirmed_return)
    shown, expected = load_state(beside.model_path, "model"), load_state(in_place.model_path, "model")
    assert shown.keys() == expected.keys() and all(torch.equal(shown[name], expected[name]) for name in shown)

