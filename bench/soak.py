"""Soak test: train under repeated SIGKILLs, resuming each time, then check the agent still solves its env.

    python bench/soak.py --minutes 30 --kill-every 3 --checkpoint-every 60

Starts `play.py` training (stop-when-solved off, so it trains for the whole soak), kills it with
SIGKILL at a random moment in every `--kill-every`-minute window, resumes it with `--resume`, and so
on until `--minutes` have passed. Then it lets the run finish (writing model.pt) and evaluates the
final agent on 100 episodes. Reports the kills survived and the steps lost per kill: the steps the
progress bar had shown at the kill minus the steps of the checkpoint the resume started from.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRESS = re.compile(r"\|\s*([\d,]+)/([\d,]+) \[")


class Training:
    """One play.py process whose stderr is read in the background for the progress bar's step count."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen([sys.executable, str(ROOT / "play.py"), *args], cwd=ROOT,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.last_step = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        buffer = ""
        while chunk := self.process.stderr.read(256):
            buffer = (buffer + chunk)[-4000:]
            steps = PROGRESS.findall(buffer)
            if steps:
                self.last_step = int(steps[-1][0].replace(",", ""))

    def kill(self) -> int:
        """SIGKILL; returns the last step count the progress bar showed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._reader.join(timeout=5)
        return self.last_step

    def finish(self) -> str:
        out, _ = self.process.communicate()
        self._reader.join(timeout=5)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", default="ppo")
    parser.add_argument("--env", default="LunarLander")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--kill-every", type=float, default=3, help="minutes per kill window")
    parser.add_argument("--checkpoint-every", type=float, default=60, help="seconds")
    parser.add_argument("--budget", type=int, default=5_000_000, help="training steps (more than the soak reaches)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    runs = Path(tempfile.mkdtemp(prefix="soak-runs-"))
    common = ["--render", "none", "--episodes", "1", "--runs-dir", str(runs),
              "--checkpoint-every", str(args.checkpoint_every)]
    first = ["--agent", args.agent, "--env", args.env, "--seed", str(args.seed), "--timesteps", str(args.budget),
             "--hp", "solved_at=1e9", *common]
    start = time.monotonic()
    training = Training(first)
    losses: list[int] = []
    while time.monotonic() - start < args.minutes * 60 - args.kill_every * 60:
        time.sleep(rng.uniform(0.2, 1.0) * args.kill_every * 60)
        shown = training.kill()
        run_dir = next(runs.glob("*/*/*"))
        resumed_from = _checkpoint_steps(run_dir)  # what the next --resume starts from
        training = Training(["--resume", str(run_dir), *common])
        losses.append(max(shown - resumed_from, 0))
        print(f"kill {len(losses)} at {time.monotonic() - start:6.0f} s: progress showed {shown:,} steps, "
              f"resumed from {resumed_from:,}: lost {losses[-1]:,}", flush=True)
    time.sleep(max(args.minutes * 60 - (time.monotonic() - start), 0))
    reached = training.kill()
    run_dir = next(runs.glob("*/*/*"))
    steps = _checkpoint_steps(run_dir)
    print(f"soak over after {time.monotonic() - start:.0f} s: {reached:,} steps shown, checkpoint at {steps:,}")
    finish = Training(["--resume", str(run_dir), "--timesteps", str(steps + 1), *common, "--no-progress"])
    finish.finish()
    evaluation = subprocess.run([sys.executable, str(ROOT / "play.py"), "--load", str(run_dir), "--render", "none",
                                 "--episodes", "100", "--json"], cwd=ROOT, capture_output=True, text=True)
    summary = json.loads(evaluation.stdout.strip().splitlines()[-1])
    import gymnasium as gym

    threshold = gym.spec(summary["env_id"]).reward_threshold
    print(json.dumps({"kills_survived": len(losses), "steps_lost_per_kill": losses,
                      "max_steps_lost": max(losses, default=0), "final_steps": steps,
                      "final_mean_return_100_episodes": summary["mean_return"], "env_threshold": threshold,
                      "solved": threshold is not None and summary["mean_return"] >= threshold,
                      "run_dir": str(run_dir)}))
    return 0


def _checkpoint_steps(run_dir: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from agents.training_state import load_checkpoint

    return int(load_checkpoint(run_dir)["num_timesteps"])


if __name__ == "__main__":
    sys.exit(main())
