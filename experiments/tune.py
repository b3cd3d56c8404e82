"""`play.py tune`: search an agent's hyperparameters on an env with Ray Tune, Optuna and ASHA.

Optuna's TPE proposes the values, ASHA stops trials whose evaluation return trails the others at the same
step, Ray runs the trials on this machine's cores or on a cluster and starts a trial again when its worker is
lost. The sweep folder `runs/<env>/<agent>/tune-<time>/` holds a subfolder per trial (TensorBoard events),
best-preset.yml, summary.md and trials.png.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import PlaygroundError
from experiments.records import TrialRecord
from experiments.search_space import Dimension, decode_config, load_search_space, to_tune
from experiments.setup import ExperimentOptions, Prepared, prepare, resumed_options

ASHA_REDUCTION_FACTOR = 3


def run_tune(options: ExperimentOptions, argv: list[str], say: Callable[[str], None]) -> dict[str, Any]:
    """Run (or resume) a sweep and write its reports; returns the JSON summary.

    Raises:
        PlaygroundError: Bad options, search space or cluster address; or no trial produced a result.
    """
    folder = None
    if options.resume is not None:  # refuses a folder from elsewhere before Ray (or torch) is imported
        options, folder = resumed_options(options)
    from experiments.runner import run_experiment

    prepared = prepare(options)
    space = load_search_space(prepared.agent, prepared.env_id, prepared.algorithm_class, options.search_space)
    start = time.perf_counter()

    def announce(folder: Path, cluster: dict[str, float]) -> str:
        return (f"Tuning {prepared.agent} on {prepared.env_id}: {options.trials} trials of {prepared.budget:,} steps, "
                f"{len(space)} hyperparameters, on {cluster.get('CPU', 0):g} CPUs / {cluster.get('GPU', 0):g} GPUs. "
                f"Sweep folder: {folder}")

    def search() -> tuple[dict[str, Any], dict[str, Any]]:
        return {**to_tune(space), "seed": options.seed}, _search(options, prepared)

    folder, records = run_experiment(options, prepared, folder, argv, space, search, announce, say)
    summary = write_reports(folder, prepared, space, records)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    say(f"Best trial {summary['best_trial']}: final return {summary['best_return']:.1f}. "
        f"Preset: {summary['preset']}  Summary: {summary['summary']}")
    return summary


def _search(options: ExperimentOptions, prepared: Prepared) -> dict[str, Any]:
    """Optuna (TPE) proposes the trials; ASHA prunes them at rungs of the step budget."""
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    grace = max(prepared.budget // ASHA_REDUCTION_FACTOR**2, prepared.report_every)
    scheduler = ASHAScheduler(time_attr="timesteps", max_t=prepared.budget, grace_period=grace,
                              reduction_factor=ASHA_REDUCTION_FACTOR)
    return {"search_alg": OptunaSearch(seed=options.seed), "scheduler": scheduler, "num_samples": options.trials}


def write_reports(folder: Path, prepared: Prepared, space: list[Dimension],
                  records: list[TrialRecord]) -> dict[str, Any]:
    """best-preset.yml, summary.md and trials.png in the sweep folder; returns the JSON summary."""
    from agents.presets import apply_overrides
    from experiments.plots import plot_curves
    from experiments.reports import hp_arguments, tune_table, write_best_preset, write_text

    reported = [record for record in records if record.returns]
    if not reported:
        errors = [record.error for record in records if record.error]
        raise PlaygroundError(f"no trial of the sweep in {folder} reported a result"
                              f"{': ' + errors[0] if errors else ''}. See the error.txt files in its trial folders.")
    # Trials that trained the whole budget rank first: a pruned trial's early return is not comparable.
    best = max(reported, key=lambda record: (record.status(prepared.budget) == "complete",
                                             record.final_return or float("-inf")))
    decoded = [decode_config(space, record.config) for record in records]
    overrides = decoded[records.index(best)]
    note = (f"Best of the sweep {folder} ({len(records)} trials of {prepared.budget:,} steps): trial {best.name}, "
            f"final evaluation return {best.final_return:.1f}.\nCopy the entry into agents/presets/"
            f"{prepared.agent}.yml, or pass the tuned values: {hp_arguments(overrides)}")
    preset = write_best_preset(folder / "best-preset.yml", prepared.env_id,
                               apply_overrides(prepared.hyperparams, overrides), note)
    plot = plot_curves(records, folder / "trials.png", f"{prepared.agent} on {prepared.env_id}: {len(records)} trials",
                       prepared.solved_at, highlight=best.name)
    statuses = [record.status(prepared.budget) for record in records]
    command = f"python play.py --agent {prepared.agent} --env {prepared.env_id} {hp_arguments(overrides)}"
    text = (f"# Sweep: {prepared.agent} on {prepared.env_id}\n\n{len(records)} trials of {prepared.budget:,} steps; "
            f"best final evaluation return {best.final_return:.1f} (trial {best.name}).\n\n"
            f"Train with the best values:\n\n    {command}\n\n![trials](trials.png)\n\n"
            + tune_table(records, [d.key for d in space], decoded, prepared.budget))
    summary_path = write_text(folder / "summary.md", text)
    return {"folder": str(folder), "agent": prepared.agent, "env_id": prepared.env_id, "budget": prepared.budget,
            "trials": len(records), **{status: statuses.count(status) for status in
                                       ("complete", "pruned", "failed")},
            "retried": sum(record.retried for record in records),
            "steps_trained": sum(record.steps[-1] for record in records if record.steps), "best_trial": best.name,
            "best_return": best.final_return, "best_hyperparams": overrides, "preset": str(preset),
            "summary": str(summary_path), "plot": str(plot)}
