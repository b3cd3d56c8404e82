"""Attacker tests: a run folder received from someone else never runs code, exhausts memory or ends in a traceback.

Every crafted folder below carries a payload that would create a marker file if its code ran; each test asserts
the marker never appears and that the command ends with one line and exit code 2. Memory is measured as the
peak resident memory of the command's own process (tests/hostile.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, assert_user_error, last_json, run_cli
from tests.hostile import assert_refused_in_one_line, payload_source, run_capped, write_payload_module

FAST = ["--render", "none", "--episodes", "1", "--no-progress"]
# A refused load has imported torch and stable-baselines3 (about 260 MB resident here) and a normal load of the
# saved CartPole agent peaks near 350 MB; obeying any crafted file below would take gigabytes.
MEMORY_BOUND_MB = 600


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory) -> Path:
    """A real, briefly trained CartPole run (with its checkpoint) to copy and damage."""
    runs = tmp_path_factory.mktemp("shared") / "runs"
    summary = last_json(run_cli("--agent", "ppo", "--env", "CartPole", "--timesteps", "1024", "--hp", "n_steps=32",
                                *FAST, "--runs-dir", str(runs), "--json"))
    return Path(summary["run_dir"])


def received(saved_run: Path, tmp_path: Path, **changes: Any) -> Path:
    """A copy of the saved run, as if received, with config.json fields changed (`hyperparams__x` for nested)."""
    folder = tmp_path / "received"
    shutil.copytree(saved_run, folder, ignore=shutil.ignore_patterns(".lock"))
    config = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if key.startswith("hyperparams__"):
            config["hyperparams"][key.removeprefix("hyperparams__")] = value
        else:
            config[key] = value
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def load(folder: Path | str, *extra: str, cwd: Path | None = None) -> Any:
    return run_capped([str(ROOT / "play.py"), "--load", str(folder), *FAST, *extra], cwd=cwd)


def resume(folder: Path, *extra: str, cwd: Path | None = None) -> Any:
    return run_capped([str(ROOT / "play.py"), "--resume", str(folder), "--no-progress", "--render", "none",
                       "--episodes", "1", *extra], cwd=cwd)


# --- fields that name code ---------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("open_with", ["folder", "model.pt", "resume"])
def test_a_perception_plugin_in_the_folder_is_never_imported(saved_run, tmp_path, open_with):
    marker = tmp_path / "marker"
    folder = received(saved_run, tmp_path)
    plugin = write_payload_module(folder, marker)
    config = json.loads((folder / "config.json").read_text())
    config["hyperparams"]["perception"] = f"{plugin}:Net"
    (folder / "config.json").write_text(json.dumps(config))
    run = resume(folder) if open_with == "resume" else load(folder if open_with == "folder" else folder / "model.pt")
    assert_refused_in_one_line(run, "perception names code", str(plugin), f"--trust-code {plugin}")
    assert not marker.exists()


@pytest.mark.slow
def test_a_plugin_module_on_the_path_is_never_imported(saved_run, tmp_path):
    marker = tmp_path / "marker"
    write_payload_module(tmp_path / "evilpkg", marker, name="nets")
    (tmp_path / "evilpkg" / "__init__.py").write_text(payload_source(marker))
    folder = received(saved_run, tmp_path, hyperparams__perception="evilpkg.nets:Net")
    assert_refused_in_one_line(load(folder, cwd=tmp_path), "the module evilpkg.nets", "--trust-code evilpkg.nets")
    assert not marker.exists()


@pytest.mark.slow
def test_trust_code_imports_the_file_the_user_names_and_only_then(saved_run, tmp_path):
    """The gate is what stops the payload: with --trust-code the named file is imported (from where the user says)."""
    marker, own_copy_marker = tmp_path / "marker", tmp_path / "own-copy-marker"
    folder = received(saved_run, tmp_path)
    plugin = write_payload_module(folder, marker)
    own_copy = write_payload_module(tmp_path / "mine", own_copy_marker, name="nets")
    config = json.loads((folder / "config.json").read_text())
    config["hyperparams"]["perception"] = f"{plugin}:Net"
    (folder / "config.json").write_text(json.dumps(config))
    run = load(folder, "--trust-code", str(own_copy))
    assert run.returncode in (0, 2) and "Traceback" not in run.stderr
    assert own_copy_marker.exists() and not marker.exists()  # the user's copy, never the folder's file


@pytest.mark.slow
def test_an_env_id_that_names_a_module_is_never_imported(saved_run, tmp_path):
    marker = tmp_path / "marker"
    (tmp_path / "evilenv.py").write_text(payload_source(marker))
    folder = received(saved_run, tmp_path, env_id="evilenv:CartPole-v1")
    assert_refused_in_one_line(load(folder, cwd=tmp_path), "would import the module 'evilenv'")
    assert_refused_in_one_line(resume(folder, cwd=tmp_path), "would import the module 'evilenv'")
    assert not marker.exists()


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (payload_source(self.marker),))


@pytest.mark.slow
@pytest.mark.parametrize("file", ["model.pt", "checkpoint.pt"])
def test_pickled_payloads_in_weight_files_never_run(saved_run, tmp_path, file):
    marker = tmp_path / "marker"
    folder = received(saved_run, tmp_path)
    (folder / file).write_bytes(pickle.dumps({"weights": _Payload(marker)}))
    run = load(folder) if file == "model.pt" else resume(folder)
    assert_refused_in_one_line(run, file)
    assert not marker.exists()


@pytest.mark.slow
def test_received_hyperparameters_that_name_classes_are_refused(saved_run, tmp_path):
    folder = received(saved_run, tmp_path, hyperparams__rollout_buffer_class="os.system")
    assert_refused_in_one_line(load(folder), "rollout_buffer_class", "name classes")
    folder = received(saved_run, tmp_path / "b", hyperparams__policy_kwargs={"features_extractor_class": "os.system"})
    assert_refused_in_one_line(load(folder), "features_extractor_class")


# --- fields that size memory or are simply wrong -----------------------------------------------------------------

CRAFTED = [
    ({"seed": "abc"}, "'seed'"),
    ({"seed": -1}, "'seed'"),
    ({"env_id": 123}, "'env_id'"),
    ({"agent": ["ppo"]}, "'agent'"),
    ({"agent": "human"}, "'agent'"),
    ({"hyperparams": [1]}, "'hyperparams'"),
    ({"hyperparams__n_steps": 10**12}, "n_steps=1000000000000"),
    ({"hyperparams__n_envs": 100_000}, "n_envs=100000"),
    ({"hyperparams__gamma": 5}, "gamma=5"),
    ({"hyperparams__n_epochs": -1}, "n_epochs=-1"),
    ({"hyperparams__learning_rate": "lin_1e400"}, "learning_rate"),
    ({"hyperparams__policy_kwargs": {"net_arch": [100_000, 100_000]}}, "net_arch"),
    ({"hyperparams__policy_kwargs": {"net_arch": [65_536] * 4}}, "parameters"),
    ({"hyperparams__policy_kwargs": {"net_arch": [-5]}}, "net_arch"),
    ({"hyperparams__policy_kwargs": {"activation_fn": "os.system"}}, "activation_fn"),
    ({"hyperparams__normalize": {"foo": 1}}, "normalize.foo"),
    ({"hyperparams__policy": "evil.module:Policy"}, "policy="),
    ({"hyperparams__n_timesteps": "many"}, "n_timesteps"),
    ({"format": 99}, "format 99"),
    ({"solved_at": "x"}, "'solved_at'"),
    ({"status": {"a": 1}}, "'status'"),
    ({"versions": {"torch": ["x"] * 100}}, "'versions'"),
    ({"observation_space": "x" * 20_000}, "'observation_space'"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("changes", "fragment"), CRAFTED, ids=[str(list(c)[0]) for c, _ in CRAFTED])
def test_crafted_config_fields_are_refused_in_one_line_within_memory(saved_run, tmp_path, changes, fragment):
    folder = received(saved_run, tmp_path, **changes)
    run = load(folder)
    assert_refused_in_one_line(run, fragment)
    assert run.peak_rss_mb < MEMORY_BOUND_MB, run.peak_rss_mb


@pytest.mark.slow
def test_deeply_nested_and_oversized_config_files_are_refused(saved_run, tmp_path):
    folder = received(saved_run, tmp_path)
    (folder / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    assert_refused_in_one_line(load(folder), "nested too deeply")
    with open(folder / "config.json", "w") as handle:  # 20 MB of one string
        handle.write('{"agent": "' + "a" * 20_000_000 + '"}')
    run = load(folder)
    assert_refused_in_one_line(run, "larger than 16 MiB")
    assert run.peak_rss_mb < MEMORY_BOUND_MB


@pytest.mark.parametrize(("normalization", "fragment"), [
    ({"mean": [0.0] * 3, "var": [1.0] * 4, "count": 1, "clip_obs": 10, "epsilon": 1e-8}, "'mean'"),
    ({"mean": ["a"] * 4, "var": [1.0] * 4, "count": 1, "clip_obs": 10, "epsilon": 1e-8}, "'mean'"),
    ({"mean": [0.0] * 4, "var": [-1.0] * 4, "count": 1, "clip_obs": 10, "epsilon": 1e-8}, "'var'"),
    ({"mean": [0.0] * 4, "var": [1.0] * 4, "count": "x", "clip_obs": 10, "epsilon": 1e-8}, "'count'"),
    ({"mean": [0.0] * 4, "var": [1.0] * 4, "count": 1, "clip_obs": 10}, "'epsilon'"),
    ([1, 2], "JSON object"),
])
@pytest.mark.slow
def test_a_wrong_normalization_file_is_refused(saved_run, tmp_path, normalization, fragment):
    folder = received(saved_run, tmp_path)
    (folder / "normalization.json").write_text(json.dumps(normalization))
    assert_refused_in_one_line(load(folder), "normalization.json", fragment)


@pytest.mark.slow
def test_a_checkpoint_with_wrong_counters_or_shapes_is_refused(saved_run, tmp_path):
    import torch

    folder = received(saved_run, tmp_path)
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    state["num_timesteps"] = "lots"
    torch.save(state, folder / "checkpoint.pt")
    assert_refused_in_one_line(resume(folder), "checkpoint.pt does not fit this run", "step counters")
    state["num_timesteps"] = 10
    name = next(iter(state["parameters"]["policy"]))
    state["parameters"]["policy"][name] = torch.zeros(1000, 1000)
    torch.save(state, folder / "checkpoint.pt")
    assert_refused_in_one_line(resume(folder), "checkpoint.pt does not fit this run")


# --- nothing overwritten, one trainer per run, honest statuses ---------------------------------------------------

def test_record_never_replaces_a_file(saved_run, tmp_path):
    existing = tmp_path / "mine.mp4"
    existing.write_bytes(b"my holiday video")
    assert_user_error(run_cli("--load", str(saved_run), "--render", "video", "--episodes", "1",
                              "--record", str(existing)), "exists", "never replaces")
    assert existing.read_bytes() == b"my holiday video"


def test_video_names_claimed_in_the_same_second_never_collide(tmp_path):
    from core.files import new_file

    first = new_file(tmp_path / "videos" / "play-1.mp4")
    second = new_file(tmp_path / "videos" / "play-1.mp4")
    assert first != second and first.exists() and second.exists()


@pytest.mark.slow
def test_a_run_being_trained_cannot_be_resumed_twice(saved_run, tmp_path):
    folder = received(saved_run, tmp_path, status="interrupted")
    with open(folder / ".lock", "w") as handle:  # another process training this run holds its lock
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert_user_error(run_cli("--resume", str(folder), *FAST), "in use by another training process")
    assert json.loads((folder / "config.json").read_text())["status"] == "interrupted"


@pytest.mark.slow
def test_a_run_left_as_training_by_a_dead_process_counts_as_interrupted(saved_run, tmp_path):
    runs = tmp_path / "runs"
    folder = runs / "CartPole-v1" / "ppo" / "20990101-000000-s0"
    folder.parent.mkdir(parents=True)
    shutil.copytree(saved_run, folder, ignore=shutil.ignore_patterns(".lock"))
    config = json.loads((folder / "config.json").read_text())
    config["status"] = "training"  # what SIGKILL or a power cut leaves behind
    (folder / "config.json").write_text(json.dumps(config))
    summary = last_json(run_cli("--resume", "--agent", "ppo", "--env", "CartPole", "--timesteps", "1536", *FAST,
                                "--runs-dir", str(runs), "--json"))
    assert summary["run_dir"] == str(folder)
    assert json.loads((folder / "config.json").read_text())["status"] == "complete"


@pytest.mark.slow
def test_a_full_disk_while_training_marks_the_run_failed_and_keeps_it_resumable(tmp_path):
    """RLIMIT_FSIZE makes every write past 64 KiB fail as a full disk would (EFBIG instead of ENOSPC)."""
    import resource

    runs = tmp_path / "runs"

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failing write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    import subprocess
    import sys

    completed = subprocess.run([sys.executable, str(ROOT / "play.py"), "--agent", "ppo", "--env", "CartPole",
                                "--hp", "policy_kwargs.net_arch=[128, 128]", "--timesteps", "2048", *FAST,
                                "--runs-dir", str(runs)], capture_output=True, text=True, timeout=300,
                               preexec_fn=small_disk, env={**os.environ})
    assert_user_error(completed, "writing in", "failed", "--resume")
    (config_path,) = runs.rglob("config.json")
    assert json.loads(config_path.read_text())["status"] == "failed"
