"""Time to a solved world, as the user gets it: `python play.py` against stock SB3 with RL Zoo's settings.

    python bench/bench_cli.py --worlds CartPole:ppo,CartPole:dqn --seeds 20
    python bench/bench_cli.py --worlds list                      # the worlds, agents and targets
    python bench/bench_cli.py --worlds ... --resume runs/bench_cli/X.jsonl   # finish an interrupted run
    python bench/bench_cli.py --table runs/bench_cli/X.jsonl     # the table of a finished (or running) one

Every run is a fresh process timed from its start to its exit (imports, envs, training, the run folder, the
final evaluation: everything the user waits for). Per world, agent and seed, the two sides run back to back,
interleaved, and which goes first alternates from seed to seed:
  project:   python play.py --agent A --env E --render none --episodes 100 --seed S --retrain --json
             --no-progress --runs-dir TMP
  reference: python bench/zoo_reference.py (stock stable-baselines3, RL Zoo's hyperparameters and budget)
The protocol is the same on both sides: evaluate every K steps (the project preset's `eval_every`) on the
preset's `eval_episodes` deterministic episodes, stop when their mean reaches the stop threshold (or at the
budget), then play the final policy on 100 fresh deterministic episodes. A seed is confirmed when the mean of
those 100 is at least the threshold. Seeds default to 100-119: the presets were tuned on seeds below 20.

play.py's detached TensorBoard episode writer (it runs after the command exits) is waited for before the
next run starts, so it never shares the CPU with a timed run; the wait is recorded as `background_s`.

Every run is appended as one JSON line to the output file as soon as it ends, after a first line that names
the machine; the table at the end gives per world and agent the median seconds (min-max), median steps and
confirmed seeds of each side, and the ratio reference / project of the median seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_table import summary_table  # noqa: E402


@dataclass(frozen=True)
class World:
    """A world of the benchmark.

    Args:
        name: The catalog name the user types (`--env CartPole`).
        env_id: Its Gymnasium id in this project.
        zoo_id: Its id in RL Zoo (differs for the velocity-masked worlds).
        published: RL Zoo's published mean return per agent (benchmark.md of rl-baselines3-zoo).
        stop_at: The stop and confirmation threshold; None: each agent's published score.
    """

    name: str
    env_id: str
    zoo_id: str
    published: dict[str, float]
    stop_at: float | None = None

    def threshold(self, agent: str) -> float:
        return self.stop_at if self.stop_at is not None else self.published[agent]


WORLDS = {world.name.lower(): world for world in (
    # CartPole: Zoo publishes 500; the protocol stops at 475, Gymnasium's reward threshold, as the README does.
    World("CartPole", "CartPole-v1", "CartPole-v1", {"ppo": 500.0, "dqn": 500.0}, stop_at=475.0),
    World("Acrobot", "Acrobot-v1", "Acrobot-v1", {"ppo": -73.5, "dqn": -76.6}),
    World("MountainCar", "MountainCar-v0", "MountainCar-v0", {"ppo": -110.4, "dqn": -100.8}),
    # Zoo publishes 88-94 for these agents: the protocol uses 90 (also Gymnasium's threshold).
    World("MountainCarContinuous", "MountainCarContinuous-v0", "MountainCarContinuous-v0",
          {"sac": 90.0, "ppo": 90.0}, stop_at=90.0),
    World("Pendulum", "Pendulum-v1", "Pendulum-v1", {"sac": -157.0, "td3": -152.0, "ppo": -172.0}),
    World("LunarLander", "LunarLander-v3", "LunarLander-v3", {"ppo": 242.0}),
    World("LunarLanderContinuous", "LunarLanderContinuous-v3", "LunarLanderContinuous-v3",
          {"sac": 260.0, "td3": 260.0, "ppo": 270.9}),
    # Ours drops the velocities, Zoo's MaskVelocityWrapper zeroes them: the same information.
    World("CartPoleNoVel", "playground/CartPoleNoVel-v1", "CartPoleNoVel-v1", {"ppo-lstm": 500.0}, stop_at=475.0),
)}


def preset_protocol(agent: str, env_id: str, project: Path = ROOT) -> dict[str, Any]:
    """The project preset's evaluation settings for this env: eval_every, eval_episodes, solved_at.

    Read from agents/presets/<agent>.yml directly (the `default` entry under the env's own), so the benchmark
    times the preset as it stands without importing the project into this process.
    """
    presets = yaml.safe_load((project / "agents" / "presets" / f"{agent}.yml").read_text(encoding="utf-8"))
    merged = {**presets["default"], **presets.get(env_id, {})}
    return {key: merged.get(key) for key in ("eval_every", "eval_episodes", "solved_at")}


def gym_threshold(env_id: str, project: Path = ROOT) -> float | None:
    """Gymnasium's reward threshold, the project's stop threshold when its preset names none."""
    import gymnasium

    if env_id.startswith("playground/"):  # registered by the project's envs package
        sys.path.insert(0, str(project))
        import envs  # noqa: F401
    threshold = gymnasium.spec(env_id).reward_threshold
    return None if threshold is None else float(threshold)


def parse_worlds(text: str) -> list[tuple[World, str]]:
    """`CartPole:ppo,Pendulum:sac` -> [(world, agent), ...]; a bare world name takes all its agents."""
    chosen = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, agent = item.partition(":")
        world = WORLDS.get(name.lower())
        if world is None:
            raise SystemExit(f"unknown world {name!r}; choose from {', '.join(w.name for w in WORLDS.values())}")
        agents = [agent.lower()] if agent else list(world.published)
        for one in agents:
            if one not in world.published:
                raise SystemExit(f"{world.name}: no RL Zoo reference for {one!r}; it has {', '.join(world.published)}")
            chosen.append((world, one))
    return chosen


def list_worlds() -> None:
    for world in WORLDS.values():
        for agent, score in world.published.items():
            protocol = preset_protocol(agent, world.env_id)
            print(f"{world.name + ':' + agent:<26} {world.env_id:<28} Zoo's score {score:>7g}   stop/confirm at "
                  f"{world.threshold(agent):>6g}   evaluate every {protocol['eval_every']:,} steps on "
                  f"{protocol['eval_episodes']} episodes")


def machine(project: Path = ROOT) -> dict[str, Any]:
    """What the timings ran on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    versions = {}
    for package in ("torch", "stable_baselines3", "sb3_contrib", "gymnasium", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(["git", "rev-parse", "--show-toplevel", "--short", "HEAD"], cwd=project,
                            capture_output=True, text=True)
    top, _, commit_id = commit.stdout.strip().partition("\n")
    if commit.returncode or Path(top).resolve() != project.resolve():  # an export of a commit has no .git
        commit_id = "unknown (not a git checkout)"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project,
                           capture_output=True, text=True)
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "python": platform.python_version(),
            "versions": versions, "commit": commit_id + ("+dirty" if dirty.stdout.strip() else ""),
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def commands(world: World, agent: str, seed: int, protocol: dict[str, Any], project_hp: list[str],
             runs_dir: Path, episodes: int) -> dict[str, list[str]]:
    """The two command lines of one seed."""
    project = [sys.executable, "play.py", "--agent", agent, "--env", world.name, "--render", "none",
               "--episodes", str(episodes), "--seed", str(seed), "--retrain", "--json", "--no-progress",
               "--runs-dir", str(runs_dir)] + [f"--hp={pair}" for pair in project_hp]
    reference = [sys.executable, str(ROOT / "bench" / "zoo_reference.py"), "--env", world.zoo_id, "--agent", agent,
                 "--seed", str(seed), "--eval-every", str(protocol["eval_every"]),
                 "--eval-episodes", str(protocol["eval_episodes"]), "--stop-at", str(world.threshold(agent)),
                 "--episodes", str(episodes)]
    return {"project": project, "reference": reference}


def timed_run(command: list[str], cwd: Path, timeout: float, env: dict[str, str]) -> dict[str, Any]:
    """Run a command from process start to exit; its last stdout line is its JSON summary."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the whole session: nothing of the run outlives it
        stdout, stderr = process.communicate()
        timed_out = True
    except BaseException:  # Ctrl-C or SIGTERM of the benchmark: its run must not go on competing for the CPU
        os.killpg(process.pid, signal.SIGKILL)
        raise
    wall = time.perf_counter() - start
    record: dict[str, Any] = {"wall_s": round(wall, 3), "rc": process.returncode, "timed_out": timed_out}
    lines = stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines and process.returncode == 0 else {}
    except json.JSONDecodeError:
        summary = {}
    if not summary:
        record["error"] = (stderr or stdout)[-1500:]
    for key in ("solved", "train_seconds", "timesteps", "mean_return", "std_return", "min_return", "max_return",
                "episodes"):
        record[key] = summary.get(key)
    return record


def run_seed(world: World, agent: str, seed: int, position: int, args: argparse.Namespace,
             protocol: dict[str, Any], project_hp: list[str], out: Path) -> None:
    """Both sides of one seed, in alternating order; each appended to the output file as it ends."""
    order = ["project", "reference"] if position % 2 == 0 else ["reference", "project"]
    order = [side for side in order if side in args.sides]
    done = finished_runs(out)
    for rank, side in enumerate(order):
        if (world.name, agent, side, seed) in done:
            continue
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as runs_dir:
            command = commands(world, agent, seed, protocol, project_hp, Path(runs_dir), args.episodes)[side]
            env = dict(os.environ)
            if side == "reference" and args.reference_threads:
                env["OMP_NUM_THREADS"] = str(args.reference_threads)
            load_before = os.getloadavg()[0]
            result = timed_run(command, args.project_dir, args.timeout, env)
            result["background_s"] = wait_for_background(runs_dir)
        threshold = world.threshold(agent)
        result.update(kind="run", world=world.name, env_id=world.env_id, agent=agent, side=side, seed=seed,
                      ran=rank + 1, threshold=threshold, load_before=round(load_before, 2),
                      load_after=round(os.getloadavg()[0], 2), at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                      confirmed=result["mean_return"] is not None and result["mean_return"] >= threshold,
                      command=" ".join(Path(part).name if part == sys.executable else part for part in command))
        append(out, result)
        steps = "-" if result["timesteps"] is None else f"{result['timesteps']:,}"
        mean = "-" if result["mean_return"] is None else f"{result['mean_return']:.1f}"
        note = " TIMED OUT" if result["timed_out"] else (" FAILED" if "error" in result else "")
        print(f"{world.name}:{agent} seed {seed} {side:9s} {result['wall_s']:7.2f} s  {steps:>9} steps  "
              f"100-episode mean {mean:>7}  load {load_before:.2f}{note}", flush=True)


def wait_for_background(runs_dir: str, limit: float = 120.0) -> float:
    """Wait until no process names `runs_dir` any more; returns the seconds waited.

    play.py writes the TensorBoard episode GIF from a detached process after it exits (off the user's critical
    path). Waiting for it keeps that work from sharing the CPU with the next timed run, on either side.
    """
    start = time.perf_counter()
    needle = runs_dir.encode()
    while time.perf_counter() - start < limit:
        if not any(needle in _cmdline(pid) for pid in os.listdir("/proc") if pid.isdigit()):
            break
        time.sleep(0.05)
    return round(time.perf_counter() - start, 3)


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # the process ended meanwhile
        return b""


def append(out: Path, record: dict[str, Any]) -> None:
    with out.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


def read_records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]


def finished_runs(out: Path) -> set[tuple[str, str, str, int]]:
    if not out.exists():
        return set()
    return {(r["world"], r["agent"], r["side"], r["seed"]) for r in read_records(out) if r.get("kind") == "run"}


def project_overrides(world: World, agent: str, protocol: dict[str, Any], extra: list[str],
                      project: Path = ROOT) -> list[str]:
    """`--hp solved_at=X` where the project would stop elsewhere than the protocol's threshold, then `--hp`."""
    own = protocol["solved_at"] if protocol["solved_at"] is not None else gym_threshold(world.env_id, project)
    wanted = world.threshold(agent)
    return ([] if own == wanted else [f"solved_at={wanted:g}"]) + extra


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worlds", default="CartPole:ppo,CartPole:dqn",
                        help="WORLD[:AGENT],... (default CartPole:ppo,CartPole:dqn); `list` shows them all")
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--first-seed", type=int, default=100,
                        help="the first seed (default 100; seeds below 20 tuned the presets)")
    parser.add_argument("--episodes", type=int, default=100, help="fresh episodes that confirm a run (default 100)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one run may take (default 900)")
    parser.add_argument("--out", type=Path, help="JSON-lines file (default runs/bench_cli/<date-time>.jsonl)")
    parser.add_argument("--resume", type=Path, metavar="FILE",
                        help="continue this output file (give the same --worlds and seeds): skip the runs it holds")
    parser.add_argument("--table", type=Path, metavar="FILE", help="only print the table of this output file")
    parser.add_argument("--sides", type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
                        default=["project", "reference"], metavar="SIDE,...",
                        help="project, reference or both (default); one side alone for tuning")
    parser.add_argument("--hp", action="append", default=[], metavar="KEY=VALUE",
                        help="pass --hp to the project's runs (for tuning: then use other seeds than the report's)")
    parser.add_argument("--project-dir", type=Path, default=ROOT, metavar="DIR",
                        help="run play.py (and read the presets) from this checkout, e.g. an export of a commit "
                             "(git archive HEAD | tar -x -C DIR); default: this one")
    parser.add_argument("--reference-threads", type=int, metavar="N",
                        help="OMP_NUM_THREADS for the reference (default: unset, torch's own choice, as stock SB3)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))  # unwinds into timed_run's cleanup
    if args.table:
        print(summary_table(read_records(args.table)))
        return 0
    if args.worlds.strip().lower() == "list":
        list_worlds()
        return 0
    chosen = parse_worlds(args.worlds)
    if args.seeds < 1:
        raise SystemExit("--seeds takes 1 or more")
    if not args.sides or set(args.sides) - {"project", "reference"}:
        raise SystemExit("--sides takes project, reference or project,reference")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    out = args.resume or args.out or ROOT / "runs" / "bench_cli" / f"{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    start = {"kind": "machine", "resumed": bool(args.resume and args.resume.exists()), "seeds": seeds,
             "worlds": [f"{w.name}:{a}" for w, a in chosen], "timeout_s": args.timeout, "episodes": args.episodes,
             "sides": args.sides, "project_hp": args.hp, "reference_threads": args.reference_threads,
             "project_dir": str(args.project_dir.resolve()),
             "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **machine(args.project_dir)}
    append(out, start)
    print(f"{start['nproc']} CPUs ({start['cpu']}), load average {start['loadavg']}, commit {start['commit']}; "
          f"seeds {seeds[0]}-{seeds[-1]}; writing {out}", flush=True)
    for world, agent in chosen:
        protocol = preset_protocol(agent, world.env_id, args.project_dir)
        project_hp = project_overrides(world, agent, protocol, args.hp, args.project_dir)
        for position, seed in enumerate(seeds):
            run_seed(world, agent, seed, position, args, protocol, project_hp, out)
    append(out, {"kind": "end", "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                 "loadavg": [round(x, 2) for x in os.getloadavg()]})
    print()
    print(summary_table(read_records(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
