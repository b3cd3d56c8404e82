"""Drawing in game units: one routine paints a game at any resolution, for windows, frames and pixel observations.

pygame is imported here, inside the functions, so that `import envs` stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.games.raster import Color, rect_box, tile_box


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

        Rounded to whole pixels by `raster.rect_box`, the rule the batch renderer shares.
        """
        left, top, pixel_width, pixel_height = rect_box(x, y, width, height, self._sx, self._sy)
        self._paint(color, int(left), int(top), int(pixel_width), int(pixel_height))

    def tile(self, color: Color, x: float, y: float, width: float, height: float) -> None:
        """Paint a tile of a grid, rounded by `raster.tile_box`: neighbouring tiles meet without gaps."""
        left, top, tile_width, tile_height = tile_box(x, y, width, height, self._sx, self._sy)
        self._paint(color, int(left), int(top), int(tile_width), int(tile_height))

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
