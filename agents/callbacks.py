"""Training callbacks: progress bar, hyperparameters for TensorBoard, the best policy, stop when solved."""

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


class BestPolicy(BaseCallback):
    """Called by EvalCallback on each new best evaluation: keeps a copy of that policy.

    A run that ends unsolved then shows the best policy its evaluations found, not the last weights, which
    can have collapsed (a DQN that reached 400 can end below a random agent).
    """

    def __init__(self) -> None:
        super().__init__()
        self.weights: dict[str, Any] | None = None
        self.statistics: tuple[Any, Any, float] | None = None  # VecNormalize observation mean, var, count
        self.step = 0

    def _on_step(self) -> bool:
        self.weights = {name: tensor.detach().clone() for name, tensor in self.model.policy.state_dict().items()}
        rms = getattr(self.training_env, "obs_rms", None)
        if rms is not None and not isinstance(rms, dict):
            self.statistics = (rms.mean.copy(), rms.var.copy(), float(rms.count))
        self.step = self.model.num_timesteps
        return True

    def restore(self, env: Any) -> None:
        """Put the kept policy (and the observation statistics it saw) back into the model and `env`."""
        if self.weights is None:
            return
        self.model.policy.load_state_dict(self.weights)
        rms = getattr(env, "obs_rms", None)
        if self.statistics is not None and rms is not None:
            rms.mean, rms.var, rms.count = self.statistics


class StopWhenSolved(BaseCallback):
    """Called by EvalCallback after every evaluation: stops training once the policy is solved.

    An evaluation of a few episodes that reaches `solved_at` is a candidate, not a proof: a policy that
    fails one episode in twenty can pass it by luck. The candidate is confirmed on `confirm` (fresh
    episodes, Gymnasium's 100 of them) before training stops; if the confirmation falls short, training
    goes on and later evaluations try again.

    Where the target sits at the top of what an agent reaches (Acrobot's -73.5), a policy whose true mean is
    the target passes a 100-episode confirmation half the time and fails the next 100 episodes half the time.
    `margin` asks the confirmation's mean to clear the target by that many standard errors of the mean.

    Args:
        solved_at: The mean return that counts as solved.
        confirm: Plays the current policy on fresh episodes and returns their returns.
        margin: Standard errors of the confirmation's mean by which it must clear `solved_at` (0: reach it).
    """

    def __init__(self, solved_at: float, confirm: Callable[[BaseAlgorithm, VecEnv], np.ndarray],
                 margin: float = 0.0) -> None:
        super().__init__()
        self.solved_at = solved_at
        self.confirm = confirm
        self.margin = margin
        self.solved = False
        self.confirmed_return: float | None = None  # the mean return of the latest confirmation

    def _on_step(self) -> bool:
        if self.parent.last_mean_reward < self.solved_at:
            return True
        returns = np.asarray(self.confirm(self.model, self.training_env), dtype=np.float64)
        self.confirmed_return = float(returns.mean())
        standard_error = float(returns.std(ddof=1) / np.sqrt(returns.size)) if returns.size > 1 else 0.0
        self.logger.record("eval/confirmation_mean_reward", self.confirmed_return)
        self.logger.dump(self.num_timesteps)
        self.solved = self.confirmed_return - self.margin * standard_error >= self.solved_at
        return not self.solved
