"""The ball of the paddle games: moving, bouncing, and the paddle's aiming rule."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Ball:
    """A square ball in game units: centre (x, y), velocity (vx, vy) per step, half side `radius`."""

    x: float
    y: float
    vx: float
    vy: float
    radius: float = 0.015

    @property
    def speed(self) -> float:
        return math.hypot(self.vx, self.vy)


def aimed_velocity(offset: float, speed: float, max_angle: float) -> tuple[float, float]:
    """The outgoing direction off a paddle: the further from its centre, the steeper the angle.

    Args:
        offset: Where the ball hit, from -1 (one end of the paddle) through 0 (centre) to 1 (the other end).
        speed: The ball's speed after the bounce.
        max_angle: The angle from the paddle's normal at the very ends, in radians.

    Returns:
        (along the normal, along the paddle): the normal part is positive, the caller orients it.
    """
    angle = max(-1.0, min(1.0, offset)) * max_angle
    return speed * math.cos(angle), speed * math.sin(angle)
