"""What one trial did, as read back from its reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrialRecord:
    """What one trial did, read back from its reports.

    Attributes:
        name: The trial's folder name.
        path: Its folder (TensorBoard events inside).
        config: Its sampled values and seed, as Tune holds them.
        steps: The env step of each report.
        returns: The evaluation mean return of each report.
        error: The error that ended it, if it failed for good.
        retried: Whether it failed at least once and was started again.
    """

    name: str
    path: Path
    config: dict[str, Any]
    steps: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)
    error: str | None = None
    retried: bool = False

    @property
    def final_return(self) -> float | None:
        """The return at the last report."""
        return self.returns[-1] if self.returns else None

    @property
    def best_return(self) -> float | None:
        """The best reported return."""
        return max(self.returns) if self.returns else None

    def status(self, budget: int) -> str:
        """`complete` (trained the whole budget), `pruned` (stopped early by the scheduler) or `failed`."""
        if self.error is not None or not self.steps:
            return "failed"
        return "complete" if self.steps[-1] >= budget else "pruned"
