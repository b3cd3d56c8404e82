"""The built-in perception networks: CNN feature extractors for image observations.

Each is a stable-baselines3 `BaseFeaturesExtractor`: it takes `(N, C, H, W)` float images (SB3 has already
scaled uint8 pixels to [0, 1] and put channels first) and returns `(N, features_dim)` features. The trunk
comes from `core.conv`; the final linear layer is sized with one forward pass on a sample observation, as
in stable-baselines3's `NatureCNN`.
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from core.conv import conv_trunk, flat_size, impala_trunk
from core.errors import PlaygroundError
from core.registry import Registry


def image_shape(observation_space: gym.Space, network: str) -> tuple[int, int, int]:
    """The `(channels, height, width)` a network sees for this observation space.

    Raises:
        PlaygroundError: When the space holds no images.
    """
    shape = getattr(observation_space, "shape", None)
    if not isinstance(observation_space, gym.spaces.Box) or shape is None or len(shape) != 3:
        raise PlaygroundError(
            f"the {network} perception network needs image observations (channels, height, width); "
            f"this env observes {_describe(observation_space)}. Use an env with pixels (for example --obs pixels) "
            "or leave --perception out."
        )
    if is_image_space_channels_first(observation_space):
        return int(shape[0]), int(shape[1]), int(shape[2])
    return int(shape[2]), int(shape[0]), int(shape[1])


def _describe(space: gym.Space) -> str:
    shape = getattr(space, "shape", None)
    return f"arrays of shape {shape}" if shape else type(space).__name__


class ImageFeatures(BaseFeaturesExtractor):
    """A conv trunk, then a linear layer with a ReLU sized from one sample forward pass.

    Subclasses set `name`, `minimum_size` and `default_features`, and implement `build_trunk`.

    Args:
        observation_space: An image space, channels first or last.
        features_dim: The length of the feature vector (None: the network's `default_features`).
    """

    name = "image"
    minimum_size = 1
    default_features = 512

    def __init__(self, observation_space: gym.Space, features_dim: int | None = None) -> None:
        features_dim = features_dim or self.default_features
        channels, height, width = image_shape(observation_space, self.name)
        if min(height, width) < self.minimum_size:
            raise PlaygroundError(
                f"the {self.name} perception network needs images of at least {self.minimum_size}x"
                f"{self.minimum_size} pixels; these observations are {height}x{width}. "
                f"Use --perception {'minatar' if min(height, width) < 16 else 'impala'} instead."
            )
        super().__init__(observation_space, features_dim)
        self.channels_last = not is_image_space_channels_first(observation_space)
        self.trunk = self.build_trunk(channels)
        self.linear = nn.Sequential(nn.Linear(flat_size(self.trunk, (channels, height, width)), features_dim),
                                    nn.ReLU())

    def build_trunk(self, channels: int) -> nn.Module:
        """The convolutional part: `(N, channels, H, W) -> (N, flat)`."""
        raise NotImplementedError

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        if self.channels_last:  # a space SB3 does not transpose itself (not a uint8 image)
            observations = observations.permute(0, 3, 1, 2)
        return self.linear(self.trunk(observations.float()))


class NatureCNN(ImageFeatures):
    """The CNN of the DQN paper (Mnih et al. 2015): 32x8/4, 64x4/2, 64x3/1, then 512 features."""

    name = "nature"
    minimum_size = 36

    def build_trunk(self, channels: int) -> nn.Module:
        return conv_trunk(channels, [(32, 8, 4), (64, 4, 2), (64, 3, 1)])


class ImpalaCNN(ImageFeatures):
    """The IMPALA ResNet (Espeholt et al. 2018): three conv + max-pool + two residual block stages."""

    name = "impala"
    minimum_size = 8

    default_features = 256

    def build_trunk(self, channels: int) -> nn.Module:
        return impala_trunk(channels, (16, 32, 32))


class MinAtarCNN(ImageFeatures):
    """The small CNN of the MinAtar paper (Young & Tian 2019): 16 3x3 filters, then 128 features."""

    name = "minatar"
    minimum_size = 3

    default_features = 128

    def build_trunk(self, channels: int) -> nn.Module:
        return conv_trunk(channels, [(16, 3, 1)])


PERCEPTIONS: Registry[type[ImageFeatures]] = Registry("perception network")
for _network in (NatureCNN, ImpalaCNN, MinAtarCNN):
    PERCEPTIONS.register(_network.name, _network)
