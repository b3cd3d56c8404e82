"""Seeding every random number generator in one place."""

from __future__ import annotations

import random

# A run's seed S seeds its training. Every set of episodes played for it starts at its own offset from S (episode i
# of a set plays seed S + offset + i), 10,000 apart: up to 10,000 episodes a set, no episode which chose or
# confirmed a policy is one that reports it or is shown.
EVALUATION_SEED_OFFSET = 10_000  # training's periodic evaluations
REPORTED_SEED_OFFSET = 20_000  # play.py --render none: the evaluation its summary reports
SHOWN_SEED_OFFSET = 30_000  # a window, a video, games against a person
CONFIRMATION_SEED_OFFSET = 40_000  # the fresh episodes that confirm a solved evaluation
SEED_LIMIT = 4_294_900_000  # the largest --seed: S + every offset stays below 2**32, as NumPy's legacy seeding needs


def seed_everything(seed: int, deterministic_torch: bool = False) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA).

    Args:
        seed: The seed.
        deterministic_torch: Also ask torch for deterministic algorithms (slower on CUDA).
    """
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic_torch:
        torch.use_deterministic_algorithms(True, warn_only=True)
