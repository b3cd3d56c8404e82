"""Watching a run while it trains: the window process, and what the window keeps about the run.

`LiveWindow` (in the training command's process) starts the window in a process of its own, so training and
drawing never share a GIL, and a crash of the window never touches training. `LiveTraining` (in the window's
process) loads the run's newest policy in a background thread (torch takes a second to import: the window
draws meanwhile), polls the run's status, and passes the training keys on through `TrainingControl`.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agents.live_control import TrainingControl
from agents.live_files import read_status
from agents.watching import LivePolicy
from core.errors import PlaygroundError
from viewer.controls import Controls
from viewer.training_panel import TrainingView

STATUS_POLL = 0.25
TRAINER_CHECK = 1.0  # seconds between checks that a run marked as training still has a live trainer
CLOSE_WAIT = 10.0


@dataclass
class WatchOptions:
    """What to watch and how.

    Args:
        run_dir: The run folder.
        env_id: Its env (from its record).
        agent: Its agent's name, for the HUD.
        episodes: Episodes of the final policy to play once training is over.
        seed: The first episode's seed.
        versus: Who plays the other side of a two-player game.
        record_to: Also record the window to this new file.
        trusted_code: `--trust-code` values, for a run whose perception is a plug-in.
        control: Steers training (the window of the command that trains the run); None to only watch.
    """

    run_dir: Path
    env_id: str
    agent: str
    episodes: int = 3
    seed: int = 30_000
    versus: str = "scripted"
    record_to: Path | None = None
    trusted_code: list[str] = field(default_factory=list)
    control: TrainingControl | None = None


class LiveTraining:
    """The window's view of a run: its newest policy (a controller), its status, and the keys that steer it."""

    def __init__(self, run_dir: Path, trusted_code: list[str], control: TrainingControl | None) -> None:
        self.run_dir = run_dir
        self.policy = LivePolicy(run_dir, trusted_code)
        self.control = control
        self.view = TrainingView(steers=control is not None, note="loading the agent...")
        self.counting = False  # whether episodes count towards --episodes (training is over)
        self.trainer_gone = False
        self._error: BaseException | None = None
        self._closing = False
        self._marked_ready = False
        self._last_poll = self._last_trainer_check = 0.0
        self._loader = threading.Thread(target=self._load, name="policy loader", daemon=True)
        self._loader.start()

    def _load(self) -> None:
        try:
            self.policy.load(keep_waiting=lambda: not self._closing)
        except Exception as error:  # raised again in the window's thread, where it can end the window
            self._error = error

    @property
    def ready(self) -> bool:
        """Whether a policy is loaded and can play; raises what the loader failed with."""
        if self._error is not None:
            raise self._error
        return self.policy.ready and not self._loader.is_alive()

    @property
    def over(self) -> bool:
        """Whether training is over: it ended, or its process is gone."""
        status = self.view.status
        return self.trainer_gone or (status is not None and status.ended)

    def before_episode(self) -> None:
        """Swap in the newest policy for the next episode (one policy per episode, so its return is its own)."""
        self._poll(force=True)
        if self.ready:
            self.policy.refresh()
        self.view.shown_step = self.policy.step
        self.view.shown_final = self.policy.final
        self.counting = self.ready and (self.policy.final or self.over)

    def on_frame(self, controls: Controls) -> None:
        """Called every frame: mark the window ready, pass the training keys on, poll the status."""
        if self.control is not None:
            if not self._marked_ready:
                self.control.mark_window_ready()
                self._marked_ready = True
            self.control.paused = controls.training_paused
            if controls.checkpoint:
                controls.checkpoint = False
                self.control.request_checkpoint()
            if self.control.close_requested:
                controls.quit = True
        self._poll()

    def _poll(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_poll < STATUS_POLL:
            return
        self._last_poll = now
        try:
            self.view.status = read_status(self.run_dir) or self.view.status
        except PlaygroundError as error:
            self.view.note = str(error)[:90]
        if self.ready and self.view.note.startswith("loading"):
            self.view.note = ""
        if not self.over and now - self._last_trainer_check > TRAINER_CHECK:
            self._last_trainer_check = now
            self._check_trainer()

    def _check_trainer(self) -> None:
        from agents.run_record import is_locked

        if self.view.status is not None and not is_locked(self.run_dir):
            self.trainer_gone = True
            self.view.note = "no process trains this run any more: showing its last policy"

    def close(self) -> None:
        """The window is closing: stop training cleanly if it still runs (ESC or the window closed mid-training)."""
        self._closing = True
        if self.control is not None and not self.over:
            self.control.request_stop()


class LiveWindow:
    """Starts the window that shows a run while it trains (in its own process) and collects what it played.

    Args:
        options: How to watch; `run_dir`, `env_id`, `agent` and `control` are filled in by `open`.
    """

    def __init__(self, options: WatchOptions) -> None:
        self.options = options
        self.process: Any = None
        self._results: Any = None

    def open(self, run_dir: Path, record: Any) -> TrainingControl:
        """Start the window on a run about to train; returns the control training obeys."""
        control = TrainingControl()
        options = replace(self.options, run_dir=run_dir, env_id=record.env_id, agent=record.agent, control=control)
        context = multiprocessing.get_context("spawn")
        self._results, sending = context.Pipe(duplex=False)
        self.process = context.Process(target=window_process, args=(options, sending), name="playground window")
        self.process.start()
        sending.close()
        self.options.control = control
        return control

    @property
    def opened(self) -> bool:
        return self.process is not None

    def wait(self) -> tuple[list[float], Path | None]:
        """After training: wait for the window to play its episodes and close; returns the returns and video.

        Raises:
            PlaygroundError: What the window stopped on (a damaged run folder, a video that cannot be written).
        """
        try:
            message = json.loads(self._results.recv_bytes())
        except (EOFError, OSError, ValueError):
            message = {"error": "the window closed unexpectedly (see the lines above); the trained agent is saved"}
        self.process.join()
        if "error" in message:
            raise PlaygroundError(message["error"])
        return [float(value) for value in message["returns"]], Path(message["video"]) if message["video"] else None

    def close(self) -> None:
        """Close the window now (training failed or was interrupted)."""
        if self.process is None:
            return
        self.options.control.request_close()
        self.process.join(CLOSE_WAIT)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def window_process(options: WatchOptions, results: Any) -> None:
    """The window process: watch the run, then send back what was played (JSON over the pipe)."""
    from core.cli import one_line
    from viewer.session import watch

    try:
        returns, video = watch(options)
        message: dict[str, Any] = {"returns": returns, "video": str(video) if video else None}
    except PlaygroundError as error:
        message = {"error": one_line(error)}
    except KeyboardInterrupt:  # Ctrl-C reaches the whole terminal's process group: training handles it
        message = {"returns": [], "video": None}
    results.send_bytes(json.dumps(message).encode())
