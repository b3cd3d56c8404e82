"""What a training run publishes for watchers, in its run folder's `live/`: a status record and policy snapshots.

    live/status.json         LiveStatus: phase, steps, steps/s, the evaluation curve, the newest snapshot's step
    live/policy.pt           the newest policy snapshot (state-dict tensors, stamped with its training step)
    live/clips/step-N.pt     snapshots queued for the TensorBoard clip writer (agents.clip_writer)

The trainer writes every file atomically (a reader sees the old file or the new one, never half of one); a
watcher may be another user's program reading a folder it received, so everything read here is validated
like `--load` input: JSON through the size-capped reader and checked field by field, snapshots through
`core.checkpoint.load_state` (tensors and plain values only, never code). Status needs no torch, so a
window can show it before torch has loaded.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.schema import Fields

if TYPE_CHECKING:
    import torch

    from agents.normalization import ObservationNormalizer

LIVE_DIR = "live"
STATUS_FILE = "status.json"
POLICY_FILE = "policy.pt"
CLIPS_DIR = "clips"
FORMAT_VERSION = 1
PHASES = ("learning", "paused", "confirming", "solved", "budget spent", "interrupted", "failed")
ENDED = ("solved", "budget spent", "interrupted", "failed")  # the phases after which no policy follows
MAX_EVALUATIONS = 10_000  # the most evaluation points a status keeps (the newest ones)
MAX_STEP = 10**13


def live_dir(run_dir: Path) -> Path:
    """The run folder's `live/`."""
    return run_dir / LIVE_DIR


@dataclass
class LiveStatus:
    """Where a training run stands, as its watchers see it.

    Args:
        phase: One of PHASES.
        step: Env steps trained so far.
        total: The step budget.
        steps_per_s: Training speed over the time spent learning (pauses left out).
        elapsed: Seconds spent learning (pauses left out).
        evaluations: The evaluation curve: (step, mean return) pairs, oldest first.
        solved_at: The target mean return, None for runs with no target.
        policy_step: The training step of the newest policy snapshot.
        message: A short note for the watcher ("checkpoint saved at step 12,288").
        updated: When the trainer wrote this (seconds since the epoch).
    """

    phase: str
    step: int
    total: int
    steps_per_s: float = 0.0
    elapsed: float = 0.0
    evaluations: list[tuple[int, float]] = field(default_factory=list)
    solved_at: float | None = None
    policy_step: int | None = None
    message: str = ""
    updated: float = 0.0

    @property
    def ended(self) -> bool:
        """Whether training is over (no newer policy will come)."""
        return self.phase in ENDED

    def save(self, run_dir: Path) -> None:
        """Write `live/status.json` atomically."""
        self.updated = time.time()
        self.evaluations = self.evaluations[-MAX_EVALUATIONS:]
        write_json(live_dir(run_dir) / STATUS_FILE, {"format": FORMAT_VERSION, **asdict(self)})


def read_status(run_dir: Path) -> LiveStatus | None:
    """The run's live status, or None when it has none (a run from before live files, or not started).

    Raises:
        PlaygroundError: A damaged or crafted status file.
    """
    path = live_dir(run_dir) / STATUS_FILE
    if not path.is_file():
        return None
    fields = Fields(read_json(path, "live status file", max_bytes=2 * 2**20), str(path))
    if fields.data.get("format") != FORMAT_VERSION:
        raise fields.fail("format", f"{FORMAT_VERSION}", fields.data.get("format"))
    return LiveStatus(
        phase=fields.text("phase", choices=PHASES), step=fields.integer("step", 0, MAX_STEP),
        total=fields.integer("total", 0, MAX_STEP), steps_per_s=fields.number("steps_per_s", 0, 1e12),
        elapsed=fields.number("elapsed", 0, 1e10), evaluations=_curve(fields),
        solved_at=None if fields.data.get("solved_at") is None else fields.number("solved_at", -1e12, 1e12),
        policy_step=None if fields.data.get("policy_step") is None else fields.integer("policy_step", 0, MAX_STEP),
        message=fields.text("message", 300, default=""), updated=fields.number("updated", 0, 1e11),
    )


def _curve(fields: Fields) -> list[tuple[int, float]]:
    points = fields.data.get("evaluations", [])
    valid = isinstance(points, list) and len(points) <= MAX_EVALUATIONS and all(
        isinstance(point, list) and len(point) == 2 and isinstance(point[0], int) and not isinstance(point[0], bool)
        and 0 <= point[0] <= MAX_STEP and isinstance(point[1], (int, float)) and not isinstance(point[1], bool)
        and math.isfinite(point[1]) and abs(point[1]) < 1e15 for point in points)
    if not valid:
        raise fields.fail("evaluations", f"at most {MAX_EVALUATIONS:,} [step, mean return] pairs", "something else")
    return [(int(step), float(value)) for step, value in points]


@dataclass
class PolicySnapshot:
    """A policy as training had it at `step`: the policy's state-dict tensors and observation statistics.

    Args:
        step: The training step the weights were taken at.
        weights: The policy's `state_dict()`, on the CPU.
        normalizer: The observation statistics the policy saw then, if it normalises observations.
        final: The policy training ended with (the one saved as model.pt).
    """

    step: int
    weights: dict[str, torch.Tensor]
    normalizer: ObservationNormalizer | None = None
    final: bool = False


def write_snapshot(path: Path, snapshot: PolicySnapshot) -> None:
    """Write a snapshot atomically (tensors, numbers and lists only: read back without unpickling code)."""
    from core.checkpoint import save_state

    save_state(path, {"format": FORMAT_VERSION, "step": snapshot.step, "final": snapshot.final,
                      "policy": snapshot.weights,
                      "normalizer": None if snapshot.normalizer is None else snapshot.normalizer.to_json()})


def read_snapshot(path: Path, observation_shape: tuple[int, ...]) -> PolicySnapshot:
    """Read and check a snapshot written by `write_snapshot`.

    Raises:
        PlaygroundError: A missing, damaged or crafted file (anything but tensors and plain values is refused).
    """
    import torch

    from agents.normalization import ObservationNormalizer
    from core.checkpoint import load_state

    state = load_state(path, "policy snapshot")
    weights, step = state.get("policy"), state.get("step")
    if (state.get("format") != FORMAT_VERSION or not isinstance(step, int) or isinstance(step, bool)
            or not 0 <= step <= MAX_STEP or not isinstance(state.get("final"), bool) or not isinstance(weights, dict)
            or not weights or not all(isinstance(key, str) and isinstance(value, torch.Tensor)
                                      for key, value in weights.items())):
        raise PlaygroundError(f"{path} is not a policy snapshot this version reads (damaged, or from elsewhere).")
    normalizer = state.get("normalizer")
    if normalizer is not None:
        normalizer = ObservationNormalizer.from_json(normalizer, observation_shape, f"{path} (normalizer)")
    return PolicySnapshot(step, weights, normalizer, state["final"])


def snapshot_from_model(model: Any, normalizer: ObservationNormalizer | None, final: bool = False) -> PolicySnapshot:
    """The current policy of a stable-baselines3 model, copied to the CPU."""
    weights = {name: tensor.detach().to("cpu", copy=True) for name, tensor in model.policy.state_dict().items()}
    return PolicySnapshot(int(model.num_timesteps), weights, normalizer, final)
