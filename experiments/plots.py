"""PNG plots of an experiment: the evaluation return of every trial over env steps (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.files import atomic_path
from experiments.records import TrialRecord


def plot_curves(records: list[TrialRecord], path: Path, title: str, solved_at: float | None,
                highlight: str | None = None, labels: list[str] | None = None, mean_curve: bool = False) -> Path:
    """Draw each trial's evaluation return against env steps into a PNG.

    Args:
        records: The trials.
        path: The PNG to write.
        title: The figure title.
        solved_at: Draws the goal as a dashed line when given.
        highlight: The name of a trial to draw bold (the best one of a sweep).
        labels: A legend label per trial (seeds); no legend when None.
        mean_curve: Also draw the mean over trials that reported at the same steps (seeds).
    """
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must come before pyplot
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    for index, record in enumerate(records):
        if not record.steps:
            continue
        best = record.name == highlight
        axes.plot(record.steps, record.returns, linewidth=2.5 if best else 1.0, alpha=1.0 if best else 0.6,
                  color="black" if best else None,
                  label=(labels[index] if labels else None) or ("best" if best else None))
    if mean_curve:
        _draw_mean(axes, records)
    if solved_at is not None:
        axes.axhline(solved_at, linestyle="--", color="grey", linewidth=1, label=f"solved ({solved_at:g})")
    axes.set(xlabel="env steps", ylabel="evaluation mean return", title=title)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    # Atomically, as the other reports: a link left at `path` (a folder from elsewhere) is replaced, not written
    # through, and a reader never sees half a PNG.
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)
    return path


def _draw_mean(axes: object, records: list[TrialRecord]) -> None:
    """The mean curve over the steps that every trial reported."""
    complete = [record for record in records if record.steps]
    if not complete:
        return
    length = min(len(record.steps) for record in complete)
    steps = complete[0].steps[:length]
    mean = np.mean([record.returns[:length] for record in complete], axis=0)
    axes.plot(steps, mean, color="black", linewidth=2.5, label="mean")  # type: ignore[attr-defined]
