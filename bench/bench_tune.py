"""Scaling a sweep: the same 16-trial `play.py tune` sweep with 1 and with 2 trials running at once.

    flock /tmp/cpu-bench.lock python bench/bench_tune.py --trials 16 --budget 30000 --repeats 1

Each sweep runs in a fresh process (`python play.py tune ... --num-cpus 2 --max-concurrent W --json`): the same
agent, env, search space, seed and budget, so only the number of parallel workers W differs. Measured: wall time
from process start to exit (Ray's start, the trials' worker processes and the reports included), env steps
trained by all trials (ASHA stops some early, and asynchronous pruning decides differently when trials finish in
another order), steps per second, and the best final evaluation return found. Prints a markdown table;
--json FILE writes every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_sweep(workers: int, args: argparse.Namespace, runs_dir: Path) -> dict:
    """One sweep in a fresh process; returns its JSON summary with the wall time."""
    command = [sys.executable, str(ROOT / "play.py"), "tune", "--agent", args.agent, "--env", args.env,
               "--trials", str(args.trials), "--budget", str(args.budget), "--seed", str(args.seed),
               "--num-cpus", "2", "--max-concurrent", str(workers), "--runs-dir", str(runs_dir), "--json"]
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"sweep with {workers} worker(s) failed:\n{completed.stderr[-3000:]}")
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    return {"workers": workers, "wall_s": round(wall, 1), "steps_trained": summary["steps_trained"],
            "steps_per_s": round(summary["steps_trained"] / wall), "best_return": summary["best_return"],
            "complete": summary["complete"], "pruned": summary["pruned"], "failed": summary["failed"],
            "best_hyperparams": summary["best_hyperparams"], "folder": summary["folder"]}


def table(runs: list[dict]) -> str:
    """Markdown: one row per worker count (each repeat listed), and the speed-up of 2 over 1 (medians)."""
    def joined(rows: list[dict], show: object) -> str:
        return ", ".join(show(row) for row in rows)  # type: ignore[operator]

    lines = ["| parallel trials | wall time (s) | env steps trained | steps/s | best final return "
             "| complete / pruned |",
             "|---|---|---|---|---|---|"]
    medians = {}
    for workers in sorted({run["workers"] for run in runs}):
        mine = [run for run in runs if run["workers"] == workers]
        medians[workers] = {key: statistics.median(run[key] for run in mine) for key in ("wall_s", "steps_per_s")}
        cells = [joined(mine, lambda r: str(r["wall_s"])), joined(mine, lambda r: f"{r['steps_trained']:,}"),
                 joined(mine, lambda r: str(r["steps_per_s"])), joined(mine, lambda r: f"{r['best_return']:.1f}"),
                 joined(mine, lambda r: f"{r['complete']} / {r['pruned']}")]
        lines.append(f"| {workers} | " + " | ".join(cells) + " |")
    if {1, 2} <= medians.keys():
        wall = medians[1]["wall_s"] / medians[2]["wall_s"]
        throughput = medians[2]["steps_per_s"] / medians[1]["steps_per_s"]
        lines.append(f"\nspeed-up of 2 over 1 parallel trials: wall time {wall:.2f}x, throughput {throughput:.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="ppo")
    parser.add_argument("--env", default="CartPole")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--budget", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="sweeps per worker count, alternating 1 and 2")
    parser.add_argument("--json", type=Path, help="write every run to this file")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as runs_dir:
        for repeat in range(args.repeats):
            for workers in (1, 2):
                run = run_sweep(workers, args, Path(runs_dir))
                runs.append({**run, "repeat": repeat})
                print(f"{workers} parallel: {run['wall_s']} s, {run['steps_trained']:,} steps "
                      f"({run['steps_per_s']} steps/s), best {run['best_return']:.1f}, "
                      f"{run['complete']} complete / {run['pruned']} pruned", flush=True)
    print(f"\n{args.trials} trials of {args.agent} on {args.env}, {args.budget:,} steps each, seed {args.seed}:\n")
    print(table(runs))
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
