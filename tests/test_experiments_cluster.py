"""A sweep submitted by address to a two-node Ray cluster started here; one node dies mid-sweep (slow)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, last_json
from tests.test_experiments_cli import free_port

pytestmark = pytest.mark.slow
RAY = str(Path(sys.executable).with_name("ray"))
NODE_OPTIONS = ["--node-ip-address=127.0.0.1", "--num-cpus=1", f"--object-store-memory={100 * 1024**2}"]


def cluster_env() -> dict[str, str]:
    """A fresh token shared by the nodes and the driver (Ray 2.5x+ clusters authenticate with one)."""
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32)}


def stop_group(group: int) -> None:
    """End every process of a process group: the node's raylet, its workers and helpers.

    `ray stop` would end every Ray process of the machine, also those of another test run beside this one.
    """
    for sig, pause in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        time.sleep(pause)


@pytest.fixture
def ray_cluster() -> Iterator[dict]:
    """A head node and a worker node (1 CPU each) on 127.0.0.1; always stopped afterwards."""
    env, port = cluster_env(), free_port()
    groups: list[int] = []
    try:
        head = subprocess.Popen([RAY, "start", "--head", f"--port={port}", "--include-dashboard=false",
                                 "--disable-usage-stats", *NODE_OPTIONS], env=env, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        groups.append(head.pid)
        output, _ = head.communicate(timeout=120)
        assert head.returncode == 0, output
        worker = subprocess.Popen([RAY, "start", f"--address=127.0.0.1:{port}", "--block", *NODE_OPTIONS], env=env,
                                  start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        groups.append(worker.pid)
        yield {"address": f"127.0.0.1:{port}", "env": env, "worker_group": worker.pid}
    finally:
        for group in reversed(groups):
            stop_group(group)


def test_sweep_survives_losing_a_worker_node(ray_cluster: dict, runs_dir: Path) -> None:
    command = [sys.executable, str(ROOT / "play.py"), "tune", "--agent", "ppo", "--env", "CartPole", "--trials", "3",
               "--budget", "15000", "--address", ray_cluster["address"], "--runs-dir", str(runs_dir), "--json"]
    sweep = subprocess.Popen(command, cwd=ROOT, env=ray_cluster["env"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        # Both nodes are busy once two trials have reported: then end the worker node, its trial with it.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and sweep.poll() is None:
            reporting = [path for path in runs_dir.glob("CartPole-v1/ppo/tune-*/trial-*/result.json")
                         if path.stat().st_size > 0]
            if len(reporting) >= 2:
                break
            time.sleep(0.2)
        assert sweep.poll() is None, "the sweep ended before both nodes were busy"
        os.killpg(ray_cluster["worker_group"], signal.SIGKILL)
        stdout, stderr = sweep.communicate(timeout=300)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    completed = subprocess.CompletedProcess(command, sweep.returncode, stdout, stderr)
    summary = last_json(completed)
    assert summary["trials"] == 3 and summary["failed"] == 0, summary
    assert summary["retried"] >= 1, stdout  # the trial of the lost node ran again on the head
    assert "lost its worker; starting it again" in stdout
    assert Path(summary["preset"]).is_file() and Path(summary["plot"]).is_file()
