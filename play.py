"""Agent Playground's front door: train an agent (or reuse one), then watch it play.

    python play.py --agent ppo --env CartPole      # the window opens at once; the agent learns in front of you
    python play.py watch runs/CartPole-v1/ppo/RUN  # from another terminal: a run training, or finished
    python play.py --env list

This file parses the command line, dispatches and prints; the work happens in agents/, envs/
and viewer/. `python play.py --help` imports no torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agents.league_file import check_player_name
from agents.registry import AGENTS, OPPONENTS
from core.cli import ArgumentParser, run_command
from core.device import DEVICE_CHOICES
from core.errors import PlaygroundError
from core.openmp import quiet_openmp_threads
from core.seeding import REPORTED_SEED_OFFSET, SEED_LIMIT, SHOWN_SEED_OFFSET
from experiments import COMMANDS
from viewer.opponents import VERSUS_CHOICES

RENDER_CHOICES = ("auto", "human", "video", "none")
quiet_openmp_threads()  # before torch loads


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = ArgumentParser(
        prog="python play.py",
        description="Train a reinforcement-learning agent (or reuse the one trained before), then watch it play.",
        epilog="Examples: python play.py --agent ppo --env CartPole | python play.py --agent dqn --env CartPole "
               "--render none --episodes 100 | python play.py --env list. Sweeps and many-seed reports on Ray: "
               "python play.py tune --help, python play.py seeds --help",
    )
    agents = ", ".join(f"{name} ({spec.summary})" for name, spec in AGENTS.items())
    parser.add_argument("--agent", metavar="NAME",
                        help=f"the agent (default: the world's own, marked * in --env list; ppo elsewhere): {agents}")
    parser.add_argument("--env", metavar="NAME",
                        help="a catalog name (CartPole, case-insensitive) or any Gymnasium id; "
                             "`list` shows the catalog")
    parser.add_argument("--list", action="store_true", help="print the env catalog and exit")
    parser.add_argument("--obs", choices=("vector", "pixels"),
                        help="what our own games (and CartPole) show the agent: compact features (default) or "
                             "pixels (the default with --perception)")
    parser.add_argument("--perception", metavar="NET",
                        help="the CNN that sees pixel observations: nature, impala, minatar, or your own class as "
                             "path/to/file.py:ClassName or package.module:ClassName (default: the preset's)")
    parser.add_argument("--versus", choices=VERSUS_CHOICES, default="scripted",
                        help="two-player games (Pong): who plays the other paddle while you watch")
    parser.add_argument("--opponent", choices=OPPONENTS, default="scripted",
                        help="two-player games (Pong): whom the agent trains against: the scripted paddle "
                             "(default), or self: a pool of its own past selves and the scripted paddle, on the "
                             "preset's self_play schedule")
    parser.add_argument("--player", metavar="NAME", default="human",
                        help="with --versus human: your name in the league's ratings (default human)")
    parser.add_argument("--seed", type=int, default=0, help="seed for training and play (default 0)")
    parser.add_argument("--timesteps", type=int, metavar="N", help="training budget cap in env steps")
    parser.add_argument("--episodes", type=int, default=3, metavar="N", help="episodes to show or evaluate (default 3)")
    parser.add_argument("--render", choices=RENDER_CHOICES, default="auto",
                        help="human: a window; video: a file in the run folder; none: only evaluate; "
                             "auto (default): a window when there is a display, else video")
    parser.add_argument("--device", default="auto", metavar="|".join(DEVICE_CHOICES),
                        help="auto picks CUDA for CNN policies when present, the CPU for small MLPs")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"), metavar="DIR", help="where runs are kept")
    parser.add_argument("--retrain", action="store_true", help="train anew even if a trained agent exists")
    parser.add_argument("--load", metavar="PATH", help="play a saved model (a run folder or its model.pt)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow --load of a stable-baselines3 .zip, which unpickles (can run code)")
    parser.add_argument("--trust-code", action="append", default=[], metavar="FILE.py|MODULE",
                        help="allow --load/--resume of a run whose perception plug-in is code: import it from this "
                             "file (or module), which you have read (repeatable)")
    parser.add_argument("--hp", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset hyperparameter, e.g. --hp learning_rate=0.001 (repeatable)")
    parser.add_argument("--resume", nargs="?", const="", metavar="RUN",
                        help="continue an interrupted training run (default: the newest one of --agent on --env)")
    parser.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                        help="seconds between training checkpoints (default 60; 0: only on Ctrl-C/SIGTERM)")
    parser.add_argument("--env-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="stop training when one env step takes longer than this (default 60)")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="also write what the viewer shows, HUD included, to FILE (.mp4 or .gif)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary as the last line")
    parser.add_argument("--no-progress", action="store_true", help="hide the training progress bar")
    parser.add_argument("--no-clips", action="store_true",
                        help="write no TensorBoard clips of the policy (eval/episode: one per evaluation when "
                             "training headless, else of the final policy; made by a background process)")
    return parser


def build_watch_parser() -> argparse.ArgumentParser:
    """`play.py watch RUN`: a window on a run that trains (from another terminal) or has finished."""
    parser = ArgumentParser(prog="python play.py watch",
                            description="Watch a run folder's newest policy in a window while it trains (or after), "
                                        "with its evaluation curve; then its final policy for --episodes episodes.")
    parser.add_argument("run", type=Path, metavar="RUN", help="a run folder, e.g. runs/CartPole-v1/ppo/<run>")
    parser.add_argument("--episodes", type=int, default=3, metavar="N",
                        help="episodes of the final policy once training is over (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the episodes shown (default 0)")
    parser.add_argument("--versus", choices=VERSUS_CHOICES, default="scripted",
                        help="two-player games (Pong): who plays the other paddle")
    parser.add_argument("--record", type=Path, metavar="FILE", help="also record the window to FILE (.mp4 or .gif)")
    parser.add_argument("--trust-code", action="append", default=[], metavar="FILE.py|MODULE",
                        help="allow a run whose perception plug-in is code: import it from this file or module")
    return parser


def build_league_parser() -> argparse.ArgumentParser:
    """`play.py league --env Pong`: round-robin matches between the saved agents of a two-player game; Elo."""
    parser = ArgumentParser(prog="python play.py league",
                            description="Rate every saved agent of a two-player game (Pong), the scripted player and "
                                        "random in round-robin matches (sides swapped on the same seeds); games "
                                        "people played with --versus human count too. The scripted player anchors "
                                        "the scale at 1000. Matches already played are kept, never replayed.",
                            epilog="Example: python play.py league --env Pong | python play.py league --env Pong "
                                   "--watch scripted ppo/<run>")
    parser.add_argument("--env", required=True, metavar="GAME", help="the two-player game (Pong)")
    parser.add_argument("--games", type=int, default=100, metavar="N",
                        help="games per match, an even number: half with the sides swapped (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every match's games (default 0)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"), metavar="DIR",
                        help="where the saved agents and the league file (DIR/league/<game>.json) lie")
    parser.add_argument("--watch", nargs=2, metavar=("RIGHT", "LEFT"),
                        help="instead of rating: watch two players (names from the table, or run folders) play "
                             "each other in the viewer")
    parser.add_argument("--episodes", type=int, default=3, metavar="N", help="with --watch: games to show (default 3)")
    parser.add_argument("--record", type=Path, metavar="FILE", help="with --watch: also record to FILE (.mp4, .gif)")
    parser.add_argument("--trust-code", action="append", default=[], metavar="FILE.py|MODULE",
                        help="allow runs whose perception plug-in is code: import it from this file or module")
    parser.add_argument("--json", action="store_true", help="print the table as one JSON line at the end")
    return parser


def run_league(argv: list[str]) -> int:
    """`play.py league`: play the matches not played yet and print the ratings, or watch two players."""
    from agents.league import LeagueOptions, format_table, league_game, play_league

    args = build_league_parser().parse_args(argv)
    check_showing(args)
    options = LeagueOptions(game=league_game(args.env), runs_dir=args.runs_dir, games=args.games, seed=args.seed,
                            trusted_code=args.trust_code)
    say = _say_to(sys.stdout)
    if args.watch:
        return _watch_players(options, args, say)
    result = play_league(options, say)
    for line in format_table(result.ratings):
        say(line)
    say(f"{result.played} matches played in {result.seconds:.1f} s ({result.skipped} already in {result.path}).")
    if args.json:
        print(json.dumps({"league": str(result.path), "played": result.played, "skipped": result.skipped,
                          "seconds": round(result.seconds, 3),
                          "ratings": [rating.__dict__ for rating in result.ratings]}))
    return 0


def _watch_players(options: Any, args: argparse.Namespace, say: Any) -> int:
    """`play.py league --watch RIGHT LEFT`: two players in the viewer."""
    from agents.league import contestants, find_contestant
    from viewer.display import window_possible

    if not window_possible():
        raise PlaygroundError("--watch needs a window, and there is no display here. Leave --watch out to rate the "
                              "players instead.")
    players = contestants(options, say)
    right, left = (find_contestant(players, wanted) for wanted in args.watch)
    from viewer.session import ShowOptions, show_match

    returns, video = show_match(options.game, right, left, ShowOptions(window=True, episodes=args.episodes,
                                                                      seed=args.seed, record_to=args.record,
                                                                      runs_dir=args.runs_dir))
    _report(returns, video, say)
    return 0


def check_showing(args: argparse.Namespace) -> None:
    """Refuse episode, seed and recording values (play.py and play.py watch share them)."""
    if args.episodes < 1:
        raise PlaygroundError(f"--episodes {args.episodes}: must be at least 1.")
    if not 0 <= args.seed <= SEED_LIMIT or args.episodes > 100_000:
        raise PlaygroundError(f"--seed takes 0 to {SEED_LIMIT:,} and --episodes at most 100,000.")
    if args.record is not None and args.record.suffix.lower() not in (".mp4", ".gif"):
        raise PlaygroundError(f"--record {args.record}: use a file name ending in .mp4 or .gif.")
    if args.record is not None and (args.record.exists() or args.record.is_symlink()):
        raise PlaygroundError(f"--record {args.record}: that file exists, and recording never replaces a file. "
                              "Choose a new name or delete it first.")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse values argparse lets through."""
    check_showing(args)
    if args.timesteps is not None and not 1 <= args.timesteps <= 10**10:
        raise PlaygroundError(f"--timesteps {args.timesteps}: must be from 1 to 10,000,000,000.")
    if args.device.lower() not in DEVICE_CHOICES and not args.device.lower().startswith("cuda:"):
        raise PlaygroundError(f"--device {args.device!r}: choose one of {', '.join(DEVICE_CHOICES)}.")
    if args.agent is not None:
        AGENTS.get(args.agent)
    if args.checkpoint_every < 0 or args.env_timeout < 0:
        raise PlaygroundError("--checkpoint-every and --env-timeout take seconds, 0 or more.")
    if args.resume is not None and (args.load or args.retrain):
        raise PlaygroundError("--resume continues a training run; it does not combine with --load or --retrain.")
    if args.versus != "scripted" and args.render == "none":
        raise PlaygroundError(f"--versus {args.versus} plays in the viewer: drop --render none.")
    if args.opponent != "scripted" and (args.load or args.resume is not None):
        raise PlaygroundError("--opponent chooses how a new agent trains; --load and --resume keep the saved "
                              "run's. Drop --opponent.")
    if args.player != "human":
        if args.versus != "human":
            raise PlaygroundError("--player names you in a rated game: add --versus human.")
        check_player_name(args.player)
    if args.perception and (args.load or args.resume is not None):
        raise PlaygroundError("--perception chooses the network of a new agent; --load and --resume keep the saved "
                              "one. Drop --perception.")
    if args.record is not None and args.render == "none":
        raise PlaygroundError("--record needs the episodes to be shown: drop --render none.")


def print_catalog() -> None:
    """Print the built-in envs with their spaces and the agents that fit them, in columns sized to fit."""
    from agents.registry import fitting_agents
    from envs.catalog import CATALOG
    from envs.make import env_spaces

    rows = [("name", "Gymnasium id", "observation", "action", "agents (* the default)")]
    for name, entry in CATALOG.items():
        missing = entry.missing_requirement()
        if missing:
            rows.append((name, entry.env_id, f"(needs {entry.needs_module[0]}: {missing})", "", ""))
            continue
        observation_space, action_space = env_spaces(entry.env_id)
        agents = [agent + "*" if agent == entry.agent else agent for agent in fitting_agents(action_space)]
        rows.append((name, entry.env_id, _space(observation_space), _space(action_space), ", ".join(agents)))
    widths = [max(len(row[column]) for row in rows) + 2 for column in range(4)]
    for row in rows:
        print("".join(cell.ljust(width) for cell, width in zip(row, widths)) + row[4])
    print("Any other registered Gymnasium id works too, e.g. --env Taxi-v3.")


def _space(space: Any) -> str:
    shape = getattr(space, "shape", None)
    if type(space).__name__ == "Discrete":
        return f"Discrete({space.n})"
    return f"{type(space).__name__}{tuple(shape) if shape else ''}"


def choose_render(requested: str, say: Any) -> str:
    """The render mode that can actually run here: windows need a display, else video."""
    if requested in ("none", "video"):
        return requested
    from viewer.display import has_real_display, window_possible

    if requested == "auto":
        return "human" if has_real_display() else "video"
    if window_possible():
        return "human"
    say("No display here: recording the episodes to a video file instead of opening a window.")
    return "video"


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """Prepare the agent (shown live in a window while it trains, when there is one), then show, record or
    evaluate its episodes; returns the JSON summary."""
    from agents.session import SessionOptions, prepare
    from envs.catalog import observed_env

    say = _say_to(sys.stdout)
    render = choose_render(args.render, say)
    args.env = observed_env(args.env, args.obs, args.perception)
    if render != "human" and "human" in ((args.agent or "").lower(), args.versus):
        who = "the human agent" if (args.agent or "").lower() == "human" else "--versus human"
        raise PlaygroundError(f"{who} needs a window, and there is no display here. Run it on a machine with a screen.")
    live_window = _live_window(args) if render == "human" else None
    options = SessionOptions(agent=args.agent, env=args.env, seed=args.seed, timesteps=args.timesteps,
                             perception=args.perception, opponent=None if args.opponent == "scripted" else "self",
                             device=args.device, runs_dir=args.runs_dir, retrain=args.retrain, load=args.load,
                             hp=args.hp, trust_pickle=args.trust_pickle, trust_code=args.trust_code,
                             resume=args.resume,
                             checkpoint_every=args.checkpoint_every, env_timeout=args.env_timeout,
                             progress=not args.no_progress, argv=["play.py", *argv],
                             watch=live_window.open if live_window else None,
                             clips="none" if args.no_clips else "final" if live_window else "evaluations")
    try:
        prepared = prepare(options, say)
    except BaseException:
        if live_window is not None:
            live_window.close()
        raise
    if live_window is not None and live_window.opened:
        returns, video = live_window.wait()
        if live_window.crashed:
            say(f"The window closed unexpectedly (see above); training was not affected. Watch the agent with: "
                f"python play.py watch {prepared.run_dir}")
    else:
        returns, video = _play(prepared, render, args)
    stats = _report(returns, video, say)
    if args.versus == "human" and prepared.spec.name != "human" and returns:
        _rate_games(prepared, args, returns, say)
    return {
        "env_id": prepared.env_id, "agent": prepared.spec.name,
        "model_path": str(prepared.model_path) if prepared.model_path else None,
        "run_dir": str(prepared.run_dir) if prepared.run_dir else None,
        "trained": prepared.trained, "reused": prepared.reused, "solved": prepared.solved,
        "train_seconds": round(prepared.train_seconds, 3), "timesteps": prepared.timesteps,
        "episodes": len(returns), "returns": returns, "video": str(video) if video else None,
        **{f"{key}_return": value for key, value in stats.items()},
    }


def _rate_games(prepared: Any, args: argparse.Namespace, returns: list[float], say: Any) -> None:
    """Record a person's games against the agent in the game's league (two-player games only)."""
    from agents.league import record_human_games

    seeds = [args.seed + SHOWN_SEED_OFFSET + episode for episode in range(len(returns))]
    path = record_human_games(args.runs_dir, prepared.env_id, prepared.spec.name, prepared.run_dir, args.player,
                              seeds, returns)
    if path is not None:
        say(f"Your {len(returns)} games are rated as {args.player!r} in {path}: python play.py league --env "
            f"{args.env} shows the table.")


def _live_window(args: argparse.Namespace) -> Any:
    """The window that opens when training starts and shows the agent learning (learning agents only)."""
    if args.load or (args.agent and not AGENTS.get(args.agent).trainable):
        return None
    from viewer.live import LiveWindow, WatchOptions

    return LiveWindow(WatchOptions(run_dir=Path(), env_id="", agent="", episodes=args.episodes,
                                   seed=args.seed + SHOWN_SEED_OFFSET, versus=args.versus, record_to=args.record,
                                   trusted_code=args.trust_code))


def _play(prepared: Any, render: str, args: argparse.Namespace) -> tuple[list[float], Path | None]:
    """Evaluate (render none), show in a window or record to a video the prepared agent's episodes."""
    if render == "none":
        from agents.evaluation import evaluate

        return evaluate(prepared.controller, prepared.env_id, args.episodes, args.seed + REPORTED_SEED_OFFSET,
                        prepared.normalizer), None
    from viewer.session import ShowOptions, show

    return show(prepared, ShowOptions(window=render == "human", episodes=args.episodes,
                                      seed=args.seed + SHOWN_SEED_OFFSET, versus=args.versus, record_to=args.record,
                                      runs_dir=args.runs_dir))


def _report(returns: list[float], video: Path | None, say: Any) -> dict[str, Any]:
    """Print the episodes' returns and their statistics; returns the statistics."""
    from agents.evaluation import summarize

    for index, episode_return in enumerate(returns, start=1):
        say(f"episode {index}: return {episode_return:.1f}")
    stats = summarize(returns) if returns else {"mean": None, "std": None, "min": None, "max": None}
    if returns:
        say(f"mean return {stats['mean']:.1f} ± {stats['std']:.1f} over {len(returns)} episodes")
    if video:
        say(f"video: {video}")
    return stats


def run_watch(argv: list[str]) -> int:
    """`play.py watch RUN`: a window on a run folder, training or finished."""
    from agents.run_record import read_record
    from viewer.display import window_possible

    args = build_watch_parser().parse_args(argv)
    check_showing(args)
    if not args.run.is_dir():
        raise PlaygroundError(f"watch {args.run}: no such run folder. Runs lie under runs/<env>/<agent>/.")
    record = read_record(args.run, trusted_code=args.trust_code)
    if not window_possible():
        raise PlaygroundError(f"watch needs a window, and there is no display here. Read the run in TensorBoard "
                              f"instead: tensorboard --logdir {args.run}")
    from viewer.live import WatchOptions
    from viewer.session import watch

    returns, video = watch(WatchOptions(run_dir=args.run, env_id=record.env_id, agent=record.agent,
                                        episodes=args.episodes, seed=args.seed + SHOWN_SEED_OFFSET, versus=args.versus,
                                        record_to=args.record, trusted_code=args.trust_code))
    _report(returns, video, _say_to(sys.stdout))
    return 0


def _say_to(stream: Any) -> Any:
    def say(message: str) -> None:
        print(message, file=stream, flush=True)

    return say


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    return run_command(lambda: _dispatch(argv))


def _dispatch(argv: list[str]) -> int:
    if argv[:1] and argv[0] in COMMANDS:  # experiments on Ray: their own parser (python play.py tune --help)
        from experiments.cli import run_command as run_experiment

        return run_experiment(argv)
    if argv[:1] == ["watch"]:
        return run_watch(argv[1:])
    if argv[:1] == ["league"]:
        return run_league(argv[1:])
    args = build_parser().parse_args(argv)
    if args.list or (args.env or "").lower() == "list":
        print_catalog()
        return 0
    check_arguments(args)
    summary = run(args, argv)
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
