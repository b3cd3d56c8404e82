"""Snake on a small grid: eat food to grow, do not hit the walls or yourself. Rules for a batch of games."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.base import PIXEL_SIZE, BatchedGameEnv
from envs.games.batch import EVERY, BatchedGames, GameVectorEnv, Index
from envs.games.canvas import Painter
from envs.games.raster import tile_box, tile_map

# Headings in clockwise order, as (dx, dy) with y growing downwards: up, right, down, left.
HEADINGS = ((0, -1), (1, 0), (0, 1), (-1, 0))
HEADING_DX, HEADING_DY = np.array(HEADINGS).T
STRAIGHT, TURN_LEFT, TURN_RIGHT = 0, 1, 2
ACTION_LABELS = ("straight", "turn left", "turn right")
TURNS = np.array([0, -1, 1])  # the heading change of each action
START_LENGTH = 3
MAX_SIZE = 32
BACKGROUND, FOOD, BODY, HEAD = (20, 24, 32), (230, 60, 60), (70, 190, 90), (250, 220, 80)
PALETTE = np.array([BACKGROUND, FOOD, BODY, HEAD], np.uint8)  # indexed by the cell codes of `pixels`

Cell = tuple[int, int]


class SnakeGames(BatchedGames):
    """The rules of Snake for N games at once.

    The body lives in a grid of expiry times: a cell is occupied while its value exceeds the game's clock.
    Each step the head's cell gets `clock + length`, so the tail frees itself without moving anything;
    eating adds one step to every body cell (the tail stays put and the snake grows).

    Args:
        num_games: N.
        size: The side of the square grid, in cells.
        hunger_limit: Steps without food before an episode is truncated; None for size * size.
        board: Add the whole board, as the snake sees it, to the feature vector (see `vector_observation`).
    """

    def __init__(self, num_games: int, size: int = 10, hunger_limit: int | None = None, board: bool = False) -> None:
        if not 5 <= size <= MAX_SIZE:
            raise PlaygroundError(f"Snake needs a grid of 5x5 to {MAX_SIZE}x{MAX_SIZE} cells, not {size}x{size}.")
        super().__init__(num_games)
        self.board = board
        window = 2 * size - 1  # the board around the head: every cell stays in view wherever the head is
        self.vector_space = gym.spaces.Box(0.0, 1.0, (11 + board * 2 * window * window,), np.float32)
        cells = np.arange(window * window).reshape(window, window)
        self._turn_up = np.stack([np.rot90(cells, turns).ravel() for turns in range(4)])  # per heading: it points up
        self.size = size
        self.hunger_limit = hunger_limit or size * size
        self.expiry = np.zeros((num_games, size, size), dtype=np.int64)
        self.clock = np.zeros(num_games, dtype=np.int64)
        self.head_x, self.head_y = np.zeros(num_games, np.int64), np.zeros(num_games, np.int64)
        self.heading = np.zeros(num_games, np.int64)
        self.length = np.zeros(num_games, np.int64)
        self.food_x, self.food_y = np.zeros(num_games, np.int64), np.zeros(num_games, np.int64)
        self.has_food = np.zeros(num_games, bool)
        self.hunger = np.zeros(num_games, np.int64)
        self.score = np.zeros(num_games, np.int64)
        self._pixel_cell = _pixel_cells(size)

    def reset_games(self, index: np.ndarray) -> None:
        self.heading[index] = self.streams.integers(index, 4)
        self.clock[index] = 0
        self.expiry[index] = 0
        centre = self.size // 2
        self.head_x[index], self.head_y[index] = centre, centre
        dx, dy = HEADING_DX[self.heading[index]], HEADING_DY[self.heading[index]]
        for behind in range(START_LENGTH):  # head first: expiry 3, 2, 1 at clock 0
            self.expiry[index, centre - behind * dy, centre - behind * dx] = START_LENGTH - behind
        self.length[index] = START_LENGTH
        self.hunger[index] = 0
        self.score[index] = 0
        self.place_food(index)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.heading = (self.heading + TURNS[actions]) % 4
        x, y = self.head_x + HEADING_DX[self.heading], self.head_y + HEADING_DY[self.heading]
        clock = self.clock + 1
        deadly = self._occupied_at(x, y, clock)  # the tail tip frees its cell this step, so it is safe
        alive = np.flatnonzero(~deadly)
        x, y, clock = x[alive], y[alive], clock[alive]
        self.clock[alive] = clock
        eats = self.has_food[alive] & (x == self.food_x[alive]) & (y == self.food_y[alive])
        eaten = alive[eats]
        grid = self.expiry[eaten]
        self.expiry[eaten] = grid + (grid >= clock[eats, None, None])  # the tail stays: the snake grows
        self.length[eaten] += 1
        self.expiry[alive, y, x] = clock + self.length[alive]
        self.head_x[alive], self.head_y[alive] = x, y
        self.hunger[alive] += 1
        self.hunger[eaten] = 0
        self.score[eaten] += 1
        self.place_food(eaten)
        reward = np.zeros(self.num_games, np.float32)
        reward[deadly] = -1.0
        reward[eaten] = 1.0
        terminated = deadly.copy()
        terminated[eaten] = ~self.has_food[eaten]  # the grid is full: the game is won
        truncated = np.zeros(self.num_games, bool)
        truncated[alive] = self.hunger[alive] >= self.hunger_limit
        return reward, terminated, truncated

    def place_food(self, index: np.ndarray) -> None:
        """Put the food of each game at `index` on a free cell drawn from its stream (none when the grid is full)."""
        free = (self.expiry[index] <= self.clock[index, None, None]).reshape(len(index), self.size * self.size)
        count = free.sum(axis=1)
        pick = self.streams.integers(index, np.maximum(count, 1))
        cell = np.argmax(np.cumsum(free, axis=1) > pick[:, None], axis=1)  # the pick-th free cell, row by row
        self.food_y[index], self.food_x[index] = np.divmod(cell, self.size)
        self.has_food[index] = count > 0

    def _occupied_at(self, x: np.ndarray, y: np.ndarray, clock: np.ndarray, index: Index = EVERY) -> np.ndarray:
        """Whether (x, y) is off the grid or a body cell that is still occupied at `clock`."""
        inside = (x >= 0) & (x < self.size) & (y >= 0) & (y < self.size)
        games = np.arange(self.num_games)[index]
        expiry = self.expiry[games, np.clip(y, 0, self.size - 1), np.clip(x, 0, self.size - 1)]
        return ~inside | (expiry > clock)

    def vector_observation(self, index: Index = EVERY) -> np.ndarray:
        """Danger straight / left / right, the heading one-hot, the food ahead / behind / left / right; with
        `board`, then the board around the head (`board_view`)."""
        heading, head_x, head_y = self.heading[index], self.head_x[index], self.head_y[index]
        features = np.zeros((len(heading), self.vector_space.shape[0]), np.float32)
        for column, turn in enumerate((0, -1, 1)):  # danger one step away: the tail tip moves on, so it is safe
            direction = (heading + turn) % 4
            x, y = head_x + HEADING_DX[direction], head_y + HEADING_DY[direction]
            features[:, column] = self._occupied_at(x, y, self.clock[index] + 1, index)
        features[np.arange(len(heading)), 3 + heading] = 1.0
        dx, dy = self.food_x[index] - head_x, self.food_y[index] - head_y
        forward_x, forward_y = HEADING_DX[heading], HEADING_DY[heading]
        forward, rightward = dx * forward_x + dy * forward_y, dx * -forward_y + dy * forward_x
        has_food = self.has_food[index]
        food_side = np.stack([forward > 0, forward < 0, rightward < 0, rightward > 0], axis=1)
        features[:, 7:11] = food_side & has_food[:, None]
        if self.board:
            features[:, 11:] = self.board_view(np.arange(self.num_games)[index])
        return features

    def board_view(self, games: np.ndarray) -> np.ndarray:
        """The board as each snake sees it: centred on its head and turned so that it heads up.

        Two (2 * size - 1)^2 layers, flattened: obstacles (1 off the board; a body cell the share of the snake's
        length it stays occupied for, 1 at the head down to 1 / length at the tail tip) and the food (1).
        Seen from the head, the same situation looks the same wherever it happens on the board.
        """
        size, window, count, border = self.size, 2 * self.size - 1, len(games), self.size - 1
        steps_left = self.expiry[games] - self.clock[games, None, None]
        obstacles = np.ones((count, size + 2 * border, size + 2 * border), np.float32)
        inner = (slice(None), slice(border, border + size), slice(border, border + size))
        obstacles[inner] = np.where(steps_left > 0, steps_left / self.length[games, None, None], 0.0)
        food = np.zeros_like(obstacles)
        fed = np.flatnonzero(self.has_food[games])
        food[fed, self.food_y[games[fed]] + border, self.food_x[games[fed]] + border] = 1.0
        rows = self.head_y[games, None, None] + np.arange(window)[:, None]
        columns = self.head_x[games, None, None] + np.arange(window)
        frame = np.arange(count)[:, None, None]
        turn_up = self._turn_up[self.heading[games]]
        return np.concatenate([np.take_along_axis(layer[frame, rows, columns].reshape(count, -1), turn_up, axis=1)
                               for layer in (obstacles, food)], axis=1)

    def pixels(self, index: Index = EVERY) -> np.ndarray:
        """Each cell's color looked up through a pixel-to-cell map built with the painter's rounding."""
        games = np.arange(self.num_games)[index]
        cells = np.where(self.expiry[games] > self.clock[games, None, None], 2, 0).reshape(len(games), -1)
        cells[self.has_food[games], (self.food_y * self.size + self.food_x)[games][self.has_food[games]]] = 1
        cells[np.arange(len(games)), (self.head_y * self.size + self.head_x)[games]] = 3
        colors = PALETTE[cells]  # (games, cells, 3), then gathered per pixel: cheaper than per-pixel lookups
        return np.take(colors, self._pixel_cell, axis=1).reshape(len(games), PIXEL_SIZE, PIXEL_SIZE, 3)

    def body(self, game: int) -> list[Cell]:
        """Game `game`'s body cells, head first."""
        alive = self.expiry[game] > self.clock[game]
        ys, xs = np.nonzero(alive)
        order = np.argsort(-self.expiry[game][alive], kind="stable")
        return [(int(xs[i]), int(ys[i])) for i in order]

    def set_body(self, game: int, body: list[Cell], heading: int, food: Cell | None) -> None:
        """Put game `game` in a given position (for tests and puzzles): body cells head first, heading, food."""
        self.expiry[game] = 0
        for behind, (x, y) in enumerate(body):
            self.expiry[game, y, x] = self.clock[game] + len(body) - behind
        self.head_x[game], self.head_y[game] = body[0]
        self.heading[game], self.length[game] = heading, len(body)
        self.has_food[game] = food is not None
        self.food_x[game], self.food_y[game] = food if food is not None else (0, 0)


def vector_env(num_envs: int, obs_mode: str = "vector", max_episode_steps: int = 1000, **rules: Any) -> GameVectorEnv:
    """`num_envs` Snake games as one Gymnasium vector env (the `vector_entry_point` of the Snake ids)."""
    return GameVectorEnv(SnakeGames(num_envs, **rules), obs_mode, max_episode_steps)


def _pixel_cells(size: int) -> np.ndarray:
    """For each pixel of the 64x64 frame (flat, row by row), the grid cell `Painter.tile` paints there."""
    scale = PIXEL_SIZE / size
    boxes = [tuple(int(v) for v in tile_box(x, y, 1, 1, scale, scale)) for y in range(size) for x in range(size)]
    return tile_map(boxes, PIXEL_SIZE, PIXEL_SIZE).ravel()


class SnakeEnv(BatchedGameEnv):
    """Snake with relative turns.

    Actions (Discrete(3)): 0 go straight, 1 turn left, 2 turn right (relative to the heading).
    Rewards: +1 for each food eaten (the snake grows by one cell), -1 for hitting a wall or the body,
    which ends the episode. Going `hunger_limit` steps without food truncates the episode, so that a
    snake circling forever does not waste the training budget. Filling the grid wins and ends it.

    Vector observation (11 values in [0, 1]): danger one step straight / left / right, the heading
    one-hot (up, right, down, left), and whether the food lies ahead / behind / to the left / to the right
    of the head in the snake's own frame; with `board`, the whole board follows.

    Args:
        render_mode: None, "human" or "rgb_array".
        obs_mode: "vector" or "pixels".
        size: The side of the square grid, in cells (5 to 32).
        hunger_limit: Steps without food before the episode is truncated; None for size * size.
        board: Also observe the whole board around the head, turned to the heading (Snake-v1; see
            `SnakeGames.board_view`): 11 + 2 * (2 * size - 1)^2 values.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}
    title = "Snake"

    def __init__(self, render_mode: str | None = None, obs_mode: str = "vector", size: int = 10,
                 hunger_limit: int | None = None, board: bool = False) -> None:
        games = SnakeGames(1, size, hunger_limit, board)
        self.units = (float(size), float(size))
        self.window_size = (40 * size, 40 * size)
        super().__init__(games, render_mode, obs_mode)
        self.size = size
        self.hunger_limit = games.hunger_limit

    @property
    def body(self) -> list[Cell]:
        """The body cells, head first."""
        return self.games.body(0)

    @property
    def food(self) -> Cell | None:
        """The food's cell, None when the grid is full."""
        return (int(self.games.food_x[0]), int(self.games.food_y[0])) if self.games.has_food[0] else None

    @property
    def heading(self) -> int:
        """0 up, 1 right, 2 down, 3 left."""
        return int(self.games.heading[0])

    def place(self, body: list[Cell], heading: int, food: Cell | None) -> None:
        """Put the snake in a given position: body cells head first, heading, food (tests and puzzles)."""
        self.games.set_body(0, body, heading, food)

    def _info(self) -> dict[str, Any]:
        return {"score": int(self.games.score[0]), "length": int(self.games.length[0])}

    def draw(self, painter: Painter) -> None:
        painter.fill(BACKGROUND)
        food = self.food
        if food is not None:
            painter.tile(FOOD, food[0], food[1], 1, 1)
        for index, (x, y) in enumerate(self.body):
            painter.tile(HEAD if index == 0 else BODY, x, y, 1, 1)
