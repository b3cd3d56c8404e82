"""The ball of the paddle games: its record, and the paddle's aiming rule for one ball or a batch of balls."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BALL_RADIUS = 0.015


@dataclass
class Ball:
    """A square ball in game units: centre (x, y), velocity (vx, vy) per step, half side `radius`.

    The record a single game shows of its ball; the batched rules keep the same values in arrays.
    """

    x: float
    y: float
    vx: float
    vy: float
    radius: float = BALL_RADIUS

    @property
    def speed(self) -> float:
        return math.hypot(self.vx, self.vy)


def aimed_velocity(offset, speed, max_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The outgoing direction off a paddle: the further from its centre, the steeper the angle.

    Works on floats and on arrays (one ball per element) alike.

    Args:
        offset: Where the ball hit, from -1 (one end of the paddle) through 0 (centre) to 1 (the other end).
        speed: The ball's speed after the bounce.
        max_angle: The angle from the paddle's normal at the very ends, in radians.

    Returns:
        (along the normal, along the paddle): the normal part is positive, the caller orients it.
    """
    angle = np.clip(offset, -1.0, 1.0) * max_angle
    return speed * np.cos(angle), speed * np.sin(angle)
