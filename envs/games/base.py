"""The common shell of our pygame games: observation modes, render modes and the one drawing routine."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.canvas import Canvas, Painter, Window

OBS_MODES = ("vector", "pixels")
PIXEL_SIZE = 64


class PygameGame(gym.Env):
    """A Gymnasium env whose state is drawn by one routine, `draw`, at any resolution.

    The same `draw` paints the "human" window, the "rgb_array" frames and, at 64x64, the pixel observations.
    Subclasses set `units`, `window_size`, `metadata["render_fps"]`, `vector_space`, and implement `draw` and
    `vector_observation`.

    Args:
        render_mode: None, "human" or "rgb_array".
        obs_mode: "vector" for compact features, "pixels" for a (64, 64, 3) uint8 image of the game.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 30}
    title = "Agent Playground"
    units: tuple[float, float] = (1.0, 1.0)
    window_size: tuple[int, int] = (480, 480)
    vector_space: gym.spaces.Box

    def __init__(self, render_mode: str | None = None, obs_mode: str = "vector") -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise PlaygroundError(f"render_mode {render_mode!r} is unknown: use None, 'human' or 'rgb_array'.")
        if obs_mode not in OBS_MODES:
            raise PlaygroundError(f"obs_mode {obs_mode!r} is unknown: use 'vector' or 'pixels'.")
        self.render_mode = render_mode
        self.obs_mode = obs_mode
        if obs_mode == "pixels":
            self.observation_space = gym.spaces.Box(0, 255, (PIXEL_SIZE, PIXEL_SIZE, 3), np.uint8)
        else:
            self.observation_space = self.vector_space
        self._canvases: dict[tuple[int, int], Canvas] = {}
        self._window: Window | None = None

    def draw(self, painter: Painter) -> None:
        """Paint the current state; the only drawing routine of the game."""
        raise NotImplementedError

    def vector_observation(self) -> np.ndarray:
        """The compact feature vector of the current state."""
        raise NotImplementedError

    def observe(self, obs_mode: str | None = None) -> np.ndarray:
        """The observation of the current state in `obs_mode` (the env's own by default)."""
        if (obs_mode or self.obs_mode) == "pixels":
            return self.frame((PIXEL_SIZE, PIXEL_SIZE))
        return self.vector_observation()

    def frame(self, size: tuple[int, int]) -> np.ndarray:
        """The current state drawn at `size` (width, height), as a (height, width, 3) uint8 array."""
        canvas = self._canvases.get(size)
        if canvas is None:
            canvas = self._canvases[size] = Canvas(*size)
        self.draw(Painter(canvas.surface, self.units))
        return canvas.pixels()

    def render(self) -> np.ndarray | None:
        """An RGB frame in "rgb_array" mode; in "human" mode, draw the window and return None."""
        if self.render_mode == "rgb_array":
            return self.frame(self.window_size)
        if self.render_mode == "human":
            if self._window is None:
                self._window = Window(self.title, self.window_size, int(self.metadata["render_fps"]))
            self.draw(Painter(self._window.surface, self.units))
            self._window.show()
        return None

    def _after_step(self) -> None:
        if self.render_mode == "human":
            self.render()

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
        self._canvases.clear()
