"""Our games at full speed: the batched engines against the single-game envs they replace.

    python bench/bench_games.py engine                          # raw steps/s, 1,024 games, random actions
    python bench/bench_games.py engine --games 4096 --rounds 5
    git worktree add /tmp/before 38e7556                        # the release before the batched engines
    python bench/bench_games.py train --before /tmp/before      # the real command, today's presets vs the old ones
    python bench/bench_games.py master --seeds 100 101 102 103 104   # the default command's scores, and random's

engine: steps per second with random actions, in one process, the sides interleaved round by round:
  batched   `gymnasium.make_vec(id, num_envs=N)`: the batched engine (envs/games/batch.py) as a Gymnasium vector env
  sb3       the same behind stable-baselines3's VecEnv API with episode statistics, as training uses it
  before    8 single games of commit --before-commit (read from git) under DummyVecEnv + Monitor, the path the
            presets used before (Python objects, one game at a time)
  Observations: vector (the -v0 features), pixels, and for Snake also board (Snake-v1: the features and the board
  around the head; no release before it).
train: the real command, `python play.py --agent ppo --env G --render none --retrain --json --seed S`, run from this
  checkout and from the --before checkout (its own presets and envs), alternating; the speed of a run is its steps
  over its training seconds (from its JSON summary), the score its final evaluation's mean return.
master: the default command (`--agent ppo`, the preset's budget) per game and seed, 50 evaluation episodes, beside
  `--agent random`; a Pong game counts as won when its return is positive (the agent reached 5 points first).
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
import types
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import machine, wait_for_background  # noqa: E402

GAMES = {"Snake": ("snake", "SnakeEnv", 1000), "Pong": ("pong", "PongEnv", 2000),
         "Bricks": ("bricks", "BricksEnv", 2000)}  # name: (module, single-game class, step limit)
BEFORE_COMMIT = "38e7556"
OBS_MODES = {"Snake": ("vector", "board", "pixels"), "Pong": ("vector", "pixels"), "Bricks": ("vector", "pixels")}
ENV_IDS = {"vector": "playground/{game}-v0", "board": "playground/{game}-v1", "pixels": "playground/{game}Pixels-v0"}


def before_env_class(game: str, commit: str) -> type:
    """The single-game env class of `game` as it was at `commit` (its source read with `git show`)."""
    module_name, class_name, _ = GAMES[game]
    source = subprocess.run(["git", "show", f"{commit}:envs/games/{module_name}.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    module = types.ModuleType(f"before_{module_name}")
    exec(compile(source, f"{commit}:envs/games/{module_name}.py", "exec"), module.__dict__)  # our own history
    return getattr(module, class_name)


def batched(env_id: str, games: int, sb3: bool) -> Any:
    """The batched engine for `games` games: a Gymnasium vector env, or behind SB3's VecEnv API."""
    import gymnasium as gym
    from stable_baselines3.common.vec_env import VecMonitor

    from envs.vector import GymnasiumVecEnv

    vector_env = gym.make_vec(env_id, num_envs=games, vectorization_mode="vector_entry_point")
    return VecMonitor(GymnasiumVecEnv(vector_env)) if sb3 else vector_env


def before(game: str, obs_mode: str, commit: str, games: int = 8) -> Any:
    """`games` single games of the old release under DummyVecEnv, as the old presets trained on them."""
    import gymnasium as gym
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    env_class, steps = before_env_class(game, commit), GAMES[game][2]
    return DummyVecEnv([lambda: Monitor(gym.wrappers.TimeLimit(env_class(obs_mode=obs_mode), steps))] * games)


def steps_per_second(env: Any, seconds: float, gymnasium_api: bool) -> float:
    """Random-action steps per second over about `seconds` (after a warm-up step)."""
    games = env.num_envs
    rng = np.random.default_rng(0)
    actions = rng.integers(3, size=(256, games))
    if gymnasium_api:
        env.reset(seed=0)
    else:
        env.seed(0)
        env.reset()
    env.step(actions[0])
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(actions[count % len(actions)])
        count += 1
    return count * games / (time.perf_counter() - start)


def engine(args: argparse.Namespace) -> None:
    """Raw steps/s of each side, interleaved, medians over rounds."""
    import envs  # noqa: F401  (registers the games)

    results: dict[tuple[str, str, str], list[float]] = {}
    for round_number in range(args.rounds):
        for game in args.game:
            for obs_mode in OBS_MODES[game]:
                env_id = ENV_IDS[obs_mode].format(game=game)
                sides = {"batched": (batched(env_id, args.games, sb3=False), True),
                         "sb3": (batched(env_id, args.games, sb3=True), False)}
                if obs_mode != "board":  # Snake-v1's board is new: no release before it to compare with
                    sides["before"] = (before(game, obs_mode, args.before_commit), False)
                order = list(sides)[round_number % len(sides):] + list(sides)[:round_number % len(sides)]
                for side in order:
                    env, gymnasium_api = sides[side]
                    results.setdefault((game, obs_mode, side), []).append(
                        steps_per_second(env, args.seconds, gymnasium_api))
                    env.close()
    print(f"# {machine()}; {args.games} batched games, {args.rounds} rounds of {args.seconds} s per side")
    print("| game | obs | batched steps/s | sb3 VecEnv steps/s | before (8 games, DummyVecEnv) | batched / before |")
    print("|---|---|---|---|---|---|")
    for game in args.game:
        for obs_mode in OBS_MODES[game]:
            medians = {side: statistics.median(results[(game, obs_mode, side)])
                       for side in ("batched", "sb3", "before") if (game, obs_mode, side) in results}
            before_cells = (f"{medians['before']:,.0f} | {medians['batched'] / medians['before']:.0f}x"
                            if "before" in medians else "- | -")
            print(f"| {game} | {obs_mode} | {medians['batched']:,.0f} | {medians['sb3']:,.0f} | {before_cells} |")


def train_once(checkout: Path, game: str, seed: int, extra: list[str], agent: str = "ppo") -> dict[str, Any]:
    """One real command in `checkout`, its run folder in a scratch folder; its JSON summary plus the wall time."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    with tempfile.TemporaryDirectory(prefix="bench-games-") as runs_dir:
        command = [sys.executable, "play.py", "--agent", agent, "--env", game, "--render", "none", "--retrain",
                   "--json", "--no-progress", "--no-clips", "--episodes", "50", "--seed", str(seed),
                   "--runs-dir", runs_dir, *extra]
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - start
        wait_for_background(runs_dir)  # the detached episode writer, before its folder goes
    try:
        summary = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": completed.stderr[-1500:], "wall_s": wall}
    if agent == "random":
        return {"wall_s": round(wall, 1), "mean_return": summary["mean_return"], "returns": summary["returns"]}
    return {"wall_s": round(wall, 1), "steps": summary["timesteps"], "train_s": summary["train_seconds"],
            "steps_per_s": summary["timesteps"] / summary["train_seconds"], "mean_return": summary["mean_return"],
            "returns": summary["returns"], "solved": summary["solved"]}


def train(args: argparse.Namespace) -> None:
    """The real command from both checkouts, alternating; one JSON line per run, then a table."""
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    extra = ["--timesteps", str(args.timesteps)] if args.timesteps else []
    for seed in args.seeds:
        for game in args.game:
            sides = [("now", ROOT), ("before", Path(args.before).resolve())]
            for side, checkout in sides if seed % 2 == 0 else sides[::-1]:
                record = {"game": game, "side": side, "seed": seed, **train_once(checkout, game, seed, extra)}
                print(json.dumps(record), flush=True)
                rows.setdefault((game, side), []).append(record)
    print(f"# {machine()}")
    print("| game | side | steps | steps/s | train s | mean return |")
    print("|---|---|---|---|---|---|")
    for (game, side), records in rows.items():
        good = [r for r in records if "error" not in r]
        if not good:
            print(f"| {game} | {side} | failed | | | |")
            continue
        median = {key: statistics.median(r[key] for r in good) for key in ("steps", "steps_per_s", "train_s",
                                                                            "mean_return")}
        print(f"| {game} | {side} | {median['steps']:,.0f} | {median['steps_per_s']:,.0f} | {median['train_s']:.0f} | "
              f"{median['mean_return']:.1f} |")


def master(args: argparse.Namespace) -> None:
    """The default command per game and seed, and the random agent; one JSON line per run, then a table."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for seed in args.seeds:
        for game in args.game:
            for agent in ("ppo", "random"):
                record = {"game": game, "agent": agent, "seed": seed, **train_once(ROOT, game, seed, [], agent)}
                print(json.dumps({key: value for key, value in record.items() if key != "returns"}), flush=True)
                rows.setdefault(f"{game}:{agent}", []).append(record)
    print(f"# {machine()}; seeds {args.seeds}, 50 evaluation episodes each")
    print("| game | agent | mean score (seed means, min-max) | games won | steps (median) | training s (median, max) |")
    print("|---|---|---|---|---|---|")
    for key, records in rows.items():
        game, agent = key.split(":")
        good = [r for r in records if "error" not in r]
        means = [r["mean_return"] for r in good]
        returns = [value for r in good for value in r["returns"]]
        won = f"{sum(value > 0 for value in returns)}/{len(returns)}" if game == "Pong" else ""
        trained = agent == "ppo" and good
        steps = f"{statistics.median(r['steps'] for r in good):,.0f}" if trained else ""
        train_s = (f"{statistics.median(r['train_s'] for r in good):.0f} ({max(r['train_s'] for r in good):.0f})"
                   if trained else "")
        print(f"| {game} | {agent} | {statistics.mean(means):.1f} ({min(means):.1f} to {max(means):.1f}) | {won} | "
              f"{steps} | {train_s} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    raw = sub.add_parser("engine", help="raw steps/s with random actions")
    raw.add_argument("--games", type=int, default=1024)
    raw.add_argument("--rounds", type=int, default=3)
    raw.add_argument("--seconds", type=float, default=2.0)
    raw.add_argument("--game", nargs="+", default=list(GAMES), choices=list(GAMES))
    raw.add_argument("--before-commit", default=BEFORE_COMMIT)
    real = sub.add_parser("train", help="the real command, this checkout against --before")
    real.add_argument("--before", required=True, help="a checkout of the release to compare with")
    real.add_argument("--game", nargs="+", default=list(GAMES), choices=list(GAMES))
    real.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    real.add_argument("--timesteps", type=int, default=0, help="the same budget for both sides (default: presets)")
    scores = sub.add_parser("master", help="the default command's scores per game and seed, beside random's")
    scores.add_argument("--game", nargs="+", default=list(GAMES), choices=list(GAMES))
    scores.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104])
    args = parser.parse_args()
    {"engine": engine, "train": train, "master": master}[args.command](args)


if __name__ == "__main__":
    main()
