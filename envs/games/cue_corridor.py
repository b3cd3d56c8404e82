"""Cue Corridor: a colour flashes at the start, many steps later the agent must pick the exit of that colour.

A memory test in the spirit of the T-maze: nothing the agent sees at the fork tells which way is right, so a
policy without memory picks an exit at chance (50 %), one with memory can be right every time.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import PlaygroundError
from envs.games.base import PygameGame
from envs.games.canvas import Painter

FORWARD, UP, DOWN = 0, 1, 2
ACTION_LABELS = ("forward", "up", "down")
# The cue's colours; exit UP is painted in the first, exit DOWN in the second.
CUE_COLOURS = ((230, 70, 70), (70, 130, 240))
WALL, FLOOR, AGENT = (20, 24, 32), (90, 96, 110), (250, 220, 80)


class CueCorridorEnv(PygameGame):
    """Walk a corridor to a fork and take the exit whose colour flashed at the start.

    Actions (Discrete(3)): 0 step forward, 1 take the upper exit, 2 take the lower exit; up and down do
    nothing before the fork. Taking an exit ends the episode: +1 and `info["is_success"] = True` for the
    exit of the cue's colour, 0 and `is_success = False` for the other. The step limit truncates an agent that
    never chooses (no reward, and no `is_success`: count such episodes as failures).

    Vector observation (4 values in [0, 1]): the cue one-hot (upper, lower), shown for the first
    `cue_steps` observations only and zero afterwards, the position along the corridor, and whether the
    agent stands at the fork. In pixels, the corridor floor takes the cue's colour while it shows.

    Args:
        render_mode: None, "human" or "rgb_array".
        obs_mode: "vector" or "pixels".
        length: Cells from the start to the fork (the fork included): the steps the cue must be remembered.
        cue_steps: How many observations show the cue, from the first.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 6}
    title = "Cue Corridor"
    vector_space = gym.spaces.Box(0.0, 1.0, (4,), np.float32)

    def __init__(self, render_mode: str | None = None, obs_mode: str = "vector", length: int = 8,
                 cue_steps: int = 1) -> None:
        if length < 2 or cue_steps < 1:
            raise PlaygroundError(f"Cue Corridor needs length >= 2 and cue_steps >= 1, not {length} and {cue_steps}.")
        self.units = (float(length), 3.0)
        self.window_size = (60 * length, 180)
        super().__init__(render_mode, obs_mode)
        self.length = length
        self.cue_steps = cue_steps
        self.action_space = gym.spaces.Discrete(3)
        self.cue = 0
        self.position = 0
        self.steps = 0
        self.chosen: int | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.cue = int(self.np_random.integers(2))
        self.position, self.steps, self.chosen = 0, 0, None
        self._after_step()
        return self.observe(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r} for {self.action_space}")
        self.steps += 1
        reward, terminated, info = 0.0, False, {}
        if action == FORWARD:
            self.position = min(self.position + 1, self.length - 1)
        elif self.at_fork:
            self.chosen = 0 if action == UP else 1
            success = self.chosen == self.cue
            reward, terminated, info = float(success), True, {"is_success": success}
        self._after_step()
        return self.observe(), reward, terminated, False, info

    @property
    def at_fork(self) -> bool:
        """Whether the agent stands where the exits are."""
        return self.position == self.length - 1

    @property
    def cue_visible(self) -> bool:
        """Whether the current observation shows the cue."""
        return self.steps < self.cue_steps

    def vector_observation(self) -> np.ndarray:
        cue = np.eye(2)[self.cue] if self.cue_visible else np.zeros(2)
        return np.array([*cue, self.position / (self.length - 1), float(self.at_fork)], dtype=np.float32)

    def draw(self, painter: Painter) -> None:
        painter.fill(WALL)
        floor = CUE_COLOURS[self.cue] if self.cue_visible else FLOOR
        for x in range(self.length):
            painter.tile(floor, x, 1, 1, 1)
        fork = self.length - 1
        for row, colour in ((0, CUE_COLOURS[0]), (2, CUE_COLOURS[1])):
            painter.tile(colour, fork, row, 1, 1)
        row = 1 if self.chosen is None else (0 if self.chosen == 0 else 2)
        painter.tile(AGENT, self.position + 0.2, row + 0.2, 0.6, 0.6)
