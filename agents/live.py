"""Training's side of watching: publish the policy and where training stands, obey the live window.

`LiveFeed` is a stable-baselines3 callback. While training runs it writes (agents.live_files):
- the status (steps, steps/s, phase, the evaluation curve) every STATUS_EVERY seconds;
- a policy snapshot every SNAPSHOT_EVERY seconds and after every evaluation. Time, not steps, sets the pace:
  evaluations can come several times a second (CartPole) or a minute apart (Atari), and a watcher wants a
  policy that is at most a few seconds old, at a bounded cost (one small atomic file write each time);
- a clip request per evaluation for TensorBoard when a ClipQueue is given (headless runs).
When a window controls training (`TrainingControl`), it pauses and resumes, saves checkpoints on request,
and stops cleanly (a checkpoint, then the resume hint) when the window asks.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from stable_baselines3.common.callbacks import BaseCallback

from agents.clip_writer import ClipQueue
from agents.live_control import TrainingControl
from agents.live_files import POLICY_FILE, LiveStatus, live_dir, read_status, snapshot_from_model, write_snapshot
from agents.models import save_model
from agents.normalization import ObservationNormalizer
from agents.training_state import save_checkpoint
from core.errors import PlaygroundError

STATUS_EVERY = 0.5
SNAPSHOT_EVERY = 2.0
WINDOW_WAIT = 20.0  # seconds training waits for the window's first frame (a window that never comes is skipped)
PAUSE_POLL = 0.05


@dataclass
class LiveOptions:
    """How a training run is watched.

    Args:
        control: The requests of the window that shows this run; None when no window controls it.
        clips: TensorBoard clips of the policy: at every evaluation and the end ("evaluations", for headless
            runs), only of the final policy ("final", when a window shows the run), or "none" (the default for
            `train()` called from code; `play.py` chooses, see agents.session.SessionOptions).
        trusted_code: The perception plug-in the user allowed, for the clip writer's copy of the agent.
    """

    control: TrainingControl | None = None
    clips: str = "none"
    trusted_code: list[str] = field(default_factory=list)

    def feed(self, run_dir: Path, total: int, solved_at: float | None) -> LiveFeed:
        """The callback that publishes a run watched this way."""
        clips = None if self.clips == "none" else ClipQueue(run_dir, self.trusted_code, self.clips == "evaluations")
        return LiveFeed(run_dir, total, solved_at, self.control, clips)


class LiveFeed(BaseCallback):
    """Publishes a training run for watchers and obeys the window that controls it (if any).

    Args:
        run_dir: The run folder (its `live/` gets the files).
        total: The step budget.
        solved_at: The target mean return, None for none.
        control: The window's requests; None when no window controls this run.
        clips: Where evaluation clips are queued; None for no clips.
    """

    def __init__(self, run_dir: Path, total: int, solved_at: float | None, control: TrainingControl | None = None,
                 clips: ClipQueue | None = None) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.control = control
        self.clips = clips
        earlier = _earlier_status(run_dir)  # a resumed run keeps its curve
        self.status = LiveStatus(phase="learning", step=0, total=total, solved_at=solved_at,
                                 evaluations=earlier.evaluations if earlier else [])
        self._start_step = 0
        self._active = 0.0  # seconds spent learning before the current stretch
        self._stretch_start = 0.0
        self._running = False  # whether the clock runs (not paused, not waiting for the window, not over)
        self._last_status = self._last_snapshot = 0.0

    def _on_training_start(self) -> None:
        self.status.step = self._start_step = self.model.num_timesteps
        self.publish_policy()
        self.write_status()
        if self.control is not None:
            self.control.wait_for_window(WINDOW_WAIT)  # so the window's first frame comes before any update
        self._start_clock()

    def _on_step(self) -> bool:
        if self.control is not None:
            self._obey(self.control)
        now = time.monotonic()
        if self.status.phase == "confirming":  # a confirmation that fell short: training went on
            self.status.phase = "learning"
        if now - self._last_snapshot >= SNAPSHOT_EVERY:
            self.publish_policy()
        if now - self._last_status >= STATUS_EVERY:
            self.write_status()
        return True

    def _obey(self, control: TrainingControl) -> None:
        if control.stop_requested:
            self.status.message = "stopped from the window"
            raise KeyboardInterrupt  # train() saves a checkpoint and says how to resume
        if control.take_checkpoint_request():
            self._save_requested_checkpoint()
        if control.paused:
            self._pause(control)

    def _pause(self, control: TrainingControl) -> None:
        """Hold training until the window resumes it (or asks to stop); the clock stops too."""
        self._stop_clock()
        self.status.phase = "paused"
        self.write_status()
        while control.paused and not control.stop_requested:
            if control.take_checkpoint_request():
                self._save_requested_checkpoint()
                self.write_status()
            time.sleep(PAUSE_POLL)
        self.status.phase = "learning"
        self._start_clock()
        self.write_status()

    def _save_requested_checkpoint(self) -> None:
        """A resumable checkpoint, and a copy of the current policy that `--load` plays: policies/step-N/."""
        save_checkpoint(self.run_dir, self.model, self.training_env)
        folder = self.run_dir / "policies" / f"step-{self.model.num_timesteps}"
        folder.mkdir(parents=True, exist_ok=True)
        save_model(folder, self.model, self._normalizer())
        shutil.copyfile(self.run_dir / "config.json", folder / "config.json")
        self.status.message = f"checkpoint saved at step {self.model.num_timesteps:,} (and policies/{folder.name})"

    def publish_policy(self) -> None:
        """Write the current policy as the newest snapshot."""
        snapshot = snapshot_from_model(self.model, self._normalizer())
        write_snapshot(live_dir(self.run_dir) / POLICY_FILE, snapshot)
        self.status.policy_step = snapshot.step
        self._last_snapshot = time.monotonic()

    def write_status(self) -> None:
        """Write the status as it stands now."""
        now = time.monotonic()
        self.status.step = int(self.model.num_timesteps)
        elapsed = self._active + (now - self._stretch_start if self._running else 0.0)
        self.status.elapsed = round(elapsed, 3)
        self.status.steps_per_s = round((self.status.step - self._start_step) / elapsed, 1) if elapsed > 0 else 0.0
        self.status.save(self.run_dir)
        self._last_status = now

    def evaluation_hook(self) -> BaseCallback:
        """A callback for EvalCallback's `callback_after_eval`: records the point, publishes, queues a clip."""
        return _AfterEvaluation(self)

    def on_evaluation(self, mean_return: float) -> None:
        self.status.evaluations.append((int(self.model.num_timesteps), float(mean_return)))
        solved_at = self.status.solved_at
        if solved_at is not None and mean_return >= solved_at:
            self.status.phase = "confirming"
        self.publish_policy()
        self.write_status()
        if self.clips is not None and self.clips.every_evaluation:
            self.clips.add(snapshot_from_model(self.model, self._normalizer()))

    def finish(self, phase: str, final_policy: bool = True) -> None:
        """Training is over: publish the policy it ends with (the one saved as model.pt) and the last status.

        Args:
            phase: How it ended: solved, budget spent, interrupted or failed.
            final_policy: Whether the model now holds the final policy (False when interrupted or failed).
        """
        if self.model is None:  # stopped before training started
            return
        self._stop_clock()
        if final_policy:
            snapshot = snapshot_from_model(self.model, self._normalizer(), final=True)
            write_snapshot(live_dir(self.run_dir) / POLICY_FILE, snapshot)
            self.status.policy_step = snapshot.step
            if self.clips is not None:
                self.clips.add(snapshot)
        self.status.phase = phase
        self.write_status()

    def _start_clock(self) -> None:
        self._stretch_start, self._running = time.monotonic(), True

    def _stop_clock(self) -> None:
        if self._running:
            self._active += time.monotonic() - self._stretch_start
        self._running = False

    def _normalizer(self) -> ObservationNormalizer | None:
        normalizing = self.model.get_vec_normalize_env()
        return None if normalizing is None else ObservationNormalizer.from_vec_env(normalizing)


class _AfterEvaluation(BaseCallback):
    """Called by EvalCallback after each evaluation (its `parent`), with the mean return it measured."""

    def __init__(self, feed: LiveFeed) -> None:
        super().__init__()
        self.feed = feed

    def _on_step(self) -> bool:
        self.feed.on_evaluation(self.parent.last_mean_reward)
        return True


def _earlier_status(run_dir: Path) -> LiveStatus | None:
    """The status a resumed run left, if it is readable (a damaged one only loses the old curve)."""
    try:
        return read_status(run_dir)
    except PlaygroundError:
        return None

