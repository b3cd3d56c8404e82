"""Perception networks by name: a built-in one, or the user's own class from a file or a module.

`--perception nature` picks a built-in network; `--perception my_nets.py:TinyNet` or
`--perception my_package.nets:TinyNet` plugs in a class of the user's. The class is either a
stable-baselines3 `BaseFeaturesExtractor` (built as `Class(observation_space, **kwargs)`) or a plain
`nn.Module` that maps a batch of observations to a batch of feature vectors (built as
`Class(observation_space)` or `Class()`), which `ModuleFeatures` wraps. `check_perception` builds it on
a sample observation and refuses it with one line, before any training, when it does not fit.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first, preprocess_obs
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecTransposeImage
from torch import nn

from core.errors import PlaygroundError
from core.registry import Registry, did_you_mean
from vision.perception import PERCEPTIONS

PLUGIN_SYNTAX = "path/to/file.py:ClassName or package.module:ClassName"


class ModuleFeatures(BaseFeaturesExtractor):
    """Wraps a plain `nn.Module` class as a features extractor; its output size is found by a sample pass.

    Args:
        observation_space: The (channels-first) observation space the policy sees.
        network: The user's nn.Module class.
    """

    def __init__(self, observation_space: gym.Space, network: type[nn.Module]) -> None:
        module = _construct(network, observation_space)
        with torch.no_grad():
            features = module(sample_batch(observation_space, 1))
        if not isinstance(features, torch.Tensor) or features.ndim < 2 or features.shape[0] != 1:
            got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise PlaygroundError(f"{network.__name__} returned {got} for a batch of 1 observation of shape "
                                  f"{observation_space.shape}; expected a tensor of shape (1, features).")
        super().__init__(observation_space, int(np.prod(features.shape[1:])))
        self.network = module

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.network(observations).flatten(1)


def _construct(network: type[nn.Module], observation_space: gym.Space) -> nn.Module:
    """Build the user's module, passing the observation space when its constructor takes an argument."""
    parameters = [p for p in inspect.signature(network).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return network(observation_space) if parameters else network()


def policy_space(observation_space: gym.Space) -> gym.Space:
    """The space the policy sees: SB3 puts the channels of uint8 images first (VecTransposeImage)."""
    if is_image_space(observation_space) and not is_image_space_channels_first(observation_space):
        return VecTransposeImage.transpose_space(observation_space)
    return observation_space


def sample_batch(observation_space: gym.Space, size: int) -> torch.Tensor:
    """`size` random observations, preprocessed as SB3 feeds them to a features extractor."""
    batch = torch.as_tensor(np.stack([observation_space.sample() for _ in range(size)]))
    return preprocess_obs(batch, observation_space, normalize_images=True)


def perception_class(
    name: str, networks: Registry[type[BaseFeaturesExtractor]] = PERCEPTIONS
) -> tuple[type[BaseFeaturesExtractor], dict[str, Any]]:
    """The features-extractor class and extra keyword arguments for a `--perception` value.

    Args:
        name: A built-in name (`nature`, `impala`, `minatar`) or `file.py:Class` / `package.module:Class`.
        networks: The built-in networks to choose from (vision.classify adds its own for the digits).
    """
    if ":" not in name:
        network = networks.find(name)
        if network is None:
            raise PlaygroundError(
                f"--perception {name!r} is unknown.{did_you_mean(name, networks.names())} Choose one of "
                f"{', '.join(networks.names())}, or plug in your own as {PLUGIN_SYNTAX}."
            )
        return network, {}
    source, _, class_name = name.rpartition(":")
    module = _import_file(source, name) if source.endswith(".py") else _import_module(source, name)
    network = getattr(module, class_name, None)
    if network is None:
        defined = [n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, nn.Module)]
        raise PlaygroundError(f"--perception {name}: {source} has no class {class_name!r}."
                              f"{did_you_mean(class_name, defined)} "
                              f"Its nn.Module classes: {', '.join(defined) or 'none'}.")
    if not (isinstance(network, type) and issubclass(network, nn.Module)):
        raise PlaygroundError(f"--perception {name}: {class_name} is not an nn.Module class. Expected a "
                              "stable-baselines3 BaseFeaturesExtractor subclass, or an nn.Module that maps a batch "
                              "of observations to a batch of feature vectors.")
    if issubclass(network, BaseFeaturesExtractor):
        return network, {}
    return ModuleFeatures, {"network": network}


def _import_file(source: str, name: str) -> Any:
    path = Path(source).expanduser()
    if not path.is_file():
        raise PlaygroundError(f"--perception {name}: there is no file {source}. Give {PLUGIN_SYNTAX}.")
    module_name = f"playground_perception_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's code can fail in any way
        sys.modules.pop(module_name, None)
        raise PlaygroundError(f"--perception {name}: importing {source} failed: {_one_line(error)}") from None
    return module


def _import_module(source: str, name: str) -> Any:
    try:
        return importlib.import_module(source)
    except Exception as error:  # ModuleNotFoundError, or the module's own code failing
        raise PlaygroundError(f"--perception {name}: importing {source} failed: {_one_line(error)}. "
                              f"Give {PLUGIN_SYNTAX}.") from None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def check_perception(
    name: str,
    observation_space: gym.Space,
    kwargs: dict[str, Any] | None = None,
    networks: Registry[type[BaseFeaturesExtractor]] = PERCEPTIONS,
) -> int:
    """Build the perception network on a sample batch and check what it returns; returns its feature size.

    Args:
        name: As for `perception_class`.
        observation_space: The observations the network will see.
        kwargs: Extra keyword arguments for the network.
        networks: The built-in networks to choose from, as for `perception_class`.

    Raises:
        PlaygroundError: When it cannot be built for this space or returns the wrong shape.
    """
    network, extra = perception_class(name, networks)
    space = policy_space(observation_space)
    try:
        extractor = network(space, **extra, **(kwargs or {}))
        with torch.no_grad():
            features = extractor(sample_batch(space, 2))
    except PlaygroundError:
        raise
    except Exception as error:  # the user's network can fail in any way
        raise PlaygroundError(f"--perception {name} does not fit observations of shape {space.shape}: "
                              f"{_one_line(error)}") from None
    expected = (2, extractor.features_dim)
    if not isinstance(features, torch.Tensor) or tuple(features.shape) != expected:
        got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise PlaygroundError(f"--perception {name}: for a batch of 2 observations of shape {space.shape} it "
                              f"returned {got}; expected a tensor of shape {expected} (batch, features_dim).")
    if not torch.isfinite(features).all():
        raise PlaygroundError(f"--perception {name} returned NaN or infinite features on a sample observation.")
    return extractor.features_dim
