"""Atari in batches: ale-py's vector env (envs/atari_vector.py) against the wrapper chain it replaces.

    python bench/bench_atari.py env                               # random-action steps/s, 8 envs, Breakout and Pong
    python bench/bench_atari.py env --envs 8 16 --rounds 5 --seconds 3
    python bench/bench_atari.py train --timesteps 8192 --seeds 0 1 2   # the real command, now against before

env: steps per second of `--envs` games with random actions, in one process, the sides interleaved round by round
(which goes first rotates), medians over the rounds:
  batched    `envs.factory.make_vector_env(id, N, seed, training=True)`: AtariVecEnv -> VecMonitor ->
             LifeLossAndClipping, the C++ emulators on one thread per core present
  batched-1  the same on one emulator thread (what the C++ preprocessing alone is worth)
  chain      a DummyVecEnv of N Monitor-wrapped `envs.make.make_env(id, training=True)`: the single-env wrapper
             chain (stable-baselines3's AtariWrapper, frame stack) that make_vector_env used before
train: the real command `python play.py --agent ppo --env Breakout --timesteps T --render none --retrain --json
  --no-progress --no-clips --episodes 1 --seed S` from the --after checkout (default: this one) and from the
  --before checkout (default: commit BEFORE_COMMIT, exported with `git archive`), alternating which goes first;
  the speed of a run is its steps over its training seconds (from its JSON summary; the final evaluation is
  not timed). Both sides train with the Atari preset (8 envs, Nature CNN, PPO) on the CPU.
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
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import machine, timed_run  # noqa: E402

BEFORE_COMMIT = "110cce0"  # the last commit before Atari was batched: make_vector_env stepped the wrapper chain
GAMES = {"Breakout": "ALE/Breakout-v5", "Pong": "ALE/Pong-v5", "SpaceInvaders": "ALE/SpaceInvaders-v5"}
SIDES = ("batched", "batched-1", "chain")


def make_side(side: str, env_id: str, n_envs: int, seed: int) -> Any:
    """One side's training env for `n_envs` games, as stable-baselines3 sees it."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    from envs.atari_vector import AtariVecEnv, LifeLossAndClipping
    from envs.factory import make_vector_env
    from envs.make import make_env

    if side == "batched":
        return make_vector_env(env_id, n_envs, seed, training=True)
    if side == "batched-1":
        vec_env = LifeLossAndClipping(VecMonitor(AtariVecEnv(env_id, n_envs, num_threads=1)))
    else:
        vec_env = make_vec_env(partial(make_env, env_id, training=True), n_envs=n_envs, seed=seed,
                               vec_env_cls=DummyVecEnv)
    vec_env.seed(seed)
    return vec_env


def steps_per_second(vec_env: Any, seconds: float) -> float:
    """Random-action env steps per second (all games counted) over about `seconds`, after a warm-up."""
    rng = np.random.default_rng(0)
    actions = rng.integers(vec_env.action_space.n, size=(512, vec_env.num_envs))
    vec_env.reset()
    for row in actions[:16]:
        vec_env.step(row)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        vec_env.step(actions[count % len(actions)])
        count += 1
    return count * vec_env.num_envs / (time.perf_counter() - start)


def env_speed(args: argparse.Namespace) -> None:
    """Random-action steps/s of each side, interleaved, medians over rounds; then the ratio table."""
    results: dict[tuple[str, int, str], list[float]] = {}
    for round_number in range(args.rounds):
        for game in args.game:
            for n_envs in args.envs:
                order = SIDES[round_number % len(SIDES):] + SIDES[:round_number % len(SIDES)]
                for side in order:
                    vec_env = make_side(side, GAMES[game], n_envs, seed=round_number)
                    rate = steps_per_second(vec_env, args.seconds)
                    vec_env.close()
                    results.setdefault((game, n_envs, side), []).append(rate)
                    print(json.dumps({"round": round_number, "game": game, "envs": n_envs, "side": side,
                                      "steps_per_s": round(rate)}), flush=True)
    print(f"# {machine()}; {args.rounds} rounds of {args.seconds:g} s per side; random actions, training envs")
    print("| game | envs | batched steps/s (runs) | batched, 1 thread | chain (DummyVecEnv) | batched / chain |")
    print("|---|---|---|---|---|---|")
    for game in args.game:
        for n_envs in args.envs:
            runs = {side: results[(game, n_envs, side)] for side in SIDES}
            median = {side: statistics.median(values) for side, values in runs.items()}
            spread = " / ".join(f"{value:,.0f}" for value in runs["batched"])
            print(f"| {game} | {n_envs} | {median['batched']:,.0f} ({spread}) | {median['batched-1']:,.0f} | "
                  f"{median['chain']:,.0f} | {median['batched'] / median['chain']:.2f} |")


def train_once(checkout: Path, seed: int, timesteps: int, runs_dir: Path) -> dict[str, Any]:
    """One real command in `checkout`; its steps, training seconds and steps/s from its JSON summary."""
    command = [sys.executable, "play.py", "--agent", "ppo", "--env", "Breakout", "--timesteps", str(timesteps),
               "--render", "none", "--retrain", "--json", "--no-progress", "--no-clips", "--episodes", "1",
               "--seed", str(seed), "--device", "cpu", "--runs-dir", str(runs_dir)]
    record = timed_run(command, checkout, 1800, {**os.environ, "PYTHONPATH": str(checkout)})
    if "error" in record:
        return {"error": record["error"], "wall_s": round(record["wall_s"], 1)}
    return {"wall_s": round(record["wall_s"], 1), "steps": record["timesteps"], "train_s": record["train_seconds"],
            "steps_per_s": round(record["timesteps"] / record["train_seconds"], 1)}


def export(commit: str, into: Path) -> Path:
    """A copy of the project at `commit` (`git archive`: the repository is only read)."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def train_speed(args: argparse.Namespace) -> None:
    """The real command from both checkouts, alternating; one JSON line per run, then the table."""
    rows: dict[str, list[dict[str, Any]]] = {"after": [], "before": []}
    with tempfile.TemporaryDirectory(prefix="bench-atari-") as scratch:
        before = Path(args.before) if args.before else export(args.before_commit, Path(scratch))
        checkouts = {"after": Path(args.after).resolve(), "before": before.resolve()}
        for index, seed in enumerate(args.seeds):
            for side in ("after", "before") if index % 2 == 0 else ("before", "after"):
                runs_dir = Path(tempfile.mkdtemp(prefix=f"runs-{side}-", dir=scratch))
                record = {"side": side, "seed": seed, **train_once(checkouts[side], seed, args.timesteps, runs_dir)}
                print(json.dumps(record), flush=True)
                rows[side].append(record)
    print(f"# {machine()}; PPO on Breakout, {args.timesteps:,} steps per run, seeds {args.seeds}")
    print("| side | steps/s (median) | runs | training s (median) |")
    print("|---|---|---|---|")
    medians = {}
    for side, records in rows.items():
        good = [record for record in records if "error" not in record]
        if not good:
            print(f"| {side} | failed | | |")
            continue
        medians[side] = statistics.median(record["steps_per_s"] for record in good)
        runs = " / ".join(f"{record['steps_per_s']:,.0f}" for record in good)
        print(f"| {side} | {medians[side]:,.0f} | {runs} | "
              f"{statistics.median(record['train_s'] for record in good):.1f} |")
    if len(medians) == 2:
        print(f"after / before: {medians['after'] / medians['before']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    raw = sub.add_parser("env", help="random-action steps/s: batched against the wrapper chain")
    raw.add_argument("--envs", type=int, nargs="+", default=[8], help="games per env (the Atari preset: 8)")
    raw.add_argument("--game", nargs="+", default=["Breakout", "Pong"], choices=list(GAMES))
    raw.add_argument("--rounds", type=int, default=5)
    raw.add_argument("--seconds", type=float, default=3.0)
    real = sub.add_parser("train", help="PPO through the real command: this checkout against the one before")
    real.add_argument("--timesteps", type=int, default=8192)
    real.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    real.add_argument("--after", default=str(ROOT), help="the checkout with batched Atari (default: this one)")
    real.add_argument("--before", default="", help="a checkout without it (default: --before-commit exported)")
    real.add_argument("--before-commit", default=BEFORE_COMMIT)
    args = parser.parse_args()
    {"env": env_speed, "train": train_speed}[args.command](args)


if __name__ == "__main__":
    main()
