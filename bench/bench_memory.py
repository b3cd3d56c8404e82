"""Memory: ppo-lstm against ppo where the observation hides what is needed, and our LSTM against sb3-contrib's.

    flock /tmp/cpu-bench.lock python bench/bench_memory.py --seeds 5

One run, three figures:
1. CartPoleNoVel: ppo-lstm and ppo, each with its preset and the same budget (100k steps), no frame stacking;
   the best evaluation mean (20 deterministic episodes every `eval_every` steps; training stops at 475).
2. CueCorridor: the success rate over 200 fresh episodes of ppo-lstm and of ppo (chance is 50 %).
3. Steps per second of training: agents.recurrent.RecurrentPPO (core's LSTM block) against sb3-contrib's stock
   RecurrentPPO, same sizes and settings (the CartPoleNoVel preset), one CPU thread each, alternating.
Prints markdown tables; --json FILE writes every run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CARTPOLE, GAME = "CartPoleNoVel", "CueCorridor"


def quiet(message: str) -> None:
    pass


def train(agent: str, env: str, seed: int, timesteps: int | None, runs_dir: Path) -> tuple[object, dict]:
    """Train with the project's own path (presets, stop-when-solved, evaluation callback)."""
    from agents.session import SessionOptions, prepare

    start = time.perf_counter()
    prepared = prepare(SessionOptions(agent=agent, env=env, seed=seed, timesteps=timesteps, runs_dir=runs_dir,
                                      retrain=True, progress=False, checkpoint_every=0), say=quiet)
    config = json.loads((prepared.run_dir / "config.json").read_text())
    return prepared, {"agent": agent, "env": env, "seed": seed, "steps": prepared.timesteps,
                      "seconds": round(time.perf_counter() - start, 1), "solved": bool(prepared.solved),
                      "best_eval": config.get("best_eval_return")}


def cartpole_runs(seeds: int, timesteps: int, runs_dir: Path) -> list[dict]:
    runs = []
    for agent in ("ppo-lstm", "ppo"):
        for seed in range(seeds):
            _, run = train(agent, CARTPOLE, seed, timesteps, runs_dir)
            runs.append(run)
            best = run["best_eval"] or float("nan")
            print(f"{CARTPOLE} {agent:8s} seed {seed}: best eval {best:7.1f} after {run['steps']:6d} "
                  f"steps, {run['seconds']:6.1f} s", flush=True)
    return runs


def game_runs(seeds: int, runs_dir: Path, episodes: int = 200) -> list[dict]:
    from agents.evaluation import evaluate

    runs = []
    for agent in ("ppo-lstm", "ppo"):
        for seed in range(seeds):
            prepared, run = train(agent, GAME, seed, None, runs_dir)
            returns = evaluate(prepared.controller, prepared.env_id, episodes=episodes, seed=10_000 + seed)
            run["success_rate"] = float(np.mean(np.asarray(returns) == 1.0))  # +1 only for the right exit
            runs.append(run)
            print(f"{GAME} {agent:8s} seed {seed}: success {run['success_rate']:.1%} after {run['steps']} steps, "
                  f"{run['seconds']:.1f} s", flush=True)
    return runs


def steps_per_second(which: str, steps: int, seed: int = 0) -> float:
    """Training speed of one RecurrentPPO on CartPoleNoVel with the project's preset, no evaluation."""
    import sb3_contrib
    import torch

    from agents.models import algorithm_kwargs
    from agents.presets import resolve_hyperparams
    from agents.recurrent import RecurrentPPO
    from core.seeding import seed_everything
    from envs.catalog import resolve_env_id
    from envs.factory import make_vector_env

    torch.set_num_threads(1)
    env_id = resolve_env_id(CARTPOLE)
    hyperparams = resolve_hyperparams("ppo-lstm", env_id, RecurrentPPO, [])
    seed_everything(seed)
    env = make_vector_env(env_id, hyperparams["n_envs"], seed)
    algorithm = RecurrentPPO if which == "project" else sb3_contrib.RecurrentPPO
    model = algorithm("MlpLstmPolicy", env, seed=seed, device="cpu", verbose=0, **algorithm_kwargs(hyperparams, env))
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return model.num_timesteps / (time.perf_counter() - start)


def speed_runs(steps: int, repeats: int) -> dict[str, list[float]]:
    speeds: dict[str, list[float]] = {"project": [], "stock": []}
    for repeat in range(repeats):
        order = ("project", "stock") if repeat % 2 == 0 else ("stock", "project")
        for which in order:
            speeds[which].append(steps_per_second(which, steps, seed=repeat))
            print(f"speed {which:7s} run {repeat}: {speeds[which][-1]:7.0f} steps/s", flush=True)
    return speeds


def report(cartpole: list[dict], game: list[dict], speeds: dict[str, list[float]], timesteps: int) -> None:
    print(f"\n| CartPoleNoVel, {timesteps:,} steps | seeds with eval mean >= 475 | best eval mean per seed "
          "| median steps to stop |")
    print("|---|---|---|---|")
    for agent in ("ppo-lstm", "ppo"):
        runs = [r for r in cartpole if r["agent"] == agent]
        if runs:
            bests = [r["best_eval"] or 0.0 for r in runs]
            print(f"| {agent} | {sum(b >= 475 for b in bests)}/{len(runs)} | {', '.join(f'{b:.0f}' for b in bests)} "
                  f"| {statistics.median(r['steps'] for r in runs):,.0f} |")
    print("\n| CueCorridor (chance 50 %) | success rate per seed (200 episodes) | steps |")
    print("|---|---|---|")
    for agent in ("ppo-lstm", "ppo"):
        runs = [r for r in game if r["agent"] == agent]
        if runs:
            rates = ", ".join(f"{r['success_rate']:.1%}" for r in runs)
            print(f"| {agent} | {rates} | {', '.join(str(r['steps']) for r in runs)} |")
    if speeds["project"]:
        project, stock = statistics.median(speeds["project"]), statistics.median(speeds["stock"])
        print("\n| RecurrentPPO training speed (CartPoleNoVel preset, 1 thread) | median steps/s | runs |")
        print("|---|---|---|")
        print(f"| project (core LSTMBlock) | {project:,.0f} | {', '.join(f'{s:.0f}' for s in speeds['project'])} |")
        print(f"| sb3-contrib stock (nn.LSTM) | {stock:,.0f} | {', '.join(f'{s:.0f}' for s in speeds['stock'])} |")
        print(f"| project / stock | {project / stock:.2f} | |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5, help="CartPoleNoVel seeds per agent")
    parser.add_argument("--timesteps", type=int, default=100_000, help="CartPoleNoVel budget per run")
    parser.add_argument("--game-seeds", type=int, default=3, help="CueCorridor seeds per agent")
    parser.add_argument("--speed-steps", type=int, default=20_000, help="steps per speed run")
    parser.add_argument("--speed-repeats", type=int, default=2, help="speed runs per side")
    parser.add_argument("--json", type=Path, help="write every run here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as runs_dir:
        cartpole = cartpole_runs(args.seeds, args.timesteps, Path(runs_dir))
        game = game_runs(args.game_seeds, Path(runs_dir))
    speeds = speed_runs(args.speed_steps, args.speed_repeats) if args.speed_repeats > 0 else {"project": []}
    report(cartpole, game, speeds, args.timesteps)
    if args.json:
        args.json.write_text(json.dumps({"cartpole": cartpole, "game": game, "speeds": speeds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
