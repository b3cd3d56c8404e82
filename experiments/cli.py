"""The `tune` and `seeds` subcommands of play.py: their own parser, checked options, dispatch.

Imports nothing heavy: Ray, torch and stable-baselines3 load only once a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.cli import ArgumentParser
from core.errors import PlaygroundError
from experiments.setup import MAX_BUDGET, MAX_COUNT, MAX_CPUS, MAX_SEED, MIN_CPUS, ExperimentOptions

EXAMPLES = {
    "tune": "python play.py tune --agent ppo --env CartPole --trials 32 --budget 50000 | "
            "python play.py tune --agent ppo --env Breakout-MinAtar --address ray://head:10001 --gpus-per-trial 0.25",
    "seeds": "python play.py seeds --agent dqn --env CartPole --seeds 10",
}
DESCRIPTIONS = {
    "tune": "Search the hyperparameters of an agent on an env (Ray Tune + Optuna, ASHA pruning); writes the best "
            "preset, a summary table and a plot into runs/<env>/<agent>/tune-<time>/.",
    "seeds": "Train an agent with many seeds in parallel (Ray) and report mean, std, IQM and 95% bootstrap CI of "
             "the final evaluation return; writes a summary table and learning curves into "
             "runs/<env>/<agent>/seeds-<time>/.",
}


def build_parser(command: str) -> argparse.ArgumentParser:
    """The parser of one subcommand (`tune` or `seeds`)."""
    parser = ArgumentParser(prog=f"python play.py {command}", description=DESCRIPTIONS[command],
                     epilog=f"Examples: {EXAMPLES[command]}")
    parser.add_argument("--agent", default="ppo", metavar="NAME", help="a learning agent (default ppo)")
    parser.add_argument("--env", default="CartPole", metavar="NAME", help="a catalog name or Gymnasium id")
    if command == "tune":
        parser.add_argument("--trials", type=int, default=16, metavar="N", help="trials to sample (default 16)")
        parser.add_argument("--search-space", type=Path, metavar="FILE",
                            help="a search-space YAML (default agents/presets/search/<agent>.yml)")
    else:
        parser.add_argument("--seeds", type=int, default=10, metavar="N", help="seeds to train (default 10)")
    parser.add_argument("--budget", type=int, metavar="STEPS", help="env steps per trial (default: the preset's)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the search's seed, which every trial trains with (tune); the first seed (seeds)")
    parser.add_argument("--address", metavar="HOST:PORT",
                        help="join a Ray cluster (host:port, ray://host:10001 or auto); default: Ray on this machine")
    parser.add_argument("--num-cpus", type=int, metavar="N",
                        help="CPUs Ray may use on this machine without --address (default: all cores)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0, metavar="N", help="CPUs per trial (default 1)")
    parser.add_argument("--gpus-per-trial", type=float, default=0.0, metavar="N",
                        help="GPUs per trial, fractions share one (default 0)")
    parser.add_argument("--max-concurrent", type=int, metavar="N",
                        help="trials at once at most (default: all that fit)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"), metavar="DIR", help="where runs are kept")
    parser.add_argument("--resume", nargs="?", const="", metavar="FOLDER",
                        help="continue an interrupted experiment (default: the newest of --agent on --env)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow --resume of a folder your playground did not start (one you received): "
                             "resuming unpickles its tuner.pkl, which can run code")
    parser.add_argument("--json", action="store_true", help="print one JSON summary as the last line")
    return parser


def parse(argv: list[str]) -> tuple[ExperimentOptions, bool]:
    """Checked options and whether to print JSON, from `[command, *arguments]`."""
    command = argv[0]
    args = build_parser(command).parse_args(argv[1:])
    counts = {"--trials": getattr(args, "trials", 1), "--seeds": getattr(args, "seeds", 1),
              "--max-concurrent": 1 if args.max_concurrent is None else args.max_concurrent,
              "--num-cpus": 1 if args.num_cpus is None else args.num_cpus}
    for flag, value in counts.items():
        if not 1 <= value <= MAX_COUNT:
            raise PlaygroundError(f"{flag} {value}: must be at least 1 and at most {MAX_COUNT:,}.")
    if args.budget is not None and not 1 <= args.budget <= MAX_BUDGET:
        raise PlaygroundError(f"--budget {args.budget}: a number of env steps, at least 1 and at most {MAX_BUDGET:,}.")
    if not 0 <= args.seed <= MAX_SEED:
        raise PlaygroundError(f"--seed {args.seed}: must be from 0 to {MAX_SEED:,}.")
    if not MIN_CPUS <= args.cpus_per_trial <= MAX_CPUS or not 0 <= args.gpus_per_trial <= MAX_CPUS:
        raise PlaygroundError(f"--cpus-per-trial takes {MIN_CPUS:g} to {MAX_CPUS:g} and --gpus-per-trial 0 to "
                              f"{MAX_CPUS:g}.")
    options = ExperimentOptions(kind=command, agent=args.agent, env=args.env, budget=args.budget, seed=args.seed,
                                address=args.address, cpus_per_trial=args.cpus_per_trial,
                                gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent,
                                runs_dir=args.runs_dir, resume=args.resume, num_cpus=args.num_cpus,
                                trust_pickle=args.trust_pickle)
    if command == "tune":
        options.trials, options.search_space = args.trials, args.search_space
    else:
        options.seeds = args.seeds
    return options, args.json


def run_command(argv: list[str]) -> int:
    """Run `play.py tune|seeds ...`; returns the exit code (PlaygroundError propagates to play.py)."""
    options, as_json = parse(argv)
    if options.address is not None:
        from experiments.cluster import parse_address

        parse_address(options.address)  # a malformed address fails before anything loads

    def say(message: str) -> None:
        print(message, flush=True)

    summary: dict[str, Any]
    if options.kind == "tune":
        from experiments.tune import run_tune

        summary = run_tune(options, argv, say)
    else:
        from experiments.seeds import run_seeds

        summary = run_seeds(options, argv, say)
    if as_json:
        print(json.dumps(summary, default=str), file=sys.stdout)
    return 0
