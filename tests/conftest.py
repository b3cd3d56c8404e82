"""Shared test set-up: no display, no audio, no network; helpers to run the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# As play.py does: idle OpenMP threads sleep instead of spinning, so torch in the test process does not stall
# when other processes share the cores (set before torch is first imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
# The user's cache (downloads, the registry of their own sweeps) is not the tests' to fill: a private one per run.
os.environ.setdefault("AGENT_PLAYGROUND_CACHE", tempfile.mkdtemp(prefix="playground-test-cache-"))


def default_sigint() -> None:
    """In a child process: take Ctrl-C normally even when the test runner was started with SIGINT ignored.

    Shells ignore SIGINT in background jobs (`cmd &`) and children inherit that; Python then never raises
    KeyboardInterrupt, so the Ctrl-C tests need the default disposition back.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def headless_env() -> dict[str, str]:
    """The environment of a machine with no display at all (SSH, CI)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")}
    env["SDL_AUDIODRIVER"] = "dummy"
    return env


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `python play.py ARGS` in a fresh process, and wait for the clip writer it may leave behind.

    Training queues TensorBoard clips for a detached writer process that outlives the command
    (agents/clip_writer.py); a test that reads the run folder next must see it finished.
    """
    argv = [sys.executable, str(ROOT / "play.py"), *args]
    completed = subprocess.run(argv, cwd=cwd or ROOT, env=env or os.environ.copy(), capture_output=True, text=True,
                               timeout=timeout, preexec_fn=default_sigint)
    wait_for_clip_writers()
    return completed


def wait_for_clip_writers(limit: float = 120.0) -> None:
    """Wait until no clip writer process runs (tests run one at a time, so every writer is a test's own)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not any(b"agents.clip_writer" in _cmdline(pid) for pid in os.listdir("/proc") if pid.isdigit()):
            return
        time.sleep(0.05)


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # ended meanwhile
        return b""


def last_json(completed: subprocess.CompletedProcess) -> dict:
    """The JSON object printed as the last line of stdout."""
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def assert_user_error(completed: subprocess.CompletedProcess, *fragments: str) -> str:
    """A one-line error on stderr, exit code 2, no traceback, naming every fragment."""
    assert completed.returncode == 2, (completed.returncode, completed.stdout[-2000:], completed.stderr[-2000:])
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert "Traceback" not in completed.stderr, completed.stderr
    assert len(lines) == 1, completed.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    return tmp_path / "runs"
