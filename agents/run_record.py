"""A run's record (`config.json`) as one typed dataclass, and the run folders that hold it.

This module is the one place that writes, reads, validates, finds and locks run folders. A record read
from disk is untrusted: every field is checked (types, ranges, hyperparameters by the presets' own rules
and size budgets) before anything is built, and a record that names code (a perception plug-in, an env
from a module) is refused unless the user allowed that code with `--trust-code`, naming where it lies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.registry import AGENTS
from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.runs import safe_name
from core.schema import Fields

CONFIG_FILE = "config.json"
MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
LOCK_FILE = ".lock"
FORMAT_VERSION = 1
STATUSES = ("training", "interrupted", "failed", "complete")
MAX_SEED = 2**32 - 1


@dataclass
class RunRecord:
    """What a run folder's config.json says: enough to rebuild, replay and resume the run.

    `hyperparams` are the effective settings (preset < env preset < `--hp`), validated.
    """

    agent: str
    env_id: str
    seed: int
    device: str
    observation_space: str
    action_space: str
    solved_at: float | None
    hyperparams: dict[str, Any]
    status: str = "training"
    versions: dict[str, str] = field(default_factory=dict)
    timesteps: int | None = None
    train_seconds: float | None = None
    solved: bool | None = None
    best_eval_return: float | None = None

    def save(self, run_dir: Path) -> None:
        """Write config.json atomically."""
        write_json(run_dir / CONFIG_FILE, {"format": FORMAT_VERSION, **asdict(self)})


def _optional_number(fields: Fields, key: str, low: float, high: float) -> float | None:
    return None if fields.data.get(key) is None else fields.number(key, low, high)


def read_record(run_dir: Path, trusted_code: list[str] | tuple[str, ...] = ()) -> RunRecord:
    """Read and validate a run folder's config.json.

    Args:
        run_dir: The run folder.
        trusted_code: The `--trust-code` values: plug-in files or modules the user allows to be imported.

    Raises:
        PlaygroundError: A missing, damaged or hostile field, or code the user did not allow.
    """
    where = str(run_dir / CONFIG_FILE)
    fields = Fields(read_json(run_dir / CONFIG_FILE, "config file"), where)
    if fields.data.get("format") != FORMAT_VERSION:
        raise PlaygroundError(f"{where} has format {fields.data.get('format')!r:.40}; this version reads format "
                              f"{FORMAT_VERSION}. Retrain the agent with this version.")
    trainable = [name for name, spec in AGENTS.items() if spec.trainable]
    record = RunRecord(
        agent=fields.text("agent", choices=trainable), env_id=_env_id(fields),
        seed=fields.integer("seed", 0, MAX_SEED), device=fields.text("device", 40, default="cpu"),
        observation_space=fields.text("observation_space", 10_000, default=""),
        action_space=fields.text("action_space", 10_000, default=""),
        solved_at=_optional_number(fields, "solved_at", -1e12, 1e12), hyperparams=fields.mapping("hyperparams"),
        status=fields.text("status", choices=STATUSES, default="training"), versions=_versions(fields),
        timesteps=None if fields.data.get("timesteps") is None else fields.integer("timesteps", 0, 10**12),
        train_seconds=_optional_number(fields, "train_seconds", 0, 1e9),
        solved=None if fields.data.get("solved") is None else fields.boolean("solved"),
        best_eval_return=_optional_number(fields, "best_eval_return", -1e15, 1e15),
    )
    record.hyperparams = _checked_hyperparams(record, where, trusted_code)
    return record


def _env_id(fields: Fields) -> str:
    """The env id: a registered id, never `module:Id` (gymnasium.make would import the module)."""
    env_id = fields.text("env_id", 200)
    if ":" in env_id:
        module = env_id.partition(":")[0]
        raise PlaygroundError(f"{fields.where}: env_id {env_id!r} would import the module {module!r}, running its "
                              f"code. If you trust that module, import it yourself: add --env {env_id}.")
    return env_id


def _versions(fields: Fields) -> dict[str, str]:
    versions = fields.mapping("versions", default={})
    if len(versions) > 50 or not all(isinstance(k, str) and isinstance(v, str) and len(k) + len(v) < 200
                                     for k, v in versions.items()):
        raise fields.fail("versions", "a mapping of library names to version strings", versions)
    return versions


def _checked_hyperparams(record: RunRecord, where: str, trusted_code: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The record's hyperparameters, checked by the presets' rules, with any plug-in allowed explicitly."""
    from agents.presets import validate

    hyperparams = validate(record.hyperparams, AGENTS.get(record.agent).algorithm_class(), where)
    for key in ("n_timesteps", "n_envs", "eval_every", "eval_episodes"):
        if not isinstance(hyperparams.get(key), int):
            raise PlaygroundError(f"{where}: hyperparams.{key} is missing; the run folder is incomplete. Retrain.")
    perception = hyperparams.get("perception")
    if perception and ":" in perception:
        hyperparams["perception"] = allowed_plugin(perception, where, trusted_code)
    return hyperparams


def allowed_plugin(perception: str, where: str, trusted_code: list[str] | tuple[str, ...]) -> str:
    """A record's perception plug-in, taken from where the user's `--trust-code` says it lies.

    Raises:
        PlaygroundError: When the user did not allow it: names the code that would be imported and how to allow it.
    """
    source, _, class_name = perception.rpartition(":")
    is_file = source.endswith(".py")
    for trusted in trusted_code:
        if trusted.endswith(".py") and is_file:
            path = Path(trusted).expanduser()
            if not path.is_file():
                raise PlaygroundError(f"--trust-code {trusted}: there is no such file.")
            return f"{path.resolve()}:{class_name}"
        if not trusted.endswith(".py") and not is_file and trusted == source:
            return perception
    flag = f"--trust-code {source}" + (f" (or your own copy of {Path(source).name})" if is_file else "")
    kind = "the file" if is_file else "the module"
    raise PlaygroundError(f"{where}: perception names code: {kind} {source} (class {class_name}) would be imported "
                          f"and run. Read it first; if you trust it, pass {flag}.")


def find_reusable_run(runs_dir: Path, env_id: str, agent: str, hyperparams: dict[str, Any], seed: int) -> Path | None:
    """The newest completed run of this agent on this env with the same hyperparameters and seed."""
    wanted = json.loads(json.dumps(hyperparams))  # compare in the form that JSON stores
    for run_dir in _run_folders(runs_dir, env_id, agent):
        data = _peek(run_dir)
        if (data.get("status") == "complete" and data.get("format") == FORMAT_VERSION
                and data.get("hyperparams") == wanted and data.get("seed") == seed
                and (run_dir / MODEL_FILE).is_file()):
            return run_dir
    return None


def find_resumable_run(runs_dir: Path, env_id: str, agent: str) -> Path | None:
    """The newest run of this agent on this env that stopped before completing and left a checkpoint."""
    for run_dir in _run_folders(runs_dir, env_id, agent):
        status = effective_status(run_dir, _peek(run_dir).get("status"))
        if status in ("interrupted", "failed") and (run_dir / CHECKPOINT_FILE).is_file():
            return run_dir
    return None


def _run_folders(runs_dir: Path, env_id: str, agent: str) -> list[Path]:
    folder = runs_dir / safe_name(env_id) / agent
    return sorted((path for path in folder.iterdir() if path.is_dir()), reverse=True) if folder.is_dir() else []


def _peek(run_dir: Path) -> dict[str, Any]:
    """A quick look at a config.json while searching (a full `read_record` validates the one chosen)."""
    try:
        data = read_json(run_dir / CONFIG_FILE, "config file")
    except PlaygroundError:
        return {}
    return data if isinstance(data, dict) else {}


def effective_status(run_dir: Path, status: Any) -> Any:
    """A run recorded as training whose lock nobody holds died (killed, crashed): it counts as interrupted."""
    if status == "training" and not is_locked(run_dir):
        return "interrupted"
    return status


def is_locked(run_dir: Path) -> bool:
    """Whether a process holds the run folder's lock now (a folder nobody can write in is not being trained)."""
    try:
        with locked_run(run_dir):
            return False
    except PlaygroundError:
        return os.access(run_dir, os.W_OK)


@contextlib.contextmanager
def locked_run(run_dir: Path) -> Iterator[None]:
    """Hold the run folder for this process while it trains; a second trainer of the same run is refused.

    The lock is an OS file lock, so a killed or crashed process releases it by itself.

    Raises:
        PlaygroundError: When another process holds it, or the folder is not writable.
    """
    try:
        descriptor = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise PlaygroundError(f"{run_dir} cannot be written ({error.strerror}); training needs a writable run "
                              "folder. Copy it somewhere writable.") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PlaygroundError(f"{run_dir} is in use by another training process (see `ps`); wait for it to "
                                  "finish or stop it with Ctrl-C, then try again.") from None
        yield
    finally:
        os.close(descriptor)  # closing releases the lock, and so does the process ending in any way

