"""Wall-clock time to a solved CartPole-v1: this project's presets against the RL Zoo settings.

    python bench/bench_cartpole.py --seeds 5

Every run is a fresh process (imports count). Each side follows the same protocol: evaluate
every few thousand steps on 20 deterministic episodes, stop at mean >= 475, confirm on 100 fresh
episodes. Prints a markdown table of medians and the project/zoo ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIRM_AT = 475.0


def one_run(who: str, algo: str, seed: int, eval_every: int, hp: list[str]) -> dict:
    """Spawn the worker and time it from the moment the process is created."""
    command = [sys.executable, str(ROOT / "bench" / "cartpole_worker.py"), "--who", who, "--algo", algo,
               "--seed", str(seed), "--eval-every", str(eval_every)] + [f"--hp={pair}" for pair in hp]
    spawned = time.time()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["from_start"] = result["solved_at"] - spawned
    result["confirmed"] = result["solved"] and result["confirm_mean"] >= CONFIRM_AT
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--algos", nargs="+", default=["ppo", "dqn"])
    parser.add_argument("--who", nargs="+", default=["project", "zoo"])
    parser.add_argument("--hp", action="append", default=[], help="extra project hyperparameters (tuning)")
    args = parser.parse_args()
    eval_every = {"ppo": 4096, "dqn": 5000}
    rows: dict[tuple[str, str], dict] = {}
    for algo in args.algos:
        for who in args.who:
            runs = []
            for seed in range(args.seeds):
                run = one_run(who, algo, seed, eval_every[algo], args.hp if who == "project" else [])
                runs.append(run)
                print(f"{who:8s} {algo} seed {seed}: {run['from_start']:6.2f} s from start, "
                      f"{run['train_seconds']:6.2f} s training, {run['steps']:6d} steps, "
                      f"solved {run['solved']}, confirm {run['confirm_mean']:.1f}", flush=True)
            rows[(who, algo)] = {
                "from_start": statistics.median(r["from_start"] for r in runs),
                "training": statistics.median(r["train_seconds"] for r in runs),
                "steps": statistics.median(r["steps"] for r in runs),
                "confirmed": sum(r["confirmed"] for r in runs),
                "seeds": len(runs),
            }
    print("\n| agent | settings | median s from process start | median s training | median steps "
          "| confirmed (100 episodes >= 475) |")
    print("|---|---|---|---|---|---|")
    for (who, algo), row in rows.items():
        label = "this project's preset" if who == "project" else "RL Zoo settings, stock SB3"
        print(f"| {algo} | {label} | {row['from_start']:.2f} | {row['training']:.2f} | {row['steps']:,.0f} "
              f"| {row['confirmed']}/{row['seeds']} |")
    for algo in args.algos:
        if ("project", algo) in rows and ("zoo", algo) in rows:
            ratio = rows[("zoo", algo)]["from_start"] / rows[("project", algo)]["from_start"]
            train_ratio = rows[("zoo", algo)]["training"] / rows[("project", algo)]["training"]
            print(f"{algo}: the project is {ratio:.1f}x faster from process start, {train_ratio:.1f}x in training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
