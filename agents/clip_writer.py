"""Short films of the policy for TensorBoard (`eval/episode`), made off training's critical path.

Training queues a policy snapshot per evaluation (headless runs) or only its final policy (runs shown in a
window) as `live/clips/step-N.pt`, and makes sure one writer process runs for the run:

    python -m agents.clip_writer RUN_FOLDER [--trust-code FILE.py|MODULE ...]

The writer plays one episode per snapshot, in step order, writes it as an animated GIF at that training step
and deletes the snapshot. It is a detached process with its own core-sized share of the machine: training never
waits for it, and it outlives the command to finish the last clips. When it falls behind by more than
MAX_PENDING snapshots it skips the oldest (the final policy is never skipped). It stops when nothing is queued
and no process trains the run any more.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from agents.live_files import CLIPS_DIR, PolicySnapshot, live_dir, write_snapshot

MAX_PENDING = 8
POLL_SECONDS = 0.2
IDLE_LIMIT = 600.0  # a writer whose trainer neither queues nor ends for this long gives up
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def clip_path(run_dir: Path, step: int) -> Path:
    """Where the snapshot for the clip at `step` is queued."""
    return live_dir(run_dir) / CLIPS_DIR / f"step-{step:013d}.pt"


class ClipQueue:
    """Training's side: queue snapshots, and keep one writer process running for the run.

    Args:
        run_dir: The run folder.
        trusted_code: The perception plug-in the run's own user allowed (the writer rebuilds the same network).
        every_evaluation: Queue a clip at every evaluation (headless), else only the final policy.
    """

    def __init__(self, run_dir: Path, trusted_code: list[str], every_evaluation: bool) -> None:
        self.run_dir = run_dir
        self.trusted_code = trusted_code
        self.every_evaluation = every_evaluation
        self.process: subprocess.Popen | None = None

    def add(self, snapshot: PolicySnapshot) -> None:
        """Queue `snapshot` for a clip, and start a writer if none runs."""
        write_snapshot(clip_path(self.run_dir, snapshot.step), snapshot)
        if self.process is None or self.process.poll() is not None:
            self.process = _launch(self.run_dir, self.trusted_code)


def _launch(run_dir: Path, trusted_code: list[str]) -> subprocess.Popen:
    """Start a detached writer (its own session: Ctrl-C in the terminal does not cut a clip in half)."""
    argv = [sys.executable, "-m", "agents.clip_writer", str(run_dir)]
    for code in trusted_code:
        argv += ["--trust-code", code]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env)


def pending(run_dir: Path) -> list[Path]:
    """The queued snapshots, oldest step first."""
    folder = live_dir(run_dir) / CLIPS_DIR
    return sorted(folder.glob("step-*.pt")) if folder.is_dir() else []


def drain(run_dir: Path, trusted_code: list[str], idle_limit: float = IDLE_LIMIT) -> int:
    """Turn queued snapshots into clips until none is queued and nobody trains the run; returns clips written."""
    from agents.run_record import is_locked

    writer = _ClipMaker(run_dir, trusted_code)
    written, idle_since = 0, time.monotonic()
    while True:
        queue = pending(run_dir)
        for skipped in queue[:-MAX_PENDING]:  # fallen behind: the newest MAX_PENDING (the final one among them)
            skipped.unlink(missing_ok=True)
        if queue:
            path = queue[-MAX_PENDING:][0]
            writer.make(path)
            path.unlink(missing_ok=True)
            written, idle_since = written + 1, time.monotonic()
        elif not is_locked(run_dir) or time.monotonic() - idle_since > idle_limit:
            return written
        else:
            time.sleep(POLL_SECONDS)


class _ClipMaker:
    """Builds the run's agent once, then records an episode for each snapshot."""

    def __init__(self, run_dir: Path, trusted_code: list[str]) -> None:
        from agents.run_record import read_record
        from envs.make import env_spaces

        self.run_dir = run_dir
        self.record = read_record(run_dir, trusted_code=trusted_code)
        self.observation_shape = env_spaces(self.record.env_id)[0].shape
        self.model = None

    def make(self, path: Path) -> None:
        import torch

        from agents.controllers import ModelController
        from agents.episode_video import record_episode_clip
        from agents.live_files import read_snapshot
        from agents.models import build_player, load_weights
        from agents.registry import AGENTS

        snapshot = read_snapshot(path, self.observation_shape)
        spec = AGENTS.get(self.record.agent)
        if self.model is None:
            self.model = build_player(spec, self.record, snapshot.weights, torch.device("cpu"), path)
        else:
            load_weights(self.model, snapshot.weights, path)
        controller = ModelController(self.model, spec.name, snapshot.normalizer)
        event_dirs = sorted(self.run_dir.glob("tensorboard_*"))
        if event_dirs:
            record_episode_clip(controller, self.record.env_id, self.record.seed + 40_000, event_dirs[-1],
                                snapshot.step)


def main(argv: list[str] | None = None) -> int:
    """The writer process."""
    parser = argparse.ArgumentParser(prog="python -m agents.clip_writer", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--trust-code", action="append", default=[])
    args = parser.parse_args(argv)
    from core.openmp import quiet_openmp_threads

    quiet_openmp_threads()
    import torch

    torch.set_num_threads(1)
    drain(args.run_dir, args.trust_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
