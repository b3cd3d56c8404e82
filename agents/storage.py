"""Saving and finding trained agents: `model.zip`, `config.json` and `normalization.json` in a run folder."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from agents.normalization import ObservationNormalizer
from agents.registry import AgentSpec
from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.runs import safe_name

MODEL_FILE = "model.zip"
CONFIG_FILE = "config.json"
NORMALIZATION_FILE = "normalization.json"


def save_config(run_dir: Path, config: dict[str, Any]) -> None:
    """Write the run's effective configuration (and status) atomically."""
    write_json(run_dir / CONFIG_FILE, config)


def save_model(run_dir: Path, model: Any, normalizer: ObservationNormalizer | None) -> Path:
    """Save the model and its normalisation statistics; returns the model path."""
    path = run_dir / MODEL_FILE
    model.save(path)
    if normalizer is not None:
        write_json(run_dir / NORMALIZATION_FILE, normalizer.to_json())
    return path


def find_reusable_run(runs_dir: Path, env_id: str, agent: str, hyperparams: dict[str, Any], seed: int) -> Path | None:
    """The newest completed run of this agent on this env with the same hyperparameters and seed."""
    folder = runs_dir / safe_name(env_id) / agent
    if not folder.is_dir():
        return None
    wanted = json.loads(json.dumps(hyperparams))  # compare in the form that JSON stores
    for run_dir in sorted(folder.iterdir(), reverse=True):
        try:
            config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            config.get("status") == "complete"
            and config.get("hyperparams") == wanted
            and config.get("seed") == seed
            and (run_dir / MODEL_FILE).is_file()
        ):
            return run_dir
    return None


def resolve_model_path(path: str | Path) -> tuple[Path, Path]:
    """Accept a run folder or a model file; return (model file, run folder)."""
    given = Path(path).expanduser()
    model_path = given / MODEL_FILE if given.is_dir() else given
    if not model_path.is_file():
        raise PlaygroundError(f"--load {path}: no model file there. Pass a run folder or a {MODEL_FILE} file.")
    if not zipfile.is_zipfile(model_path):
        raise PlaygroundError(f"--load {path}: {model_path.name} is not a saved model (not a zip archive).")
    return model_path, model_path.parent


def read_run_config(run_dir: Path) -> dict[str, Any] | None:
    """The run's config.json, or None for a bare model file with no config beside it."""
    path = run_dir / CONFIG_FILE
    return read_json(path, "config file") if path.is_file() else None


def read_normalizer(run_dir: Path) -> ObservationNormalizer | None:
    """The saved observation statistics of a run, if it normalised observations."""
    path = run_dir / NORMALIZATION_FILE
    return ObservationNormalizer.from_json(read_json(path, "normalisation file")) if path.is_file() else None


def load_model(model_path: Path, spec: AgentSpec, device: Any) -> Any:
    """Load an SB3 model file with the algorithm class of `spec`."""
    algorithm_class = spec.algorithm_class()
    try:
        return algorithm_class.load(model_path, device=device)
    except (ValueError, KeyError, zipfile.BadZipFile, RuntimeError, EOFError) as error:
        raise PlaygroundError(
            f"--load {model_path}: cannot be loaded as a {spec.name} model ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'}). Check --agent."
        ) from None
