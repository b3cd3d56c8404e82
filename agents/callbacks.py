"""Training callbacks: progress bar, hyperparameters for TensorBoard, evaluations (the best policy, stop when
solved)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import HParam
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from agents.evaluator import EvaluationResult
from agents.live_files import PolicySnapshot, snapshot_from_model
from agents.normalization import ObservationNormalizer


class ProgressCallback(BaseCallback):
    """A tqdm bar over the step budget showing episodes, mean return (last 100) and steps/s."""

    def __init__(self, total_timesteps: int, description: str = "training") -> None:
        super().__init__()
        self.total_timesteps = total_timesteps
        self.description = description
        self.bar: tqdm | None = None
        self.episodes = 0
        self._shown_steps = 0
        self._start = 0.0
        self._last_postfix = 0.0

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self._shown_steps = self.num_timesteps
        self.bar = tqdm(total=self.total_timesteps, initial=self.num_timesteps, desc=self.description,
                        unit="step", dynamic_ncols=True, mininterval=0.25)

    def _on_step(self) -> bool:
        self.episodes += int(np.sum(self.locals.get("dones", 0)))
        now = time.perf_counter()
        if now - self._last_postfix > 0.25:
            self._refresh(now)
        return True

    def _refresh(self, now: float) -> None:
        assert self.bar is not None
        self.bar.update(self.num_timesteps - self._shown_steps)
        self._shown_steps = self.num_timesteps
        returns = [info["r"] for info in self.model.ep_info_buffer]
        speed = (self.num_timesteps - self.bar.initial) / max(now - self._start, 1e-9)
        self.bar.set_postfix(episodes=self.episodes,
                             mean_return=f"{np.mean(returns):.1f}" if returns else "-",
                             steps_per_s=f"{speed:,.0f}", refresh=False)
        self._last_postfix = now

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self._refresh(time.perf_counter())
            self.bar.close()


class HyperparamCallback(BaseCallback):
    """Writes the run's hyperparameters to TensorBoard's HPARAMS tab, linked to the eval metric."""

    def __init__(self, hyperparams: dict[str, Any]) -> None:
        super().__init__()
        self.hyperparams = hyperparams

    def _on_training_start(self) -> None:
        flat = {key: value if isinstance(value, (int, float, str, bool)) else str(value)
                for key, value in self.hyperparams.items()}
        metrics = {"eval/mean_reward": 0.0, "rollout/ep_rew_mean": 0.0}
        self.logger.record("hparams", HParam(flat, metrics), exclude=("stdout", "log", "json", "csv"))

    def _on_step(self) -> bool:
        return True


class SolvedRule:
    """When a run counts as solved: an evaluation that reaches `solved_at`, confirmed on fresh episodes.

    An evaluation of a few episodes that reaches `solved_at` is a candidate, not a proof: a policy that
    fails one episode in twenty can pass it by luck. The candidate is confirmed on fresh episodes (Gymnasium's
    100 of them, played by the evaluator) before training stops; if the confirmation falls short, training
    goes on and later evaluations try again.

    Where the target sits at the top of what an agent reaches (Acrobot's -73.5), a policy whose true mean is
    the target passes a 100-episode confirmation half the time and fails the next 100 episodes half the time.
    `margin` asks the confirmation's mean to clear the target by that many standard errors of the mean.

    Args:
        solved_at: The mean return that counts as solved.
        margin: Standard errors of the confirmation's mean by which it must clear `solved_at` (0: reach it).
    """

    def __init__(self, solved_at: float, margin: float = 0.0) -> None:
        self.solved_at = solved_at
        self.margin = margin
        self.confirmed_return: float | None = None  # the mean return of the latest confirmation

    def confirms(self, confirmation: np.ndarray) -> bool:
        """Whether the returns of a confirmation's fresh episodes make the run solved."""
        returns = np.asarray(confirmation, dtype=np.float64)
        self.confirmed_return = float(returns.mean())
        standard_error = float(returns.std(ddof=1) / np.sqrt(returns.size)) if returns.size > 1 else 0.0
        return self.confirmed_return - self.margin * standard_error >= self.solved_at


class Evaluations(BaseCallback):
    """Every `every` calls, hands a copy of the policy to `evaluator`; judges each result that comes back.

    A result is logged to TensorBoard at the step of its copy (`eval/mean_reward`, `eval/mean_ep_length`,
    `eval/confirmation_mean_reward`), kept when it is the best so far, passed to `on_evaluation`, and judged by
    `rule`: a confirmed one stops training. Results come back at once (in place) or while training goes on (a
    worker beside it); either way, `solved` is the copy that was confirmed and `best` the best one evaluated,
    so what a run ends with never depends on where its evaluations ran.

    Args:
        evaluator: Plays the evaluations (agents.evaluator).
        every: Calls (steps of all envs at once) between evaluations.
        rule: When the run counts as solved; None trains the whole budget.
        on_evaluation: Told of every result: the copy evaluated and its mean return.
    """

    def __init__(self, evaluator: Any, every: int, rule: SolvedRule | None,
                 on_evaluation: Callable[[PolicySnapshot, float], None]) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.every = every
        self.rule = rule
        self.on_evaluation = on_evaluation
        self.best: PolicySnapshot | None = None
        self.best_return = float("-inf")
        self.solved: PolicySnapshot | None = None
        self._owed: dict[int, PolicySnapshot] = {}  # copies sent, by step, until their results come back

    def _on_step(self) -> bool:
        if self.n_calls % self.every == 0:
            snapshot = snapshot_from_model(self.model, ObservationNormalizer.of_model(self.model))
            self._owed[snapshot.step] = snapshot
            self.evaluator.submit(snapshot)
        return self._collect(wait=False)

    def _on_training_end(self) -> None:
        if self.solved is None:  # the budget is spent: the evaluations still owed may solve it yet
            self._collect(wait=True)

    def _collect(self, wait: bool) -> bool:
        for result in self.evaluator.results(wait):
            if not self._judge(result):
                return False
        return True

    def _judge(self, result: EvaluationResult) -> bool:
        snapshot = self._owed.pop(result.step)
        mean = result.mean_return
        self.logger.record("eval/mean_reward", mean)
        self.logger.record("eval/mean_ep_length", float(np.mean(result.lengths)))
        if result.confirmation is not None:
            self.logger.record("eval/confirmation_mean_reward", float(np.mean(result.confirmation)))
        self.logger.dump(result.step)
        if mean > self.best_return:
            self.best, self.best_return = snapshot, mean
        self.on_evaluation(snapshot, mean)
        if self.rule is not None and result.confirmation is not None and self.rule.confirms(result.confirmation):
            self.solved = snapshot
            return False
        return True


def restore_policy(model: BaseAlgorithm, env: VecEnv, snapshot: PolicySnapshot) -> None:
    """Put the policy of `snapshot` (and the observation statistics it saw) back into the model and `env`."""
    model.policy.load_state_dict(snapshot.weights)
    rms = getattr(env, "obs_rms", None)
    if snapshot.normalizer is not None and rms is not None:
        rms.mean, rms.var, rms.count = (snapshot.normalizer.mean.copy(), snapshot.normalizer.var.copy(),
                                        snapshot.normalizer.count)
