"""Every agent on every catalog env it fits, for a tiny budget; determinism for a fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.evaluation import evaluate
from agents.registry import AGENTS
from agents.session import SessionOptions, env_spaces, prepare
from envs.catalog import CATALOG

# Small rollouts so that one PPO/A2C update fits the tiny budget.
TINY = {"ppo": ["n_steps=32", "batch_size=32", "n_envs=2"], "a2c": ["n_steps=8", "n_envs=2"],
        "dqn": ["learning_starts=64", "buffer_size=1000"], "sac": ["learning_starts=64", "buffer_size=1000"],
        "td3": ["learning_starts=64", "buffer_size=1000"],
        "ppo-lstm": ["n_steps=32", "batch_size=32", "n_envs=2", "policy_kwargs.lstm_hidden_size=16"]}


def _pairs() -> list[tuple[str, str]]:
    pairs = []
    for env_name, entry in CATALOG.items():
        # Atari: an untrained agent's evaluation game lasts up to 27,000 steps; tests/test_perception.py trains
        # every perception network on Atari without evaluating.
        if entry.missing_requirement() or entry.kind == "atari":
            continue
        _, action_space = env_spaces(entry.env_id)
        pairs += [(agent, env_name) for agent, spec in AGENTS.items() if spec.fits(action_space) and agent != "human"]
    return pairs


@pytest.mark.slow
@pytest.mark.parametrize(("agent", "env_name"), _pairs())
def test_agent_trains_and_plays_on_env(tmp_path, agent, env_name):
    options = SessionOptions(agent=agent, env=env_name, seed=1, timesteps=256, runs_dir=tmp_path,
                             hp=TINY.get(agent, []) + ["eval_every=128", "eval_episodes=2"] if agent in TINY else [],
                             progress=False)
    prepared = prepare(options, say=lambda message: None)
    returns = evaluate(prepared.controller, prepared.env_id, episodes=2, seed=5, normalizer=prepared.normalizer)
    assert len(returns) == 2 and all(np.isfinite(returns))
    if AGENTS.get(agent).trainable:
        assert prepared.trained and prepared.model_path.is_file()
        assert prepared.timesteps >= 256


def test_every_catalog_env_has_a_preset_for_every_fitting_learner():
    from agents.presets import has_env_preset

    for _, entry in CATALOG.items():
        if entry.missing_requirement():
            continue
        _, action_space = env_spaces(entry.env_id)
        for name, spec in AGENTS.items():
            if spec.trainable and spec.fits(action_space):
                assert has_env_preset(name, entry.env_id), (name, entry.env_id)


def test_every_catalog_world_defaults_to_an_agent_that_fits_it_with_a_preset():
    from agents.presets import has_env_preset
    from envs.catalog import default_agent

    for _, entry in CATALOG.items():
        if entry.missing_requirement():
            continue
        _, action_space = env_spaces(entry.env_id)
        spec = AGENTS.get(default_agent(entry.env_id))
        assert spec.trainable and spec.fits(action_space), entry.name
        assert has_env_preset(spec.name, entry.env_id), entry.name
    assert default_agent("Pendulum-v1") == "sac" and default_agent("Taxi-v3") == "ppo"


def _train_once(tmp_path, seed: int) -> tuple[list[np.ndarray], list[float]]:
    options = SessionOptions(agent="ppo", env="CartPole", seed=seed, timesteps=2048, runs_dir=tmp_path,
                             retrain=True, hp=["n_steps=64", "batch_size=128"], progress=False)
    prepared = prepare(options, say=lambda message: None)
    weights = [p.detach().clone().numpy() for p in prepared.controller.model.policy.parameters()]
    returns = evaluate(prepared.controller, prepared.env_id, episodes=5, seed=3)
    return weights, returns


@pytest.mark.slow
def test_same_seed_same_training_and_returns(tmp_path):
    first_weights, first_returns = _train_once(tmp_path / "a", seed=7)
    second_weights, second_returns = _train_once(tmp_path / "b", seed=7)
    other_weights, _ = _train_once(tmp_path / "c", seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first_weights, second_weights))
    assert first_returns == second_returns
    assert not all(np.array_equal(a, b) for a, b in zip(first_weights, other_weights))


def test_small_models_train_on_one_cpu_thread(tmp_path):
    threads = torch.get_num_threads()
    try:
        prepare(SessionOptions(agent="ppo", env="CartPole", timesteps=256, runs_dir=tmp_path,
                               hp=["n_envs=8", "n_steps=32", "batch_size=32"], progress=False), say=lambda m: None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
