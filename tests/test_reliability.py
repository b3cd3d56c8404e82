"""Faults survived: Ctrl-C, SIGTERM and SIGKILL during training, broken envs, no disk space."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from agents.training_state import load_checkpoint
from tests.conftest import ROOT, assert_user_error, default_sigint, last_json, run_cli

# A PPO run that never counts as solved, so it trains for its whole budget.
LONG_RUN = ["--agent", "ppo", "--env", "CartPole", "--render", "none", "--episodes", "1", "--no-progress",
            "--hp", "solved_at=1000000", "--hp", "eval_every=100000", "--timesteps", "5000000"]


def _start(runs: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "play.py"), *LONG_RUN, "--runs-dir", str(runs), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)


def _wait_for_training(runs: Path, timeout: float = 60) -> Path:
    """The run folder, once its TensorBoard events exist (the first rollout is under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(runs.glob("*/ppo/*/tensorboard_1"))
        if found:
            time.sleep(1.0)
            return found[0].parent
        time.sleep(0.1)
    raise AssertionError("training did not start")


def _steps_in_tensorboard(run_dir: Path) -> list[int]:
    events = EventAccumulator(str(run_dir / "tensorboard_1"), size_guidance={"scalars": 0})
    events.Reload()
    return [event.step for event in events.Scalars("time/fps")]


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_saves_a_checkpoint_and_resume_continues(tmp_path, signal_number):
    runs = tmp_path / "runs"
    process = _start(runs)
    run_dir = _wait_for_training(runs)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and f"--resume {run_dir}" in stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert config["status"] == "interrupted"
    stopped_at = load_checkpoint(run_dir)["num_timesteps"]
    assert stopped_at == config["timesteps"] > 0

    target = stopped_at + 8192  # a short continuation of the (long) budget
    resumed = last_json(run_cli("--resume", str(run_dir), "--timesteps", str(target), "--render", "none",
                                "--episodes", "1", "--no-progress", "--runs-dir", str(runs), "--json"))
    assert resumed["run_dir"] == str(run_dir) and resumed["trained"]
    assert resumed["timesteps"] >= target
    assert json.loads((run_dir / "config.json").read_text())["status"] == "complete"
    steps = _steps_in_tensorboard(run_dir)
    assert steps == sorted(steps) and steps[-1] >= target and min(steps) < stopped_at  # one curve, continued
    assert [p.name for p in run_dir.glob("tensorboard_*")] == ["tensorboard_1"]


@pytest.mark.slow
def test_sigkill_at_random_moments_always_leaves_a_loadable_checkpoint(tmp_path):
    runs = tmp_path / "runs"
    rng = random.Random(0)
    process = _start(runs, "--checkpoint-every", "0.2")
    run_dir = _wait_for_training(runs)
    last_steps = 0
    for _ in range(6):
        time.sleep(rng.uniform(0.2, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        state = load_checkpoint(run_dir)  # must never be half-written
        assert state["num_timesteps"] >= last_steps
        last_steps = state["num_timesteps"]
        process = subprocess.Popen([sys.executable, str(ROOT / "play.py"), "--resume", str(run_dir), "--render",
                                    "none", "--episodes", "1", "--no-progress", "--checkpoint-every", "0.2"],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)  # let it load and train a little before the next kill
    process.kill()
    process.wait(timeout=30)
    assert last_steps > 0


@pytest.mark.parametrize(("env_name", "fragment"), [
    ("faulty/Raise-v0", "raised RuntimeError at step"),
    ("faulty/NaN-v0", "returned a NaN or infinite observation"),
    ("faulty/InfReward-v0", "returned a NaN or infinite reward"),
    ("faulty/Hang-v0", "hung: one step took over 1 s"),
])
@pytest.mark.slow
def test_broken_env_stops_training_with_a_clear_message_and_a_checkpoint(tmp_path, env_name, fragment):
    runs = tmp_path / "runs"
    completed = run_cli("--agent", "ppo", "--env", f"tests.faulty_envs:{env_name}", "--render", "none",
                        "--no-progress", "--env-timeout", "1", "--hp", "n_envs=1", "--runs-dir", str(runs))
    line = assert_user_error(completed, env_name, fragment, "a checkpoint was saved", "--resume")
    assert "step 2" in line or "step 3" in line  # names the step: the fault comes at the 300th step
    (run_dir,) = runs.glob("*/ppo/*")
    assert load_checkpoint(run_dir)["num_timesteps"] >= 299
    assert json.loads((run_dir / "config.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_evaluation_checks_for_nan_by_default(tmp_path):
    completed = run_cli("--agent", "random", "--env", "tests.faulty_envs:faulty/EarlyNaN-v0", "--render", "none",
                        "--episodes", "40", "--runs-dir", str(tmp_path))
    assert_user_error(completed, "faulty/EarlyNaN-v0 returned a NaN or infinite observation")


def test_a_full_disk_is_refused_at_start(monkeypatch, tmp_path):
    import shutil
    from collections import namedtuple

    from core.errors import PlaygroundError
    from core.files import ensure_writable_dir

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(PlaygroundError, match="only 0 MB free"):
        ensure_writable_dir(tmp_path / "runs")


@pytest.mark.slow
def test_resume_without_an_interrupted_run_is_refused(tmp_path):
    assert_user_error(run_cli("--resume", "--runs-dir", str(tmp_path), "--render", "none"),
                      "no interrupted ppo run on CartPole-v1")
    assert_user_error(run_cli("--resume", str(tmp_path / "nope"), "--render", "none"), "no such run folder")


@pytest.mark.slow
def test_resume_refuses_changed_hyperparameters(tmp_path):
    runs = tmp_path / "runs"
    trained = last_json(run_cli("--agent", "ppo", "--env", "CartPole", "--timesteps", "512", "--hp", "n_steps=32",
                                "--render", "none", "--episodes", "1", "--no-progress", "--runs-dir", str(runs),
                                "--json"))
    assert_user_error(run_cli("--resume", trained["run_dir"], "--hp", "n_epochs=3", "--render", "none"),
                      "--hp cannot change a run being resumed")
    assert os.path.isfile(Path(trained["run_dir"]) / "checkpoint.pt")
