"""The textgen command line: `train` and `sample`. User mistakes end as one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from core.cli import ArgumentParser, run_command
from core.errors import PlaygroundError
from core.openmp import quiet_openmp_threads

DEFAULT_TEMPERATURES = (0.2, 0.5, 1.0, 1.2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its two subcommands."""
    parser = ArgumentParser(prog="python -m textgen", description="A character-level LSTM text generator.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train on a text corpus (or resume a run)")
    train.add_argument("--corpus", default="shakespeare", help="'shakespeare' or a path to a UTF-8 .txt file")
    train.add_argument("--preset", default="auto", choices=["auto", "cpu", "gpu"], help="auto: by device")
    train.add_argument("--device", default="auto", help="auto, cpu or cuda")
    train.add_argument("--runs-dir", default="runs", help="root folder of runs (default: runs)")
    train.add_argument(
        "--resume", nargs="?", const="", default=None, metavar="RUN_DIR",
        help="continue a run from its latest checkpoint (default: the newest run)",
    )  # fmt: skip
    train.add_argument("--minutes", type=float, help="wall-clock budget (default: the preset's 5)")
    train.add_argument("--steps", type=int, help="step budget (alone, it replaces the time budget)")
    train.add_argument("--batch-size", type=int, help="parallel text streams")
    train.add_argument("--seq-len", type=int, help="characters per backpropagation chunk")
    train.add_argument("--hidden", type=int, dest="hidden_size", help="LSTM units per layer")
    train.add_argument("--layers", type=int, dest="num_layers", help="LSTM layers")
    train.add_argument("--embed", type=int, dest="embed_size", help="character embedding size")
    train.add_argument("--dropout", type=float, help="dropout")
    train.add_argument("--lr", type=float, help="peak learning rate")
    train.add_argument("--eval-interval", type=int, help="steps between validation evaluations")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")

    sample = commands.add_parser("sample", help="write text with a trained model")
    sample.add_argument("--run", help="a run folder (default: the newest under <runs-dir>/textgen)")
    sample.add_argument("--runs-dir", default="runs", help="root folder of runs (default: runs)")
    sample.add_argument("--prime", help="text to start from (default: a newline)")
    sample.add_argument("--length", type=int, default=400, help="characters to write (default 400)")
    sample.add_argument(
        "--temperature", type=float, nargs="+", default=list(DEFAULT_TEMPERATURES),
        help="one passage per temperature; 0 is greedy (default: 0.2 0.5 1.0 1.2)",
    )  # fmt: skip
    sample.add_argument("--top-k", type=int, help="sample among the k likeliest characters only")
    sample.add_argument("--seed", type=int, help="seed for reproducible samples")
    sample.add_argument("--which", default="best", choices=["best", "latest"], help="which checkpoint")
    sample.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return parser


def run_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """The `train` subcommand."""
    from core.device import resolve_device
    from textgen.checkpoint import LATEST_FILE, find_latest_run
    from textgen.presets import TrainPreset, choose_preset
    from textgen.train import train

    device = resolve_device(args.device, prefer_gpu=True)
    overrides = {
        name: getattr(args, name)
        for name in ("batch_size", "seq_len", "hidden_size", "num_layers", "embed_size", "dropout", "lr")
    }
    overrides["eval_interval"] = args.eval_interval
    resume_dir = None
    if args.resume is not None:
        resume_dir = Path(args.resume) if args.resume else find_latest_run(args.runs_dir, LATEST_FILE)
        if not (resume_dir / LATEST_FILE).is_file():
            raise PlaygroundError(f"--resume {resume_dir}: no {LATEST_FILE} there to resume from.")
        preset = TrainPreset(minutes=args.minutes, steps=args.steps)  # the run keeps its own recipe
        preset.check()
    else:
        preset = choose_preset(args.preset, device.type)
        if args.steps is not None and args.minutes is None:
            preset.minutes = None
        preset = preset.with_overrides(**overrides, minutes=args.minutes, steps=args.steps)
    result = train(
        args.corpus, preset, device, args.runs_dir, resume_dir, args.seed,
        progress=not args.no_progress, argv=["-m", "textgen", *argv],
    )  # fmt: skip
    if result.interrupted:
        return 130
    print(
        f"step {result.step}: best validation loss {result.best_val:.4f} nats/char, whole held-out text "
        f"{result.final_val:.4f}, {result.chars_per_second:,.0f} chars/s. Run folder: {result.run_dir}"
    )
    return 0


def run_sample(args: argparse.Namespace) -> int:
    """The `sample` subcommand: one passage per temperature."""
    from textgen.generator import check_sampling_args, load_generator

    for temperature in args.temperature:
        check_sampling_args(args.length, temperature, args.top_k)
    generator = load_generator(args.run, args.runs_dir, args.device, args.which)
    vocab = generator.vocab
    prime = args.prime if args.prime is not None else ("\n" if "\n" in vocab else vocab.chars[0])
    vocab.encode(prime)  # name unknown characters before any work
    for temperature in args.temperature:
        text = generator.generate(prime, args.length, temperature, args.top_k, args.seed)
        print(f"----- temperature {temperature:g} -----")
        print(prime + text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (one `error:` line and 2 for a user mistake)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    quiet_openmp_threads()
    return run_command(lambda: _run(arguments))


def _run(arguments: list[str]) -> int:
    args = build_parser().parse_args(arguments)
    if args.command == "train":
        return run_train(args, arguments)
    return run_sample(args)
