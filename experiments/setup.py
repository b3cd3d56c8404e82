"""What `tune` and `seeds` share before any trial runs: the options, the checked agent and env, the settings
every trial gets, and the experiment folder `runs/<env>/<agent>/<kind>-<time>/` with its saved options."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from core.errors import PlaygroundError
from core.files import ensure_writable_dir, read_json, write_json
from core.runs import safe_name, write_command_line
from experiments.search_space import Dimension
from experiments.trainable import TrialSettings

OPTIONS_FILE = "experiment.json"
REPORTS_PER_TRIAL = 10  # evaluations per trial at most: enough points for the scheduler and the curves


@dataclass
class ExperimentOptions:
    """The command line of `play.py tune` / `play.py seeds`.

    Attributes:
        kind: `tune` or `seeds`.
        agent: The agent name.
        env: The env name (catalog name or Gymnasium id).
        trials: Trials to sample (`tune`).
        seeds: Seeds to train (`seeds`).
        budget: Env steps per trial; None: the preset's n_timesteps.
        seed: The search's seed (`tune`; every trial trains with it) or the first seed (`seeds`).
        address: A Ray cluster to join; None starts Ray on this machine.
        cpus_per_trial: CPUs each trial reserves.
        gpus_per_trial: GPUs (fractions allowed) each trial reserves.
        max_concurrent: Trials running at once at most; None: as many as the resources allow.
        num_cpus: CPUs for Ray on this machine (without an address); None: all cores.
        runs_dir: The root of the run folders.
        search_space: A search-space file of the user's (`tune`); None: agents/presets/search/<agent>.yml.
        resume: An experiment folder to continue, "" for the newest of this agent on this env, None to start anew.
    """

    kind: str
    agent: str = "ppo"
    env: str = "CartPole"
    trials: int = 16
    seeds: int = 10
    budget: int | None = None
    seed: int = 0
    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent: int | None = None
    num_cpus: int | None = None
    runs_dir: Path = Path("runs")
    search_space: Path | None = None
    resume: str | None = None


@dataclass(frozen=True)
class Prepared:
    """The checked agent and env with the preset every trial starts from."""

    agent: str
    env_id: str
    algorithm_class: type
    hyperparams: dict[str, Any]
    budget: int
    report_every: int
    solved_at: float | None


def prepare(options: ExperimentOptions) -> Prepared:
    """Check the agent, the env and the preset (one-line errors) and fix the budget and evaluation cadence."""
    from agents.presets import resolve_hyperparams
    from agents.registry import AGENTS
    from agents.session import check_fit, env_spaces
    from agents.training_run import solved_threshold
    from envs.catalog import resolve_env_id

    spec = AGENTS.get(options.agent)
    if not spec.trainable:
        raise PlaygroundError(f"--agent {spec.name} does not learn: nothing to {options.kind}. Choose a learning "
                              f"agent: {', '.join(name for name, s in AGENTS.items() if s.trainable)}.")
    env_id = resolve_env_id(options.env)
    check_fit(spec, env_id, env_spaces(env_id)[1])
    algorithm_class = spec.algorithm_class()
    hyperparams = resolve_hyperparams(spec.name, env_id, algorithm_class, [])
    budget = options.budget or hyperparams["n_timesteps"]
    report_every = max(min(hyperparams["eval_every"], budget // REPORTS_PER_TRIAL), hyperparams["n_envs"])
    return Prepared(spec.name, env_id, algorithm_class, hyperparams, budget, report_every,
                    solved_threshold(env_id, hyperparams))


def trial_settings(options: ExperimentOptions, prepared: Prepared, folder: Path,
                   space: list[Dimension] | None = None) -> TrialSettings:
    """What every trial of the experiment gets: the preset, the budget, the search space, its share of the machine."""
    return TrialSettings(prepared.agent, prepared.env_id, prepared.hyperparams, prepared.budget, prepared.report_every,
                         prepared.solved_at, space=tuple(space or ()), threads=max(int(options.cpus_per_trial), 1),
                         use_gpu=options.gpus_per_trial > 0, folder=str(folder))


def new_experiment_folder(options: ExperimentOptions, prepared: Prepared, argv: list[str]) -> Path:
    """Create `runs/<env>/<agent>/<kind>-<time>/` and save the options and command line in it."""
    parent = ensure_writable_dir(options.runs_dir.resolve() / safe_name(prepared.env_id) / prepared.agent)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        folder = parent / (f"{options.kind}-{stamp}" + (f"-{attempt}" if attempt else ""))
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    saved = {**asdict(options), "runs_dir": str(options.runs_dir), "resume": None,
             "search_space": None if options.search_space is None else str(options.search_space.resolve())}
    write_json(folder / OPTIONS_FILE, saved)
    write_command_line(folder, ["play.py", *argv])
    return folder


def resumed_options(options: ExperimentOptions) -> tuple[ExperimentOptions, Path]:
    """The saved options and folder of the experiment `--resume` names (or the newest one of --agent on --env)."""
    folder = Path(options.resume).expanduser() if options.resume else _newest_experiment(options)
    saved = read_json(folder / OPTIONS_FILE, what=f"--resume {folder}: the experiment file")
    known = {f.name for f in fields(ExperimentOptions)}
    restored = ExperimentOptions(**{key: value for key, value in saved.items() if key in known})
    if restored.kind != options.kind:
        raise PlaygroundError(f"--resume {folder} is a `{restored.kind}` experiment: run play.py {restored.kind} "
                              f"--resume {folder}.")
    restored.runs_dir = Path(restored.runs_dir)
    restored.search_space = None if restored.search_space is None else Path(restored.search_space)
    # The cluster may differ this time.
    restored.address, restored.num_cpus, restored.resume = options.address, options.num_cpus, str(folder)
    return restored, folder.resolve()


def _newest_experiment(options: ExperimentOptions) -> Path:
    from agents.registry import AGENTS
    from envs.catalog import resolve_env_id

    parent = options.runs_dir / safe_name(resolve_env_id(options.env)) / AGENTS.get(options.agent).name
    found = sorted(parent.glob(f"{options.kind}-*/{OPTIONS_FILE}")) if parent.is_dir() else []
    if not found:
        raise PlaygroundError(f"no `{options.kind}` experiment of {options.agent} on {options.env} under "
                              f"{options.runs_dir} to resume. Pass --resume FOLDER, or drop --resume.")
    return found[-1].parent
