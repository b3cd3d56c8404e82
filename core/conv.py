"""Convolutional building blocks: plain conv trunks and the IMPALA residual stack.

Importing this module imports torch; import it only where a network is built.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

ConvSpec = tuple[int, int, int]
"""One convolution: (output channels, kernel size, stride)."""


def conv_trunk(in_channels: int, layers: Sequence[ConvSpec]) -> nn.Sequential:
    """Convolutions, each followed by a ReLU, then a flatten: `(N, C, H, W) -> (N, features)`.

    Args:
        in_channels: Channels of the input images.
        layers: One (out_channels, kernel_size, stride) per convolution, without padding.
    """
    modules: list[nn.Module] = []
    for out_channels, kernel_size, stride in layers:
        modules += [nn.Conv2d(in_channels, out_channels, kernel_size, stride), nn.ReLU()]
        in_channels = out_channels
    return nn.Sequential(*modules, nn.Flatten())


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with ReLUs before each, added to the input (IMPALA, Espeholt et al. 2018)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


def impala_stack(in_channels: int, out_channels: int) -> nn.Sequential:
    """One IMPALA stage: a 3x3 convolution, a 3x3 max-pool with stride 2, two residual blocks."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.MaxPool2d(3, stride=2, padding=1),
        ResidualBlock(out_channels),
        ResidualBlock(out_channels),
    )


def impala_trunk(in_channels: int, channels: Sequence[int] = (16, 32, 32)) -> nn.Sequential:
    """The IMPALA ResNet trunk: one stage per entry of `channels`, then ReLU and flatten."""
    stages: list[nn.Module] = []
    for out_channels in channels:
        stages.append(impala_stack(in_channels, out_channels))
        in_channels = out_channels
    return nn.Sequential(*stages, nn.ReLU(), nn.Flatten())


def flat_size(trunk: nn.Module, input_shape: Sequence[int]) -> int:
    """The length of the flat vector `trunk` makes from one input of `input_shape` (one forward pass)."""
    with torch.no_grad():
        return int(trunk(torch.zeros(1, *input_shape)).shape[1])
