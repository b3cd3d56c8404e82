"""The watcher's side: a controller that plays the newest policy a run folder holds, training or finished.

A run being trained publishes `live/policy.pt` (agents.live); a finished run holds `model.pt` (and, since
live files exist, a final `live/policy.pt` equal to it). `LivePolicy` reads the run's record and policies by
the rules of `--load` (validated record, plug-in code only with `--trust-code`, tensors only, sizes bounded
by the weights actually shipped) and swaps in a newer policy when asked. Construction is cheap; `load()`
imports torch and builds the agent, so a window can draw before it and run `load()` in a thread.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.live_files import POLICY_FILE, PolicySnapshot, live_dir
from core.control import Decision
from core.errors import PlaygroundError

POLL_SECONDS = 0.1


class LivePolicy:
    """Plays the newest policy of `run_dir`; `refresh()` swaps in a newer one.

    Args:
        run_dir: The run folder.
        trusted_code: The `--trust-code` values (a run whose perception is a plug-in needs its code allowed).
    """

    def __init__(self, run_dir: Path, trusted_code: list[str] | tuple[str, ...] = ()) -> None:
        self.run_dir = run_dir
        self.trusted_code = list(trusted_code)
        self.name = "agent"
        self.step: int | None = None  # the training step of the policy being played
        self.final = False  # whether it is the policy training ended with
        self.record: Any = None
        self._controller: Any = None
        self._model: Any = None
        self._seen: tuple[int, int] | None = None  # the snapshot file's identity when last read
        self._explain = False
        self._observation_shape: tuple[int, ...] = ()

    @property
    def ready(self) -> bool:
        """Whether a policy is loaded (until then `decide` cannot be called)."""
        return self._controller is not None

    def load(self, keep_waiting: Any = lambda: True) -> None:
        """Read the record and build the agent from the first policy the run publishes (imports torch).

        Args:
            keep_waiting: Called while no policy exists yet; return False to give up.

        Raises:
            PlaygroundError: A run folder that is damaged, crafted or asks for code the user did not allow.
        """
        from agents.registry import AGENTS
        from agents.run_record import is_locked, read_record
        from envs.make import env_spaces

        self.record = read_record(self.run_dir, trusted_code=self.trusted_code)
        self.name = AGENTS.get(self.record.agent).name
        self._observation_shape = env_spaces(self.record.env_id)[0].shape
        while not self.refresh():
            if not is_locked(self.run_dir) and self._source() is None:
                raise PlaygroundError(f"{self.run_dir} holds no policy yet and no process is training it: "
                                      "nothing to watch. Start its training, or pick another run.")
            if not keep_waiting():
                return
            time.sleep(POLL_SECONDS)

    def refresh(self) -> bool:
        """Load the run's newest policy if it changed since the last call; returns whether one is loaded now."""
        source = self._source()
        identity = None if source is None else _file_identity(source)
        if source is not None and identity is not None and identity != self._seen:
            self._use(self._read(source), source)
            self._seen = identity
        return self.ready

    def _source(self) -> Path | None:
        for path in (live_dir(self.run_dir) / POLICY_FILE, self.run_dir / "model.pt"):
            if path.is_file():
                return path
        return None

    def _read(self, path: Path) -> PolicySnapshot:
        from agents.live_files import read_snapshot
        from agents.models import read_normalizer, read_weights

        shape = self._observation_shape
        if path.name == POLICY_FILE:
            return read_snapshot(path, shape)
        return PolicySnapshot(self.record.timesteps or 0, read_weights(path), read_normalizer(self.run_dir, shape),
                              final=self.record.status == "complete")

    def _use(self, snapshot: PolicySnapshot, source: Path) -> None:
        import torch

        from agents.controllers import ModelController
        from agents.models import build_player, load_weights
        from agents.registry import AGENTS

        if self._model is None:
            self._model = build_player(AGENTS.get(self.record.agent), self.record, snapshot.weights,
                                       torch.device("cpu"), source)
        else:
            load_weights(self._model, snapshot.weights, source)
        controller = ModelController(self._model, self.name, snapshot.normalizer)
        controller.explain_pixels = self._explain
        self._controller, self.step, self.final = controller, snapshot.step, snapshot.final

    @property
    def explain_pixels(self) -> bool:
        """Whether decisions carry saliency maps (the viewer sets it; see core.control.Controller)."""
        return self._explain

    @explain_pixels.setter
    def explain_pixels(self, value: bool) -> None:
        self._explain = value
        if self._controller is not None:
            self._controller.explain_pixels = value

    def reset(self) -> None:
        if self._controller is not None:
            self._controller.reset()

    def decide(self, observation: np.ndarray) -> Decision:
        if self._controller is None:
            raise RuntimeError("LivePolicy.decide before a policy was loaded")
        return self._controller.decide(observation)


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(inode, modification time) of a file, None when it is missing: changes whenever it is replaced."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns
