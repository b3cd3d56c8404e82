"""Pixel geometry shared by the pygame painter and the NumPy batch renderer, so both draw the same pixels.

Game objects are rectangles in game units. `rect_box` and `tile_box` turn them into whole pixels (the only
rounding rules of our drawing); `Frames` paints such boxes into a batch of frames with array operations.
"""

from __future__ import annotations

import numpy as np

Color = tuple[int, int, int]
PIXEL_SIZE = 64  # the side of a pixel observation


def rect_box(x, y, width, height, sx: float, sy: float) -> tuple[np.ndarray, ...]:
    """Pixel (left, top, width, height) of a moving object at (x, y) of size (width, height) in game units.

    The size in pixels is the same wherever the object is (at least one pixel, so that a ball stays visible
    at 64x64); the position is rounded to the nearest pixel (halves to even, as Python's `round`). Works on
    floats and on arrays of positions alike.
    """
    pixel_width = np.maximum(1, np.rint(np.multiply(width, sx))).astype(np.int64)
    pixel_height = np.maximum(1, np.rint(np.multiply(height, sy))).astype(np.int64)
    left = np.rint((np.add(x, np.divide(width, 2))) * sx - pixel_width / 2).astype(np.int64)
    top = np.rint((np.add(y, np.divide(height, 2))) * sy - pixel_height / 2).astype(np.int64)
    return left, top, pixel_width, pixel_height


def tile_box(x, y, width, height, sx: float, sy: float) -> tuple[np.ndarray, ...]:
    """Pixel (left, top, width, height) of a grid tile: each edge rounded on its own, so neighbours meet."""
    left, top = np.rint(np.multiply(x, sx)).astype(np.int64), np.rint(np.multiply(y, sy)).astype(np.int64)
    right = np.maximum(np.rint(np.add(x, width) * sx).astype(np.int64), left + 1)
    bottom = np.maximum(np.rint(np.add(y, height) * sy).astype(np.int64), top + 1)
    return left, top, right - left, bottom - top


class Frames:
    """Paints boxes into a batch of (games, height, width, 3) uint8 frames.

    Args:
        background: The (height, width, 3) frame every game starts from (the static part of the picture).
        games: How many frames.
    """

    def __init__(self, background: np.ndarray, games: int) -> None:
        self.frames = np.repeat(background[None], games, axis=0)

    def box(self, color: Color, left: np.ndarray, top: np.ndarray, width: int, height: int,
            where: np.ndarray | None = None) -> None:
        """Paint one box per frame (clipped at the edges), in the frames where `where` holds (all by default).

        Args:
            color: The RGB color.
            left, top: Per-frame pixel positions, arrays of the batch size.
            width, height: The box size in pixels, the same in every frame.
            where: Per-frame booleans; None paints every frame.
        """
        games, frame_height, frame_width, _ = self.frames.shape
        rows = np.asarray(top)[:, None, None] + np.arange(height)[None, :, None]
        columns = np.asarray(left)[:, None, None] + np.arange(width)[None, None, :]
        inside = (rows >= 0) & (rows < frame_height) & (columns >= 0) & (columns < frame_width)
        if where is not None:
            inside &= np.asarray(where)[:, None, None]
        frame = np.broadcast_to(np.arange(games)[:, None, None], inside.shape)
        self.frames[frame[inside], np.broadcast_to(rows, inside.shape)[inside],
                    np.broadcast_to(columns, inside.shape)[inside]] = color


def tile_map(boxes: list[tuple[int, int, int, int]], height: int, width: int) -> np.ndarray:
    """A (height, width) map from each pixel to the index of the last box covering it (-1 for none).

    Boxes are painted in order, as the painter would paint them, so later boxes win where they overlap.
    """
    index = np.full((height, width), -1, dtype=np.int64)
    for number, (left, top, box_width, box_height) in enumerate(boxes):
        index[max(top, 0):max(top + box_height, 0), max(left, 0):max(left + box_width, 0)] = number
    return index
