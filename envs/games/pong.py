"""Pong: two paddles, one ball; the agent plays the right paddle, an opponent the left one. Rules for a batch of games.

The single env (`PongEnv`) is a batch of one whose opponent is any callable on one observation (a script, a
person at the keyboard, the agent itself); a batch of many (`vector_env`) plays its left paddles with a batched
`Player` (`ScriptedPaddles` by default, a self-play pool, a saved agent) that sees every game at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.base import PIXEL_SIZE, BatchedGameEnv, game_zero
from envs.games.batch import EVERY, GameVectorEnv, Index, Player, SeatView, TwoPlayerGames
from envs.games.canvas import Painter
from envs.games.physics import BALL_RADIUS, Ball, aimed_velocity
from envs.games.raster import Frames, rect_box

STAY, UP, DOWN = 0, 1, 2
ACTION_LABELS = ("stay", "up", "down")
PADDLE_X = 0.05          # distance of each paddle's face from its own end of the field
PADDLE_HALF = 0.1        # half the paddle's length
PADDLE_WIDTH = 0.03
PADDLE_SPEED = 0.04
SHIFTS = np.array([0.0, -PADDLE_SPEED, PADDLE_SPEED])  # each action's paddle move (y grows downwards)
SERVE_SPEED = 0.02
SERVE_ANGLE = math.radians(35)  # serves leave the middle at up to this angle either way
MAX_SPEED = 0.04         # the ball speeds up by SPEEDUP on every paddle hit, up to this
SPEEDUP = 1.05
MAX_ANGLE = math.radians(60)
BACKGROUND, CENTRE_LINE, PIP = (16, 20, 28), (60, 66, 80), (150, 160, 180)
LEFT_PADDLE, RIGHT_PADDLE, BALL = (230, 120, 90), (90, 180, 240), (245, 245, 245)
SCALE = float(PIXEL_SIZE)  # pixels per game unit at 64x64 (the field is 1.0 x 1.0)
MIRROR = [0, 1, 2, 3, 5, 4]  # the vector features as the left player sees them: the paddles swapped

Opponent = Callable[[np.ndarray], int]


def mirror_observations(observations: np.ndarray) -> np.ndarray:
    """A (games, 6) batch of vector observations as the left players see them: mirrored left-right, paddles swapped.

    A policy trained on the right paddle can thus play the left one.
    """
    mirrored = observations[:, MIRROR]
    mirrored[:, 0] = 1.0 - mirrored[:, 0]
    mirrored[:, 2] = -mirrored[:, 2]
    return mirrored


def mirror_observation(observation: np.ndarray) -> np.ndarray:
    """One observation as the left player sees it: a vector (see `mirror_observations`) or an image, flipped."""
    if observation.ndim == 3:
        return np.ascontiguousarray(observation[:, ::-1])
    return mirror_observations(observation[None])[0]


def pip_x(centre: float, point: int, score: Any) -> Any:
    """The left edge of score pip number `point` of `score` pips centred on `centre` (for a score or an array)."""
    return centre - 0.02 + (point - (score - 1) / 2) * 0.05


class ScriptedPaddles:
    """Paddles that follow the ball when it comes their way, at `speed` of the full paddle speed, else drift to
    the middle; one per game of a batch.

    They read the vector observations from their own side (see `mirror_observations`), so they play either paddle;
    as a `Player` they see their games through a `SeatView`.

    Args:
        num_games: How many paddles.
        speed: The fraction of the steps on which a paddle moves: that is what makes it slower than the agent's.
        dead_zone: How far off the target a paddle may be and stay put (so it does not jitter).
    """

    def __init__(self, num_games: int, speed: float = 0.5, dead_zone: float = 0.03) -> None:
        self.speed = speed
        self.dead_zone = dead_zone
        self.carry = np.zeros(num_games)

    def reset(self, index: Index = EVERY) -> None:
        """Forget the previous episode of the games at `index`."""
        self.carry[index] = 0.0

    def __call__(self, view: SeatView) -> np.ndarray:
        return self.act(view.observe("vector"))

    def act(self, observations: np.ndarray) -> np.ndarray:
        """The actions for a (games, 6) batch of vector observations from the paddles' own sides."""
        self.carry += self.speed
        moves = self.carry >= 1.0
        self.carry -= moves
        ball_y, ball_vx, own_y = observations[:, 1], observations[:, 2], observations[:, 4]
        target = np.where(ball_vx > 0, ball_y, 0.5)
        action = np.where(target < own_y - self.dead_zone, UP, np.where(target > own_y + self.dead_zone, DOWN, STAY))
        return np.where(moves, action, STAY)


class ScriptedOpponent:
    """The single game's scripted opponent: `ScriptedPaddles` for one game, on one observation.

    The env calls `reset()` at the start of each episode, as it does for any opponent that has one.

    Args:
        speed: The fraction of the steps on which the paddle moves.
        dead_zone: How far off the target the paddle may be and stay put.
    """

    def __init__(self, speed: float = 0.5, dead_zone: float = 0.03) -> None:
        self.paddles = ScriptedPaddles(1, speed, dead_zone)

    def reset(self) -> None:
        """Forget the previous episode."""
        self.paddles.reset()

    def __call__(self, observation: np.ndarray) -> int:
        return int(self.paddles.act(np.asarray(observation)[None])[0])


class PongGames(TwoPlayerGames):
    """The rules of Pong for N games at once; the agent plays the right paddle, `opponent` the left one.

    Args:
        num_games: N.
        points_to_win: Points that end a game.

    Attributes:
        opponent: The batched left `Player`; its `reset(index)` is called when those games start. Used when
            `step` is given no opponent actions.
    """

    vector_space = gym.spaces.Box(-1.0, 1.0, (6,), np.float32)

    def __init__(self, num_games: int, points_to_win: int = 5) -> None:
        if points_to_win < 1:
            raise PlaygroundError(f"points_to_win must be at least 1, not {points_to_win}.")
        super().__init__(num_games)
        self.points_to_win = points_to_win
        self.opponent: Player = ScriptedPaddles(num_games)
        self.ball_x, self.ball_y = np.full(num_games, 0.5), np.full(num_games, 0.5)
        self.ball_vx, self.ball_vy = np.zeros(num_games), np.zeros(num_games)
        self.left_y, self.right_y = np.full(num_games, 0.5), np.full(num_games, 0.5)
        self.left_score, self.right_score = np.zeros(num_games, np.int64), np.zeros(num_games, np.int64)
        self._background = _background()

    def reset_games(self, index: np.ndarray) -> None:
        self.left_y[index] = self.right_y[index] = 0.5
        self.left_score[index] = self.right_score[index] = 0
        self.opponent.reset(index)
        self.serve(index, self.streams.integers(index, 2) == 1)

    def serve(self, index: np.ndarray, toward_right: np.ndarray) -> None:
        """Put the balls of the games at `index` in the middle, heading to one side at a random angle."""
        angle = self.streams.uniform(index, -SERVE_ANGLE, SERVE_ANGLE)
        vx, vy = aimed_velocity(angle / MAX_ANGLE, SERVE_SPEED, MAX_ANGLE)
        self.ball_x[index] = 0.5
        self.ball_y[index] = self.streams.uniform(index, 0.3, 0.7)
        self.ball_vx[index], self.ball_vy[index] = np.where(toward_right, vx, -vx), vy

    def step(self, actions: np.ndarray,
             opponent_actions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Move both paddles, then the ball; the left paddles follow `opponent_actions`, or else `opponent`."""
        if opponent_actions is None:
            opponent_actions = self.left_actions()
        self.right_y = np.clip(self.right_y + SHIFTS[actions], PADDLE_HALF, 1.0 - PADDLE_HALF)
        self.left_y = np.clip(self.left_y + SHIFTS[opponent_actions], PADDLE_HALF, 1.0 - PADDLE_HALF)
        reward = self._move_balls()
        terminated = np.maximum(self.left_score, self.right_score) >= self.points_to_win
        return reward, terminated, np.zeros(self.num_games, bool)

    def _move_balls(self) -> np.ndarray:
        """Advance every ball one step; the agent's rewards: -1 where its side missed, +1 where the other did."""
        r, face = BALL_RADIUS, 1.0 - PADDLE_X
        vx, vy = self.ball_vx, self.ball_vy
        x, y = self.ball_x + vx, self.ball_y + vy
        off = (y - r < 0.0) | (y + r > 1.0)  # off the top or the bottom wall: clamp inside and reflect
        y, vy = np.where(off, np.clip(y, r, 1.0 - r), y), np.where(off, -vy, vy)
        # A paddle hits a ball that crossed its face this step (the ball's previous x is x - vx) within reach.
        right = (vx > 0) & (x + r >= face) & (x - vx + r < face)
        left = (vx < 0) & (x - r <= PADDLE_X) & (x - vx - r > PADDLE_X)
        offset = (y - np.where(right, self.right_y, self.left_y)) / (PADDLE_HALF + r)
        hit = (right | left) & (np.abs(offset) <= 1.0)
        if hit.any():
            along_normal, along_paddle = aimed_velocity(offset, np.minimum(MAX_SPEED, np.hypot(vx, vy) * SPEEDUP),
                                                        MAX_ANGLE)
            vx = np.where(hit, np.where(right, -along_normal, along_normal), vx)
            vy = np.where(hit, along_paddle, vy)
            x = np.where(hit, np.where(right, face - r, PADDLE_X + r), x)
        self.ball_x, self.ball_y, self.ball_vx, self.ball_vy = x, y, vx, vy
        right_missed, left_missed = x > 1.0, x < 0.0
        reward = left_missed.astype(np.float32) - right_missed
        missed = right_missed | left_missed
        if missed.any():
            self.left_score += right_missed
            self.right_score += left_missed
            served = np.flatnonzero(missed)
            self.serve(served, right_missed[served])  # toward the side that lost the point
        return reward

    def mirror(self, observations: np.ndarray, obs_mode: str) -> np.ndarray:
        """The left side's view: features mirrored (`mirror_observations`) or frames flipped left-right."""
        if obs_mode == "pixels":
            return np.ascontiguousarray(observations[:, :, ::-1])
        return mirror_observations(observations)

    def scripted_player(self, num_games: int) -> ScriptedPaddles:
        return ScriptedPaddles(num_games)

    def vector_observation(self, index: Index = EVERY) -> np.ndarray:
        """Ball x, y, vx and vy (as fractions of the top speed), the right paddle's y and the left paddle's y."""
        features = np.stack([self.ball_x[index], self.ball_y[index], self.ball_vx[index] / MAX_SPEED,
                             self.ball_vy[index] / MAX_SPEED, self.right_y[index], self.left_y[index]], axis=1)
        return np.clip(features.astype(np.float32), -1.0, 1.0)

    def pixels(self, index: Index = EVERY) -> np.ndarray:
        """The frames `PongEnv.draw` paints at 64x64: score pips, paddles and ball on the static background."""
        games = np.arange(self.num_games)[index]
        frames = Frames(self._background, len(games))
        for scores, centre in ((self.left_score[games], 0.30), (self.right_score[games], 0.70)):
            for point in range(int(scores.max(initial=0))):  # one box per pip, in the games that have that pip
                left, top, width, height = rect_box(pip_x(centre, point, scores), 0.03, 0.03, 0.03, SCALE, SCALE)
                frames.box(PIP, left, np.broadcast_to(top, left.shape), int(width), int(height), point < scores)
        for color, x, paddle_y in ((LEFT_PADDLE, PADDLE_X - PADDLE_WIDTH, self.left_y[games]),
                                   (RIGHT_PADDLE, 1.0 - PADDLE_X, self.right_y[games])):
            left, top, width, height = rect_box(x, paddle_y - PADDLE_HALF, PADDLE_WIDTH, 2 * PADDLE_HALF, SCALE, SCALE)
            frames.box(color, np.broadcast_to(left, top.shape), top, int(width), int(height))
        left, top, width, height = rect_box(self.ball_x[games] - BALL_RADIUS, self.ball_y[games] - BALL_RADIUS,
                                            2 * BALL_RADIUS, 2 * BALL_RADIUS, SCALE, SCALE)
        frames.box(BALL, left, top, int(width), int(height))
        return frames.frames


def _background() -> np.ndarray:
    """The static part of every 64x64 frame: the field and its centre line."""
    frames = Frames(np.full((PIXEL_SIZE, PIXEL_SIZE, 3), BACKGROUND, np.uint8), 1)
    left, top, width, height = rect_box(0.497, 0.0, 0.006, 1.0, SCALE, SCALE)
    frames.box(CENTRE_LINE, left[None], top[None], int(width), int(height))
    return frames.frames[0]


def vector_env(num_envs: int, obs_mode: str = "vector", max_episode_steps: int = 2000, opponent: Player | None = None,
               **rules: Any) -> GameVectorEnv:
    """`num_envs` Pong games as one Gymnasium vector env (the `vector_entry_point`), against `opponent` (a batched
    `Player` for `num_envs` games; `ScriptedPaddles` when None)."""
    games = PongGames(num_envs, **rules)
    if opponent is not None:
        games.opponent = opponent
    return GameVectorEnv(games, obs_mode, max_episode_steps)


class PongEnv(BatchedGameEnv):
    """Pong against an opponent paddle; first to `points_to_win` ends the episode.

    Actions (Discrete(3)): 0 stay, 1 up, 2 down. Rewards: +1 when the opponent misses the ball, -1 when the
    agent does. Where the ball hits a paddle sets its outgoing angle (the ends send it off steeply) and every
    hit speeds it up a little. After each point the ball is served from the middle toward the side that lost it.

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

    def __init__(self, render_mode: str | None = None, obs_mode: str = "vector", points_to_win: int = 5,
                 opponent: Opponent | None = None, opponent_obs_mode: str = "vector") -> None:
        super().__init__(PongGames(1, points_to_win), render_mode, obs_mode)
        if opponent_obs_mode not in ("vector", "pixels"):
            raise PlaygroundError(f"opponent_obs_mode {opponent_obs_mode!r} is unknown: use 'vector' or 'pixels'.")
        self.opponent: Opponent = opponent or ScriptedOpponent()
        self.opponent_obs_mode = opponent_obs_mode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        if hasattr(self.opponent, "reset"):
            self.opponent.reset()
        return super().reset(seed=seed, options=options)

    def _step_games(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # The opponent decides on the state before the step, as the agent did.
        opponent_action = int(self.opponent(mirror_observation(self.observe(self.opponent_obs_mode))))
        return self.games.step(actions, np.array([opponent_action]))

    @property
    def points_to_win(self) -> int:
        return self.games.points_to_win

    @property
    def ball(self) -> Ball:
        games = self.games
        return Ball(float(games.ball_x[0]), float(games.ball_y[0]), float(games.ball_vx[0]), float(games.ball_vy[0]))

    @ball.setter
    def ball(self, ball: Ball) -> None:  # the radius is the same for every ball: BALL_RADIUS
        games = self.games
        games.ball_x[0], games.ball_y[0], games.ball_vx[0], games.ball_vy[0] = ball.x, ball.y, ball.vx, ball.vy

    # The state of the one game as plain numbers, read and written by tests, puzzles, the HUD and `draw`.
    left_y = game_zero("left_y", float)
    right_y = game_zero("right_y", float)
    left_score = game_zero("left_score", int)
    right_score = game_zero("right_score", int)

    def _info(self) -> dict[str, Any]:
        return {"score": self.right_score, "opponent_score": self.left_score}

    def draw(self, painter: Painter) -> None:
        painter.fill(BACKGROUND)
        painter.rect(CENTRE_LINE, 0.497, 0.0, 0.006, 1.0)
        for score, x in ((self.left_score, 0.30), (self.right_score, 0.70)):
            for point in range(score):  # one pip per point: no fonts, and readable at 64x64 too
                painter.rect(PIP, pip_x(x, point, score), 0.03, 0.03, 0.03)
        painter.rect(LEFT_PADDLE, PADDLE_X - PADDLE_WIDTH, self.left_y - PADDLE_HALF, PADDLE_WIDTH, 2 * PADDLE_HALF)
        painter.rect(RIGHT_PADDLE, 1.0 - PADDLE_X, self.right_y - PADDLE_HALF, PADDLE_WIDTH, 2 * PADDLE_HALF)
        ball = self.ball
        painter.rect(BALL, ball.x - ball.radius, ball.y - ball.radius, 2 * ball.radius, 2 * ball.radius)
