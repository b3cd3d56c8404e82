"""The GPU figures of issue 18 in one command: training speed on cuda against cpu, digits, textgen, Breakout.

    python bench/bench_gpu.py                         # all four parts below, in turn (about 25 minutes on an H100)
    python bench/bench_gpu.py speed digits            # some parts (each of these lines fits a 10-minute command)
    python bench/bench_gpu.py textgen                 # 5 minutes of training
    python bench/bench_gpu.py breakout --minutes 9
    flock /tmp/cpu-bench.lock python bench/bench_gpu.py all --device cpu --dry-run   # the plumbing, on a CPU

speed: PPO training steps per second of the real command `python play.py --agent ppo --env E --timesteps T
  --device D --render none --retrain --json --no-progress --no-clips --episodes 1 --seed S` on Breakout-MinAtar
  (65,536 steps) and Atari Breakout (ALE/Breakout-v5, the batched ale-py env; 8,192 steps), --device cuda against
  --device cpu, interleaved per seed (which goes first alternates); a run's speed is its steps over its training
  seconds (its JSON summary), its wall time is process start to exit.
digits: `python -m vision.digits` (bench/bench_digits.py's run) with the default nature network on cuda against
  cpu, interleaved; seconds per epoch. On the MNIST t10k holdout when the files are there (../shared/data/mnist),
  else on random images of the same size and number (the time of an epoch does not depend on what the images show).
textgen: bench/bench_textgen.py with the gpu preset on cuda for 5 minutes: the validation loss at 1, 3 and 5
  minutes and on the whole held-out text at the end (target <= 1.45 nats/char).
breakout: PPO on ALE/Breakout-v5 on cuda for a wall-clock budget (--minutes, default 9, so that the whole part
  fits a 10-minute command). play.py has a step budget, not a time budget, so a short calibration run measures the
  training speed first and the main run gets the steps that fit the time left (minus --reserve seconds, default
  150, for its start and its final evaluation of --final-episodes whole games). No evaluation interrupts training
  (--eval-every N asks for some): the score curve is TensorBoard's rollout/ep_rew_mean, the mean score of the
  latest whole games played while training, read back with EventAccumulator; then the final agent's mean score
  over 100 fresh episodes.

Every run is printed as one JSON line and appended to --out (after a first line that names the machine); each part
ends with a markdown table. The cuda side refuses to start without a CUDA GPU (one line, exit code 2); --device cpu
runs that side on the CPU instead, which with --dry-run's tiny budgets checks the whole benchmark in minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import machine, timed_run  # noqa: E402
from bench_digits import DEFAULT_DATA as DIGITS_DATA  # noqa: E402
from bench_digits import run_one as run_digits  # noqa: E402
from bench_textgen import DEFAULT_CORPUS  # noqa: E402

ENVS = {"Breakout-MinAtar": 65_536, "Breakout": 8_192}  # catalog name: steps per speed run (bench_pixels' sizes)
ROLLOUT = 8 * 128  # the Atari preset's steps per PPO update: the step budgets are multiples of it
NO_EVALUATION = 10**10  # breakout's default eval_every: its curve is the training score, its time all training
DRY_RUN = {"minatar_steps": 4096, "atari_steps": 1024, "digits_images": 600, "textgen_minutes": 0.3,
           "textgen_set": ["hidden_size=64", "embed_size=16", "batch_size=8", "seq_len=32"], "minutes": 1.5,
           "calibrate_steps": 1024, "final_episodes": 2, "reserve": 10.0}


def emit(out: Path, record: dict[str, Any]) -> None:
    """Print one JSON line and append it to the output file."""
    line = json.dumps(record)
    print(line, flush=True)
    with out.open("a", encoding="utf-8") as stream:
        stream.write(line + "\n")


def sides(args: argparse.Namespace, index: int) -> list[str]:
    """The two devices of one interleaved round, the accelerator first on even rounds."""
    return [args.device, "cpu"] if index % 2 == 0 else ["cpu", args.device]


def play_command(env: str, device: str, seed: int, timesteps: int, episodes: int, runs_dir: Path,
                 hp: list[str] = ()) -> list[str]:
    """The real training command, headless, as the user runs it."""
    return [sys.executable, "play.py", "--agent", "ppo", "--env", env, "--timesteps", str(timesteps), "--device",
            device, "--render", "none", "--retrain", "--json", "--no-progress", "--no-clips", "--episodes",
            str(episodes), "--seed", str(seed), "--runs-dir", str(runs_dir), *(f"--hp={pair}" for pair in hp)]


def train_run(env: str, device: str, seed: int, timesteps: int, runs_dir: Path, episodes: int = 1,
              timeout: float = 1800, hp: list[str] = ()) -> dict[str, Any]:
    """One timed play.py run: wall seconds (process start to exit), steps, training seconds and steps/s."""
    record = timed_run(play_command(env, device, seed, timesteps, episodes, runs_dir, hp), ROOT, timeout,
                       dict(os.environ))
    result = {"env": env, "device": device, "seed": seed, "wall_s": round(record["wall_s"], 1)}
    if "error" in record:
        return {**result, "error": record["error"][-600:], "timed_out": record["timed_out"]}
    return {**result, "steps": record["timesteps"], "train_s": record["train_seconds"],
            "steps_per_s": round(record["timesteps"] / record["train_seconds"], 1),
            "mean_return": record["mean_return"], "std_return": record["std_return"]}


def speed(args: argparse.Namespace, out: Path) -> None:
    """PPO steps/s on both envs, accelerator against CPU, interleaved; then the table."""
    budgets = {"Breakout-MinAtar": args.minatar_steps, "Breakout": args.atari_steps}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as scratch:
        for env, steps in budgets.items():
            for index, seed in enumerate(args.seeds):
                for device in sides(args, index):
                    record = train_run(env, device, seed, steps, Path(tempfile.mkdtemp(dir=scratch)))
                    runs.append({"part": "speed", **record})
                    emit(out, runs[-1])
    print(f"\nPPO training speed, steps per second over training seconds (medians of seeds {args.seeds})")
    print(f"| env (steps per run) | {args.device} steps/s (runs) | cpu steps/s (runs) | {args.device} / cpu "
          "| median wall s, " + f"{args.device} / cpu |")
    print("|---|---|---|---|---|")
    for env, steps in budgets.items():
        cells, medians, walls = [], {}, []
        for device in dict.fromkeys([args.device, "cpu"]):
            good = [r for r in runs if r["env"] == env and r["device"] == device and "error" not in r]
            medians[device] = statistics.median(r["steps_per_s"] for r in good) if good else math.nan
            walls.append(f"{statistics.median(r['wall_s'] for r in good):.1f}" if good else "-")
            failed = sum(r["env"] == env and r["device"] == device and "error" in r for r in runs)
            each = " / ".join(f"{r['steps_per_s']:,.0f}" for r in good)
            cells.append(f"{medians[device]:,.0f} ({each})" + (f", {failed} failed" if failed else ""))
        cells = cells if len(cells) == 2 else cells * 2  # --device cpu: both sides are the CPU
        print(f"| {env} ({steps:,}) | {cells[0]} | {cells[1]} | {medians[args.device] / medians['cpu']:.2f} "
              f"| {' / '.join(walls if len(walls) == 2 else walls * 2)} |")


def synthetic_digits(folder: Path, train: int, test: int) -> Path:
    """Random 28x28 images and labels in the four MNIST files: an epoch as long as on real digits."""
    from vision.idx import write_idx
    from vision.mnist import standard_name

    rng = np.random.default_rng(0)
    for kind, count in (("train", train), ("test", test)):
        write_idx(folder / standard_name(f"{kind} images"), rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(folder / standard_name(f"{kind} labels"), rng.integers(0, 10, count, dtype=np.uint8))
    return folder


def digits(args: argparse.Namespace, out: Path) -> None:
    """Seconds per epoch of vision.digits (nature) on the accelerator and on the CPU, interleaved."""
    from vision.mnist import find_file

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-gpu-digits-") as scratch:
        data, holdout = Path(args.digits_data), find_file(Path(args.digits_data), "train images") is None
        if args.digits_images or find_file(data, "test images") is None:
            count = args.digits_images or 8000
            data, holdout = synthetic_digits(Path(scratch), count, max(count // 4, 100)), False
        split = (f"random images, {args.digits_images or 8000:,} to train on" if data == Path(scratch)
                 else "MNIST t10k holdout: 8,000 to train on" if holdout else "MNIST, 60,000 to train on")
        for index, seed in enumerate(args.seeds):
            for device in sides(args, index):
                result = run_digits(data, holdout, "nature", args.digits_epochs, seed, device, scratch)
                runs.append({"part": "digits", "device": device, "seed": seed, "split": split,
                             "epochs": args.digits_epochs, "train_s": result["train_seconds"],
                             "s_per_epoch": round(result["train_seconds"] / args.digits_epochs, 2),
                             "wall_s": round(result["wall_seconds"], 1), "test_accuracy": result["test_accuracy"],
                             "device_name": result["device"]})
                emit(out, runs[-1])
    print(f"\nvision.digits, nature network (84x84), {split}, {args.digits_epochs} epochs per run, seeds {args.seeds}")
    print("| device | s per epoch, median (runs) | process s (median) | test accuracy (runs) |")
    print("|---|---|---|---|")
    for device in dict.fromkeys([args.device, "cpu"]):
        mine = [r for r in runs if r["device"] == device]
        epochs = " / ".join(str(r["s_per_epoch"]) for r in mine)
        accuracies = ", ".join(f"{r['test_accuracy']:.2%}" for r in mine)
        print(f"| {mine[0]['device_name']} | {statistics.median(r['s_per_epoch'] for r in mine):.2f} ({epochs}) | "
              f"{statistics.median(r['wall_s'] for r in mine):.1f} | {accuracies} |")


def textgen(args: argparse.Namespace, out: Path) -> None:
    """bench_textgen.py with the gpu preset on the accelerator; its marks, final loss and throughput."""
    if not Path(args.corpus).is_file():
        emit(out, {"part": "textgen", "skipped": f"no corpus at {args.corpus}: give --corpus tinyshakespeare.txt"})
        return
    command = [sys.executable, str(ROOT / "bench" / "bench_textgen.py"), "--device", args.device, "--preset", "gpu",
               "--minutes", str(args.textgen_minutes), "--corpus", str(args.corpus), "--seed", str(args.seeds[0])]
    command += ["--set", *args.textgen_set] if args.textgen_set else []
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=args.textgen_minutes * 120
                               + 600)
    record: dict[str, Any] = {"part": "textgen", "device": args.device, "minutes": args.textgen_minutes,
                              "overrides": args.textgen_set, "wall_s": round(time.perf_counter() - start, 1)}
    if completed.returncode != 0:
        emit(out, {**record, "error": (completed.stderr or completed.stdout)[-600:]})
        return
    text = completed.stdout
    record["marks"] = [[float(m), int(s), float(v)] for m, s, v in
                       re.findall(r"^\s*([\d.]+)\s+(\d+)\s+([\d.]+)\s*$", text, re.MULTILINE)]
    record["final_val"] = float(re.search(r"whole held-out 10%: ([\d.]+)", text).group(1))
    record["best_val"] = float(re.search(r"best periodic val: ([\d.]+)", text).group(1))
    record["steps"], record["chars_per_s"] = (int(re.search(r"steps: (\d+)", text).group(1)),
                                              int(re.search(r"throughput: ([\d,]+)", text).group(1).replace(",", "")))
    emit(out, record)
    print(f"\ntextgen, gpu preset{' with ' + ' '.join(args.textgen_set) if args.textgen_set else ''}, "
          f"{args.textgen_minutes:g} minutes on {args.device} (target <= 1.45 nats/char on the whole held-out text)")
    print("| training time | step | validation loss (periodic slice) |\n|---|---|---|")
    for minute, step, value in record["marks"]:
        print(f"| {minute:g} min | {step:,} | {value:.3f} |")
    print(f"Whole held-out 10%: **{record['final_val']:.3f} nats/char**; {record['chars_per_s']:,} chars/s, "
          f"{record['steps']:,} steps")


def score_curve(run_dir: Path, rows: int = 20) -> dict[str, list[list[float]]]:
    """The run's training scores (whole games, rollout/ep_rew_mean, about `rows` points) and its evaluations."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next(run_dir.glob("tensorboard_*"))), size_guidance={"scalars": 0}).Reload()
    tags = events.Tags()["scalars"]
    curve = {}
    for tag in ("rollout/ep_rew_mean", "eval/mean_reward"):
        points = [[event.step, round(event.value, 2)] for event in events.Scalars(tag)] if tag in tags else []
        every = max(1, len(points) // rows) if tag.startswith("rollout") else 1
        curve[tag] = points[every - 1::every] if points else []
        if points and curve[tag][-1] != points[-1]:
            curve[tag].append(points[-1])
    return curve


def breakout(args: argparse.Namespace, out: Path) -> None:
    """PPO on ALE/Breakout-v5 on the accelerator for about --minutes of wall clock; the curve and final score."""
    start = time.perf_counter()
    runs_dir = Path(args.runs_dir) / time.strftime("%Y%m%d-%H%M%S")  # this run's folder alone lies under it
    timesteps = args.timesteps
    if timesteps is None:  # the steps that fit the time left, at the speed of a short calibration run
        calibration = train_run("Breakout", args.device, args.seeds[0], args.calibrate_steps,
                                Path(tempfile.mkdtemp(prefix="bench-gpu-calibrate-")))
        emit(out, {"part": "breakout-calibration", **calibration})
        if "error" in calibration:
            return
        left = args.minutes * 60 - (time.perf_counter() - start) - args.reserve
        timesteps = max(ROLLOUT, int(calibration["steps_per_s"] * left * 0.95) // ROLLOUT * ROLLOUT)
    hp = [f"eval_every={args.eval_every or NO_EVALUATION}"]
    budget_left = args.minutes * 60 - (time.perf_counter() - start)
    record = train_run("Breakout", args.device, args.seeds[0], timesteps, runs_dir, args.final_episodes,
                       timeout=max(budget_left, 60) + 300, hp=hp)
    record = {"part": "breakout", "minutes": args.minutes, "asked_steps": timesteps, **record,
              "total_wall_s": round(time.perf_counter() - start, 1)}
    if "error" not in record:
        run_dir = next(runs_dir.rglob("config.json")).parent
        record["run_dir"] = str(run_dir)
        record.update(curve=score_curve(run_dir))
    emit(out, record)
    if "error" in record:
        return
    print(f"\nPPO on ALE/Breakout-v5 on {args.device}, about {args.minutes:g} minutes in all: {record['steps']:,} "
          f"steps in {record['train_s']:.0f} s of training ({record['steps_per_s']:,.0f} steps/s), "
          f"{record['total_wall_s']:.0f} s with calibration, start and the final evaluation")
    print("| step | training score (rollout/ep_rew_mean, whole games) |\n|---|---|")
    for step, value in record["curve"]["rollout/ep_rew_mean"]:
        print(f"| {step:,} | {value:.1f} |")
    evaluations = record["curve"]["eval/mean_reward"]
    if evaluations:
        print("Evaluations (eval/mean_reward): " + ", ".join(f"{value:.1f} at {step:,}" for step, value in evaluations))
    print(f"Final agent over {args.final_episodes} fresh episodes: **{record['mean_return']:.1f} ± "
          f"{record['std_return']:.1f}**; run folder {run_dir}")


PARTS = {"speed": speed, "digits": digits, "textgen": textgen, "breakout": breakout}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", default=["all"], choices=["all", *PARTS],
                        help="what to measure, in this order (default all)")
    parser.add_argument("--device", default="cuda", help="the accelerator side (default cuda); cpu for a dry run")
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny budgets everywhere (unless given): checks the benchmark end to end in minutes")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds per side (speed, digits)")
    parser.add_argument("--out", type=Path, help="JSON-lines file (default runs/bench_gpu/<date-time>.jsonl)")
    parser.add_argument("--minatar-steps", type=int,
                        help=f"steps per Breakout-MinAtar run ({ENVS['Breakout-MinAtar']:,})")
    parser.add_argument("--atari-steps", type=int, help=f"steps per Atari Breakout speed run ({ENVS['Breakout']:,})")
    parser.add_argument("--digits-data", default=str(DIGITS_DATA), help="MNIST folder (default ../shared/data/mnist)")
    parser.add_argument("--digits-images", type=int, help="train on N random images instead of the MNIST files")
    parser.add_argument("--digits-epochs", type=int, default=2, help="epochs per digits run (default 2)")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="textgen corpus (tinyshakespeare.txt)")
    parser.add_argument("--textgen-minutes", type=float, help="textgen training budget (default 5)")
    parser.add_argument("--textgen-set", nargs="*", metavar="FIELD=VALUE", help="override gpu preset fields")
    parser.add_argument("--minutes", type=float, help="breakout: wall-clock budget in minutes (default 9)")
    parser.add_argument("--timesteps", type=int, help="breakout: this many steps instead of the time budget")
    parser.add_argument("--calibrate-steps", type=int, help="breakout: steps of the calibration run (16,384)")
    parser.add_argument("--reserve", type=float, help="breakout: seconds kept for start and final evaluation (150)")
    parser.add_argument("--final-episodes", type=int, help="breakout: episodes of the final evaluation (100)")
    parser.add_argument("--eval-every", type=int,
                        help="breakout: steps between evaluations (default none: each takes whole games of time)")
    parser.add_argument("--runs-dir", default=str(ROOT / "runs" / "bench_gpu"), help="breakout's run folder root")
    args = parser.parse_args(argv)
    defaults = {"minatar_steps": ENVS["Breakout-MinAtar"], "atari_steps": ENVS["Breakout"], "digits_images": None,
                "textgen_minutes": 5.0, "textgen_set": [], "minutes": 9.0, "calibrate_steps": 16_384,
                "final_episodes": 100, "reserve": 150.0}
    for name, value in {**defaults, **(DRY_RUN if args.dry_run else {})}.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"error: --device {args.device}: no CUDA GPU here (torch {torch.__version__}); run this on a GPU "
              "machine, or check the benchmark on the CPU with --device cpu --dry-run", file=sys.stderr)
        return 2
    out = args.out or ROOT / "runs" / "bench_gpu" / f"{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    gpu = torch.cuda.get_device_name(torch.device(args.device)) if args.device.startswith("cuda") else None
    described = {"kind": "machine", "gpu": gpu, "device": args.device, "dry_run": args.dry_run, "parts": args.parts,
                 "seeds": args.seeds, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **machine()}
    emit(out, described)
    if args.device == "cpu":
        print("dry run on the CPU: both sides run on the CPU, so these are no GPU figures", flush=True)
    for part in PARTS if "all" in args.parts else dict.fromkeys(args.parts):
        PARTS[part](args, out)
    print(f"\nMachine: {gpu or 'no GPU'}; {described['nproc']} CPUs ({described['cpu']}); Python "
          f"{described['python']}, " + ", ".join(f"{k} {v}" for k, v in described["versions"].items() if v)
          + f"; commit {described['commit']}; load average at the start {described['loadavg']}; records in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
