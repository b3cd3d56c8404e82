"""A saliency map as colour: a black-red-yellow-white heat scale, laid over an image."""

from __future__ import annotations

import numpy as np

# (level, colour) anchors of the heat scale, from cold to hot.
HEAT_LEVELS = np.array([0.0, 0.35, 0.7, 1.0])
HEAT_COLOURS = np.array([(0, 0, 0), (200, 30, 20), (255, 200, 40), (255, 255, 255)], dtype=np.float32)
OPACITY = 0.75  # how much of the hottest pixel's colour replaces the image under it
DIMMING = 0.7  # the image under the heat is darkened so that the heat stands out


def heat_colours(levels: np.ndarray) -> np.ndarray:
    """`(..., 3)` uint8 colours for levels in [0, 1] on the heat scale."""
    levels = np.clip(np.asarray(levels, dtype=np.float32), 0.0, 1.0)
    channels = [np.interp(levels, HEAT_LEVELS, HEAT_COLOURS[:, c]) for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def overlay(image: np.ndarray, saliency: np.ndarray) -> np.ndarray:
    """The image with the saliency map laid over it: hot pixels take the heat colour, cold ones show the image.

    Args:
        image: `(H, W, 3)` uint8.
        saliency: `(H, W)` levels in [0, 1], the same height and width.

    Returns:
        A new `(H, W, 3)` uint8 image.
    """
    levels = np.clip(np.nan_to_num(np.asarray(saliency, dtype=np.float32)), 0.0, 1.0)[..., None]
    alpha = OPACITY * levels
    dimmed = image.astype(np.float32) * DIMMING
    return (dimmed * (1.0 - alpha) + heat_colours(levels[..., 0]).astype(np.float32) * alpha).astype(np.uint8)


def cell_overlay(image: np.ndarray, saliency: np.ndarray, scale: int) -> np.ndarray:
    """For coarse grids (MinAtar's 10x10): every cell filled with its heat colour, objects as insets on top.

    Neither hides the other, which a blend would on cells that are both hot and occupied.

    Args:
        image: `(H, W, 3)` uint8, black where a cell is empty.
        saliency: `(H, W)` levels in [0, 1].
        scale: Pixels per cell side in the result.

    Returns:
        A `(H * scale, W * scale, 3)` uint8 image.
    """
    heat = heat_colours(np.nan_to_num(np.asarray(saliency, dtype=np.float32)))
    big_heat = heat.repeat(scale, axis=0).repeat(scale, axis=1)
    big_image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    margin = max(1, scale // 5)
    inside = (np.arange(scale) >= margin) & (np.arange(scale) < scale - margin)
    inset = np.tile(inside, image.shape[0])[:, None] & np.tile(inside, image.shape[1])[None, :]
    occupied = big_image.any(axis=-1) & inset
    return np.where(occupied[..., None], big_image, big_heat)


def stretch(saliency: np.ndarray, height: int, width: int) -> np.ndarray:
    """The map resized to `(height, width)` by nearest neighbour, for a frame the observation is a resized view of."""
    rows = np.arange(height) * saliency.shape[0] // height
    columns = np.arange(width) * saliency.shape[1] // width
    return saliency[rows[:, None], columns[None, :]]


def legend(width: int, height: int) -> np.ndarray:
    """A `(height, width, 3)` uint8 strip of the heat scale from 0 (left) to 1 (right)."""
    row = heat_colours(np.linspace(0.0, 1.0, width))
    return np.repeat(row[None], height, axis=0)
