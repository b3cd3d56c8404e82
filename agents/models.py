"""Stable-baselines3 models: built from the effective hyperparameters, saved as tensors, rebuilt from a run.

- Perception: which network sees the observations (the `perception` hyperparameter: a built-in name or a
  plug-in, with `perception_kwargs`), reaching SB3 as `policy_kwargs.features_extractor_class`.
- Building: plain YAML values (schedules, activation names, noise) turned into SB3's keyword arguments.
- Files: `model.pt` holds the policy's tensors (read with `torch.load(weights_only=True)`),
  `normalization.json` the observation statistics; the run record (agents.run_record) says how to rebuild
  the model around them. A stable-baselines3 `.zip` unpickles Python objects when loaded, so it can run
  code: it is loaded only with `--trust-pickle`.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecEnv

from agents.limits import estimated_parameters
from agents.normalization import ObservationNormalizer
from agents.overheads import skip_argument_checks, skip_per_call_overheads, with_fused_adam
from agents.presets import RUN_KEYS, SCHEDULABLE
from agents.registry import AgentSpec
from agents.run_record import MODEL_FILE, RunRecord
from core.checkpoint import load_state, save_state
from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.nets import ACTIVATIONS
from core.spaces import is_image_space
from envs.factory import make_vector_env

NOISES = {"normal": NormalActionNoise, "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise}
NORMALIZATION_FILE = "normalization.json"
PICKLE_SUFFIX = ".zip"


def uses_cnn(hyperparams: dict[str, Any]) -> bool:
    """Whether the policy sees images through a CNN (and so deserves a GPU and several CPU threads)."""
    return bool(hyperparams.get("perception")) or "Cnn" in str(hyperparams.get("policy", ""))


def canonical_perception(name: str) -> str:
    """A plug-in file given by a relative path becomes absolute, so the run can be rebuilt from anywhere."""
    source, separator, class_name = name.rpartition(":")
    if separator and source.endswith(".py") and Path(source).expanduser().is_file():
        return f"{Path(source).expanduser().resolve()}:{class_name}"
    return name


def perception_policy_kwargs(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """The policy keyword arguments that install the run's perception network (empty when it has none)."""
    name = hyperparams.get("perception")
    if not name:
        return {}
    from vision.plugins import perception_class

    network, extra = perception_class(name)
    return {"features_extractor_class": network,
            "features_extractor_kwargs": {**extra, **hyperparams.get("perception_kwargs", {})}}


def check_perception_fits(hyperparams: dict[str, Any], observation_space: gym.Space, env_id: str) -> None:
    """Refuse, before training, a network that cannot see this env's observations.

    Raises:
        PlaygroundError: A perception network that fails on a sample observation, or images fed to an MLP.
    """
    name = hyperparams.get("perception")
    if name:
        from vision.plugins import check_perception

        check_perception(name, observation_space, hyperparams.get("perception_kwargs"))
    elif is_image_space(observation_space) and "Cnn" not in str(hyperparams.get("policy", "MlpPolicy")):
        raise PlaygroundError(
            f"{env_id} observes images of shape {observation_space.shape}, which an MLP policy "
            f"({hyperparams.get('policy', 'MlpPolicy')}) cannot see. Give it a CNN: --perception nature "
            "(or impala, minatar)."
        )




def schedule(value: float | str) -> float | LinearSchedule:
    """A number stays a constant; "lin_<x>" decays linearly from x to 0 over training."""
    if isinstance(value, str):
        return LinearSchedule(float(value.removeprefix("lin_")), 0.0, 1.0)
    return value


def policy_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    """Policy keyword arguments with activation names (`relu`) turned into torch classes."""
    kwargs = dict(settings)
    activation = kwargs.get("activation_fn")
    if isinstance(activation, str):
        if activation.lower() not in ACTIVATIONS:
            raise PlaygroundError(
                f"policy_kwargs.activation_fn={activation!r} is unknown. Choose one of: {', '.join(ACTIVATIONS)}."
            )
        kwargs["activation_fn"] = ACTIVATIONS[activation.lower()]
    return kwargs


def action_noise(kind: str, std: float, env: VecEnv) -> NormalActionNoise | OrnsteinUhlenbeckActionNoise:
    """Exploration noise for off-policy continuous-control agents."""
    if kind not in NOISES:
        raise PlaygroundError(f"noise_type={kind!r} is unknown. Choose one of: {', '.join(NOISES)}.")
    size = int(np.prod(env.action_space.shape))
    return NOISES[kind](mean=np.zeros(size), sigma=std * np.ones(size))


def algorithm_kwargs(hyperparams: dict[str, Any], env: VecEnv) -> dict[str, Any]:
    """The keyword arguments for the SB3 algorithm class, from the effective hyperparameters."""
    kwargs = {key: value for key, value in hyperparams.items() if key not in RUN_KEYS}
    for key in SCHEDULABLE & kwargs.keys():
        kwargs[key] = schedule(kwargs[key])
    perception = perception_policy_kwargs(hyperparams)
    policy = {**perception, **policy_kwargs(kwargs.pop("policy_kwargs", None) or {})}  # null: SB3's defaults
    if perception:  # the features feed the action and value heads directly, as with SB3's own CnnPolicy
        policy.setdefault("net_arch", [])
    if policy:
        kwargs["policy_kwargs"] = policy
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    if hyperparams.get("noise_type"):
        kwargs["action_noise"] = action_noise(hyperparams["noise_type"], hyperparams.get("noise_std", 0.1), env)
    return kwargs


def build_model(
    spec: AgentSpec,
    hyperparams: dict[str, Any],
    env: VecEnv,
    seed: int,
    device: torch.device,
    tensorboard_log: str | None,
) -> BaseAlgorithm:
    """Create the SB3 algorithm for `spec` on `env`.

    Raises:
        PlaygroundError: When SB3 refuses the combination of settings.
    """
    skip_argument_checks()
    kwargs = algorithm_kwargs(hyperparams, env)
    kwargs["policy_kwargs"] = with_fused_adam(kwargs.get("policy_kwargs") or {}, device)
    algorithm_class = spec.algorithm_class()
    try:
        model = algorithm_class(
            hyperparams.get("policy", "MlpPolicy"),
            env,
            seed=seed,
            device=device,
            tensorboard_log=tensorboard_log,
            verbose=0,
            **kwargs,
        )
    except (ValueError, TypeError, AssertionError) as error:
        raise PlaygroundError(f"{spec.name} cannot be built with these settings: {error}") from None
    skip_per_call_overheads(model)
    return model




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
        raise PlaygroundError(f"the run's config.json describes a network of about {described:,} parameters, but "
                              f"{model_path} holds {held:,}: the run folder is mixed up or crafted. Restore it, "
                              "or retrain.")


def rebuild_model(spec: AgentSpec, record: RunRecord, model_path: Path, device: torch.device) -> BaseAlgorithm:
    """Build the agent described by `record` and load the weights of `model_path` into it."""
    return build_player(spec, record, read_weights(model_path), device, model_path)


def build_player(spec: AgentSpec, record: RunRecord, weights: dict[str, torch.Tensor], device: torch.device,
                 source: Path) -> BaseAlgorithm:
    """The agent described by `record`, for playing (no replay buffer), holding `weights`.

    Args:
        weights: Policy tensors read from `source` (a model.pt or a live snapshot); they bound what the
            record may make this build (see `check_weights_fit`).
        source: Where the weights came from, for error messages.
    """
    hyperparams = dict(record.hyperparams)
    if "buffer_size" in hyperparams:
        hyperparams["buffer_size"] = 1  # playing needs no replay buffer
    env = make_vector_env(record.env_id, 1, record.seed)
    check_weights_fit(record, weights, env, source)
    with warnings.catch_warnings():  # SB3's advice on rollout sizes concerns training, not playing
        warnings.simplefilter("ignore", UserWarning)
        model = build_model(spec, hyperparams, env, record.seed, device, tensorboard_log=None)
    load_weights(model, weights, source)
    return model


def load_weights(model: BaseAlgorithm, weights: dict[str, torch.Tensor], source: Path) -> None:
    """Put policy tensors into a built model; a clear error when they do not fit it."""
    try:
        model.policy.load_state_dict(weights)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise PlaygroundError(f"{source} does not fit the agent its config.json describes ({first}).") from None


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
