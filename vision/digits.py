"""`python -m vision.digits`: train a perception network (or the seed's MLP) with a linear head on MNIST digits.

    python -m vision.digits --data ~/mnist                      # the four IDX files in ~/mnist
    python -m vision.digits                                     # download them once into the cache
    python -m vision.digits --data ../shared/data/mnist --holdout 2000 --network nature
    python -m vision.digits --data ~/mnist --network mlp        # flatten, 128 ReLU units, dropout 0.2
    python -m vision.digits --data ~/mnist --network my_nets.py:TinyNet

The data is read and checked before torch is imported, so a bad file is refused at once. User mistakes end
as one line on stderr and exit code 2. The run folder runs/digits/<network>/<run>/ holds the TensorBoard
events (`train/loss`, `eval/accuracy`), model.pt (weights and config), config.json and command.txt.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from core.cli import ArgumentParser, run_command
from core.errors import PlaygroundError
from core.openmp import quiet_openmp_threads

if TYPE_CHECKING:
    from vision.mnist import Digits

DEFAULT_NETWORK = "nature"
DEFAULT_HOLDOUT = 2000
MAX_IMAGE_SIZE = 512


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = ArgumentParser(
        prog="python -m vision.digits", description="Train a perception network as a digit classifier (MNIST IDX "
        "files) and print its test accuracy.",
        epilog="Networks: nature (default: the most accurate per second measured here; it needs 36x36 pixels "
        "or more, so 28x28 digits are resized to 84x84, its Atari input), impala, minatar, mlp (the seed "
        "tutorial's perceptron: 128 ReLU units, dropout 0.2; these three take 28x28 as it is), or your own class "
        "as file.py:Class or "
        "package.module:Class. Only the t10k files at hand? --holdout 2000 trains on t10k images 0-7999 and "
        "tests on 8000-9999 (not the standard MNIST test).")  # fmt: skip
    parser.add_argument(
        "--data",
        metavar="FOLDER",
        help="folder with the MNIST IDX files, .gz or raw (default: "
        "download once into $AGENT_PLAYGROUND_CACHE/mnist or ~/.cache/agent-playground/mnist)",
    )
    parser.add_argument(
        "--holdout",
        type=positive_int,
        nargs="?",
        const=DEFAULT_HOLDOUT,
        metavar="N",
        help=f"use only the t10k files: test on their last N images (default {DEFAULT_HOLDOUT}), train on the rest",
    )
    parser.add_argument(
        "--network",
        "--perception",
        default=DEFAULT_NETWORK,
        help="perception network "
        f"(default {DEFAULT_NETWORK}): nature, impala, minatar, mlp, file.py:Class or package.module:Class",
    )
    parser.add_argument(
        "--image-size",
        type=positive_int,
        help="resize digits to this square size (default: as they are, or 84 when the network needs larger images)",
    )
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the training images (default 5)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="images per step (default 128)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate, one-cycle (default 0.002)")
    parser.add_argument(
        "--shift", type=int, default=2, help="random shift augmentation in pixels, 0 for none (default 2)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto: cuda when present)")
    parser.add_argument("--runs-dir", default="runs", help="root folder of runs (default: runs)")
    parser.add_argument("--train-limit", type=positive_int, metavar="N", help="train on the first N images only")
    parser.add_argument("--test-limit", type=positive_int, metavar="N", help="test on the first N images only")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace, argv: Sequence[str]) -> dict:
    """Load the data, train, test and save; returns the result as a dict."""
    from vision.mnist import ensure_downloaded, limit, load_digits

    if not 0.0 < args.lr < 10.0:
        raise PlaygroundError(f"--lr {args.lr}: give a learning rate between 0 and 10, e.g. 0.002.")
    if not 0 <= args.seed < 2**32:  # NumPy's legacy seeding takes no more
        raise PlaygroundError(f"--seed {args.seed}: give a seed from 0 to {2**32 - 1:,}.")
    if args.image_size is not None and args.image_size > MAX_IMAGE_SIZE:  # the resized batch alone would be GBs
        raise PlaygroundError(f"--image-size {args.image_size}: give at most {MAX_IMAGE_SIZE} (84 suits nature).")
    folder = Path(args.data) if args.data else ensure_downloaded()
    digits = limit(load_digits(folder, args.holdout), args.train_limit, args.test_limit)
    if not len(digits.train_images) or not len(digits.test_images):
        raise PlaygroundError(f"{folder}: the training or test part holds no images. Use complete MNIST files.")
    side = min(digits.train_images.shape[1:])
    if args.shift > side:  # the padding grows with the shift squared; past the side an image is only blank
        raise PlaygroundError(f"--shift {args.shift}: give at most the image side, {side} (default 2).")
    return train_and_save(args, argv, digits)


def train_and_save(args: argparse.Namespace, argv: Sequence[str], digits: Digits) -> dict:
    """Build the classifier, train it on `digits`, save the run folder; returns the result."""
    from torch.utils.tensorboard import SummaryWriter

    from core.checkpoint import save_state
    from core.device import describe_device, resolve_device
    from core.files import write_json
    from core.runs import new_run_dir, write_command_line
    from core.seeding import seed_everything
    from vision.classify import ClassifierConfig, DigitClassifier, fitting_size, to_device, train

    device = resolve_device(args.device, prefer_gpu=True)
    size = args.image_size or fitting_size(args.network, *digits.train_images.shape[1:])
    config = ClassifierConfig(args.network, size, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                              shift=max(0, args.shift), seed=args.seed)  # fmt: skip
    seed_everything(args.seed)
    model = DigitClassifier(config).to(device)
    run_dir = new_run_dir(args.runs_dir, "digits", args.network, tag=f"s{args.seed}")
    write_command_line(run_dir, ["-m", "vision.digits", *argv])
    with SummaryWriter(str(run_dir)) as writer:
        table = "\n".join(f"|{key}|{value}|" for key, value in asdict(config).items())
        writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{table}", 0)
        train_set = to_device(digits.train_images, digits.train_labels, device)
        test_set = to_device(digits.test_images, digits.test_labels, device)
        result = train(model, train_set, test_set, writer, progress=not args.no_progress)
    summary = {
        "network": args.network,
        "test_accuracy": result.accuracy,
        "correct": result.correct,
        "test_images": result.total,
        "train_images": len(digits.train_images),
        "epochs": config.epochs,
        "train_seconds": round(result.seconds, 2),
        "device": describe_device(device),
        "split": digits.split,
        "run_dir": str(run_dir),
    }
    save_state(run_dir / "model.pt", {"model": model.state_dict(), "config": asdict(config)})
    write_json(run_dir / "config.json", {"config": asdict(config), "result": summary})
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    return run_command(lambda: _train_and_report(arguments))


def _train_and_report(arguments: list[str]) -> int:
    args = build_parser().parse_args(arguments)
    quiet_openmp_threads()  # on a busy 2-core machine spinning OpenMP workers made training 4-7x slower
    summary = run(args, arguments)
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"test accuracy {summary['test_accuracy']:.2%} ({summary['correct']:,}/{summary['test_images']:,}) "
            f"with {summary['network']} after {summary['epochs']} epochs on {summary['train_images']:,} images, "
            f"{summary['train_seconds']:.1f} s on {summary['device']}; {summary['split']}. "
            f"Run folder: {summary['run_dir']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
