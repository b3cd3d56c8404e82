"""Properties over hostile input: every hyperparameter of every agent, and mutated config/normalisation files.

Whatever the value, the outcome is a refusal in one line (PlaygroundError, exit code 2) or a run that works;
never another exception, and never memory beyond a bound.
"""

from __future__ import annotations

import json
import resource
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import play
from agents.limits import POLICY_KEYS, RANGES
from agents.presets import RUN_KEYS, SCHEDULABLE, algorithm_parameters, check_run_sizes, resolve_hyperparams
from agents.registry import AGENTS
from agents.training import build_training
from core.errors import PlaygroundError
from envs.make import env_spaces
from tests.conftest import last_json, run_cli

ENV_FOR = {"ppo": "CartPole-v1", "a2c": "CartPole-v1", "dqn": "CartPole-v1", "ppo-lstm": "CartPole-v1",
           "sac": "Pendulum-v1", "td3": "Pendulum-v1"}
LEARNING = [name for name, spec in AGENTS.items() if spec.trainable]
MEMORY_GROWTH_BOUND_MB = 1500  # how much the test process's peak may grow over all examples of a property

HOSTILE_TEXTS = ["[]", "{}", "[1e9]", "{foo: 1}", "null", "true", "lin_5", "lin_-1", "lin_nan", "auto_0", "auto_x",
                 "[-5]", "[100000, 100000]", "1e11", "-1", "0", "0.5", "nan", "inf", "-inf", "[[[[1]]]]",
                 "{pi: [8], vf: [8]}", "{pi: [-1]}", "[8, step]", "[8, banana]", "MlpPolicy", "CnnPolicy",
                 "os.system", "'" + "x" * 300 + "'", "{net_arch: [65536, 65536, 65536]}"]


def hostile_values() -> st.SearchStrategy[str]:
    """`--hp` value texts: huge, negative and odd numbers, wrong types, nested collections, plausible values."""
    numbers = st.one_of(st.integers(-2**70, 2**70), st.integers(-3, 300), st.just(10**400),
                        st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False),
                        st.floats(0, 1, allow_subnormal=False))
    collections = st.recursive(st.one_of(st.integers(-10, 10**6), st.text(max_size=4)),
                               lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                                   st.text(max_size=4), inner, max_size=2), max_leaves=6)
    return st.one_of(numbers.map(json.dumps), collections.map(json.dumps), st.sampled_from(HOSTILE_TEXTS),
                     st.text(max_size=12))


def test_every_numeric_argument_of_every_agent_has_a_range():
    for name in LEARNING:
        for key, default in algorithm_parameters(AGENTS.get(name).algorithm_class()).items():
            numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
            if numeric or key in SCHEDULABLE or key == "target_kl":
                assert key in RANGES, (name, key)


@st.composite
def agent_and_setting(draw: st.DrawFn) -> tuple[str, str, str]:
    agent = draw(st.sampled_from(LEARNING))
    keys = sorted({*algorithm_parameters(AGENTS.get(agent).algorithm_class()), *RUN_KEYS} - {"perception"})
    keys += [f"policy_kwargs.{key}" for key in sorted(POLICY_KEYS)]
    return agent, draw(st.sampled_from(keys)), draw(hostile_values())


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=agent_and_setting())
def test_any_hyperparameter_value_is_refused_in_one_line_or_trains(case):
    agent, key, text = case
    spec = AGENTS.get(agent)
    env_id = ENV_FOR[agent]
    spaces = env_spaces(env_id)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        hyperparams = resolve_hyperparams(agent, env_id, spec.algorithm_class(),
                                          [f"{key}={text}", "n_timesteps=4096", "eval_episodes=2"])
        check_run_sizes(spec, hyperparams, spaces, "--hp")
    except PlaygroundError as error:
        assert "\n" not in str(error).strip()
        event("refused")
        return
    event("accepted and trained")  # shown with --hypothesis-show-statistics
    # Accepted: it must build and train without any other exception.
    try:
        env, eval_env, model, _ = build_training(spec, env_id, hyperparams, 0, torch.device("cpu"), None, 0)
    except PlaygroundError:
        return
    try:
        rollout = hyperparams["n_envs"] * int(hyperparams.get("n_steps", 1) or 1)
        model.learn(total_timesteps=min(rollout, 512))
    finally:
        env.close()
        eval_env.close()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown < MEMORY_GROWTH_BOUND_MB, (case, grown)


@pytest.fixture(scope="module")
def normalized_run(tmp_path_factory) -> Path:
    """A real MountainCar run with observation normalisation (its preset normalises), trained briefly."""
    runs = tmp_path_factory.mktemp("hostile") / "runs"
    summary = last_json(run_cli("--agent", "ppo", "--env", "MountainCar", "--timesteps", "256", "--hp", "n_envs=2",
                                "--hp", "n_steps=64", "--render", "none", "--episodes", "1", "--no-progress",
                                "--runs-dir", str(runs), "--json"))
    folder = Path(summary["run_dir"])
    assert (folder / "normalization.json").is_file()
    return folder


DEEP = "<50,000 nested lists>"
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**80, 2**80), st.floats(allow_subnormal=False),
              st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10)


def _mutate(data: Any, path: list[str], value: Any) -> Any:
    """Replace the entry at `path` (dict keys; the last may be new) with `value`."""
    if not path or not isinstance(data, dict):
        return value
    head, *rest = path
    return {**data, head: _mutate(data.get(head, {}), rest, value)}


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, list[str], Any]:
    file = draw(st.sampled_from(["config.json", "normalization.json"]))
    keys = {"config.json": ["agent", "env_id", "seed", "hyperparams", "hyperparams.n_steps", "hyperparams.n_envs",
                            "hyperparams.policy_kwargs", "hyperparams.normalize", "hyperparams.gamma",
                            "hyperparams.batch_size", "hyperparams.n_timesteps", "observation_space", "status",
                            "solved_at", "format", "versions", "hyperparams.perception", "hyperparams.policy"],
            "normalization.json": ["mean", "var", "count", "clip_obs", "epsilon"]}[file]
    path = draw(st.sampled_from(keys)).split(".")
    return file, path, draw(st.one_of(json_values, st.just(DEEP)))


@pytest.mark.slow
@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(change=mutation())
def test_a_mutated_run_folder_loads_or_is_refused_in_one_line(normalized_run, tmp_path_factory, capsys, change):
    file, path, value = change
    folder = tmp_path_factory.mktemp("mutated") / "run"
    shutil.copytree(normalized_run, folder, ignore=shutil.ignore_patterns(".lock", "tensorboard_*"))
    data = json.loads((folder / file).read_text())
    text = json.dumps(_mutate(data, path, value))
    if value == DEEP:  # deeper than json.dumps can write: put it in by hand
        text = text.replace(json.dumps(DEEP), "[" * 50_000 + "]" * 50_000)
    (folder / file).write_text(text)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = play.main(["--load", str(folder), "--render", "none", "--episodes", "1"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert code in (0, 2), (change, captured.err[-2000:])
    if code == 2:
        errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, captured.err
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown < MEMORY_GROWTH_BOUND_MB, (change, grown)
