"""Keyboard control: key maps per env and the human controller that reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from core.control import Decision
from core.errors import PlaygroundError


@dataclass(frozen=True)
class KeyMap:
    """Keys to actions for one env.

    Args:
        bindings: (pygame key name, action, label) triples; the first held key wins.
        idle: The action taken when no bound key is held.
        idle_label: How the idle action is described on screen.
    """

    bindings: tuple[tuple[str, Any, str], ...]
    idle: Any
    idle_label: str = "nothing"

    def help_lines(self) -> list[str]:
        """Lines for the on-screen key map."""
        return [f"{key.upper():>6}  {label}" for key, _, label in self.bindings] + [f"{'none':>6}  {self.idle_label}"]


KEYMAPS: dict[str, KeyMap] = {
    "CartPole-v1": KeyMap((("left", 0, "push left"), ("right", 1, "push right")), 0, "push left"),
    "MountainCar-v0": KeyMap((("left", 0, "accelerate left"), ("right", 2, "accelerate right")), 1),
    "Acrobot-v1": KeyMap((("left", 0, "torque -1"), ("right", 2, "torque +1")), 1),
    "LunarLander-v3": KeyMap((("up", 2, "main engine"), ("left", 3, "push right (left engine)"),
                              ("right", 1, "push left (right engine)")), 0),
    "Pendulum-v1": KeyMap((("left", np.array([2.0], np.float32), "torque +2"),
                           ("right", np.array([-2.0], np.float32), "torque -2")), np.array([0.0], np.float32)),
    "MountainCarContinuous-v0": KeyMap((("left", np.array([-1.0], np.float32), "force -1"),
                                        ("right", np.array([1.0], np.float32), "force +1")),
                                       np.array([0.0], np.float32)),
    "LunarLanderContinuous-v3": KeyMap((("up", np.array([1.0, 0.0], np.float32), "main engine"),
                                        ("left", np.array([-1.0, -1.0], np.float32), "left engine"),
                                        ("right", np.array([-1.0, 1.0], np.float32), "right engine")),
                                       np.array([-1.0, 0.0], np.float32)),
    "playground/Snake-v0": KeyMap((("left", 1, "turn left"), ("right", 2, "turn right")), 0, "straight on"),
    "playground/Snake-v1": KeyMap((("left", 1, "turn left"), ("right", 2, "turn right")), 0, "straight on"),
    "playground/SnakePixels-v0": KeyMap((("left", 1, "turn left"), ("right", 2, "turn right")), 0, "straight on"),
    "playground/Pong-v0": KeyMap((("up", 1, "paddle up"), ("down", 2, "paddle down")), 0, "stay"),
    "playground/PongPixels-v0": KeyMap((("up", 1, "paddle up"), ("down", 2, "paddle down")), 0, "stay"),
    "playground/Bricks-v0": KeyMap((("left", 1, "paddle left"), ("right", 2, "paddle right")), 0, "stay"),
    "playground/BricksPixels-v0": KeyMap((("left", 1, "paddle left"), ("right", 2, "paddle right")), 0, "stay"),
    "playground/CueCorridor-v0": KeyMap((("up", 1, "upper exit"), ("down", 2, "lower exit")), 0, "walk on"),
    "playground/CueCorridorPixels-v0": KeyMap((("up", 1, "upper exit"), ("down", 2, "lower exit")), 0, "walk on"),
    # MinAtar's minimal action sets (envs/minatar.py), Atari's minimal sets (Pong's right/left move up/down).
    "playground/Breakout-MinAtar-v0": KeyMap((("left", 1, "left"), ("right", 2, "right")), 0, "stay"),
    "playground/Asterix-MinAtar-v0": KeyMap((("left", 1, "left"), ("up", 2, "up"), ("right", 3, "right"),
                                             ("down", 4, "down")), 0, "stay"),
    "playground/Freeway-MinAtar-v0": KeyMap((("up", 1, "up"), ("down", 2, "down")), 0, "stay"),
    "playground/Seaquest-MinAtar-v0": KeyMap((("space", 5, "fire"), ("left", 1, "left"), ("up", 2, "up"),
                                              ("right", 3, "right"), ("down", 4, "down")), 0, "stay"),
    "playground/SpaceInvaders-MinAtar-v0": KeyMap((("space", 3, "fire"), ("left", 1, "left"),
                                                   ("right", 2, "right")), 0, "stay"),
    "ALE/Breakout-v5": KeyMap((("space", 1, "fire (serve)"), ("right", 2, "right"), ("left", 3, "left")), 0, "stay"),
    "ALE/Pong-v5": KeyMap((("space", 1, "fire (serve)"), ("up", 2, "paddle up"), ("down", 3, "paddle down")), 0,
                          "stay"),
    "ALE/SpaceInvaders-v5": KeyMap((("space", 1, "fire"), ("right", 2, "right"), ("left", 3, "left")), 0, "stay"),
    "ALE/Seaquest-v5": KeyMap((("space", 1, "fire"), ("up", 2, "up"), ("right", 3, "right"), ("left", 4, "left"),
                               ("down", 5, "down")), 0, "stay"),
}
# The worlds with velocities hidden, or seen through pixels, play like the worlds they come from.
for _base, _masked in (("CartPole-v1", "playground/CartPoleNoVel-v1"), ("Pendulum-v1", "playground/PendulumNoVel-v1"),
                       ("LunarLander-v3", "playground/LunarLanderNoVel-v3"),
                       ("CartPole-v1", "playground/CartPolePixels-v1")):
    KEYMAPS[_masked] = KEYMAPS[_base]


def keymap_for(env_id: str, action_space: gym.Space, required: bool = True) -> KeyMap | None:
    """The env's own key map, or number keys 0-9 for any small discrete action space.

    Args:
        env_id: The Gymnasium id.
        action_space: Its action space.
        required: Raise when there is none (for the human agent); else return None.
    """
    if env_id in KEYMAPS:
        return KEYMAPS[env_id]
    if isinstance(action_space, gym.spaces.Discrete) and action_space.n <= 10:
        return KeyMap(tuple((str(i), i, f"action {i}") for i in range(1, int(action_space.n))), 0, "action 0")
    if not required:
        return None
    raise PlaygroundError(f"the human agent has no key map for {env_id} ({action_space}). "
                          "Pick an env from `python play.py --env list`.")


class HumanController:
    """Acts on the keys held down in the pygame window."""

    def __init__(self, keymap: KeyMap) -> None:
        self.name = "human"
        self.keymap = keymap
        self._codes: list[tuple[int, Any]] | None = None  # looked up once pygame is running (it warns before)

    def reset(self) -> None:
        pass

    def decide(self, observation: np.ndarray) -> Decision:
        import pygame

        if self._codes is None:
            self._codes = [(pygame.key.key_code(key), action) for key, action, _ in self.keymap.bindings]
        held = pygame.key.get_pressed()
        action = next((action for code, action in self._codes if held[code]), self.keymap.idle)
        return Decision(action)
