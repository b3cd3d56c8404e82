"""Running the trials of an experiment on Ray Tune, and reading back what each trial reported.

Imports Ray: import this module only when an experiment runs.

Shared by `tune` (a search) and `seeds` (one trial per seed): the resources per trial, the retries of
trials whose worker was lost, the experiment folder, the progress lines, and the restore of a stopped one.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray import tune

from core.errors import PlaygroundError
from experiments.cluster import start_ray, stop_ray
from experiments.records import TrialRecord
from experiments.search_space import Dimension
from experiments.setup import ExperimentOptions, Prepared, new_experiment_folder, resume_command, trial_settings
from experiments.trainable import TrialSettings, trial_folder_name, tune_trial

METRIC = "eval_return"
MAX_FAILURES = 3  # a trial whose worker dies (node lost, out of memory) starts again, up to 3 times


@dataclass(frozen=True)
class Resources:
    """What each trial asks Ray for, and how many may run at once (None: as many as fit)."""

    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent: int | None = None


def resources(options: ExperimentOptions) -> Resources:
    """The per-trial resources of ExperimentOptions."""
    return Resources(options.cpus_per_trial, options.gpus_per_trial, options.max_concurrent)


def trial_dirname(trial: Any) -> str:
    """The trial's folder name in the experiment folder."""
    return trial_folder_name(trial.trial_id)


def trainable(settings: TrialSettings, resources: Resources) -> Any:
    """The Tune trainable: tune_trial with the shared settings bound and the resources attached."""
    bound = tune.with_parameters(tune_trial, settings=settings)
    return tune.with_resources(bound, {"cpu": resources.cpus_per_trial, "gpu": resources.gpus_per_trial})


def new_tuner(settings: TrialSettings, resources: Resources, folder: Path, param_space: dict[str, Any],
              tune_config: dict[str, Any]) -> Any:
    """A Tuner whose experiment lives in `folder` (created by the caller).

    Args:
        settings: What every trial shares.
        resources: Per-trial resources and concurrency.
        folder: The experiment folder; each trial gets a subfolder.
        param_space: Tune's search space (sampled values and the seed).
        tune_config: Extra TuneConfig arguments (search_alg, scheduler, num_samples).
    """
    config = tune.TuneConfig(metric=METRIC, mode="max", max_concurrent_trials=resources.max_concurrent,
                             trial_dirname_creator=trial_dirname, reuse_actors=True, **tune_config)
    run_config = tune.RunConfig(name=folder.name, storage_path=str(folder.parent), verbose=0,
                                failure_config=tune.FailureConfig(max_failures=MAX_FAILURES),
                                callbacks=[ProgressLines()])
    return tune.Tuner(trainable(settings, resources), param_space=param_space, tune_config=config,
                      run_config=run_config)


def restored_tuner(settings: TrialSettings, resources: Resources, folder: Path) -> Any:
    """The Tuner of a stopped experiment, to finish its unfinished and failed trials.

    Unpickles the folder's Tune state: call only once setup.resumed_options has let the folder through.

    Raises:
        PlaygroundError: Tune cannot read the folder's state (damaged, or not written by this Ray).
    """
    try:
        return tune.Tuner.restore(str(folder), trainable(settings, resources), resume_unfinished=True,
                                  resume_errored=True)
    except Exception as error:  # whatever a damaged state file makes Tune raise: the folder is the user's input
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        raise PlaygroundError(f"--resume {folder}: Ray Tune cannot restore the experiment ({reason}). "
                              "Start it anew without --resume.") from None


def run_experiment(options: ExperimentOptions, prepared: Prepared, folder: Path | None, argv: list[str],
                   space: list[Dimension], search: Callable[[], tuple[dict[str, Any], dict[str, Any]]],
                   announce: Callable[[Path, dict[str, float]], str],
                   say: Callable[[str], None]) -> tuple[Path, list[TrialRecord]]:
    """Start (or join) Ray, run a new experiment or finish the one in `folder`, stop Ray.

    Args:
        options: The checked command line.
        prepared: The agent, env and preset.
        folder: The folder of an experiment to resume; None starts a new one.
        argv: The command line, saved in a new experiment folder.
        space: The search space (empty for seeds).
        search: Returns Tune's param space and extra TuneConfig arguments for a new experiment.
        announce: The line to print once the new folder exists, given it and the cluster's resources.
        say: Prints a line.

    Returns:
        The experiment folder and one record per trial.
    """
    cluster = start_ray(options.address, options.num_cpus)
    try:
        if folder is None:
            folder = new_experiment_folder(options, prepared, argv)
            say(announce(folder, cluster))
            tuner = new_tuner(trial_settings(options, prepared, folder, space), resources(options), folder, *search())
        else:
            say(f"Resuming {folder}")
            tuner = restored_tuner(trial_settings(options, prepared, folder, space), resources(options), folder)
        expected = options.trials if options.kind == "tune" else options.seeds
        return folder, fit(tuner, expected, resume_command(options, folder))
    finally:
        stop_ray()


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the experiment; Tune saved its state for --resume."""


def fit(tuner: Any, expected: int, resume_command: str) -> list[TrialRecord]:
    """Run the trials; returns one record per trial.

    Args:
        tuner: A new or restored Tuner.
        expected: How many trials the experiment has when complete.
        resume_command: The command that continues the experiment, for the interruption message.

    Raises:
        ExperimentInterrupted: Tune stopped on Ctrl-C before every trial finished.
    """
    results = tuner.fit()
    trials = getattr(getattr(results, "_experiment_analysis", None), "trials", None) or []
    unfinished = [trial for trial in trials if trial.status not in ("TERMINATED", "ERROR")]
    if unfinished or len(results) < expected:
        finished = sum(trial.status == "TERMINATED" for trial in trials)
        raise ExperimentInterrupted(f"interrupted with {finished} of {expected} trials finished; "
                                    f"continue with: {resume_command}")
    return [_record(result) for result in results]


def _record(result: Any) -> TrialRecord:
    path = Path(result.path)
    record = TrialRecord(name=path.name, path=path, config=dict(result.config or {}),
                         error=None if result.error is None else " ".join(str(result.error).split())[:300],
                         retried=(path / "error.txt").exists())
    frame = result.metrics_dataframe
    if frame is not None and METRIC in frame:
        rows = frame.dropna(subset=[METRIC, "timesteps"])
        record.steps = [int(step) for step in rows["timesteps"]]
        record.returns = [float(value) for value in rows[METRIC] if math.isfinite(float(value))]
    return record


class ProgressLines(tune.Callback):
    """Prints one line per finished, failed or retried trial (Tune's own tables are turned off)."""

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        done = sum(t.status in ("TERMINATED", "ERROR") for t in trials) + 1
        result = trial.last_result or {}
        value = result.get(METRIC)
        shown = "-" if value is None else f"{value:.1f} at step {result.get('timesteps', 0):,}"
        _say(f"trial {trial.trial_id} finished ({done} of {len(trials)} started): return {shown}")

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        _say(f"trial {trial.trial_id} lost its worker; starting it again")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        _say(f"trial {trial.trial_id} failed for good after {MAX_FAILURES} retries")


def _say(message: str) -> None:
    print(message, file=sys.stdout, flush=True)
