"""Turning effective hyperparameters (plain YAML values) into a stable-baselines3 model."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecEnv

from agents.perception import perception_policy_kwargs
from agents.presets import RUN_KEYS, SCHEDULABLE
from agents.registry import AgentSpec
from core.errors import PlaygroundError
from core.nets import ACTIVATIONS

NOISES = {"normal": NormalActionNoise, "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise}


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
    policy = {**perception, **policy_kwargs(kwargs.get("policy_kwargs", {}))}
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
    algorithm_class = spec.algorithm_class()
    try:
        return algorithm_class(
            hyperparams.get("policy", "MlpPolicy"),
            env,
            seed=seed,
            device=device,
            tensorboard_log=tensorboard_log,
            verbose=0,
            **algorithm_kwargs(hyperparams, env),
        )
    except (ValueError, TypeError, AssertionError) as error:
        raise PlaygroundError(f"{spec.name} cannot be built with these settings: {error}") from None
