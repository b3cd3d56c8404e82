"""Questions about observation spaces that several parts of the playground ask."""

from __future__ import annotations

from typing import Any


def is_image_space(space: Any) -> bool:
    """Whether observations are images: a 3-D Box, (channels, height, width) or (height, width, channels)."""
    import gymnasium as gym

    return isinstance(space, gym.spaces.Box) and len(space.shape) == 3
