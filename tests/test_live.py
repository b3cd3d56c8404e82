"""Watching training live: what training publishes, what the window steers, `play.py watch`, headless clips."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from agents.live_control import TrainingControl
from agents.live_files import LiveStatus, PolicySnapshot, read_snapshot, read_status, write_snapshot
from core.errors import PlaygroundError
from tests.conftest import ROOT, assert_user_error, default_sigint, last_json, run_cli, wait_for_clip_writers
from tests.hostile import payload_source

FAST = ["--render", "none", "--episodes", "1", "--no-progress"]


def _wait(condition, limit: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _status(run_dir: Path) -> LiveStatus | None:
    try:
        return read_status(run_dir)
    except PlaygroundError:  # never half a file, but the folder may not exist yet
        return None


# --- the files ----------------------------------------------------------------------------------------------------

def test_status_round_trips_and_crafted_status_files_are_refused(tmp_path):
    status = LiveStatus(phase="learning", step=4096, total=100_000, steps_per_s=1234.5, elapsed=3.3,
                        evaluations=[(2048, 20.5), (4096, 80.0)], solved_at=475.0, policy_step=4096)
    status.save(tmp_path)
    back = read_status(tmp_path)
    assert back.evaluations == [(2048, 20.5), (4096, 80.0)] and back.step == 4096 and not back.ended
    path = tmp_path / "live" / "status.json"
    for change in ({"phase": "rm -rf"}, {"step": -1}, {"evaluations": [[1, float("nan")]]},
                   {"evaluations": [[1, 2]] * 10_001}, {"evaluations": "x"}, {"format": 2}, {"message": "x" * 400}):
        data = {**json.loads(path.read_text()), **change}
        path.write_text(json.dumps(data))
        with pytest.raises(PlaygroundError):
            read_status(tmp_path)
    path.write_text("[" * 100_000)
    with pytest.raises(PlaygroundError):
        read_status(tmp_path)


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (payload_source(self.marker),))


def test_snapshots_hold_only_tensors_and_a_crafted_one_never_runs_code(tmp_path):
    weights = {"layer.weight": torch.randn(3, 4)}
    write_snapshot(tmp_path / "policy.pt", PolicySnapshot(77, weights, final=True))
    back = read_snapshot(tmp_path / "policy.pt", (4,))
    assert back.step == 77 and back.final and torch.equal(back.weights["layer.weight"], weights["layer.weight"])
    marker = tmp_path / "marker"
    torch.save({"format": 1, "step": 1, "final": False, "policy": {"w": _Payload(marker)}}, tmp_path / "evil.pt")
    with pytest.raises(PlaygroundError):
        read_snapshot(tmp_path / "evil.pt", (4,))
    torch.save({"format": 1, "step": True, "final": False, "policy": weights}, tmp_path / "odd.pt")
    with pytest.raises(PlaygroundError):
        read_snapshot(tmp_path / "odd.pt", (4,))
    assert not marker.exists()


def test_training_control_serves_each_checkpoint_request_once():
    control = TrainingControl()
    assert not control.take_checkpoint_request()
    control.request_checkpoint()
    control.request_checkpoint()
    assert control.take_checkpoint_request() and not control.take_checkpoint_request()
    assert not control.wait_for_window(0.05)
    control.mark_window_ready()
    assert control.wait_for_window(0.05)


# --- training steered by a window (in this process: training in the main thread, the "window" in another) --------

@pytest.mark.slow
def test_training_waits_for_the_window_publishes_newer_policies_pauses_and_stops_cleanly(tmp_path):
    """The window's first frame comes before the first update; the policy it plays gets newer; pause really
    stops the step counter; a checkpoint key saves a playable policy; ESC (stop) leaves a resumable run."""
    from agents.live import LiveOptions
    from agents.presets import resolve_hyperparams
    from agents.registry import AGENTS
    from agents.run_record import RunRecord
    from agents.training import TrainingInterrupted, train
    from agents.watching import LivePolicy
    from envs.make import env_spaces

    spec = AGENTS.get("ppo")
    hyperparams = resolve_hyperparams("ppo", "CartPole-v1", spec.algorithm_class(), [],
                                      {"n_timesteps": 2_000_000, "perception": None})
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    observation_space, action_space = env_spaces("CartPole-v1")
    RunRecord(agent="ppo", env_id="CartPole-v1", seed=0, device="cpu", observation_space=repr(observation_space),
              action_space=repr(action_space), solved_at=None, hyperparams=hyperparams).save(run_dir)
    control = TrainingControl()
    seen: dict = {}

    def window() -> None:
        try:
            _wait(lambda: _status(run_dir), what="the first status")
            time.sleep(1.5)  # a slow window: training must still be at step 0
            seen["before_first_frame"] = _status(run_dir).step
            control.mark_window_ready()
            policy = LivePolicy(run_dir)
            policy.load()
            seen["first_policy"] = policy.step
            _wait(lambda: policy.refresh() and policy.step > seen["first_policy"], what="a newer policy")
            seen["newer_policy"] = policy.step
            control.paused = True
            _wait(lambda: _status(run_dir).phase == "paused", what="the pause")
            paused_at = _status(run_dir).step
            time.sleep(1.0)
            seen["paused_steps"] = (paused_at, _status(run_dir).step)
            control.request_checkpoint()
            _wait(lambda: list(run_dir.glob("policies/step-*/model.pt")), what="the checkpoint")
            control.paused = False
            _wait(lambda: _status(run_dir).step > paused_at, what="training to resume")
            seen["resumed"] = True
        finally:
            control.request_stop()

    helper = threading.Thread(target=window)
    helper.start()
    with pytest.raises(TrainingInterrupted):
        train(spec, "CartPole-v1", hyperparams, None, 0, torch.device("cpu"), run_dir, progress=False,
              env_timeout=0, live=LiveOptions(control=control, clips="none"))
    helper.join()
    assert seen["before_first_frame"] == 0
    assert seen["newer_policy"] > seen["first_policy"] >= 0
    assert seen["paused_steps"][0] == seen["paused_steps"][1] and seen["resumed"]
    assert _status(run_dir).phase == "interrupted" and (run_dir / "checkpoint.pt").is_file()
    saved = next(run_dir.glob("policies/step-*"))
    assert last_json(run_cli("--load", str(saved), *FAST, "--json"))["episodes"] == 1


# --- the real command -----------------------------------------------------------------------------------------------

def _window_child(parent: int) -> int | None:
    """The live window's process: the spawned child of `parent`."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"spawn_main" in cmdline:  # not the resource tracker
            return int(pid)
    return None


def _signal_the_live_window(tmp_path: Path, timesteps: int, signum: int) -> tuple[int, str, str, Path]:
    """Train CartPole with the live window, send `signum` to the window's process once training runs; returns
    the command's exit code, stdout, stderr and run folder."""
    runs = tmp_path / "runs"
    command = [sys.executable, str(ROOT / "play.py"), "--agent", "ppo", "--env", "CartPole", "--render", "human",
               "--hp", "solved_at=1e9", "--timesteps", str(timesteps), "--no-progress", "--runs-dir", str(runs),
               "--json"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=default_sigint)
    try:
        run_dir = _wait(lambda: next(runs.glob("CartPole-v1/ppo/*"), None), what="the run folder")
        _wait(lambda: (_status(run_dir) or LiveStatus("learning", 0, 1)).step > 0, what="training to start")
        os.kill(_wait(lambda: _window_child(process.pid), what="the window process"), signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, stdout, stderr, run_dir


@pytest.mark.slow
def test_closing_the_live_window_stops_training_with_a_checkpoint_and_exit_130(tmp_path):
    """SDL turns SIGTERM into the window's close event: the same path as ESC or the close button."""
    returncode, _, stderr, run_dir = _signal_the_live_window(tmp_path, 5_000_000, signal.SIGTERM)
    assert returncode == 130, stderr[-2000:]
    assert f"python play.py --resume {run_dir}" in stderr and "Traceback" not in stderr
    assert _status(run_dir).phase == "interrupted" and (run_dir / "checkpoint.pt").is_file()
    resumed = last_json(run_cli("--resume", str(run_dir), "--timesteps", str(_status(run_dir).step + 2048), *FAST,
                                "--json"))
    assert resumed["trained"]


@pytest.mark.slow
def test_a_crash_of_the_window_never_loses_training(tmp_path):
    returncode, stdout, stderr, run_dir = _signal_the_live_window(tmp_path, 60_000, signal.SIGKILL)
    assert returncode == 0, stderr[-2000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["trained"] and summary["timesteps"] >= 60000 and summary["episodes"] == 0
    assert "The window closed unexpectedly" in stdout and (run_dir / "model.pt").is_file()


@pytest.mark.slow
def test_the_live_window_plays_the_final_policy_for_the_episodes_asked(tmp_path):
    summary = last_json(run_cli("--agent", "ppo", "--env", "CartPole", "--render", "human", "--episodes", "1",
                                "--no-progress", "--runs-dir", str(tmp_path / "runs"), "--json",
                                "--record", str(tmp_path / "live.mp4")))
    assert summary["trained"] and summary["episodes"] == 1 and summary["returns"][0] >= 475
    assert Path(summary["video"]).stat().st_size > 0
    status = read_status(Path(summary["run_dir"]))
    assert status.phase == "solved" and status.policy_step == summary["timesteps"]


@pytest.mark.slow
def test_watch_a_finished_run_and_a_run_another_process_trains(tmp_path):
    runs = tmp_path / "runs"
    finished = last_json(run_cli("--agent", "ppo", "--env", "CartPole", *FAST, "--runs-dir", str(runs), "--json"))
    watched = run_cli("watch", finished["run_dir"], "--episodes", "2", "--seed", "5")
    assert watched.returncode == 0, watched.stderr[-2000:]
    assert "episode 2: return" in watched.stdout and "mean return" in watched.stdout

    trainer = subprocess.Popen([sys.executable, str(ROOT / "play.py"), "--agent", "ppo", "--env", "CartPole",
                                "--hp", "solved_at=1e9", "--timesteps", "60000", "--seed", "1", *FAST,
                                "--runs-dir", str(tmp_path / "other")], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    run_dir = _wait(lambda: next((tmp_path / "other").glob("CartPole-v1/ppo/*"), None), what="the run folder")
    _wait(lambda: _status(run_dir), what="the first status")
    assert not _status(run_dir).ended
    watched = run_cli("watch", str(run_dir), "--episodes", "1")
    assert trainer.wait(timeout=120) == 0, trainer.stderr.read()[-2000:]
    assert watched.returncode == 0, watched.stderr[-2000:]
    assert "episode 1: return" in watched.stdout


def test_watch_refuses_what_it_cannot_show_in_one_line(tmp_path):
    assert_user_error(run_cli("watch", str(tmp_path / "nowhere")), "no such run folder")
    marker = tmp_path / "marker"
    (tmp_path / "evil.py").write_text(payload_source(marker))
    folder = tmp_path / "received"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"format": 1, "agent": "ppo", "env_id": "evil:CartPole-v1",
                                                    "seed": 0, "hyperparams": {}}))
    assert_user_error(run_cli("watch", str(folder), cwd=tmp_path), "would import the module 'evil'")
    assert not marker.exists()


# --- headless ------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_headless_training_films_every_evaluation_into_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    summary = last_json(run_cli("--agent", "ppo", "--env", "CartPole", *FAST, "--runs-dir", str(tmp_path), "--json"))
    wait_for_clip_writers()
    run_dir = Path(summary["run_dir"])
    events = EventAccumulator(str(next(run_dir.glob("tensorboard_*"))), size_guidance={"images": 0})
    events.Reload()
    filmed = sorted({event.step for event in events.Images("eval/episode")})
    evaluated = [step for step, _ in read_status(run_dir).evaluations]
    assert len(evaluated) >= 2
    assert filmed == sorted(set(evaluated) | {summary["timesteps"]})
    assert not list(run_dir.glob("live/clips/*.pt"))  # the queue is drained
