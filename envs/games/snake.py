"""Snake on a small grid: eat food to grow, do not hit the walls or yourself."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.base import PygameGame
from envs.games.canvas import Painter

# Headings in clockwise order, as (dx, dy) with y growing downwards: up, right, down, left.
HEADINGS = ((0, -1), (1, 0), (0, 1), (-1, 0))
STRAIGHT, TURN_LEFT, TURN_RIGHT = 0, 1, 2
ACTION_LABELS = ("straight", "turn left", "turn right")

Cell = tuple[int, int]


class SnakeEnv(PygameGame):
    """Snake with relative turns.

    Actions (Discrete(3)): 0 go straight, 1 turn left, 2 turn right (relative to the heading).
    Rewards: +1 for each food eaten (the snake grows by one cell), -1 for hitting a wall or the body,
    which ends the episode. Going `hunger_limit` steps without food truncates the episode, so that a
    snake circling forever does not waste the training budget.

    Vector observation (11 values in [0, 1]): danger one step straight / left / right, the heading
    one-hot (up, right, down, left), and whether the food lies ahead / behind / to the left / to the right
    of the head in the snake's own frame.

    Args:
        render_mode: None, "human" or "rgb_array".
        obs_mode: "vector" or "pixels".
        size: The side of the square grid, in cells.
        hunger_limit: Steps without food before the episode is truncated; None for size * size.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}
    title = "Snake"
    vector_space = gym.spaces.Box(0.0, 1.0, (11,), np.float32)

    def __init__(self, render_mode: str | None = None, obs_mode: str = "vector", size: int = 10,
                 hunger_limit: int | None = None) -> None:
        if size < 5:
            raise PlaygroundError(f"Snake needs a grid of at least 5x5 cells, not {size}x{size}.")
        self.units = (float(size), float(size))
        self.window_size = (40 * size, 40 * size)
        super().__init__(render_mode, obs_mode)
        self.size = size
        self.hunger_limit = hunger_limit or size * size
        self.action_space = gym.spaces.Discrete(3)
        self.body: list[Cell] = []
        self.heading = 0
        self.food: Cell | None = None
        self.hunger = 0
        self.score = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.heading = int(self.np_random.integers(4))
        dx, dy = HEADINGS[self.heading]
        head = (self.size // 2, self.size // 2)
        self.body = [(head[0] - i * dx, head[1] - i * dy) for i in range(3)]
        self.hunger = 0
        self.score = 0
        self.place_food()
        self._after_step()
        return self.observe(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r} for {self.action_space}")
        if action == TURN_LEFT:
            self.heading = (self.heading - 1) % 4
        elif action == TURN_RIGHT:
            self.heading = (self.heading + 1) % 4
        head = self._ahead(self.body[0], self.heading)
        reward, terminated, truncated = 0.0, False, False
        if self._deadly(head):
            reward, terminated = -1.0, True
        else:
            self.body.insert(0, head)
            self.hunger += 1
            if head == self.food:
                reward, self.hunger = 1.0, 0
                self.score += 1
                self.place_food()
                terminated = self.food is None  # the grid is full: the game is won
            else:
                self.body.pop()
                truncated = self.hunger >= self.hunger_limit
        self._after_step()
        return self.observe(), reward, terminated, truncated, self._info()

    def place_food(self) -> None:
        """Put the food on a free cell drawn from `np_random` (None when the grid is full)."""
        occupied = set(self.body)
        free = [(x, y) for y in range(self.size) for x in range(self.size) if (x, y) not in occupied]
        self.food = free[int(self.np_random.integers(len(free)))] if free else None

    def _ahead(self, cell: Cell, heading: int) -> Cell:
        dx, dy = HEADINGS[heading]
        return cell[0] + dx, cell[1] + dy

    def _deadly(self, cell: Cell) -> bool:
        """Whether moving the head onto `cell` ends the game; the tail tip moves away, so it is safe."""
        inside = 0 <= cell[0] < self.size and 0 <= cell[1] < self.size
        return not inside or cell in self.body[:-1]

    def vector_observation(self) -> np.ndarray:
        head = self.body[0]
        danger = [self._deadly(self._ahead(head, (self.heading + turn) % 4)) for turn in (0, -1, 1)]
        heading = np.eye(4)[self.heading]
        food = [0.0] * 4
        if self.food is not None:
            dx, dy = self.food[0] - head[0], self.food[1] - head[1]
            fx, fy = HEADINGS[self.heading]
            forward, rightward = dx * fx + dy * fy, dx * -fy + dy * fx
            food = [forward > 0, forward < 0, rightward < 0, rightward > 0]
        return np.array([*danger, *heading, *food], dtype=np.float32)

    def _info(self) -> dict[str, Any]:
        return {"score": self.score, "length": len(self.body)}

    def draw(self, painter: Painter) -> None:
        painter.fill((20, 24, 32))
        if self.food is not None:
            painter.tile((230, 60, 60), self.food[0], self.food[1], 1, 1)
        for index, (x, y) in enumerate(self.body):
            painter.tile((250, 220, 80) if index == 0 else (70, 190, 90), x, y, 1, 1)
