"""The summary table of bench/bench_cli.py, built from its JSON-lines output (so a running or interrupted
benchmark can be inspected with `python bench/bench_cli.py --table FILE`)."""

from __future__ import annotations

import statistics
from typing import Any

SIDES = ("project", "reference")


def _side_cells(runs: list[dict[str, Any]]) -> tuple[list[str], float | None]:
    """Median wall seconds (min-max), median training seconds, median steps, confirmed; and the median wall."""
    timed = [run for run in runs if run["timed_out"] or "error" not in run]  # a crash has no meaningful time
    if not timed:
        return ["-", "-", "-", f"0/{len(runs)}"], None
    walls = [run["wall_s"] for run in timed]
    median = statistics.median(walls)
    lower_bound = "≥" if any(run["timed_out"] for run in timed) else ""  # timed-out runs count at the timeout
    trains = [run["train_seconds"] for run in timed if run["train_seconds"] is not None]
    steps = [run["timesteps"] for run in timed if run["timesteps"] is not None]
    confirmed = sum(bool(run["confirmed"]) for run in runs)
    problems = [f"{count} {what}" for what, count in (
        ("timed out", sum(run["timed_out"] for run in runs)),
        ("failed", sum("error" in run and not run["timed_out"] for run in runs))) if count]
    cells = [f"{lower_bound}{median:.2f} ({min(walls):.2f}-{max(walls):.2f})",
             f"{statistics.median(trains):.2f}" if trains else "-",
             f"{statistics.median(steps):,.0f}" if steps else "-",
             f"{confirmed}/{len(runs)}" + (f" ({', '.join(problems)})" if problems else "")]
    return cells, median


def summary_table(records: list[dict[str, Any]]) -> str:
    """Markdown: the machine, then one row per world and agent with both sides and the ratio of medians."""
    lines = []
    for record in records:
        if record.get("kind") == "machine":
            lines.append(f"Machine: {record['nproc']} CPUs, {record['cpu']}; Python {record['python']}, "
                         + ", ".join(f"{k} {v}" for k, v in record["versions"].items() if v)
                         + f"; commit {record['commit']}; started {record['at']} with load average "
                         + " / ".join(str(x) for x in record["loadavg"])
                         + (f"; reference OMP_NUM_THREADS={record['reference_threads']}"
                            if record.get("reference_threads") else ""))
        elif record.get("kind") == "end":
            lines.append(f"Ended {record['at']} with load average " + " / ".join(str(x) for x in record["loadavg"]))
    runs = [record for record in records if record.get("kind") == "run"]
    loads = [run[key] for run in runs for key in ("load_before", "load_after")]
    if loads:
        lines.append(f"1-minute load average around the runs: median {statistics.median(loads):.2f}, "
                     f"min {min(loads):.2f}, max {max(loads):.2f}")
    seeds = sorted({run["seed"] for run in runs})
    if seeds:
        lines.append(f"Seeds: {', '.join(str(s) for s in seeds)}")
    lines += ["", "| world | agent | stop at | side | median s, process start to exit (min-max) | median s training "
              "| median steps | confirmed (100-episode mean >= stop) | reference / project |",
              "|---|---|---|---|---|---|---|---|---|"]
    for world, agent in dict.fromkeys((run["world"], run["agent"]) for run in runs):
        mine = [run for run in runs if (run["world"], run["agent"]) == (world, agent)]
        medians = {}
        rows = []
        for side in SIDES:
            side_runs = [run for run in mine if run["side"] == side]
            if side_runs:
                cells, medians[side] = _side_cells(side_runs)
                rows.append((side, cells))
        ratio = "-"
        if medians.get("project") and medians.get("reference"):
            timed_out = {run["side"] for run in mine if run["timed_out"]}
            bound = "≥" if timed_out == {"reference"} else "≤" if timed_out == {"project"} else "~" if timed_out else ""
            ratio = f"{bound}{medians['reference'] / medians['project']:.2f}x"
        for index, (side, cells) in enumerate(rows):
            label = "play.py (this project)" if side == "project" else "stock SB3 + RL Zoo"
            lines.append(f"| {world} | {agent} | {mine[0]['threshold']:g} | {label} | {' | '.join(cells)} "
                         f"| {ratio if index == 0 else ''} |")
    return "\n".join(lines)
