"""What `tune` and `seeds` share before any trial runs: the options, the checked agent and env, the settings
every trial gets, and the experiment folder `runs/<env>/<agent>/<kind>-<time>/` with its saved options."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import PlaygroundError
from core.files import ensure_writable_dir, read_json, write_json
from core.runs import safe_name, write_command_line
from core.schema import Fields
from experiments import COMMANDS
from experiments.provenance import check_resumable, is_token, new_token, register
from experiments.search_space import Dimension
from experiments.trainable import TrialSettings

OPTIONS_FILE = "experiment.json"
REPORTS_PER_TRIAL = 10  # evaluations per trial at most: enough points for the scheduler and the curves
# Bounds of the options, checked on the command line and again when a saved experiment.json is read back.
MAX_COUNT = 1_000_000  # trials, seeds, trials at once
MAX_BUDGET = 10**12  # env steps per trial
MAX_SEED = 2**31 - 1  # seed + seeds stays a valid NumPy seed (below 2**32)
MIN_CPUS = 1e-4  # CPUs per trial: the finest share Ray tells apart
MAX_CPUS = 10_000.0  # CPUs or GPUs per trial
MAX_NAME = 200  # an agent or env name
MAX_PATH = 4096
MAX_OPTIONS_BYTES = 1024 * 1024


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
        trust_pickle: Resume a folder this user's playground did not start (its Tune state is unpickled).
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
    trust_pickle: bool = False


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
    from agents.session import check_fit, env_spaces, solved_threshold
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
    token = new_token()
    register(folder, token)
    saved = {**asdict(options), "runs_dir": str(options.runs_dir), "resume": None,
             "search_space": None if options.search_space is None else str(options.search_space.resolve()),
             "token": token}
    del saved["trust_pickle"]  # a permission of one command line, never of a file
    write_json(folder / OPTIONS_FILE, saved)
    write_command_line(folder, ["play.py", *argv])
    return folder


def resumed_options(options: ExperimentOptions) -> tuple[ExperimentOptions, Path]:
    """The saved options and folder of the experiment `--resume` names (or the newest one of --agent on --env).

    Raises:
        PlaygroundError: The experiment file is missing or malformed, the experiment is of the other kind, or
            the folder is not the user's own and --trust-pickle was not given (nothing is unpickled here).
    """
    folder = Path(options.resume).expanduser() if options.resume else _newest_experiment(options)
    where = folder / OPTIONS_FILE
    if where.exists() and not where.is_file():  # a pipe would block the read forever, /dev/zero never end
        raise PlaygroundError(f"--resume {folder}: its {OPTIONS_FILE} is not a regular file.")
    saved = read_json(where, what=f"--resume {folder}: the experiment file", max_bytes=MAX_OPTIONS_BYTES)
    restored, token = saved_options(saved, str(where))
    if restored.kind != options.kind:
        raise PlaygroundError(f"--resume {folder} is a `{restored.kind}` experiment: run play.py {restored.kind} "
                              f"--resume {folder}.")
    check_resumable(folder, token, options.trust_pickle)
    # The cluster may differ this time; the permission to unpickle is this command line's alone.
    restored.address, restored.num_cpus, restored.resume = options.address, options.num_cpus, str(folder)
    restored.trust_pickle = options.trust_pickle
    return restored, folder.resolve()


def saved_options(data: Any, where: str) -> tuple[ExperimentOptions, str | None]:
    """The options and token of an experiment.json, every field checked before use.

    The folder may come from someone else: a wrong type, an out-of-range number, an unknown kind or a path
    that is not a string ends in one PlaygroundError naming the file and the field. The file's `address`,
    `num_cpus` and `resume` are not read: the current command line sets them.

    Args:
        data: The parsed JSON of the file.
        where: The file, for error messages.

    Returns:
        The options, and the folder's token (None when the file holds none, as before tokens existed).
    """
    fields = Fields(data, where)
    options = ExperimentOptions(
        kind=fields.text("kind", choices=COMMANDS), agent=fields.text("agent", MAX_NAME),
        env=fields.text("env", MAX_NAME),
        trials=fields.integer("trials", 1, MAX_COUNT, default=ExperimentOptions.trials),
        seeds=fields.integer("seeds", 1, MAX_COUNT, default=ExperimentOptions.seeds),
        budget=_optional(fields, "budget", lambda key: fields.integer(key, 1, MAX_BUDGET)),
        seed=fields.integer("seed", 0, MAX_SEED, default=ExperimentOptions.seed),
        cpus_per_trial=fields.number("cpus_per_trial", MIN_CPUS, MAX_CPUS, default=ExperimentOptions.cpus_per_trial),
        gpus_per_trial=fields.number("gpus_per_trial", 0.0, MAX_CPUS, default=ExperimentOptions.gpus_per_trial),
        max_concurrent=_optional(fields, "max_concurrent", lambda key: fields.integer(key, 1, MAX_COUNT)),
        runs_dir=_optional(fields, "runs_dir", lambda key: _path(fields, key)) or ExperimentOptions.runs_dir,
        search_space=_optional(fields, "search_space", lambda key: _path(fields, key)))
    token = _optional(fields, "token", lambda key: fields.text(key, MAX_NAME))
    if token is not None and not is_token(token):
        raise fields.fail("token", "64 hexadecimal digits", token)
    return options, token


def _optional(fields: Fields, key: str, read: Callable[[str], Any]) -> Any:
    """`read(key)`, or None when the field is missing or null."""
    return None if fields.data.get(key) is None else read(key)


def _path(fields: Fields, key: str) -> Path:
    """A path field: a string, not too long, without the NUL byte no file system takes."""
    value = fields.text(key, MAX_PATH)
    if not value or "\x00" in value:
        raise fields.fail(key, "a path", value)
    return Path(value)


def resume_command(options: ExperimentOptions, folder: Path) -> str:
    """The command that continues the experiment in `folder`."""
    return f"python play.py {options.kind} --resume {folder}" + " --trust-pickle" * options.trust_pickle


def _newest_experiment(options: ExperimentOptions) -> Path:
    from agents.registry import AGENTS
    from envs.catalog import resolve_env_id

    parent = options.runs_dir / safe_name(resolve_env_id(options.env)) / AGENTS.get(options.agent).name
    found = sorted(parent.glob(f"{options.kind}-*/{OPTIONS_FILE}")) if parent.is_dir() else []
    if not found:
        raise PlaygroundError(f"no `{options.kind}` experiment of {options.agent} on {options.env} under "
                              f"{options.runs_dir} to resume. Pass --resume FOLDER, or drop --resume.")
    return found[-1].parent
