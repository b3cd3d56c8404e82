"""The common core: registries, atomic files, run folders, device choice."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from core import seeding
from core.device import resolve_device
from core.errors import PlaygroundError
from core.files import atomic_path, ensure_writable_dir, read_json, write_json
from core.registry import Registry, did_you_mean
from core.runs import new_run_dir


def test_registry_is_case_insensitive_and_suggests():
    registry: Registry[int] = Registry("thing")
    registry.register("CartPole", 1)
    assert registry.get("cartpole") == 1 and "CARTPOLE" in registry
    with pytest.raises(PlaygroundError, match="Did you mean CartPole"):
        registry.get("CartPol")
    with pytest.raises(ValueError):
        registry.register("cartpole", 2)
    assert did_you_mean("zzzz", ["CartPole"]) == ""


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "config.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("crash while writing")
    assert read_json(target) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_atomic_writes_get_the_umask_permissions_as_open_does(tmp_path):
    previous = os.umask(0o022)
    try:
        write_json(tmp_path / "config.json", {"a": 1})
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "config.json").stat().st_mode) == 0o644  # mkstemp alone gives 0600
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == 0o644


def test_read_json_errors_name_the_file(tmp_path):
    with pytest.raises(PlaygroundError, match="does not exist"):
        read_json(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(PlaygroundError, match="cannot be read"):
        read_json(broken)


def test_run_folders_are_never_reused(tmp_path):
    first = new_run_dir(tmp_path, "ALE/Pong-v5", "ppo", tag="s0")
    second = new_run_dir(tmp_path, "ALE/Pong-v5", "ppo", tag="s0")
    assert first != second and first.parent == second.parent == tmp_path / "ALE-Pong-v5" / "ppo"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_runs_folder_is_refused_at_start(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(PlaygroundError, match="not writable"):
        ensure_writable_dir(locked / "runs")


def test_runs_folder_under_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PlaygroundError, match="not writable"):
        ensure_writable_dir(Path(blocker) / "runs")


def test_each_set_of_episodes_plays_its_own_seeds():
    """Evaluations, confirmations, the reported and the shown episodes never share a seed (up to 10,000 each)."""
    offsets = sorted([seeding.EVALUATION_SEED_OFFSET, seeding.REPORTED_SEED_OFFSET, seeding.SHOWN_SEED_OFFSET,
                      seeding.CONFIRMATION_SEED_OFFSET])
    assert all(later - earlier >= 10_000 for earlier, later in zip([0, *offsets], offsets))
    assert seeding.SEED_LIMIT + offsets[-1] + 10_000 < 2**32


def test_device_choice():
    import torch

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto", prefer_gpu=False).type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto", prefer_gpu=True).type == expected
    with pytest.raises(PlaygroundError):
        resolve_device("tpu")


def test_help_does_not_import_torch():
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = "import sys, runpy; sys.argv=['play.py','--help']\ntry:\n runpy.run_path('play.py', run_name='__main__')\n" \
           "except SystemExit: pass\nprint('torch' in sys.modules, 'stable_baselines3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False False"
