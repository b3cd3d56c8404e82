"""Benchmark: the default textgen training on Tiny Shakespeare for a wall-clock budget.

Prints the validation loss (nats/char, on the periodic slice of the held-out 10%) reached at 1, 3 and
5 minutes of training, the training throughput, and the loss on the whole held-out text at the end.

    flock /tmp/cpu-bench.lock python bench/bench_textgen.py                 # 5 minutes, CPU preset
    python bench/bench_textgen.py --device cuda --preset gpu                 # on a GPU

References (nats/char on the same split): nanoGPT's CPU configuration 1.88 after ~3 minutes,
its GPU configuration 1.47; the issue's targets are <= 1.60 (CPU, 5 min) and <= 1.45 (GPU preset).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"


def main() -> int:
    """Run the benchmark; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preset", default="auto", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--runs-dir", help="where to keep the run (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="override preset fields")
    args = parser.parse_args()

    from core.openmp import quiet_openmp_threads

    quiet_openmp_threads()  # as `python -m textgen train` does, before torch is imported
    import torch

    from core.device import describe_device, resolve_device
    from core.errors import PlaygroundError
    from textgen.presets import choose_preset
    from textgen.train import train

    device = resolve_device(args.device, prefer_gpu=True)
    preset = choose_preset(args.preset, device.type)
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = type(getattr(preset, name) if getattr(preset, name) is not None else 0.0)(value)
    preset = preset.with_overrides(**overrides, minutes=args.minutes)
    marks = [m * 60.0 for m in (1, 3, 5, 10, 20, 30) if m < args.minutes] + [args.minutes * 60.0]
    where = describe_device(device)
    print(f"textgen benchmark: {args.corpus}, {args.minutes:g} min on {where}, torch {torch.__version__}")
    print(f"preset: {preset}")
    with tempfile.TemporaryDirectory() as temporary:
        started = time.perf_counter()
        try:
            result = train(
                args.corpus, preset, device, args.runs_dir or temporary, seed=args.seed,
                progress=args.progress, eval_at_s=marks,
            )  # fmt: skip
        except PlaygroundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        wall = time.perf_counter() - started
    print(f"{'minute':>7} {'step':>6} {'val nats/char':>14}")
    for mark in marks:
        # The evaluation triggered when the training clock crossed the mark (the last one ends training).
        entry = next((e for e in result.evals if e[0] >= mark - 0.5), result.evals[-1])
        print(f"{mark / 60:7.2f} {entry[1]:6d} {entry[2]:14.4f}")
    print(f"best periodic val: {result.best_val:.4f} nats/char (first {preset.eval_chars or 'all'} held-out chars)")
    print(f"final val on the whole held-out 10%: {result.final_val:.4f} nats/char")
    print(f"steps: {result.step}, training throughput: {result.chars_per_second:,.0f} chars/s, wall {wall:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
