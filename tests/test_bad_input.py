"""Every bad input gets a one-line error, exit code 2, no traceback, and loses nothing saved."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import assert_user_error, last_json, run_cli

FAST = ["--render", "none", "--episodes", "1", "--no-progress"]


def test_unknown_env_suggests_the_catalog_name(runs_dir):
    assert_user_error(run_cli("--env", "CartPol", *FAST, "--runs-dir", str(runs_dir)),
                      "unknown environment 'CartPol'", "Did you mean CartPole?")


def test_unknown_agent_suggests(runs_dir):
    assert_user_error(run_cli("--agent", "ppp", *FAST, "--runs-dir", str(runs_dir)),
                      "unknown agent 'ppp'", "Did you mean ppo?")


def test_agent_that_does_not_fit_names_those_that_do(runs_dir):
    line = assert_user_error(run_cli("--agent", "dqn", "--env", "Pendulum", *FAST, "--runs-dir", str(runs_dir)),
                             "dqn cannot act in Pendulum-v1")
    for agent in ("ppo", "a2c", "sac", "td3"):
        assert agent in line.split("Agents that fit:")[1]


@pytest.mark.parametrize(("pair", "fragments"), [
    ("learnig_rate=0.1", ("unknown hyperparameter 'learnig_rate'", "Did you mean learning_rate?")),
    ("n_steps=many", ("--hp n_steps='many'", "expected a int")),
    ("gamma=[1, 2]", ("--hp gamma=[1, 2]", "expected a number")),
    ("learning_rate=fast", ("learning_rate='fast'", "lin_0.001")),
    ("no_equals_sign", ("is not key=value",)),
    ("n_envs=0", ("n_envs=0 must be at least 1",)),
])
def test_bad_hyperparameters(runs_dir, pair, fragments):
    assert_user_error(run_cli("--hp", pair, *FAST, "--runs-dir", str(runs_dir)), *fragments)
    assert not runs_dir.exists() or not any(runs_dir.rglob("model.zip"))


def test_bad_numbers_and_choices(runs_dir):
    assert_user_error(run_cli("--episodes", "0", "--runs-dir", str(runs_dir)), "--episodes 0")
    assert_user_error(run_cli("--timesteps", "-5", "--runs-dir", str(runs_dir)), "--timesteps -5")
    assert_user_error(run_cli("--render", "tv", "--runs-dir", str(runs_dir)), "invalid choice: 'tv'")
    assert_user_error(run_cli("--seed", "abc", "--runs-dir", str(runs_dir)), "invalid int value")
    assert_user_error(run_cli("--device", "tpu", *FAST, "--runs-dir", str(runs_dir)), "--device 'tpu'")


def test_cuda_without_a_gpu_is_refused(runs_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert_user_error(run_cli("--device", "cuda", *FAST, "--runs-dir", str(runs_dir)), "no CUDA GPU")


def test_missing_and_unreadable_load_files(tmp_path, runs_dir):
    assert_user_error(run_cli("--load", str(tmp_path / "nope.zip"), *FAST), "no model file there")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"\x00not a model" * 50)
    assert_user_error(run_cli("--load", str(junk), "--agent", "ppo", "--env", "CartPole", *FAST), "not a saved model")
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    assert_user_error(run_cli("--load", str(empty), "--agent", "ppo", "--env", "CartPole", *FAST), "not a saved model")


def _digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_model_from_another_env_is_refused_and_nothing_saved_changes(runs_dir):
    trained = last_json(run_cli("--agent", "ppo", "--env", "CartPole", "--timesteps", "1024", "--hp", "n_steps=32",
                                *FAST, "--runs-dir", str(runs_dir), "--json"))
    before = _digest(runs_dir)
    assert_user_error(run_cli("--load", trained["run_dir"], "--env", "Acrobot", *FAST, "--runs-dir", str(runs_dir)),
                      "was trained on CartPole-v1, not Acrobot-v1")
    assert_user_error(run_cli("--load", trained["run_dir"], "--agent", "dqn", *FAST, "--runs-dir", str(runs_dir)),
                      "holds a ppo agent, not dqn")
    bare_model = Path(trained["model_path"]).rename(runs_dir / "bare.zip")
    assert_user_error(run_cli("--load", str(bare_model), "--agent", "ppo", "--env", "Acrobot", *FAST,
                              "--runs-dir", str(runs_dir)), "do not match Acrobot-v1")
    bare_model.rename(trained["model_path"])
    assert_user_error(run_cli("--hp", "nope=1", "--env", "CartPole", *FAST, "--runs-dir", str(runs_dir)), "nope")
    assert _digest(runs_dir) == before


def test_human_agent_without_a_display_is_refused(runs_dir):
    from tests.conftest import headless_env

    assert_user_error(run_cli("--agent", "human", "--runs-dir", str(runs_dir), env=headless_env()),
                      "needs a window")
