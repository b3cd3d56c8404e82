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


def node_processes(group: int) -> dict[int, str]:
    """The processes of a node started in its own process group, with their command lines: the group (raylet,
    agents) and their descendants (Ray's worker processes, which run in process groups of their own)."""
    rows = subprocess.run(["ps", "-eo", "pid=,ppid=,pgid=,args="], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    table = [(int(pid), int(ppid), int(pgid), args) for pid, ppid, pgid, args in
             (row.split(None, 3) + [""] * (4 - len(row.split(None, 3))) for row in rows)]
    found = {pid: args for pid, _, pgid, args in table if pgid == group}
    while children := {pid: args for pid, ppid, _, args in table if ppid in found and pid not in found}:
        found.update(children)
    return found


def training_on(group: int) -> bool:
    """Whether a trial is training on the node now (Ray titles a busy trial process `ray::<Trainable>.train`)."""
    return any(args.startswith("ray::") and args.split()[0].endswith(".train")
               for args in node_processes(group).values())


def kill_node(group: int, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to every process of a node, as if its machine went away.

    `ray stop` would end every Ray process of the machine, also those of another test run beside this one.
    """
    for pid in node_processes(group):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_node(group: int) -> None:
    """SIGTERM the node's processes, then SIGKILL what is left."""
    kill_node(group, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while node_processes(group) and time.monotonic() < deadline:
        time.sleep(0.2)
    kill_node(group, signal.SIGKILL)


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
            stop_node(group)


def test_sweep_survives_losing_a_worker_node(ray_cluster: dict, runs_dir: Path) -> None:
    command = [sys.executable, str(ROOT / "play.py"), "tune", "--agent", "ppo", "--env", "CartPole", "--trials", "3",
               "--budget", "15000", "--address", ray_cluster["address"], "--runs-dir", str(runs_dir), "--json"]
    sweep = subprocess.Popen(command, cwd=ROOT, env=ray_cluster["env"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        # Once a trial trains on the worker node, end the node, the trial with it.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and sweep.poll() is None and not training_on(ray_cluster["worker_group"]):
            time.sleep(0.1)
        assert sweep.poll() is None, "the sweep ended before a trial ran on the worker node"
        kill_node(ray_cluster["worker_group"])
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
