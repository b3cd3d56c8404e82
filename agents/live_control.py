"""Requests between the live window and the training process it watches, in shared memory.

The window and training run in separate processes (pygame needs its main thread, training needs its core,
and neither may hold the other's GIL). A handful of integers in shared memory carries everything they ask of
each other: no pickled objects, no locks on the training side, one read per training step.
"""

from __future__ import annotations

import multiprocessing
import time

_PAUSED, _STOP, _CHECKPOINTS, _WINDOW_READY, _CLOSE = range(5)


class TrainingControl:
    """Flags the window sets and training obeys (and two the other way round).

    Window -> training: pause or resume, stop cleanly (a checkpoint, then exit code 130), save a checkpoint now.
    Training -> window: close (the command is ending). Window -> training: its first frame is on screen.
    Create it before starting the window process and pass it as an argument (it lives in shared memory).
    """

    def __init__(self) -> None:
        self._flags = multiprocessing.get_context("spawn").RawArray("i", 5)
        self._checkpoints_done = 0

    @property
    def paused(self) -> bool:
        """Whether the window asked training to pause."""
        return bool(self._flags[_PAUSED])

    @paused.setter
    def paused(self, value: bool) -> None:
        self._flags[_PAUSED] = int(value)

    @property
    def stop_requested(self) -> bool:
        """Whether the window asked training to stop (ESC, the window closed)."""
        return bool(self._flags[_STOP])

    def request_stop(self) -> None:
        self._flags[_STOP] = 1

    def request_checkpoint(self) -> None:
        """Ask for a checkpoint of the current policy (each request is served once)."""
        self._flags[_CHECKPOINTS] += 1

    def take_checkpoint_request(self) -> bool:
        """Training side: whether a checkpoint was asked for since the last call."""
        asked = self._flags[_CHECKPOINTS]
        if asked <= self._checkpoints_done:
            return False
        self._checkpoints_done = asked
        return True

    def mark_window_ready(self) -> None:
        """Window side: the first frame is on screen."""
        self._flags[_WINDOW_READY] = 1

    def wait_for_window(self, timeout: float) -> bool:
        """Training side: wait until the window shows its first frame (or asks to stop); False on timeout."""
        deadline = time.monotonic() + timeout
        while not (self._flags[_WINDOW_READY] or self.stop_requested):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    @property
    def close_requested(self) -> bool:
        """Whether the command asked the window to close (training failed, or the command is ending)."""
        return bool(self._flags[_CLOSE])

    def request_close(self) -> None:
        self._flags[_CLOSE] = 1
