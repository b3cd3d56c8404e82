"""Statistics of a result over seeds: mean, standard deviation, interquartile mean, bootstrap confidence interval.

Pure NumPy. The interquartile mean and the percentile bootstrap follow Agarwal et al., "Deep Reinforcement
Learning at the Edge of the Statistical Precipice" (NeurIPS 2021), as the `rliable` library computes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000


def interquartile_mean(values: Sequence[float]) -> float:
    """The mean of the middle half: drop the lowest and highest quarter (floor(n / 4) values each), average the rest.

    The same as `scipy.stats.trim_mean(values, 0.25)`. With fewer than 4 values nothing is dropped.

    Args:
        values: One number per run.
    """
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    if ordered.size == 0:
        raise ValueError("interquartile_mean of no values")
    cut = ordered.size // 4
    return float(ordered[cut:ordered.size - cut].mean())


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0) -> tuple[float, float]:
    """A percentile-bootstrap confidence interval of the mean.

    Draws `resamples` samples of the same size with replacement, takes the mean of each, and returns the
    (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of those means.

    Args:
        values: One number per run.
        confidence: The coverage, 0.95 for a 95% interval.
        resamples: How many bootstrap samples.
        seed: Seeds the resampling, so a report is reproducible.

    Returns:
        (low, high).
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("bootstrap_ci of no values")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class SeedStatistics:
    """Summary of one number (the final evaluation return) over seeds.

    Attributes:
        n: Number of seeds.
        mean: Arithmetic mean.
        std: Sample standard deviation (ddof=1; 0 for one seed).
        iqm: Interquartile mean.
        ci_low: Lower end of the 95% bootstrap confidence interval of the mean.
        ci_high: Upper end of it.
        minimum: The lowest value.
        maximum: The highest value.
    """

    n: int
    mean: float
    std: float
    iqm: float
    ci_low: float
    ci_high: float
    minimum: float
    maximum: float

    def as_dict(self) -> dict[str, float | int]:
        """The fields as a plain dict (for JSON)."""
        return asdict(self)


def summarize_seeds(values: Sequence[float], seed: int = 0) -> SeedStatistics:
    """Mean, standard deviation, IQM and 95% bootstrap CI of one value per seed.

    Args:
        values: One number per seed.
        seed: Seeds the bootstrap.
    """
    data = np.asarray(values, dtype=np.float64)
    low, high = bootstrap_ci(data, seed=seed)
    return SeedStatistics(
        n=int(data.size), mean=float(data.mean()), std=float(data.std(ddof=1)) if data.size > 1 else 0.0,
        iqm=interquartile_mean(data), ci_low=low, ci_high=high,
        minimum=float(data.min()), maximum=float(data.max()),
    )
