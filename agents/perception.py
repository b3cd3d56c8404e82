"""The agent's eyes: which perception network a run uses, and whether it can see the env's observations.

The network is the `perception` hyperparameter (a preset value or `--perception`), with optional
`perception_kwargs`; it reaches stable-baselines3 as `policy_kwargs.features_extractor_class`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from core.errors import PlaygroundError
from core.spaces import is_image_space


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
