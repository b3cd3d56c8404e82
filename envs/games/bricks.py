"""Bricks: a Breakout-style game; bounce the ball off the paddle to knock out a wall of bricks. Rules for a batch
of games."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.base import PIXEL_SIZE, BatchedGameEnv, game_zero
from envs.games.batch import EVERY, BatchedGames, GameVectorEnv, Index
from envs.games.canvas import Painter
from envs.games.physics import BALL_RADIUS, Ball, aimed_velocity
from envs.games.raster import Frames, rect_box, tile_box, tile_map

STAY, LEFT, RIGHT = 0, 1, 2
ACTION_LABELS = ("stay", "left", "right")
PADDLE_Y = 0.92          # the paddle's top edge
PADDLE_HALF = 0.09
PADDLE_HEIGHT = 0.025
PADDLE_SPEED = 0.035
SHIFTS = np.array([0.0, -PADDLE_SPEED, PADDLE_SPEED])  # the paddle's move for each action
BALL_SPEED = 0.022
MAX_ANGLE = math.radians(65)
WALL_TOP, BRICK_HEIGHT = 0.12, 0.045
PIP_SPACING = 0.05       # between the life pips' left edges
BACKGROUND, PIP, PADDLE, BALL = (16, 18, 30), (150, 160, 180), (90, 180, 240), (245, 245, 245)
ROW_COLORS = ((220, 80, 80), (230, 150, 60), (220, 210, 80), (90, 200, 110), (80, 160, 230), (160, 110, 220))
SCALE = float(PIXEL_SIZE)  # pixels per game unit at 64x64 (the court is 1.0 x 1.0)


def brick_rect(row, column, columns: int) -> tuple[Any, Any, float, float]:
    """The (x, y, width, height) in game units of the brick at (row, column); works on arrays of rows and columns."""
    width = 1.0 / columns
    return column * width, WALL_TOP + row * BRICK_HEIGHT, width, BRICK_HEIGHT


class BricksGames(BatchedGames):
    """The rules of Bricks for N games at once.

    Args:
        num_games: N.
        rows: Rows of bricks (at most 6).
        columns: Bricks per row (at most 16).
        lives: Balls a game may miss before it ends.
    """

    def __init__(self, num_games: int, rows: int = 4, columns: int = 8, lives: int = 3) -> None:
        if not (1 <= rows <= len(ROW_COLORS) and 1 <= columns <= 16 and lives >= 1):
            raise PlaygroundError(f"Bricks needs 1-{len(ROW_COLORS)} rows, 1-16 columns and 1+ lives; "
                                  f"got rows={rows}, columns={columns}, lives={lives}.")
        super().__init__(num_games)
        self.rows, self.columns, self.start_lives = rows, columns, lives
        self.vector_space = gym.spaces.Box(-1.0, 1.0, (6 + rows * columns,), np.float32)
        self.bricks = np.ones((num_games, rows, columns), dtype=bool)
        self.paddle_x = np.full(num_games, 0.5)
        self.x, self.y, self.vx, self.vy = (np.zeros(num_games) for _ in range(4))
        self.lives = np.zeros(num_games, np.int64)
        self.score = np.zeros(num_games, np.int64)
        # Where a ball's centre overlaps a brick's row or column, with the single game's arithmetic (x - r, x + w + r).
        left, top, width, height = brick_rect(np.arange(rows), np.arange(columns), columns)
        self._column_low, self._column_high = left - BALL_RADIUS, left + width + BALL_RADIUS
        self._row_low, self._row_high = top - BALL_RADIUS, top + height + BALL_RADIUS
        self._pips = min(lives, round(1.0 / PIP_SPACING))  # pips from the 20th on lie right of the frame
        self._pixel_box, self._box_colors = _static_boxes(rows, columns, self._pips)

    def reset_games(self, index: np.ndarray) -> None:
        self.bricks[index] = True
        self.paddle_x[index] = 0.5
        self.lives[index] = self.start_lives
        self.score[index] = 0
        self.launch(index)

    def launch(self, index: np.ndarray) -> None:
        """Put a new ball above the paddle of each game at `index`, flying up at an angle drawn from its stream."""
        along_normal, along_paddle = aimed_velocity(self.streams.uniform(index, -0.6, 0.6), BALL_SPEED, MAX_ANGLE)
        self.x[index], self.y[index] = self.paddle_x[index], PADDLE_Y - 0.1
        self.vx[index], self.vy[index] = along_paddle, -along_normal

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        paddle = self.paddle_x = np.clip(self.paddle_x + SHIFTS[actions], PADDLE_HALF, 1.0 - PADDLE_HALF)
        x, y, vx, vy = self.x + self.vx, self.y + self.vy, self.vx, self.vy
        side = (x - BALL_RADIUS < 0.0) | (x + BALL_RADIUS > 1.0)
        x = np.where(side, np.clip(x, BALL_RADIUS, 1.0 - BALL_RADIUS), x)
        vx = np.where(side, -vx, vx)
        ceiling = y - BALL_RADIUS < 0.0
        y = np.where(ceiling, BALL_RADIUS, y)
        vy = np.where(ceiling, np.abs(vy), vy)
        # The ball crossed the paddle's line this step (judged from where it was) while falling.
        crossing = np.flatnonzero((vy > 0) & (y + BALL_RADIUS >= PADDLE_Y) & (PADDLE_Y > y - vy + BALL_RADIUS))
        offset = (x[crossing] - paddle[crossing]) / (PADDLE_HALF + BALL_RADIUS)
        on_paddle = np.abs(offset) <= 1.0
        hit = crossing[on_paddle]
        along_normal, vx[hit] = aimed_velocity(offset[on_paddle], BALL_SPEED, MAX_ANGLE)
        vy[hit], y[hit] = -along_normal, PADDLE_Y - BALL_RADIUS
        reward = self._hit_bricks(x, y, vx, vy)  # a lost ball lies below the wall: it hits no brick
        self.x, self.y, self.vx, self.vy = x, y, vx, vy
        lost = np.flatnonzero(y - BALL_RADIUS > 1.0)
        self.lives[lost] -= 1
        self.launch(lost[self.lives[lost] > 0])
        terminated = (self.lives == 0) | ~self.bricks.reshape(self.num_games, -1).any(axis=1)
        return reward, terminated, np.zeros(self.num_games, bool)

    def _hit_bricks(self, x: np.ndarray, y: np.ndarray, vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
        """Knock out the first standing brick (row by row) each ball overlaps, bouncing the ball (in place) off the
        side it came through; the rewards."""
        reward = np.zeros(self.num_games, np.float32)
        in_row = (self._row_low < y[:, None]) & (y[:, None] < self._row_high)
        near = np.flatnonzero(in_row.any(axis=1))  # only balls inside the wall's band can hit a brick
        near_x = x[near, None]
        in_column = (self._column_low < near_x) & (near_x < self._column_high)
        hits = (self.bricks[near] & in_row[near, :, None] & in_column[:, None, :]).reshape(-1, self.rows * self.columns)
        first = hits.argmax(axis=1)
        scored = hits[np.arange(len(near)), first]
        games, (row, column) = near[scored], np.divmod(first[scored], self.columns)
        self.bricks[games, row, column] = False
        self.score[games] += 1
        reward[games] = 1.0
        came_from = x[games] - vx[games]
        through_side = ~((self._column_low[column] < came_from) & (came_from < self._column_high[column]))
        vx[games] = np.where(through_side, -vx[games], vx[games])
        vy[games] = np.where(through_side, vy[games], -vy[games])
        return reward

    def vector_observation(self, index: Index = EVERY) -> np.ndarray:
        """Paddle x, ball x, y, vx and vy (as fractions of the ball speed), ball x minus paddle x, standing bricks."""
        paddle, x = self.paddle_x[index], self.x[index]
        features = np.stack([paddle, x, self.y[index], self.vx[index] / BALL_SPEED, self.vy[index] / BALL_SPEED,
                             x - paddle], axis=1)
        observation = np.empty((len(paddle), self.vector_space.shape[0]), np.float32)
        observation[:, :6] = np.clip(features, -1.0, 1.0)
        observation[:, 6:] = self.bricks[index].reshape(len(paddle), self.rows * self.columns)
        return observation

    def pixels(self, index: Index = EVERY) -> np.ndarray:
        """The static boxes (bricks, pips) looked up through a pixel map; then the paddle and the ball on top."""
        games = np.arange(self.num_games)[index]
        cells = self.rows * self.columns
        shown = np.zeros((len(games), len(self._box_colors)), bool)  # the last box, the empty one, never shows
        shown[:, :cells] = self.bricks[games].reshape(len(games), cells)
        shown[:, cells:-1] = np.arange(self._pips) < self.lives[games, None]
        colors = np.where(shown[:, :, None], self._box_colors, np.array(BACKGROUND, np.uint8))
        band = self._pixel_box.shape[0]  # the rows of the frame that static boxes reach
        frames = Frames(np.full((PIXEL_SIZE, PIXEL_SIZE, 3), BACKGROUND, np.uint8), len(games))
        frames.frames[:, :band] = np.take(colors, self._pixel_box.ravel(), axis=1).reshape(len(games), band,
                                                                                           PIXEL_SIZE, 3)
        left, top, width, height = rect_box(self.paddle_x[games] - PADDLE_HALF, PADDLE_Y, 2 * PADDLE_HALF,
                                            PADDLE_HEIGHT, SCALE, SCALE)
        frames.box(PADDLE, left, np.broadcast_to(top, left.shape), int(width), int(height))
        left, top, width, height = rect_box(self.x[games] - BALL_RADIUS, self.y[games] - BALL_RADIUS,
                                            2 * BALL_RADIUS, 2 * BALL_RADIUS, SCALE, SCALE)
        frames.box(BALL, left, top, int(width), int(height))
        return frames.frames


def _static_boxes(rows: int, columns: int, pips: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel map of the boxes that never move, and their colors.

    Returns:
        (band rows, 64) map from each pixel of the frame's top band to its box, -1 for none; boxes are the bricks
        (row-major), the life pips, then one empty box. No two boxes share a pixel (checked for every allowed wall),
        so a hidden box shows the background.
        And the (boxes, 3) uint8 colors of the boxes.
    """
    row, column = np.divmod(np.arange(rows * columns), columns)
    x, y, width, height = brick_rect(row, column, columns)
    brick_boxes = tile_box(x + 0.004, y + 0.004, width - 0.008, height - 0.008, SCALE, SCALE)
    life = np.arange(pips)
    pip_boxes = rect_box(0.03 + life * PIP_SPACING, 0.03, 0.03, 0.03, SCALE, SCALE)
    boxes = [tuple(map(int, box)) for parts in (brick_boxes, pip_boxes) for box in zip(*np.broadcast_arrays(*parts))]
    pixel_box = tile_map(boxes, PIXEL_SIZE, PIXEL_SIZE)
    band = np.flatnonzero((pixel_box >= 0).any(axis=1)).max() + 1
    colors = [ROW_COLORS[r] for r in row] + [PIP] * len(life) + [BACKGROUND]
    return pixel_box[:band], np.array(colors, np.uint8)


def vector_env(num_envs: int, obs_mode: str = "vector", max_episode_steps: int = 2000, **rules: Any) -> GameVectorEnv:
    """`num_envs` Bricks games as one Gymnasium vector env (the `vector_entry_point` of the Bricks ids)."""
    return GameVectorEnv(BricksGames(num_envs, **rules), obs_mode, max_episode_steps)


class BricksEnv(BatchedGameEnv):
    """Knock out every brick with a ball bounced off the paddle; `lives` missed balls end the game.

    Actions (Discrete(3)): 0 stay, 1 left, 2 right. Rewards: +1 per brick. Where the ball hits the paddle
    aims it: the centre sends it straight up, the ends off at up to 65 degrees. Clearing the wall or losing
    the last ball ends the episode.

    Vector observation (6 + rows * columns values in [-1, 1]): paddle x, ball x, ball y, ball vx and vy
    (as fractions of the ball speed), ball x minus paddle x, then 1 for each brick still standing.

    Args:
        render_mode: None, "human" or "rgb_array".
        obs_mode: "vector" or "pixels".
        rows: Rows of bricks (at most 6).
        columns: Bricks per row.
        lives: Balls the agent may miss before the game ends.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}
    title = "Bricks"

    def __init__(self, render_mode: str | None = None, obs_mode: str = "vector", rows: int = 4, columns: int = 8,
                 lives: int = 3) -> None:
        super().__init__(BricksGames(1, rows, columns, lives), render_mode, obs_mode)
        self.rows, self.columns, self.start_lives = rows, columns, lives

    @property
    def ball(self) -> Ball:
        """A copy of the ball; assign a `Ball` to move it."""
        games = self.games
        return Ball(float(games.x[0]), float(games.y[0]), float(games.vx[0]), float(games.vy[0]))

    @ball.setter
    def ball(self, ball: Ball) -> None:
        games = self.games
        games.x[0], games.y[0], games.vx[0], games.vy[0] = ball.x, ball.y, ball.vx, ball.vy

    paddle_x = game_zero("paddle_x", float, "The paddle's centre.")
    lives = game_zero("lives", int, "Balls left.")

    @property
    def bricks(self) -> np.ndarray:
        """The (rows, columns) standing bricks: a view, so writing to it changes the game."""
        return self.games.bricks[0]

    @property
    def score(self) -> int:
        """Bricks knocked out this episode."""
        return int(self.games.score[0])

    def brick_rect(self, row: int, column: int) -> tuple[float, float, float, float]:
        """The brick's (x, y, width, height) in game units."""
        return brick_rect(row, column, self.columns)

    def _info(self) -> dict[str, Any]:
        return {"score": self.score, "lives": self.lives}

    def draw(self, painter: Painter) -> None:
        painter.fill(BACKGROUND)
        for row, column in zip(*np.nonzero(self.bricks)):
            x, y, width, height = self.brick_rect(row, column)
            painter.tile(ROW_COLORS[row], x + 0.004, y + 0.004, width - 0.008, height - 0.008)
        for life in range(self.lives):  # one pip per ball left: no fonts, and readable at 64x64 too
            painter.rect(PIP, 0.03 + life * PIP_SPACING, 0.03, 0.03, 0.03)
        painter.rect(PADDLE, self.paddle_x - PADDLE_HALF, PADDLE_Y, 2 * PADDLE_HALF, PADDLE_HEIGHT)
        ball = self.ball
        painter.rect(BALL, ball.x - ball.radius, ball.y - ball.radius, 2 * ball.radius, 2 * ball.radius)
