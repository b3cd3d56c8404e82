"""Saving, finding and loading trained agents without ever unpickling a file.

A run folder holds `model.pt` (the policy's tensors, read with `torch.load(weights_only=True)`),
`config.json` (everything needed to rebuild the agent: algorithm, env, spaces, hyperparameters,
versions) and `normalization.json` (observation statistics) when observations were normalised.
A stable-baselines3 `.zip` unpickles Python objects when loaded, so it can run code: it is
loaded only with `--trust-pickle`.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.build import build_model
from agents.normalization import ObservationNormalizer
from agents.registry import AgentSpec
from core.checkpoint import save_state
from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.runs import safe_name
from envs.factory import make_vector_env

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"
NORMALIZATION_FILE = "normalization.json"
FORMAT_VERSION = 1
PICKLE_SUFFIX = ".zip"


def save_config(run_dir: Path, config: dict[str, Any]) -> None:
    """Write the run's effective configuration (and status) atomically."""
    write_json(run_dir / CONFIG_FILE, {"format": FORMAT_VERSION, **config})


def save_model(run_dir: Path, model: BaseAlgorithm, normalizer: ObservationNormalizer | None) -> Path:
    """Save the policy's tensors and the normalisation statistics, atomically; returns the model path."""
    path = run_dir / MODEL_FILE
    save_state(path, model.policy.state_dict())
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
            and config.get("format") == FORMAT_VERSION
            and config.get("hyperparams") == wanted
            and config.get("seed") == seed
            and (run_dir / MODEL_FILE).is_file()
        ):
            return run_dir
    return None


def find_resumable_run(runs_dir: Path, env_id: str, agent: str) -> Path | None:
    """The newest run of this agent on this env that stopped before completing and left a checkpoint."""
    folder = runs_dir / safe_name(env_id) / agent
    if not folder.is_dir():
        return None
    for run_dir in sorted(folder.iterdir(), reverse=True):
        try:
            status = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8")).get("status")
        except (OSError, ValueError, AttributeError):
            continue
        if status != "complete" and (run_dir / "checkpoint.pt").is_file():
            return run_dir
    return None


def resolve_model_path(path: str | Path) -> tuple[Path, Path]:
    """Accept a run folder, a model.pt or an SB3 .zip; return (model file, the folder it lies in)."""
    given = Path(path).expanduser()
    model_path = given / MODEL_FILE if given.is_dir() else given
    if not model_path.is_file():
        raise PlaygroundError(f"--load {path}: no model file there. Pass a run folder, its {MODEL_FILE}, "
                              "or a stable-baselines3 .zip with --trust-pickle.")
    return model_path, model_path.parent


def is_pickled(model_path: Path) -> bool:
    """Whether the file is a stable-baselines3 .zip (pickled objects inside)."""
    return model_path.suffix.lower() == PICKLE_SUFFIX


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.json, checked for a format this version understands."""
    config = read_json(run_dir / CONFIG_FILE, "config file")
    if not isinstance(config, dict) or config.get("format") != FORMAT_VERSION:
        found = config.get("format") if isinstance(config, dict) else None
        raise PlaygroundError(f"{run_dir / CONFIG_FILE} has format {found!r}; this version reads format "
                              f"{FORMAT_VERSION}. Retrain the agent with this version.")
    for key in ("agent", "env_id", "hyperparams", "seed"):
        if key not in config:
            raise PlaygroundError(f"{run_dir / CONFIG_FILE} lacks {key!r}; the run folder is incomplete.")
    return config


def read_normalizer(run_dir: Path) -> ObservationNormalizer | None:
    """The saved observation statistics of a run, if it normalised observations."""
    path = run_dir / NORMALIZATION_FILE
    if not path.is_file():
        return None
    try:
        return ObservationNormalizer.from_json(read_json(path, "normalisation file"))
    except (KeyError, TypeError, ValueError):
        raise PlaygroundError(f"{path} is corrupt; restore it or retrain the agent.") from None


def read_weights(model_path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a model.pt, read without unpickling anything but tensors."""
    try:
        weights = torch.load(model_path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for truncated, empty or foreign files
        raise PlaygroundError(f"{model_path} is not a readable model file ({type(error).__name__}); "
                              "it may be truncated or from another program.") from None
    if not isinstance(weights, dict) or not all(isinstance(value, torch.Tensor) for value in weights.values()):
        raise PlaygroundError(f"{model_path} does not hold a policy's weights.")
    return weights


def rebuild_model(spec: AgentSpec, config: dict[str, Any], model_path: Path, device: torch.device) -> BaseAlgorithm:
    """Build the agent described by `config` and load the weights of `model_path` into it."""
    weights = read_weights(model_path)
    hyperparams = dict(config["hyperparams"])
    if "buffer_size" in hyperparams:
        hyperparams["buffer_size"] = 1  # playing needs no replay buffer
    env = make_vector_env(config["env_id"], 1, int(config["seed"]))
    with warnings.catch_warnings():  # SB3's advice on rollout sizes concerns training, not playing
        warnings.simplefilter("ignore", UserWarning)
        model = build_model(spec, hyperparams, env, int(config["seed"]), device, tensorboard_log=None)
    try:
        model.policy.load_state_dict(weights)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise PlaygroundError(f"{model_path} does not fit the agent its config.json describes ({first}).") from None
    return model


def ensure_zip_archive(model_path: Path) -> None:
    """Refuse a .zip that is no zip archive at all, before anything is unpickled."""
    if not zipfile.is_zipfile(model_path):
        raise PlaygroundError(f"--load {model_path}: not a saved stable-baselines3 model (not a zip archive).")


def load_pickled_model(model_path: Path, spec: AgentSpec, device: torch.device) -> BaseAlgorithm:
    """Load a stable-baselines3 .zip (unpickles: call only when the user trusts the file)."""
    ensure_zip_archive(model_path)
    try:
        return spec.algorithm_class().load(model_path, device=device)
    except Exception as error:  # a foreign archive can fail in many ways
        detail = str(error).splitlines()[0] if str(error) else "no detail"
        raise PlaygroundError(f"--load {model_path}: cannot be loaded as a {spec.name} model "
                              f"({type(error).__name__}: {detail}). Check --agent.") from None
