"""What the command line asks of an agent session, and the agent it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents.normalization import ObservationNormalizer
from agents.registry import AgentSpec


@dataclass
class SessionOptions:
    """What the user asked for on the command line."""

    agent: str | None
    env: str | None
    seed: int = 0
    timesteps: int | None = None
    perception: str | None = None
    device: str = "auto"
    runs_dir: Path = Path("runs")
    retrain: bool = False
    load: str | None = None
    hp: list[str] = field(default_factory=list)
    trust_pickle: bool = False
    trust_code: list[str] = field(default_factory=list)
    resume: str | None = None
    checkpoint_every: float = 60.0
    env_timeout: float = 60.0
    progress: bool = True
    argv: list[str] | None = None


@dataclass
class PreparedAgent:
    """An agent ready to act, and where it came from."""

    spec: AgentSpec
    env_id: str
    controller: Any
    run_dir: Path | None = None
    model_path: Path | None = None
    normalizer: ObservationNormalizer | None = None
    trained: bool = False
    reused: bool = False
    train_seconds: float = 0.0
    timesteps: int = 0
    solved: bool | None = None
    spaces: tuple[gym.Space, gym.Space] | None = None
