"""Bricks: a Breakout-style game; bounce the ball off the paddle to knock out a wall of bricks."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.base import PygameGame
from envs.games.canvas import Painter
from envs.games.physics import Ball, aimed_velocity

STAY, LEFT, RIGHT = 0, 1, 2
ACTION_LABELS = ("stay", "left", "right")
PADDLE_Y = 0.92          # the paddle's top edge
PADDLE_HALF = 0.09
PADDLE_HEIGHT = 0.025
PADDLE_SPEED = 0.035
BALL_SPEED = 0.022
MAX_ANGLE = math.radians(65)
WALL_TOP, BRICK_HEIGHT = 0.12, 0.045
ROW_COLORS = ((220, 80, 80), (230, 150, 60), (220, 210, 80), (90, 200, 110), (80, 160, 230), (160, 110, 220))


class BricksEnv(PygameGame):
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
        if not (1 <= rows <= len(ROW_COLORS) and 1 <= columns <= 16 and lives >= 1):
            raise PlaygroundError(f"Bricks needs 1-{len(ROW_COLORS)} rows, 1-16 columns and 1+ lives; "
                                  f"got rows={rows}, columns={columns}, lives={lives}.")
        self.vector_space = gym.spaces.Box(-1.0, 1.0, (6 + rows * columns,), np.float32)
        super().__init__(render_mode, obs_mode)
        self.rows, self.columns, self.start_lives = rows, columns, lives
        self.action_space = gym.spaces.Discrete(3)
        self.bricks = np.ones((rows, columns), dtype=bool)
        self.paddle_x = 0.5
        self.ball = Ball(0.5, 0.5, 0.0, 0.0)
        self.lives = lives
        self.score = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.bricks[:] = True
        self.paddle_x = 0.5
        self.lives = self.start_lives
        self.score = 0
        self.launch()
        self._after_step()
        return self.observe(), self._info()

    def launch(self) -> None:
        """Put a new ball above the paddle, flying up at a random angle drawn from `np_random`."""
        vy, vx = aimed_velocity(float(self.np_random.uniform(-0.6, 0.6)), BALL_SPEED, MAX_ANGLE)
        self.ball = Ball(self.paddle_x, PADDLE_Y - 0.1, vx, -vy)

    def brick_rect(self, row: int, column: int) -> tuple[float, float, float, float]:
        """The brick's (x, y, width, height) in game units."""
        width = 1.0 / self.columns
        return column * width, WALL_TOP + row * BRICK_HEIGHT, width, BRICK_HEIGHT

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r} for {self.action_space}")
        shift = {STAY: 0.0, LEFT: -PADDLE_SPEED, RIGHT: PADDLE_SPEED}[int(action)]
        self.paddle_x = min(1.0 - PADDLE_HALF, max(PADDLE_HALF, self.paddle_x + shift))
        reward = self._move_ball()
        terminated = self.lives == 0 or not self.bricks.any()
        self._after_step()
        return self.observe(), reward, terminated, False, self._info()

    def _move_ball(self) -> float:
        """Advance the ball one step, bouncing off walls, paddle and bricks; the bricks knocked out."""
        ball = self.ball
        ball.x += ball.vx
        ball.y += ball.vy
        if ball.x - ball.radius < 0.0 or ball.x + ball.radius > 1.0:
            ball.x = min(1.0 - ball.radius, max(ball.radius, ball.x))
            ball.vx = -ball.vx
        if ball.y - ball.radius < 0.0:
            ball.y, ball.vy = ball.radius, abs(ball.vy)
        if ball.vy > 0 and ball.y + ball.radius >= PADDLE_Y > ball.y - ball.vy + ball.radius:
            self._bounce_off_paddle()
        if ball.y - ball.radius > 1.0:
            self.lives -= 1
            if self.lives > 0:
                self.launch()
            return 0.0
        return float(self._hit_brick())

    def _bounce_off_paddle(self) -> None:
        ball = self.ball
        offset = (ball.x - self.paddle_x) / (PADDLE_HALF + ball.radius)
        if abs(offset) <= 1.0:
            along_normal, along_paddle = aimed_velocity(offset, BALL_SPEED, MAX_ANGLE)
            ball.vx, ball.vy = along_paddle, -along_normal
            ball.y = PADDLE_Y - ball.radius

    def _hit_brick(self) -> int:
        """Knock out the first standing brick the ball overlaps, bouncing off the side it came through."""
        ball = self.ball
        for row, column in zip(*np.nonzero(self.bricks)):
            x, y, width, height = self.brick_rect(row, column)
            reach = ball.radius
            if x - reach < ball.x < x + width + reach and y - reach < ball.y < y + height + reach:
                self.bricks[row, column] = False
                self.score += 1
                came_from_side = not (x - reach < ball.x - ball.vx < x + width + reach)
                if came_from_side:
                    ball.vx = -ball.vx
                else:
                    ball.vy = -ball.vy
                return 1
        return 0

    def vector_observation(self) -> np.ndarray:
        ball = self.ball
        features = [self.paddle_x, ball.x, ball.y, ball.vx / BALL_SPEED, ball.vy / BALL_SPEED, ball.x - self.paddle_x]
        return np.clip(np.concatenate([features, self.bricks.ravel()]).astype(np.float32), -1.0, 1.0)

    def _info(self) -> dict[str, Any]:
        return {"score": self.score, "lives": self.lives}

    def draw(self, painter: Painter) -> None:
        painter.fill((16, 18, 30))
        for row, column in zip(*np.nonzero(self.bricks)):
            x, y, width, height = self.brick_rect(row, column)
            painter.tile(ROW_COLORS[row], x + 0.004, y + 0.004, width - 0.008, height - 0.008)
        for life in range(self.lives):  # one pip per ball left: no fonts, and readable at 64x64 too
            painter.rect((150, 160, 180), 0.03 + life * 0.05, 0.03, 0.03, 0.03)
        painter.rect((90, 180, 240), self.paddle_x - PADDLE_HALF, PADDLE_Y, 2 * PADDLE_HALF, PADDLE_HEIGHT)
        ball = self.ball
        painter.rect((245, 245, 245), ball.x - ball.radius, ball.y - ball.radius, 2 * ball.radius, 2 * ball.radius)
