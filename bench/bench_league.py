"""Self-play against the scripted paddle as a teacher, judged by the league: the real commands, end to end.

    python bench/bench_league.py                                  # seeds 100-102, 100 games per match
    python bench/bench_league.py --seeds 100 101 102 103 104 --games 200 --runs-dir /tmp/league-bench

1. Trains Pong with the default command, `python play.py --agent ppo --env Pong --render none --seed S`, against
   the scripted paddle and with `--opponent self`, alternating, on the same budget (the preset's); a finished run
   in --runs-dir is reused, as play.py reuses it. Each command is timed from process start to exit.
2. Runs `python play.py league --env Pong --games N --json` (timed the same way) over every agent in --runs-dir,
   the scripted paddle and random, then prints each self-play agent's head-to-head record against the best
   agent trained on the scripted paddle (best by rating), and the ratings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import machine  # noqa: E402


def timed(command: list[str]) -> tuple[dict[str, Any], float]:
    """Run `python play.py ...` to its end; its last JSON line and its wall time."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "play.py"), *command], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - start


def train(seeds: list[int], runs_dir: Path) -> dict[str, str]:
    """Both kinds of agent per seed; their league names mapped to the kind."""
    kinds: dict[str, str] = {}
    for seed in seeds:
        for kind in ("scripted", "self"):
            summary, seconds = timed(["--agent", "ppo", "--env", "Pong", "--opponent", kind, "--seed", str(seed),
                                      "--render", "none", "--episodes", "50", "--no-progress", "--runs-dir",
                                      str(runs_dir), "--json"])
            name = f"ppo/{Path(summary['run_dir']).name}"
            kinds[name] = kind
            won = sum(value > 0 for value in summary["returns"])
            print(json.dumps({"kind": kind, "seed": seed, "player": name, "reused": summary["reused"],
                              "train_s": summary["train_seconds"], "command_s": round(seconds, 1),
                              "steps": summary["timesteps"], "won_vs_scripted": f"{won}/{len(summary['returns'])}"}),
                  flush=True)
    return kinds


def head_to_head(league_file: Path, one: str, other: str) -> tuple[int, int, int]:
    """`one`'s wins, draws and losses against `other` in the league file."""
    wins = draws = losses = 0
    for match in json.loads(league_file.read_text())["matches"]:
        if {match["first"], match["second"]} != {one, other}:
            continue
        scores = match["scores"] if match["first"] == one else [1.0 - score for score in match["scores"]]
        wins += scores.count(1.0)
        draws += scores.count(0.5)
        losses += scores.count(0.0)
    return wins, draws, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--games", type=int, default=100, help="games per match (even)")
    parser.add_argument("--runs-dir", type=Path, default=Path("/tmp/league-bench"))
    args = parser.parse_args()
    kinds = train(args.seeds, args.runs_dir)
    league, seconds = timed(["league", "--env", "Pong", "--games", str(args.games), "--runs-dir",
                             str(args.runs_dir), "--json"])
    ratings = {rating["name"]: rating for rating in league["ratings"]}
    scripted_trained = [name for name, kind in kinds.items() if kind == "scripted"]
    best = max(scripted_trained, key=lambda name: ratings[name]["elo"])
    print(f"# {machine()}; seeds {args.seeds}; {args.games} games per match")
    print(f"league: {league['played']} matches played ({league['skipped']} already played) in {league['seconds']:.1f} "
          f"s of play, command {seconds:.1f} s; {league['seconds'] / max(league['played'], 1) * 100:.0f} s per 100 "
          "matches")
    print(f"best agent trained on the scripted paddle: {best} ({ratings[best]['elo']:.0f})")
    print("| self-play agent | Elo (95%) | vs the best scripted-trained: won-drawn-lost | score |")
    print("|---|---|---|---|")
    for name in (name for name, kind in kinds.items() if kind == "self"):
        wins, draws, losses = head_to_head(Path(league["league"]), name, best)
        rating = ratings[name]
        print(f"| {name} | {rating['elo']:.0f} ({rating['low']:.0f} to {rating['high']:.0f}) | {wins}-{draws}-{losses} "
              f"| {(wins + draws / 2) / max(wins + draws + losses, 1):.2f} |")
    print("| rank | player | trained against | Elo | 95% interval | games | won | drawn | lost |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rank, rating in enumerate(league["ratings"], 1):
        trained = {"scripted": "scripted paddle", "self": "self-play"}.get(kinds.get(rating["name"], ""), "")
        print(f"| {rank} | {rating['name']} | {trained} | {rating['elo']:.0f} | {rating['low']:.0f} to "
              f"{rating['high']:.0f} | {rating['games']} | {rating['wins']} | {rating['draws']} | {rating['losses']} |")
    self_elos = [ratings[name]["elo"] for name, kind in kinds.items() if kind == "self"]
    scripted_elos = [ratings[name]["elo"] for name in scripted_trained]
    print(f"mean Elo: self-play {statistics.mean(self_elos):.0f}, "
          f"scripted-trained {statistics.mean(scripted_elos):.0f}")


if __name__ == "__main__":
    main()
