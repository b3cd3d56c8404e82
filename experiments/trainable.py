"""One trial: train an agent with given hyperparameters for a budget, reporting its evaluation return as it goes.

`train_and_report` knows nothing of Ray: it calls `report(metrics)` after every evaluation, which under Ray
Tune is `tune.report`, so a scheduler (ASHA) can stop a poor trial early. `tune_trial` is that glue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.search_space import Dimension, decode_config

Report = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of one experiment shares.

    Attributes:
        agent: The agent name (`ppo`).
        env_id: The Gymnasium id.
        hyperparams: The effective preset for the env (validated), before the trial's own values.
        budget: Env steps per trial.
        report_every: Env steps between evaluations (each one a report).
        solved_at: The return that counts as solved, None when the env has none.
        space: The search space, to decode sampled values (empty for a seeds run).
        threads: Torch CPU threads per trial: the CPUs Ray reserved for it.
        use_gpu: Ray reserved a GPU (share) for each trial: train on it.
        folder: The experiment folder; each trial writes its TensorBoard events into its subfolder there.
    """

    agent: str
    env_id: str
    hyperparams: dict[str, Any]
    budget: int
    report_every: int
    solved_at: float | None
    space: tuple[Dimension, ...] = field(default_factory=tuple)
    threads: int = 1
    use_gpu: bool = False
    folder: str = ""


def trial_hyperparams(settings: TrialSettings, overrides: dict[str, Any]) -> dict[str, Any]:
    """The preset with a trial's sampled values over it, and the trial's budget."""
    from agents.presets import apply_overrides

    return {**apply_overrides(settings.hyperparams, overrides), "n_timesteps": settings.budget}


def _reporter_class() -> type:
    """The SB3 callback class, defined on first use so importing this module does not import torch."""
    from stable_baselines3.common.callbacks import BaseCallback

    class ReportAfterEvaluation(BaseCallback):
        """Runs after each EvalCallback evaluation and reports its mean return."""

        def __init__(self, report: Report, solved_at: float | None) -> None:
            super().__init__()
            self.report, self.solved_at = report, solved_at
            self.best = float("-inf")
            self.last_step = -1

        def record(self, timesteps: int, mean_return: float) -> None:
            """Report one evaluation."""
            self.best = max(self.best, mean_return)
            solved = self.solved_at is not None and self.best >= self.solved_at
            self.last_step = timesteps
            self.report({"timesteps": timesteps, "eval_return": mean_return, "best_eval_return": self.best,
                         "solved": int(solved)})

        def _on_step(self) -> bool:
            self.record(self.num_timesteps, float(self.parent.last_mean_reward))
            return True

    return ReportAfterEvaluation


def train_and_report(settings: TrialSettings, overrides: dict[str, Any], seed: int, log_dir: Path,
                     report: Report) -> None:
    """Train one trial, calling `report` after every evaluation and once more after the last step.

    Args:
        settings: What the experiment's trials share.
        overrides: This trial's hyperparameters (sampled values).
        seed: Seeds torch, NumPy, the envs and the evaluation envs.
        log_dir: Where the TensorBoard events go.
        report: Receives {timesteps, eval_return, best_eval_return, solved} after each evaluation.
    """
    from stable_baselines3.common.callbacks import EvalCallback

    from agents.callbacks import HyperparamCallback
    from core.seeding import seed_everything

    hyperparams = trial_hyperparams(settings, overrides)
    seed_everything(seed)
    env, eval_env, model, env_callbacks = _build(settings, hyperparams, seed, log_dir)
    reporter = _reporter_class()(report, settings.solved_at)
    evaluation = EvalCallback(eval_env, callback_after_eval=reporter, n_eval_episodes=hyperparams["eval_episodes"],
                              eval_freq=max(settings.report_every // hyperparams["n_envs"], 1),
                              deterministic=True, verbose=0, warn=False)
    try:
        callbacks = [*env_callbacks, HyperparamCallback(hyperparams), evaluation]
        model.learn(total_timesteps=settings.budget, callback=callbacks, tb_log_name="tensorboard")
        if reporter.last_step != model.num_timesteps:  # the budget ended between evaluations
            reporter.record(model.num_timesteps, _final_evaluation(env, eval_env, model, hyperparams))
    finally:
        env.close()
        eval_env.close()


def _build(settings: TrialSettings, hyperparams: dict[str, Any], seed: int,
           log_dir: Path) -> tuple[Any, Any, Any, list[Any]]:
    """The training env, the evaluation env, the model and the env's callbacks, as agents.training builds them."""
    import torch

    from agents.registry import AGENTS
    from agents.training import build_training
    from core.device import resolve_device

    torch.set_num_threads(settings.threads)  # no more than Ray reserved: trials share the machine
    device = resolve_device("auto", prefer_gpu=settings.use_gpu)
    # Trials run outside the main thread, where the hang alarm cannot work: env_timeout 0.
    return build_training(AGENTS.get(settings.agent), settings.env_id, hyperparams, seed, device, str(log_dir), 0)


def _final_evaluation(env: Any, eval_env: Any, model: Any, hyperparams: dict[str, Any]) -> float:
    """The mean return of the final model, evaluated as EvalCallback does."""
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import sync_envs_normalization

    sync_envs_normalization(env, eval_env)
    mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=hyperparams["eval_episodes"], deterministic=True,
                              warn=False)
    return float(mean)


def trial_folder_name(trial_id: str) -> str:
    """A trial's folder in the experiment folder (Tune's own names list every value and grow too long)."""
    return f"trial-{trial_id}"


def tune_trial(config: dict[str, Any], settings: TrialSettings) -> None:
    """The Ray Tune function trainable: one trial in its own folder of the experiment.

    Args:
        config: The trial's sampled values (search-space keys) and its `seed`.
        settings: What the experiment's trials share.
    """
    from ray import tune

    overrides = decode_config(list(settings.space), config)
    # Straight into the experiment folder: Tune's staging copy is not synced for trials on reused workers.
    log_dir = Path(settings.folder) / trial_folder_name(tune.get_context().get_trial_id())
    train_and_report(settings, overrides, int(config["seed"]), log_dir, tune.report)
