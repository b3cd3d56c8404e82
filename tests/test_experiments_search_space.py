"""Search spaces (validated like presets) and the reports a sweep writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from agents.presets import parse_overrides, validate
from agents.registry import AGENTS
from core.errors import PlaygroundError
from experiments.records import TrialRecord
from experiments.reports import hp_arguments, nested, rounded, tune_table, write_best_preset
from experiments.search_space import SEARCH_DIR, Dimension, decode_config, load_search_space, to_tune


def _space_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("agent", [path.stem for path in sorted(SEARCH_DIR.glob("*.yml"))])
def test_every_search_space_file_validates(agent: str) -> None:
    env_id = "Pendulum-v1" if agent in ("sac", "td3") else "CartPole-v1"
    space = load_search_space(agent, env_id, AGENTS.get(agent).algorithm_class())
    assert len(space) >= 5
    assert "learning_rate" in [dimension.key for dimension in space]


def test_every_learning_agent_has_a_search_space() -> None:
    learning = {name for name, spec in AGENTS.items() if spec.trainable}
    assert learning == {path.stem for path in SEARCH_DIR.glob("*.yml")}


def test_unknown_hyperparameter_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = _space_file(tmp_path, "default:\n  learnin_rate: {loguniform: [1.0e-4, 1.0e-3]}\n")
    with pytest.raises(PlaygroundError, match="unknown hyperparameter 'learnin_rate'.*Did you mean learning_rate"):
        load_search_space("ppo", "CartPole-v1", AGENTS.get("ppo").algorithm_class(), path)


@pytest.mark.parametrize(("spec", "message"), [
    ("n_steps: {uniform: [16.5, 64.5]}", "expected a int"),
    ("learning_rate: {loguniform: [0.0, 0.1]}", "low > 0"),
    ("learning_rate: {uniform: [0.1, 0.01]}", "low < high"),
    ("n_epochs: {int: [1, 2, 3]}", "two integers"),
    ("gamma: {normal: [0.9, 0.1]}", "write one of"),
    ("gamma: {choice: []}", "takes a list"),
])
def test_bad_samplers_are_refused(tmp_path: Path, spec: str, message: str) -> None:
    path = _space_file(tmp_path, f"default:\n  {spec}\n")
    with pytest.raises(PlaygroundError, match=message):
        load_search_space("ppo", "CartPole-v1", AGENTS.get("ppo").algorithm_class(), path)


def test_env_entry_overrides_default_and_values_decode(tmp_path: Path) -> None:
    path = _space_file(tmp_path, "default:\n  gamma: {choice: [0.9, 0.99]}\n  n_epochs: {int: [2, 8]}\n"
                                 "CartPole-v1:\n  policy_kwargs.net_arch: {choice: [[64, 64], [32]]}\n"
                                 "  gamma: {uniform: [0.95, 0.999]}\n")
    space = load_search_space("ppo", "CartPole-v1", AGENTS.get("ppo").algorithm_class(), path)
    by_key = {dimension.key: dimension for dimension in space}
    assert by_key["gamma"] == Dimension("gamma", "uniform", low=0.95, high=0.999)
    net_arch = by_key["policy_kwargs.net_arch"]
    assert net_arch.encoded_options() == ["[64, 64]", "[32]"]  # Optuna's categories hold scalars only
    decoded = decode_config(space, {"gamma": np.float64(0.97), "n_epochs": np.int64(5),
                                    "policy_kwargs.net_arch": "[32]", "seed": 0})
    assert decoded == {"gamma": 0.97, "n_epochs": 5, "policy_kwargs.net_arch": [32]}
    assert type(decoded["gamma"]) is float and type(decoded["n_epochs"]) is int
    tune_space = to_tune(space)
    assert set(tune_space) == set(by_key)
    for _ in range(20):
        assert 2 <= tune_space["n_epochs"].sample() <= 8


def test_best_preset_file_is_a_valid_preset(tmp_path: Path) -> None:
    preset = {"policy": "MlpPolicy", "n_envs": 8, "learning_rate": 0.002485367048344989,
              "policy_kwargs.net_arch": [128, 128], "policy_kwargs": {"ortho_init": False}}
    path = write_best_preset(tmp_path / "best.yml", "CartPole-v1", preset, "from a test\nsecond line")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# from a test\n# second line\n")
    entry = yaml.safe_load(text)["CartPole-v1"]
    assert entry == {"policy": "MlpPolicy", "n_envs": 8, "learning_rate": 0.002485,
                     "policy_kwargs": {"ortho_init": False, "net_arch": [128, 128]}}
    validate(entry, AGENTS.get("ppo").algorithm_class(), str(path))


def test_hp_arguments_round_trip_through_the_cli_parser() -> None:
    overrides = {"learning_rate": 0.00012345678, "n_steps": 256, "policy_kwargs.net_arch": [64, 64],
                 "noise_type": "normal"}
    arguments = hp_arguments(overrides).replace("'", "").split(" --hp=")
    pairs = [argument.removeprefix("--hp=") for argument in arguments]
    assert parse_overrides(pairs) == rounded(overrides) == {**overrides, "learning_rate": 0.0001235}
    assert nested({"a": 1, "policy_kwargs.x": 2}) == {"a": 1, "policy_kwargs": {"x": 2}}


def test_tune_table_ranks_complete_trials_first() -> None:
    records = [TrialRecord("pruned", Path("p"), {}, steps=[1000], returns=[300.0]),
               TrialRecord("good", Path("g"), {}, steps=[1000, 4000], returns=[50.0, 200.0]),
               TrialRecord("bad", Path("b"), {}, steps=[1000, 4000], returns=[20.0, 100.0]),
               TrialRecord("failed", Path("f"), {}, error="boom")]
    table = tune_table(records, ["gamma"], [{"gamma": 0.9}, {"gamma": 0.99}, {}, {}], budget=4000)
    names = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert names == ["good", "bad", "pruned", "failed"]
    assert "| good | complete | 4000 | 200 | 200 | 0.99 |" in table
    assert "| pruned | pruned | 1000 | 300 | 300 | 0.9 |" in table
