"""`play.py seeds`: train one agent with N seeds in parallel on Ray and report the spread of the result.

Every seed trains the whole budget with the preset (no early stop, so every final return is measured at the
same step) and is evaluated along the way. The report: mean, standard deviation, interquartile mean and a 95%
bootstrap confidence interval of the final evaluation return, how many seeds solved the env (an evaluation
reached its threshold), as summary.md and curves.png in `runs/<env>/<agent>/seeds-<time>/`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import PlaygroundError
from experiments.records import TrialRecord
from experiments.setup import ExperimentOptions, Prepared, prepare, resumed_options
from experiments.stats import summarize_seeds


def run_seeds(options: ExperimentOptions, argv: list[str], say: Callable[[str], None]) -> dict[str, Any]:
    """Train the seeds (or finish those of an interrupted run), then write the report; returns the JSON summary.

    Raises:
        PlaygroundError: Bad options or cluster address; or a seed failed for good.
    """
    folder = None
    if options.resume is not None:  # refuses a folder from elsewhere before Ray (or torch) is imported
        options, folder = resumed_options(options)
    from experiments.runner import run_experiment

    prepared = prepare(options)
    seeds = list(range(options.seed, options.seed + options.seeds))
    start = time.perf_counter()

    def announce(folder: Path, cluster: dict[str, float]) -> str:
        return (f"Training {prepared.agent} on {prepared.env_id} with {len(seeds)} seeds ({seeds[0]}..{seeds[-1]}), "
                f"{prepared.budget:,} steps each, on {cluster.get('CPU', 0):g} CPUs. Folder: {folder}")

    def search() -> tuple[dict[str, Any], dict[str, Any]]:
        from ray import tune

        return {"seed": tune.grid_search(seeds)}, {}

    folder, records = run_experiment(options, prepared, folder, argv, [], search, announce, say)
    summary = write_report(folder, prepared, records)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    say(f"Final evaluation return over {summary['n']} seeds: mean {summary['mean']:.1f} ± {summary['std']:.1f} "
        f"(IQM {summary['iqm']:.1f}, 95% CI [{summary['ci_low']:.1f}, {summary['ci_high']:.1f}]); "
        f"solved {summary['solved']}/{summary['n']}. Report: {summary['summary']}")
    return summary


def write_report(folder: Path, prepared: Prepared, records: list[TrialRecord]) -> dict[str, Any]:
    """summary.md and curves.png in the folder; returns the JSON summary."""
    from experiments.plots import plot_curves
    from experiments.reports import per_seed_table, seeds_table, write_text

    failed = [record for record in records if record.final_return is None]
    if failed:
        raise PlaygroundError(f"{len(failed)} of {len(records)} seeds failed for good ({failed[0].error}); "
                              f"see error.txt in {failed[0].path}. Fix the cause, then: "
                              f"python play.py seeds --resume {folder}")
    records = sorted(records, key=lambda record: int(record.config["seed"]))
    seeds = [int(record.config["seed"]) for record in records]
    finals = [float(record.final_return) for record in records]  # type: ignore[arg-type]
    statistics = summarize_seeds(finals, seed=0)
    threshold = prepared.solved_at
    solved = sum(threshold is not None and (record.best_return or float("-inf")) >= threshold for record in records)
    plot = plot_curves(records, folder / "curves.png", f"{prepared.agent} on {prepared.env_id}: {len(seeds)} seeds",
                       threshold, labels=[f"seed {seed}" for seed in seeds], mean_curve=True)
    text = (f"# {prepared.agent} on {prepared.env_id}: {len(seeds)} seeds, {prepared.budget:,} steps each\n\n"
            + seeds_table(statistics, solved, threshold) + "\n![learning curves](curves.png)\n\n"
            + per_seed_table(records, seeds, threshold))
    summary_path = write_text(folder / "summary.md", text)
    return {"folder": str(folder), "agent": prepared.agent, "env_id": prepared.env_id, "budget": prepared.budget,
            "seeds": seeds, "final_returns": finals, **statistics.as_dict(), "solved": solved,
            "solved_at": threshold, "retried": sum(record.retried for record in records),
            "summary": str(summary_path), "plot": str(plot)}
