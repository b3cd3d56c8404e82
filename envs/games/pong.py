"""Pong: two paddles, one ball; the agent plays the right paddle, a swappable opponent the left one."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.base import PygameGame
from envs.games.canvas import Painter
from envs.games.physics import Ball, aimed_velocity

STAY, UP, DOWN = 0, 1, 2
ACTION_LABELS = ("stay", "up", "down")
PADDLE_X = 0.05          # distance of each paddle's face from its own end of the field
PADDLE_HALF = 0.1        # half the paddle's length
PADDLE_WIDTH = 0.03
PADDLE_SPEED = 0.04
SERVE_SPEED = 0.02
MAX_SPEED = 0.04         # the ball speeds up by SPEEDUP on every paddle hit, up to this
SPEEDUP = 1.05
MAX_ANGLE = math.radians(60)

Opponent = Callable[[np.ndarray], int]


def mirror_observation(observation: np.ndarray) -> np.ndarray:
    """The observation as the left player sees it: the field mirrored left-right, the paddles swapped.

    Works for both observation modes: a vector (ball x, y, vx, vy, own paddle y, other paddle y) or an image.
    A policy trained on the right paddle can thus play the left one.
    """
    if observation.ndim == 3:
        return np.ascontiguousarray(observation[:, ::-1])
    ball_x, ball_y, ball_vx, ball_vy, own_y, other_y = observation
    return np.array([1.0 - ball_x, ball_y, -ball_vx, ball_vy, other_y, own_y], dtype=observation.dtype)


class ScriptedOpponent:
    """Follows the ball when it comes its way, at `speed` of the full paddle speed, else drifts to the middle.

    It reads the vector observation from its own side (see `mirror_observation`), so it plays either paddle.
    The env calls `reset()` at the start of each episode, as it does for any opponent that has one.
    """

    def __init__(self, speed: float = 0.5, dead_zone: float = 0.03) -> None:
        self.speed = speed
        self.dead_zone = dead_zone
        self._carry = 0.0

    def reset(self) -> None:
        """Forget the previous episode."""
        self._carry = 0.0

    def __call__(self, observation: np.ndarray) -> int:
        # Move on a fraction of the steps only: that is what makes it slower than the agent's paddle.
        self._carry += self.speed
        if self._carry < 1.0:
            return STAY
        self._carry -= 1.0
        _, ball_y, ball_vx, _, own_y, _ = observation
        target = ball_y if ball_vx > 0 else 0.5
        if target < own_y - self.dead_zone:
            return UP
        if target > own_y + self.dead_zone:
            return DOWN
        return STAY


class PongEnv(PygameGame):
    """Pong against an opponent paddle; first to `points_to_win` ends the episode.

    Actions (Discrete(3)): 0 stay, 1 up, 2 down. Rewards: +1 when the opponent misses the ball, -1 when the
    agent does. Where the ball hits a paddle sets its outgoing angle (the ends send it off steeply) and every
    hit speeds it up a little.

    Vector observation (6 values in [-1, 1]): ball x, ball y, ball vx and vy (as fractions of the top speed),
    the agent's paddle y and the opponent's paddle y; x runs from the opponent's end (0) to the agent's (1).

    Args:
        render_mode: None, "human" or "rgb_array".
        obs_mode: "vector" or "pixels".
        points_to_win: Points that end the game.
        opponent: A callable from the left player's observation (see `mirror_observation`) to an action;
            None for `ScriptedOpponent()`. It can be swapped at any time through the `opponent` attribute;
            its `reset()`, if it has one, is called at the start of every episode.
        opponent_obs_mode: The observation mode the opponent is given ("vector" or "pixels").
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}
    title = "Pong"
    vector_space = gym.spaces.Box(-1.0, 1.0, (6,), np.float32)

    def __init__(self, render_mode: str | None = None, obs_mode: str = "vector", points_to_win: int = 5,
                 opponent: Opponent | None = None, opponent_obs_mode: str = "vector") -> None:
        super().__init__(render_mode, obs_mode)
        if points_to_win < 1:
            raise PlaygroundError(f"points_to_win must be at least 1, not {points_to_win}.")
        if opponent_obs_mode not in ("vector", "pixels"):
            raise PlaygroundError(f"opponent_obs_mode {opponent_obs_mode!r} is unknown: use 'vector' or 'pixels'.")
        self.points_to_win = points_to_win
        self.opponent: Opponent = opponent or ScriptedOpponent()
        self.opponent_obs_mode = opponent_obs_mode
        self.action_space = gym.spaces.Discrete(3)
        self.ball = Ball(0.5, 0.5, 0.0, 0.0)
        self.left_y = self.right_y = 0.5
        self.left_score = self.right_score = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.left_y = self.right_y = 0.5
        self.left_score = self.right_score = 0
        if hasattr(self.opponent, "reset"):
            self.opponent.reset()
        self.serve(toward_right=bool(self.np_random.integers(2)))
        self._after_step()
        return self.observe(), self._info()

    def serve(self, toward_right: bool) -> None:
        """Put the ball in the middle, heading to one side at a random angle drawn from `np_random`."""
        angle = float(self.np_random.uniform(-math.radians(35), math.radians(35)))
        vx, vy = aimed_velocity(angle / MAX_ANGLE, SERVE_SPEED, MAX_ANGLE)
        self.ball = Ball(0.5, float(self.np_random.uniform(0.3, 0.7)), vx if toward_right else -vx, vy)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r} for {self.action_space}")
        opponent_action = int(self.opponent(mirror_observation(self.observe(self.opponent_obs_mode))))
        self.right_y = self._moved(self.right_y, int(action))
        self.left_y = self._moved(self.left_y, opponent_action)
        reward = self._move_ball()
        terminated = max(self.left_score, self.right_score) >= self.points_to_win
        self._after_step()
        return self.observe(), reward, terminated, False, self._info()

    def _moved(self, paddle_y: float, action: int) -> float:
        shift = {STAY: 0.0, UP: -PADDLE_SPEED, DOWN: PADDLE_SPEED}[action]
        return min(1.0 - PADDLE_HALF, max(PADDLE_HALF, paddle_y + shift))

    def _move_ball(self) -> float:
        """Advance the ball one step; the reward for the agent when a side missed, else 0."""
        ball = self.ball
        ball.x += ball.vx
        ball.y += ball.vy
        if ball.y - ball.radius < 0.0 or ball.y + ball.radius > 1.0:
            ball.y = min(1.0 - ball.radius, max(ball.radius, ball.y))
            ball.vy = -ball.vy
        if ball.vx > 0 and ball.x + ball.radius >= 1.0 - PADDLE_X and ball.x - ball.vx + ball.radius < 1.0 - PADDLE_X:
            self._bounce(self.right_y, direction=-1.0)
        elif ball.vx < 0 and ball.x - ball.radius <= PADDLE_X and ball.x - ball.vx - ball.radius > PADDLE_X:
            self._bounce(self.left_y, direction=1.0)
        if ball.x > 1.0:
            self.left_score += 1
            self.serve(toward_right=True)
            return -1.0
        if ball.x < 0.0:
            self.right_score += 1
            self.serve(toward_right=False)
            return 1.0
        return 0.0

    def _bounce(self, paddle_y: float, direction: float) -> None:
        """Send the ball back off the paddle at `paddle_y` when it is within reach, aimed by the hit position."""
        ball = self.ball
        offset = (ball.y - paddle_y) / (PADDLE_HALF + ball.radius)
        if abs(offset) > 1.0:
            return
        along_normal, along_paddle = aimed_velocity(offset, min(MAX_SPEED, ball.speed * SPEEDUP), MAX_ANGLE)
        ball.vx, ball.vy = direction * along_normal, along_paddle
        ball.x = (1.0 - PADDLE_X - ball.radius) if direction < 0 else (PADDLE_X + ball.radius)

    def vector_observation(self) -> np.ndarray:
        ball = self.ball
        features = [ball.x, ball.y, ball.vx / MAX_SPEED, ball.vy / MAX_SPEED, self.right_y, self.left_y]
        return np.clip(np.array(features, dtype=np.float32), -1.0, 1.0)

    def _info(self) -> dict[str, Any]:
        return {"score": self.right_score, "opponent_score": self.left_score}

    def draw(self, painter: Painter) -> None:
        painter.fill((16, 20, 28))
        painter.rect((60, 66, 80), 0.497, 0.0, 0.006, 1.0)
        for score, x in ((self.left_score, 0.30), (self.right_score, 0.70)):
            for point in range(score):  # one pip per point: no fonts, and readable at 64x64 too
                painter.rect((150, 160, 180), x - 0.02 + (point - (score - 1) / 2) * 0.05, 0.03, 0.03, 0.03)
        painter.rect((230, 120, 90), PADDLE_X - PADDLE_WIDTH, self.left_y - PADDLE_HALF, PADDLE_WIDTH, 2 * PADDLE_HALF)
        painter.rect((90, 180, 240), 1.0 - PADDLE_X, self.right_y - PADDLE_HALF, PADDLE_WIDTH, 2 * PADDLE_HALF)
        ball = self.ball
        painter.rect((245, 245, 245), ball.x - ball.radius, ball.y - ball.radius, 2 * ball.radius, 2 * ball.radius)
