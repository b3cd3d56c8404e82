"""Seed statistics against numbers computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.stats import bootstrap_ci, interquartile_mean, summarize_seeds

# Ten final returns, one an outlier: the IQM ignores it, the mean does not.
RETURNS = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 1000.0]


def test_interquartile_mean_by_hand() -> None:
    # n = 10: drop floor(10 / 4) = 2 values at each end, average 30..80: 330 / 6.
    assert interquartile_mean(RETURNS) == pytest.approx(55.0)
    assert interquartile_mean([100.0, 3.0, 1.0, 2.0]) == pytest.approx(2.5)  # (2 + 3) / 2, order does not matter
    assert interquartile_mean([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx(3.0)  # (2 + 3 + 4) / 3
    assert interquartile_mean([1.0, 2.0, 9.0]) == pytest.approx(4.0)  # fewer than 4: nothing dropped
    with pytest.raises(ValueError):
        interquartile_mean([])


def test_summary_by_hand() -> None:
    stats = summarize_seeds(RETURNS)
    assert stats.n == 10
    assert stats.mean == pytest.approx(145.0)  # (450 + 1000) / 10
    # Squared deviations from 145: 135², 125², ..., 55², 855² sum to 818,250; sample variance divides by 9.
    assert stats.std == pytest.approx(math.sqrt(818_250 / 9))
    assert stats.iqm == pytest.approx(55.0)
    assert (stats.minimum, stats.maximum) == (10.0, 1000.0)
    assert stats.ci_low < stats.mean < stats.ci_high
    assert summarize_seeds([42.0]).std == 0.0


def test_bootstrap_ci_by_hand() -> None:
    # Resampling [0, 1] gives means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 2.5% and 97.5% quantiles are 0, 1.
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
    # Resampling [0, 0, 0, 1]: the mean is k/4, k ~ Binomial(4, 1/4): P(k <= 2) = 0.949, P(k <= 3) = 0.996,
    # so the 97.5% quantile is 3/4, and P(k = 0) = 0.316 puts the 2.5% quantile at 0.
    assert bootstrap_ci([0.0, 0.0, 0.0, 1.0]) == (0.0, 0.75)
    assert bootstrap_ci([7.0, 7.0, 7.0]) == (7.0, 7.0)
    with pytest.raises(ValueError):
        bootstrap_ci([])


def test_bootstrap_ci_is_reproducible_and_covers_the_mean() -> None:
    values = np.random.default_rng(1).normal(100.0, 20.0, size=30)
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)
    low, high = bootstrap_ci(values)
    standard_error = values.std(ddof=1) / math.sqrt(values.size)
    # The percentile interval of the mean is close to mean ± 1.96 standard errors for normal data.
    assert low == pytest.approx(values.mean() - 1.96 * standard_error, abs=0.3 * standard_error)
    assert high == pytest.approx(values.mean() + 1.96 * standard_error, abs=0.3 * standard_error)
    narrower = bootstrap_ci(values, confidence=0.5)
    assert low < narrower[0] < narrower[1] < high
