"""What watching costs training: steps/s with the live window, with headless TensorBoard clips, and alone.

    python bench/bench_live.py                                   # CartPole, Acrobot, Breakout-MinAtar; 3 rounds
    python bench/bench_live.py --worlds CartPole:100000 --rounds 5
    python bench/bench_live.py --rounds 0 --first-frame 5          # seconds from the command to its window (X only)

Each run is the real command, `python play.py --agent ppo --env E --timesteps N --retrain --seed S`, with a
target no run can reach (`--hp solved_at=1e9`), so every run trains its whole budget:
  alone:   --render none --no-clips      training by itself
  window:  --render human                the live window (its own process) plays the newest policy meanwhile
  clips:   --render none                 a detached writer films the policy after every evaluation
The three modes run back to back per world and round, in an order that rotates from round to round. The
speed of a run is its own `live/status.json` figure: steps trained over the seconds spent learning (from the
first update to the last, evaluations included; the wait for the window's first frame left out). The window
needs a display: run it under Xvfb (`xvfb-run -s "-screen 0 1280x900x24" python bench/bench_live.py`); with
none, SDL's dummy driver draws the same frames off screen (stated in the output). Every run is one JSON line in
the output file; the table gives per world and mode the median steps/s (min-max) and the cost against alone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import append, machine, read_records, wait_for_background  # noqa: E402

MODES = {"alone": ["--render", "none", "--no-clips"], "window": ["--render", "human"], "clips": ["--render", "none"]}
DEFAULT_WORLDS = "CartPole:300000,Acrobot:200000,Breakout-MinAtar:200000"


def run_once(world: str, steps: int, mode: str, seed: int, runs_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """One real command; returns its record (speed from the run's own status file)."""
    command = [sys.executable, "play.py", "--agent", "ppo", "--env", world, "--timesteps", str(steps),
               "--hp", "solved_at=1e9", "--seed", str(seed), "--retrain", "--json", "--no-progress", "--episodes",
               "1", "--runs-dir", str(runs_dir), *MODES[mode]]
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    record: dict[str, Any] = {"world": world, "mode": mode, "seed": seed, "rc": completed.returncode,
                              "wall_s": round(time.perf_counter() - start, 2)}
    try:
        summary = json.loads(completed.stdout.strip().splitlines()[-1])
        status = json.loads((Path(summary["run_dir"]) / "live" / "status.json").read_text())
        record.update(steps=status["step"], learning_s=status["elapsed"], steps_per_s=status["steps_per_s"])
    except (IndexError, KeyError, ValueError, OSError):
        record["error"] = (completed.stderr or completed.stdout)[-1500:]
    record["background_s"] = wait_for_background(str(runs_dir))
    return record


def first_frame(world: str, seed: int, runs_dir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Seconds from the command's start to its window on the X display, and to the end of its main imports
    (the same imports timed in a process of their own)."""
    if _windows(env):
        raise SystemExit("another playground window is open on this display: close it first")
    imports = [sys.executable, "-c", "import play, agents.session, viewer.live"]
    start = time.perf_counter()
    subprocess.run(imports, cwd=ROOT, env=env, check=True)
    imports_s = time.perf_counter() - start
    command = [sys.executable, "play.py", "--agent", "ppo", "--env", world, "--seed", str(seed), "--retrain",
               "--no-progress", "--runs-dir", str(runs_dir), "--render", "human"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    window_s = None
    while time.perf_counter() - start < 60 and process.poll() is None:
        if _windows(env):
            window_s = time.perf_counter() - start
            break
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGTERM)
    process.wait()
    record = {"world": world, "mode": "first-frame", "seed": seed, "imports_s": round(imports_s, 3),
              "window_s": None if window_s is None else round(window_s, 3)}
    record["background_s"] = wait_for_background(str(runs_dir))
    return record


def _windows(env: dict[str, str]) -> int:
    """How many playground windows the X display has (xwininfo lists them by title)."""
    listing = subprocess.run(["xwininfo", "-root", "-children"], env=env, capture_output=True, text=True).stdout
    return listing.count('"Agent Playground:')


def table(records: list[dict[str, Any]]) -> str:
    """Median steps/s per world and mode, and each mode's cost against training alone."""
    lines = ["| world | mode | steps/s median (min-max) | runs | vs alone |", "|---|---|---|---|---|"]
    for world in dict.fromkeys(r["world"] for r in records if "world" in r):
        medians: dict[str, float] = {}
        for mode in MODES:
            speeds = [r["steps_per_s"] for r in records if r.get("world") == world and r.get("mode") == mode
                      and "steps_per_s" in r]
            if not speeds:
                continue
            medians[mode] = statistics.median(speeds)
            cost = "" if mode == "alone" or "alone" not in medians else \
                f"{100 * (medians[mode] / medians['alone'] - 1):+.1f}%"
            lines.append(f"| {world} | {mode} | {medians[mode]:,.0f} ({min(speeds):,.0f}-{max(speeds):,.0f}) | "
                         f"{len(speeds)} | {cost} |")
    frames = [r for r in records if r.get("mode") == "first-frame" and r.get("window_s") is not None]
    if frames:
        lines += ["", "| world | command start to window, s median (min-max) | main imports alone, s median | runs |",
                  "|---|---|---|---|"]
        for world in dict.fromkeys(r["world"] for r in frames):
            windows = [r["window_s"] for r in frames if r["world"] == world]
            imports = [r["imports_s"] for r in frames if r["world"] == world]
            lines.append(f"| {world} | {statistics.median(windows):.2f} ({min(windows):.2f}-{max(windows):.2f}) | "
                         f"{statistics.median(imports):.2f} | {len(windows)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default=DEFAULT_WORLDS, help="NAME:STEPS,... (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="the JSON-lines file (default runs/bench_live/<time>.jsonl)")
    parser.add_argument("--table", type=Path, help="only print the table of an earlier output file")
    parser.add_argument("--first-frame", type=int, default=0, metavar="N",
                        help="also time N starts of the window (needs an X display and xwininfo)")
    args = parser.parse_args(argv)
    if args.table:
        print(table(read_records(args.table)))
        return 0
    env = dict(os.environ, SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    display = "X display " + env["DISPLAY"] if env.get("DISPLAY") else "SDL dummy driver (no display)"
    if not env.get("DISPLAY"):
        env["SDL_VIDEODRIVER"] = "dummy"
    out = args.out or ROOT / "runs" / "bench_live" / f"{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    append(out, {"machine": machine(), "window": display})
    worlds = [(name, int(steps)) for name, _, steps in (item.partition(":") for item in args.worlds.split(","))]
    with tempfile.TemporaryDirectory(prefix="bench-live-") as runs_dir:
        for round_index in range(args.rounds):
            for name, steps in worlds:
                modes = list(MODES)
                order = modes[round_index % 3:] + modes[:round_index % 3]
                for mode in order:
                    record = run_once(name, steps, mode, 100 + round_index, Path(runs_dir), env)
                    append(out, record)
                    print(json.dumps(record), flush=True)
        for index in range(args.first_frame):
            for name, _ in worlds:
                record = first_frame(name, 200 + index, Path(runs_dir), env)
                append(out, record)
                print(json.dumps(record), flush=True)
    print(f"machine: {machine()['cpu']}, {os.cpu_count()} cores; window: {display}; output: {out}")
    print(table(read_records(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
