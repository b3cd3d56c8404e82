"""The agent's view: an image observation as the agent gets it, as pictures people can read.

Three kinds of image observation, told apart by the observation space alone:

- `rgb`: a colour image, channels last (our games' pixel variants, `(64, 64, 3)`), shown as it is;
- `grid`: 0/1 planes, one per kind of object (MinAtar, `(C, 10, 10)`), each cell coloured by its
  highest set plane with the palette the game frame uses;
- `stack`: grayscale frames stacked on the channel axis (Atari, CartPolePixels, `(4, H, W)`), showing the
  newest (last) frame; the planes of grids and stacks are also shown as small tiles.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from envs.minatar import PALETTE


def view_kind(space: gym.Space) -> str | None:
    """The kind of image observation a space holds (`rgb`, `grid`, `stack`), or None when it holds no image."""
    shape = getattr(space, "shape", None)
    if not isinstance(space, gym.spaces.Box) or shape is None or len(shape) != 3:
        return None
    if not channels_first(shape):
        return "rgb" if shape[-1] == 3 else "stack"
    return "grid" if float(np.max(space.high)) <= 1.0 else "stack"


def channels_first(shape: tuple[int, ...]) -> bool:
    """Whether the smallest axis of a 3-D image shape is the first (stable-baselines3's rule)."""
    return int(np.argmin(shape)) == 0


def planes(observation: np.ndarray, space: gym.spaces.Box) -> np.ndarray:
    """The observation as `(C, H, W)` planes scaled to [0, 1]."""
    array = np.asarray(observation, dtype=np.float32)
    if not channels_first(space.shape):
        array = np.moveaxis(array, -1, 0)
    high = float(np.max(space.high))
    return array / high if np.isfinite(high) and high > 0 else array


def observation_image(observation: np.ndarray, space: gym.spaces.Box, kind: str) -> np.ndarray:
    """The main picture of the agent's view: `(H, W, 3)` uint8.

    Args:
        observation: One observation from `space`.
        space: The env's observation space.
        kind: Its `view_kind`.
    """
    if kind == "rgb":
        return np.ascontiguousarray(np.asarray(observation, dtype=np.uint8))
    layers = planes(observation, space)
    if kind == "grid":
        return grid_colours(layers)
    return gray(layers[-1])


def grid_colours(layers: np.ndarray) -> np.ndarray:
    """Colour each cell of `(C, H, W)` 0/1 planes by its highest set plane, as the MinAtar game frame does."""
    present = layers > 0.5
    top = layers.shape[0] - 1 - np.argmax(present[::-1], axis=0)
    colours = PALETTE[top % len(PALETTE)]
    return np.where(present.any(axis=0)[..., None], colours, 0).astype(np.uint8)


def gray(level: np.ndarray) -> np.ndarray:
    """`(H, W)` levels in [0, 1] as a `(H, W, 3)` uint8 gray image."""
    values = (np.clip(level, 0.0, 1.0) * 255).astype(np.uint8)
    return np.repeat(values[..., None], 3, axis=-1)


def plane_tiles(observation: np.ndarray, space: gym.spaces.Box, kind: str) -> list[np.ndarray]:
    """Small pictures of each plane (grid: in its palette colour; stack: gray, oldest first); none for rgb."""
    if kind == "rgb":
        return []
    layers = planes(observation, space)
    if kind == "stack":
        return [gray(layer) for layer in layers]
    tiles = []
    for index, layer in enumerate(layers):
        colour = PALETTE[index % len(PALETTE)].astype(np.float32)
        tiles.append((np.clip(layer, 0.0, 1.0)[..., None] * colour).astype(np.uint8))
    return tiles
