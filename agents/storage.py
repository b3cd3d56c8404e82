"""Saving, finding and loading trained agents without ever unpickling a file.

A run folder holds `model.pt` (the policy's tensors, read with `torch.load(weights_only=True)`),
`config.json` (everything needed to rebuild the agent: algorithm, env, spaces, hyperparameters,
versions) and `normalization.json` (observation statistics) when observations were normalised.
A stable-baselines3 `.zip` unpickles Python objects when loaded, so it can run code: it is
loaded only with `--trust-pickle`.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.build import build_model
from agents.limits import estimated_parameters
from agents.normalization import ObservationNormalizer
from agents.registry import AgentSpec
from agents.run_record import MODEL_FILE, RunRecord
from core.checkpoint import load_state, save_state
from core.errors import PlaygroundError
from core.files import read_json, write_json
from envs.factory import make_vector_env

NORMALIZATION_FILE = "normalization.json"
PICKLE_SUFFIX = ".zip"


def save_model(run_dir: Path, model: BaseAlgorithm, normalizer: ObservationNormalizer | None) -> Path:
    """Save the policy's tensors and the normalisation statistics, atomically; returns the model path."""
    path = run_dir / MODEL_FILE
    save_state(path, model.policy.state_dict())
    if normalizer is not None:
        write_json(run_dir / NORMALIZATION_FILE, normalizer.to_json())
    return path


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


def read_normalizer(run_dir: Path, observation_shape: tuple[int, ...]) -> ObservationNormalizer | None:
    """The saved observation statistics of a run, if it normalised observations, checked against its shape."""
    path = run_dir / NORMALIZATION_FILE
    if not path.is_file():
        return None
    return ObservationNormalizer.from_json(read_json(path, "normalisation file"), observation_shape, str(path))


def read_weights(model_path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a model.pt, read without unpickling anything but tensors."""
    weights = load_state(model_path, "model file")
    if not all(isinstance(value, torch.Tensor) for value in weights.values()):
        raise PlaygroundError(f"{model_path} does not hold a policy's weights.")
    return weights


def check_weights_fit(record: RunRecord, weights: dict[str, torch.Tensor], env: Any, model_path: Path) -> None:
    """Refuse a record that describes a far larger network than the weights hold, before building it.

    The record's sizes come from a file that may have been crafted; the weights are what the sender actually
    shipped, so they bound what loading may allocate.
    """
    held = sum(tensor.numel() for tensor in weights.values())
    described = estimated_parameters(record.agent, record.hyperparams, env.observation_space, env.action_space)
    if described > 4 * held + 100_000:
        raise PlaygroundError(f"{model_path.parent / 'config.json'} describes a network of about {described:,} "
                              f"parameters, but {model_path} holds {held:,}: the run folder is mixed up or "
                              "crafted. Restore it, or retrain.")


def rebuild_model(spec: AgentSpec, record: RunRecord, model_path: Path, device: torch.device) -> BaseAlgorithm:
    """Build the agent described by `record` and load the weights of `model_path` into it."""
    weights = read_weights(model_path)
    hyperparams = dict(record.hyperparams)
    if "buffer_size" in hyperparams:
        hyperparams["buffer_size"] = 1  # playing needs no replay buffer
    env = make_vector_env(record.env_id, 1, record.seed)
    check_weights_fit(record, weights, env, model_path)
    with warnings.catch_warnings():  # SB3's advice on rollout sizes concerns training, not playing
        warnings.simplefilter("ignore", UserWarning)
        model = build_model(spec, hyperparams, env, record.seed, device, tensorboard_log=None)
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
