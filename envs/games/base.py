"""The common shell of our pygame games: observation modes, render modes and the one drawing routine; and the
single game of a batched game (`BatchedGameEnv`)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.batch import BatchedGames
from envs.games.canvas import Canvas, Painter, Window
from envs.games.raster import PIXEL_SIZE

OBS_MODES = ("vector", "pixels")
ONLY = np.zeros(1, dtype=np.int64)  # the index of the one game in a single env's batch


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


def game_zero(name: str, kind: type, doc: str = "") -> property:
    """A property of a single game that reads and writes its batch's array `name` at game 0, as a `kind`."""

    def write(env: BatchedGameEnv, value: Any) -> None:
        getattr(env.games, name)[0] = value

    return property(lambda env: kind(getattr(env.games, name)[0]), write, doc=doc)


class BatchedGameEnv(PygameGame):
    """One game of a batched game (envs/games/batch.py): a batch of one, so one game and many share the rules.

    Pixel observations come from the batch's NumPy renderer, which paints the same pixels as `draw` at 64x64
    (tested). Subclasses create `games` before calling this constructor and implement `draw` and `_info`.

    Args:
        games: The batch of one game that holds the state and the rules.
        render_mode: None, "human" or "rgb_array".
        obs_mode: "vector" or "pixels".
    """

    def __init__(self, games: BatchedGames, render_mode: str | None = None, obs_mode: str = "vector") -> None:
        self.games = games
        self.vector_space = games.vector_space
        super().__init__(render_mode, obs_mode)
        self.action_space = gym.spaces.Discrete(games.num_actions)
        self._streams_started = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None or not self._streams_started:
            # A batch seeded s plays game i from seed s + i: the single game seeded s is game 0 of such a batch.
            start = seed if seed is not None else int(self.np_random.integers(2**63))
            self.games.streams.seed(ONLY, np.array([start]))
            self._streams_started = True
        self.games.reset_games(ONLY)
        self._after_step()
        return self.observe(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r} for {self.action_space}")
        reward, terminated, truncated = self._step_games(np.array([action], dtype=np.int64))
        self._after_step()
        return self.observe(), float(reward[0]), bool(terminated[0]), bool(truncated[0]), self._info()

    def _step_games(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step the batch of one; a game with an opponent adds the opponent's move here."""
        return self.games.step(actions)

    def _info(self) -> dict[str, Any]:
        raise NotImplementedError

    def vector_observation(self) -> np.ndarray:
        return self.games.vector_observation(ONLY)[0]

    def observe(self, obs_mode: str | None = None) -> np.ndarray:
        return self.games.observe(obs_mode or self.obs_mode, ONLY)[0]
