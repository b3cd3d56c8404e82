"""The agent's-view panel, drawn between the game frame and the HUD for envs with image observations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pygame

from viewer.agent_view import observation_image, plane_tiles, view_kind
from viewer.heatmap import cell_overlay, legend, overlay
from viewer.hud import BACKGROUND, MUTED, TEXT

VIEW_PANEL_WIDTH = 260
MAIN_HEIGHT = 236  # the most height the main picture may take
TILE_GAP, MAX_TILE = 3, 52
TITLES = {"rgb": "colour image", "grid": "object planes", "stack": "newest frame"}
TILE_TITLES = {"grid": "planes, one per object kind", "stack": "frames, oldest to newest"}


def to_surface(image: np.ndarray) -> pygame.Surface:
    """A pygame surface of an `(H, W, 3)` uint8 image."""
    return pygame.surfarray.make_surface(np.ascontiguousarray(image.swapaxes(0, 1)))


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest (width, height) with the aspect of `size` (width, height) that fits in `box`."""
    scale = min(box[0] / size[0], box[1] / size[1])
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


class ViewPanel:
    """Shows one image observation, scaled up with nearest-neighbour, with its planes and a saliency overlay.

    Args:
        space: The env's observation space; `ViewPanel.wanted(space)` says whether it holds images.
    """

    def __init__(self, space: gym.spaces.Box) -> None:
        kind = view_kind(space)
        if kind is None:
            raise ValueError(f"no agent's view for {space}: it holds no images")
        self.space, self.kind = space, kind
        pygame.font.init()
        self.font = pygame.font.Font(None, 20)
        self.small = pygame.font.Font(None, 17)

    @staticmethod
    def wanted(space: gym.Space) -> bool:
        """Whether a space holds images, so that the panel has something to show."""
        return view_kind(space) is not None

    def draw(self, surface: pygame.Surface, rect: pygame.Rect, observation: np.ndarray | None,
             saliency: np.ndarray | None, saliency_status: str) -> None:
        """Render the panel into `rect`.

        Args:
            surface: Where to draw.
            rect: The panel's rectangle.
            observation: The observation the agent decided on (None before the first one).
            saliency: The decision's saliency map, to lay over the picture, or None.
            saliency_status: A short line on the saliency ("g shows saliency", "not available", ...).
        """
        surface.fill(BACKGROUND, rect)
        x, y = rect.x + 12, rect.y + 8
        shape = "x".join(str(n) for n in self.space.shape)
        y = self._text(surface, f"agent's view  {shape}", x, y, TEXT, self.font)
        if observation is None:
            return
        y = self._text(surface, TITLES[self.kind], x, y, MUTED, self.small)
        image = observation_image(observation, self.space, self.kind)
        if saliency is not None and saliency.shape == image.shape[:2]:
            image = self._with_saliency(image, saliency)
        y = self._picture(surface, image, pygame.Rect(x, y, rect.width - 24, MAIN_HEIGHT)) + 6
        y = self._tiles(surface, plane_tiles(observation, self.space, self.kind), x, y, rect.width - 24)
        y = self._text(surface, saliency_status, x, y + 2, MUTED, self.small)
        if saliency is not None:
            surface.blit(to_surface(legend(rect.width - 24, 6)), (x, y + 1))
            self._text(surface, "0   sensitivity of the chosen action   1", x, y + 9, MUTED, self.small)

    def _with_saliency(self, image: np.ndarray, saliency: np.ndarray) -> np.ndarray:
        """The picture with the saliency map on it: per cell for coarse grids, blended for images."""
        if self.kind == "grid" and max(image.shape[:2]) <= 32:
            return cell_overlay(image, saliency, max(2, MAIN_HEIGHT // max(image.shape[:2])))
        return overlay(image, saliency)

    def _picture(self, surface: pygame.Surface, image: np.ndarray, box: pygame.Rect) -> int:
        """Blit `image` scaled (nearest-neighbour) to fit `box`, centred across; returns the y below it."""
        width, height = fit((image.shape[1], image.shape[0]), box.size)
        picture = pygame.transform.scale(to_surface(image), (width, height))
        surface.blit(picture, (box.x + (box.width - width) // 2, box.y))
        return box.y + height

    def _tiles(self, surface: pygame.Surface, tiles: list[np.ndarray], x: int, y: int, width: int) -> int:
        """One small picture per plane, in a row under a caption; returns the y below them."""
        if not tiles:
            return y
        y = self._text(surface, TILE_TITLES[self.kind], x, y, MUTED, self.small)
        side = min(MAX_TILE, (width - TILE_GAP * (len(tiles) - 1)) // len(tiles))
        bottom = y
        for index, tile in enumerate(tiles):
            size = fit((tile.shape[1], tile.shape[0]), (side, side))
            surface.blit(pygame.transform.scale(to_surface(tile), size), (x + index * (side + TILE_GAP), y))
            pygame.draw.rect(surface, (60, 64, 76), (x + index * (side + TILE_GAP) - 1, y - 1, size[0] + 2,
                                                     size[1] + 2), 1)
            bottom = max(bottom, y + size[1])
        return bottom + 6

    @staticmethod
    def _text(surface: pygame.Surface, text: str, x: int, y: int, colour: tuple, font: pygame.font.Font) -> int:
        surface.blit(font.render(text, True, colour), (x, y))
        return y + font.get_linesize() + 2
