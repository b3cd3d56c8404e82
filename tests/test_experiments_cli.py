"""`play.py tune` / `play.py seeds`: bad input ends with one line and exit code 2, before any training."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_user_error, run_cli


def free_port() -> int:
    """A TCP port nothing listens on (just released by the OS)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(("arguments", "fragments"), [
    (["tune", "--trials", "0"], ["--trials 0", "at least 1"]),
    (["seeds", "--seeds", "0"], ["--seeds 0", "at least 1"]),
    (["tune", "--budget", "-5"], ["--budget -5"]),
    (["seeds", "--max-concurrent", "0"], ["--max-concurrent 0"]),
    (["seeds", "--num-cpus", "0"], ["--num-cpus 0"]),
    (["tune", "--gpus-per-trial", "-1"], ["--gpus-per-trial"]),
    (["seeds", "--trials", "3"], ["unrecognized arguments: --trials 3", "play.py seeds --help"]),
    (["tune", "--address", "nohostport"], ["--address 'nohostport'", "host:port"]),
    (["tune", "--agent", "pp0"], ["unknown agent 'pp0'", "Did you mean ppo?"]),
    (["seeds", "--agent", "random"], ["random does not learn"]),
    (["tune", "--agent", "sac", "--env", "CartPole"], ["sac cannot act in CartPole-v1"]),
    (["seeds", "--env", "CartPol"], ["CartPol"]),
])
@pytest.mark.slow
def test_bad_options(arguments: list[str], fragments: list[str], runs_dir: Path) -> None:
    assert_user_error(run_cli(*arguments, "--runs-dir", str(runs_dir)), *fragments)
    assert not runs_dir.exists() or not any(runs_dir.rglob("experiment.json"))


@pytest.mark.slow
def test_unknown_hyperparameter_in_search_space(tmp_path: Path, runs_dir: Path) -> None:
    space = tmp_path / "space.yml"
    space.write_text("default:\n  learning_rate: {loguniform: [1.0e-4, 1.0e-3]}\n  n_step: {choice: [64, 128]}\n")
    completed = run_cli("tune", "--search-space", str(space), "--runs-dir", str(runs_dir))
    assert_user_error(completed, "unknown hyperparameter 'n_step'", "Did you mean n_steps?", str(space))


@pytest.mark.slow
def test_unreachable_address_fails_fast(runs_dir: Path) -> None:
    port = free_port()
    start = time.perf_counter()
    completed = run_cli("tune", "--address", f"127.0.0.1:{port}", "--runs-dir", str(runs_dir), timeout=120)
    line = assert_user_error(completed, f"--address 127.0.0.1:{port}", "no Ray cluster answers", "ray start --head")
    assert "drop --address" in line
    assert time.perf_counter() - start < 60  # Ray alone retries for minutes


def test_resume_without_an_experiment(runs_dir: Path) -> None:
    assert_user_error(run_cli("seeds", "--resume", "--runs-dir", str(runs_dir)), "no `seeds` experiment")
    assert_user_error(run_cli("tune", "--resume", str(runs_dir / "nothing")), "does not exist")


@pytest.mark.parametrize("command", ["tune", "seeds"])
def test_help_imports_neither_torch_nor_ray(command: str) -> None:
    code = (f"import sys, runpy; sys.argv=['play.py', '{command}', '--help']\ntry:\n"
            " runpy.run_path('play.py', run_name='__main__')\nexcept SystemExit: pass\n"
            "print('torch' in sys.modules, 'ray' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert completed.stdout.strip().splitlines()[-1] == "False False", completed.stdout + completed.stderr
    assert f"play.py {command}" in completed.stdout and "--address" in completed.stdout
