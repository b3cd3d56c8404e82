"""Drawing in game units: one routine paints a game at any resolution, for windows, frames and pixel observations.

pygame is imported here, inside the functions, so that `import envs` stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Color = tuple[int, int, int]


class Painter:
    """Paints rectangles given in game units onto a pygame surface of any size.

    Args:
        surface: The pygame surface to paint on.
        units: The game's width and height in its own units (cells for Snake, 1.0 x 1.0 for Pong).
    """

    def __init__(self, surface: Any, units: tuple[float, float]) -> None:
        self.surface = surface
        width, height = surface.get_size()
        self._sx = width / units[0]
        self._sy = height / units[1]

    def fill(self, color: Color) -> None:
        """Paint the whole surface."""
        self.surface.fill(color)

    def rect(self, color: Color, x: float, y: float, width: float, height: float) -> None:
        """Paint a moving object: top-left (x, y) and size in game units.

        The size in pixels is the same wherever the object is (at least one pixel, so that a ball stays
        visible at 64x64); the position is rounded to the nearest pixel.
        """
        pixel_width, pixel_height = max(1, round(width * self._sx)), max(1, round(height * self._sy))
        left = round((x + width / 2) * self._sx - pixel_width / 2)
        top = round((y + height / 2) * self._sy - pixel_height / 2)
        self._paint(color, left, top, pixel_width, pixel_height)

    def tile(self, color: Color, x: float, y: float, width: float, height: float) -> None:
        """Paint a tile of a grid: each edge is rounded on its own, so neighbouring tiles meet without gaps."""
        left, top = round(x * self._sx), round(y * self._sy)
        right = max(round((x + width) * self._sx), left + 1)
        bottom = max(round((y + height) * self._sy), top + 1)
        self._paint(color, left, top, right - left, bottom - top)

    def _paint(self, color: Color, left: int, top: int, width: int, height: int) -> None:
        import pygame

        pygame.draw.rect(self.surface, color, pygame.Rect(left, top, width, height))


class Canvas:
    """An off-screen surface of a fixed size, reused from frame to frame."""

    def __init__(self, width: int, height: int) -> None:
        import pygame

        self.surface = pygame.Surface((width, height))

    def pixels(self) -> np.ndarray:
        """The surface as a (height, width, 3) uint8 array (a copy)."""
        import pygame

        return np.ascontiguousarray(np.transpose(pygame.surfarray.pixels3d(self.surface), (1, 0, 2)))


class Window:
    """The on-screen window of render mode "human"."""

    def __init__(self, title: str, size: tuple[int, int], fps: int) -> None:
        import pygame

        pygame.display.init()
        pygame.display.set_caption(title)
        self.surface = pygame.display.set_mode(size)
        self.clock = pygame.time.Clock()
        self.fps = fps

    def show(self) -> None:
        """Put the painted surface on screen, at the game's pace."""
        import pygame

        pygame.event.pump()
        pygame.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        import pygame

        pygame.display.quit()
