"""Where a training run's evaluations are played: in its own process, or in a worker forked beside it.

Small policies train on one CPU thread, and on CartPole evaluating them (20 episodes every 4,096 steps, 100
more to confirm a pass) costs about as much as training. `ForkedEvaluator` plays them in a worker process on
another core while training goes on; `InlineEvaluator` plays them in place, as stable-baselines3's EvalCallback
does. Both evaluate the same policy copies on the same envs in the same order, so they give the same results:
training never depends on an evaluation, only on when it stops, and a run that stops rolls back to the copy that
was confirmed (agents.callbacks.Evaluations).

The worker is forked before training starts (no threads yet, no CUDA), so it inherits the evaluation env and a
copy of the model; each evaluation sends it the policy's weights and observation statistics as NumPy arrays
over a pipe between the two processes of one run, nothing read from a file.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from agents.live_files import PolicySnapshot
from agents.normalization import ObservationNormalizer

MAX_IN_FLIGHT = 2  # evaluations the worker may owe before training waits for the oldest (bounds the queue)
Confirm = Callable[[BaseAlgorithm, ObservationNormalizer | None], np.ndarray]


@dataclass
class EvaluationResult:
    """One evaluation of the policy copy taken at `step`.

    Args:
        step: The training step of the policy copy.
        returns: The returns of its evaluation episodes.
        lengths: Their lengths.
        confirmation: The returns of the fresh confirmation episodes, played when the mean reached the target.
    """

    step: int
    returns: np.ndarray
    lengths: np.ndarray
    confirmation: np.ndarray | None = None

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))


@dataclass
class EvaluationPlan:
    """What one evaluation plays: `episodes` deterministic episodes on `env`, and `confirm` once their mean
    reaches `solved_at` (None: never)."""

    env: VecEnv
    episodes: int
    solved_at: float | None
    confirm: Confirm

    def play(self, model: BaseAlgorithm, step: int, normalizer: ObservationNormalizer | None) -> EvaluationResult:
        """Evaluate `model` (holding the policy of `step`) with the observation statistics it was trained on."""
        _apply_statistics(self.env, normalizer)
        returns, lengths = evaluate_policy(model, self.env, n_eval_episodes=self.episodes, deterministic=True,
                                           return_episode_rewards=True, warn=False)
        result = EvaluationResult(step, np.asarray(returns, dtype=np.float64), np.asarray(lengths))
        if self.solved_at is not None and result.mean_return >= self.solved_at:
            result.confirmation = np.asarray(self.confirm(model, normalizer), dtype=np.float64)
        return result


class InlineEvaluator:
    """Plays each evaluation at once, in the training process, on the model as it stands."""

    def __init__(self, model: BaseAlgorithm, plan: EvaluationPlan) -> None:
        self.model = model
        self.plan = plan
        self._done: list[EvaluationResult] = []

    def submit(self, snapshot: PolicySnapshot) -> None:
        """Evaluate the policy of `snapshot` (the model's current one)."""
        self._done.append(self.plan.play(self.model, snapshot.step, snapshot.normalizer))

    def results(self, wait: bool = False) -> list[EvaluationResult]:
        """The results not yet collected, oldest first."""
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        """Nothing runs beside training."""


class ForkedEvaluator:
    """Plays evaluations in a forked worker on another core; training goes on meanwhile.

    Args:
        model: The model being trained (the worker keeps its own copy to load weights into).
        plan: What to play.
    """

    def __init__(self, model: BaseAlgorithm, plan: EvaluationPlan) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, model, plan), daemon=True,
                                        name="evaluation worker")
        self._process.start()
        theirs.close()
        self._in_flight = 0
        self._collected: list[EvaluationResult] = []  # results received while waiting to submit

    def submit(self, snapshot: PolicySnapshot) -> None:
        """Send the policy of `snapshot` to be evaluated; waits first while MAX_IN_FLIGHT are owed."""
        while self._in_flight >= MAX_IN_FLIGHT:
            self._collected.append(self._receive())
        weights = {name: tensor.numpy() for name, tensor in snapshot.weights.items()}
        self._connection.send((snapshot.step, weights, snapshot.normalizer))
        self._in_flight += 1

    def results(self, wait: bool = False) -> list[EvaluationResult]:
        """The results that have come back, oldest first; with `wait`, all of those still owed too."""
        done, self._collected = self._collected, []
        while self._in_flight and (wait or self._connection.poll()):
            done.append(self._receive())
        return done

    def close(self) -> None:
        """Stop the worker (an evaluation under way is abandoned)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=5)
        self._connection.close()

    def _receive(self) -> EvaluationResult:
        try:
            kind, payload = self._connection.recv()
        except EOFError:
            raise RuntimeError("the evaluation worker died without a word (killed from outside?)") from None
        self._in_flight -= 1
        if kind == "fault":  # an env fault or another error the user can fix: the same exception as in place
            raise payload
        if kind == "error":
            raise RuntimeError(f"the evaluation worker failed:\n{payload}")
        return payload


def choose_evaluator(model: BaseAlgorithm, plan: EvaluationPlan) -> InlineEvaluator | ForkedEvaluator:
    """A forked worker where one can run beside training, else evaluations in place: the one place this is decided.

    The worker needs fork (Linux), a second core for this process, a model on the CPU (a forked process cannot
    use the parent's CUDA) and training on one thread (forking a process whose OpenMP threads have run can
    leave the child waiting on them forever).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    can_fork = sys.platform.startswith("linux") and cores >= 2
    if can_fork and model.device.type == "cpu" and torch.get_num_threads() == 1:
        return ForkedEvaluator(model, plan)
    return InlineEvaluator(model, plan)


def _serve(connection: Connection, model: BaseAlgorithm, plan: EvaluationPlan) -> None:
    """The worker: load each policy copy that arrives, evaluate it, send the result back, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the trainer, which then stops this worker
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    torch.set_num_threads(1)  # never wake the parent's OpenMP pool: its threads do not exist in this process
    from core.errors import PlaygroundError

    while True:
        try:
            step, weights, normalizer = connection.recv()
        except EOFError:
            return
        try:
            model.policy.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()})
            connection.send(("result", plan.play(model, step, normalizer)))
        except PlaygroundError as fault:
            connection.send(("fault", fault))
        except Exception:  # a programming error: its traceback goes to the trainer, which raises it
            connection.send(("error", traceback.format_exc()))


def _apply_statistics(env: VecEnv, normalizer: ObservationNormalizer | None) -> None:
    """Give the evaluation env's VecNormalize (if any) the observation statistics of the policy."""
    while normalizer is not None:
        if isinstance(env, VecNormalize):
            env.obs_rms.mean, env.obs_rms.var, env.obs_rms.count = (normalizer.mean.copy(), normalizer.var.copy(),
                                                                    normalizer.count)
            return
        env = getattr(env, "venv", None)
        if env is None:
            return
