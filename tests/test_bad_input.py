"""Every bad input gets a one-line error, exit code 2, no traceback, and loses nothing saved."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import assert_user_error, last_json, run_cli

FAST = ["--render", "none", "--episodes", "1", "--no-progress"]


@pytest.mark.slow
def test_unknown_env_suggests_the_catalog_name(runs_dir):
    assert_user_error(run_cli("--env", "CartPol", *FAST, "--runs-dir", str(runs_dir)),
                      "unknown environment 'CartPol'", "Did you mean CartPole?")


def test_unknown_agent_suggests(runs_dir):
    assert_user_error(run_cli("--agent", "ppp", *FAST, "--runs-dir", str(runs_dir)),
                      "unknown agent 'ppp'", "Did you mean ppo?")


@pytest.mark.slow
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
    ("n_envs=0", ("n_envs=0 is out of range", "from 1 to")),
])
@pytest.mark.slow
def test_bad_hyperparameters(runs_dir, pair, fragments):
    assert_user_error(run_cli("--hp", pair, *FAST, "--runs-dir", str(runs_dir)), *fragments)
    assert not runs_dir.exists() or not any(runs_dir.rglob("model.pt"))


def test_bad_numbers_and_choices(runs_dir):
    assert_user_error(run_cli("--episodes", "0", "--runs-dir", str(runs_dir)), "--episodes 0")
    assert_user_error(run_cli("--timesteps", "-5", "--runs-dir", str(runs_dir)), "--timesteps -5")
    assert_user_error(run_cli("--render", "tv", "--runs-dir", str(runs_dir)), "invalid choice: 'tv'")
    assert_user_error(run_cli("--seed", "abc", "--runs-dir", str(runs_dir)), "invalid int value")
    assert_user_error(run_cli("--device", "tpu", *FAST, "--runs-dir", str(runs_dir)), "--device 'tpu'")


@pytest.mark.slow
def test_cuda_without_a_gpu_is_refused(runs_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert_user_error(run_cli("--device", "cuda", *FAST, "--runs-dir", str(runs_dir)), "no CUDA GPU")


@pytest.mark.slow
def test_missing_and_unreadable_load_files(tmp_path):
    assert_user_error(run_cli("--load", str(tmp_path / "nope.pt"), *FAST), "no model file there")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"\x00not a model" * 50)
    assert_user_error(run_cli("--load", str(junk), "--agent", "ppo", "--env", "CartPole", *FAST),
                      "pickled stable-baselines3 file", "--trust-pickle")
    assert_user_error(run_cli("--load", str(junk), "--agent", "ppo", "--env", "CartPole", "--trust-pickle", *FAST),
                      "not a saved stable-baselines3 model")


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> dict:
    """A real (briefly trained) CartPole run to damage in the tests below."""
    runs = tmp_path_factory.mktemp("saved") / "runs"
    return last_json(run_cli("--agent", "ppo", "--env", "CartPole", "--timesteps", "1024", "--hp", "n_steps=32",
                             *FAST, "--runs-dir", str(runs), "--json"))


def _copy_run(saved_run: dict, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(saved_run["run_dir"], tmp_path / "run"))


@pytest.mark.parametrize(("damage", "fragment"), [
    ("empty", "not a readable model file"),
    ("truncated", "not a readable model file"),
    ("random", "not a readable model file"),
    ("wrong_version", "has format 99"),
    ("no_config", "config file"),
    ("other_weights", "does not fit the agent"),
])
@pytest.mark.slow
def test_damaged_model_files_are_refused(saved_run, tmp_path, damage, fragment):
    import json

    import torch

    run = _copy_run(saved_run, tmp_path)
    model = run / "model.pt"
    if damage == "empty":
        model.write_bytes(b"")
    elif damage == "truncated":
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    elif damage == "random":
        model.write_bytes(bytes(range(256)) * 40)
    elif damage == "wrong_version":
        config = json.loads((run / "config.json").read_text())
        (run / "config.json").write_text(json.dumps({**config, "format": 99}))
    elif damage == "no_config":
        (run / "config.json").unlink()
    elif damage == "other_weights":
        torch.save({"layer.weight": torch.zeros(3, 3)}, model)
    assert_user_error(run_cli("--load", str(run), *FAST), fragment)


@pytest.mark.slow
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    """A stable-baselines3 .zip whose pickled data creates a file when unpickled."""
    import base64
    import json
    import pickle
    import zipfile

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    data = {"policy_class": {":type:": "<class 'type'>", ":serialized:": base64.b64encode(
        pickle.dumps(Payload())).decode()}}
    evil = tmp_path / "shared_agent.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("data", json.dumps(data))
    assert_user_error(run_cli("--load", str(evil), "--agent", "ppo", "--env", "CartPole", *FAST), "--trust-pickle")
    assert not marker.exists()
    trusted = run_cli("--load", str(evil), "--agent", "ppo", "--env", "CartPole", "--trust-pickle", *FAST)
    assert trusted.returncode == 2 and "warning: unpickling" in trusted.stderr
    assert marker.exists()  # the file really was dangerous: trusting it ran its code


def _digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.slow
def test_model_from_another_env_is_refused_and_nothing_saved_changes(runs_dir):
    trained = last_json(run_cli("--agent", "ppo", "--env", "CartPole", "--timesteps", "1024", "--hp", "n_steps=32",
                                *FAST, "--runs-dir", str(runs_dir), "--json"))
    before = _digest(runs_dir)
    assert_user_error(run_cli("--load", trained["run_dir"], "--env", "Acrobot", *FAST, "--runs-dir", str(runs_dir)),
                      "was trained on CartPole-v1, not Acrobot-v1")
    assert_user_error(run_cli("--load", trained["run_dir"], "--agent", "dqn", *FAST, "--runs-dir", str(runs_dir)),
                      "holds a ppo agent, not dqn")
    from stable_baselines3 import PPO

    pickled = runs_dir / "sb3_cartpole.zip"
    PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32).save(pickled)
    refused = run_cli("--load", str(pickled), "--agent", "ppo", "--env", "Acrobot", "--trust-pickle", *FAST,
                      "--runs-dir", str(runs_dir))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    warning, error = refused.stderr.strip().splitlines()  # the --trust-pickle warning, then the error
    assert warning.startswith("warning: unpickling") and "do not match Acrobot-v1" in error
    pickled.unlink()
    assert_user_error(run_cli("--hp", "nope=1", "--env", "CartPole", *FAST, "--runs-dir", str(runs_dir)), "nope")
    assert _digest(runs_dir) == before


@pytest.mark.slow
def test_human_agent_without_a_display_is_refused(runs_dir):
    from tests.conftest import headless_env

    assert_user_error(run_cli("--agent", "human", "--runs-dir", str(runs_dir), env=headless_env()),
                      "needs a window")
