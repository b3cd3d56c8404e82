"""The one small interface between agents and whatever runs them (the viewer, evaluation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass
class Decision:
    """What an agent chose, and what it can show about the choice.

    Args:
        action: The action to take.
        probabilities: Action probabilities (discrete policies).
        q_values: Action values (Q-learning agents).
        value: The agent's estimate of the return to come.
        hidden: The agent's memory after the choice (an LSTM's hidden state, 1-D), for recurrent agents.
        saliency: Where the choice is most sensitive to the observation's pixels: an `(H, W)` float array in
            [0, 1], in the observation's pixel coordinates. Only filled when the controller was asked for it
            (see `Controller`) and the agent sees images.
    """

    action: Any
    probabilities: np.ndarray | None = None
    q_values: np.ndarray | None = None
    value: float | None = None
    hidden: np.ndarray | None = None
    saliency: np.ndarray | None = None


class Controller(Protocol):
    """Anything that can act in an env, one observation at a time.

    A controller that can explain its choices on image observations also has a boolean attribute
    `explain_pixels` (False by default); whoever runs it (the viewer) sets it to True to have `decide` fill
    `Decision.saliency`, which costs a backward pass. It is optional: check with `hasattr`.
    """

    name: str

    def reset(self) -> None:
        """Forget any per-episode state; called at every episode start."""

    def decide(self, observation: np.ndarray) -> Decision:
        """Choose the action for one observation."""
