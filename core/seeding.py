"""Seeding every random number generator in one place."""

from __future__ import annotations

import random


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
