"""Guarding training against broken environments: exceptions, NaN/inf values, and hangs."""

from __future__ import annotations

import signal
import threading
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from core.errors import PlaygroundError


class EnvFault(PlaygroundError):
    """The environment misbehaved: raised, produced NaN/inf, or took too long for one step."""


class _StepTimeout(Exception):
    pass


class GuardedVecEnv(VecEnvWrapper):
    """Turns env failures into an `EnvFault` naming the env and the step.

    Args:
        venv: The env to guard.
        env_id: Its name, for messages.
        step_timeout: Seconds one step (of all copies) may take before the env counts as hung;
            enforced with SIGALRM in the main thread (POSIX), 0 to disable.
    """

    def __init__(self, venv: VecEnv, env_id: str, step_timeout: float = 60.0) -> None:
        super().__init__(venv)
        self.env_id = env_id
        self.step_timeout = step_timeout
        self.steps = 0
        self._alarm = (step_timeout > 0 and hasattr(signal, "setitimer")
                       and threading.current_thread() is threading.main_thread())
        self._previous_handler = signal.signal(signal.SIGALRM, _raise_timeout) if self._alarm else None

    def reset(self) -> Any:
        observations = self._guarded(self.venv.reset, "reset")
        self._check(observations, None, "reset")
        return observations

    def step_wait(self) -> Any:
        observations, rewards, dones, infos = self._guarded(self.venv.step_wait, "step")
        self.steps += self.num_envs
        self._check(observations, rewards, "step")
        return observations, rewards, dones, infos

    def close(self) -> None:
        if self._alarm:
            signal.signal(signal.SIGALRM, self._previous_handler)
            self._alarm = False
        self.venv.close()

    def _guarded(self, call: Any, what: str) -> Any:
        if self._alarm:
            signal.setitimer(signal.ITIMER_REAL, self.step_timeout)
        try:
            return call()
        except _StepTimeout:
            raise EnvFault(f"{self.env_id} hung: one {what} took over {self.step_timeout:g} s "
                           f"(at step {self.steps:,}).") from None
        except EnvFault:
            raise
        except Exception as error:
            raise EnvFault(f"{self.env_id} raised {type(error).__name__} at step {self.steps:,}: {error}") from error
        finally:
            if self._alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)

    def _check(self, observations: Any, rewards: np.ndarray | None, what: str) -> None:
        for name, values in (("observation", observations), ("reward", rewards)):
            if values is None or isinstance(values, dict):
                continue
            array = np.asarray(values)
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                raise EnvFault(f"{self.env_id} returned a NaN or infinite {name} at {what} {self.steps:,}.")


def _raise_timeout(signum: int, frame: Any) -> None:
    raise _StepTimeout
