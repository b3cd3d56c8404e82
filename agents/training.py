"""Training an agent: envs, model, callbacks (progress, TensorBoard, stop-when-solved), saving."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EvalCallback
from stable_baselines3.common.vec_env import VecEnv, VecTransposeImage

from agents.callbacks import BestPolicy, HyperparamCallback, ProgressCallback, StopWhenSolved
from agents.evaluation import evaluate
from agents.live import LiveFeed, LiveOptions
from agents.models import build_model, save_model
from agents.normalization import ObservationNormalizer
from agents.registry import AgentSpec
from agents.self_play import SelfPlayCallback, self_play_pool
from agents.training_state import PeriodicCheckpoint, restore_checkpoint, save_checkpoint
from core.errors import PlaygroundError
from core.seeding import CONFIRMATION_SEED_OFFSET, EVALUATION_SEED_OFFSET, seed_everything
from envs.factory import make_vector_env, normalized
from envs.guard import EnvFault, GuardedVecEnv

CONFIRM_EPISODES = 100  # Gymnasium's definition of solved: the mean return over 100 consecutive episodes


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped training; a checkpoint was saved first."""

    def __init__(self, run_dir: Path, timesteps: int) -> None:
        super().__init__(f"interrupted at step {timesteps:,}: saved a checkpoint in {run_dir}")
        self.run_dir = run_dir
        self.timesteps = timesteps
        self.hint = f"continue with: python play.py --resume {run_dir}"


def build_training(spec: AgentSpec, env_id: str, hyperparams: dict[str, Any], seed: int, device: torch.device,
                   tensorboard_log: str | None,
                   env_timeout: float) -> tuple[VecEnv, VecEnv, BaseAlgorithm, list[BaseCallback]]:
    """The guarded (and normalised, if the preset asks) training and evaluation envs, the model, and the
    callbacks the env needs while training (self-play's snapshots, with `opponent: self`).

    Args:
        tensorboard_log: The run folder (self-play also keeps its snapshots there).
        env_timeout: Seconds one env step may take (0: no limit, for threads where SIGALRM cannot work).
    """
    gamma = float(hyperparams.get("gamma", 0.99))
    norm = normalize_settings(hyperparams)
    pool = self_play_pool(env_id, hyperparams, seed)
    training_envs = make_vector_env(env_id, hyperparams["n_envs"], seed, training=True, opponent=pool)
    guarded = GuardedVecEnv(training_envs, env_id, env_timeout)
    env = normalized(guarded, norm, gamma, training=True)
    evaluation_envs = make_vector_env(env_id, hyperparams["eval_episodes"], seed + EVALUATION_SEED_OFFSET)
    eval_env = normalized(GuardedVecEnv(evaluation_envs, env_id, env_timeout), norm, gamma, training=False)
    model = build_model(spec, hyperparams, env, seed, device, tensorboard_log=tensorboard_log)
    if isinstance(model.get_env(), VecTransposeImage):  # SB3 moved image channels first: evaluate the same way
        eval_env = VecTransposeImage(eval_env)
    env_callbacks: list[BaseCallback] = []
    if pool is not None:
        env_callbacks.append(SelfPlayCallback(pool, Path(tensorboard_log or ".")))
    return env, eval_env, model, env_callbacks


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while training, so both save a checkpoint and stop cleanly."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class TrainingResult:
    """What a training run produced."""

    model: BaseAlgorithm
    normalizer: ObservationNormalizer | None
    model_path: Path
    timesteps: int
    seconds: float
    solved: bool
    best_eval_return: float | None
    best_step: int | None = None  # unsolved runs keep the policy of their best evaluation, taken at this step
    confirmed_return: float | None = None  # the latest confirmation on CONFIRM_EPISODES fresh episodes


def normalize_settings(hyperparams: dict[str, Any]) -> dict[str, Any] | None:
    """VecNormalize keyword arguments from the `normalize` preset key (true, false or a mapping)."""
    setting = hyperparams.get("normalize")
    if not setting:
        return None
    return dict(setting) if isinstance(setting, dict) else {"norm_obs": True, "norm_reward": True}


def train(
    spec: AgentSpec,
    env_id: str,
    hyperparams: dict[str, Any],
    solved_at: float | None,
    seed: int,
    device: torch.device,
    run_dir: Path,
    progress: bool = True,
    checkpoint_every: float = 60.0,
    resume_state: dict[str, Any] | None = None,
    env_timeout: float = 60.0,
    live: LiveOptions | None = None,
) -> TrainingResult:
    """Train `spec` on `env_id` until solved or out of budget, then save the model in `run_dir`.

    Args:
        spec: The agent.
        env_id: The Gymnasium id.
        hyperparams: The effective, validated hyperparameters.
        solved_at: Stop once an evaluation reaches this mean return and CONFIRM_EPISODES fresh episodes confirm
            it; None trains the whole budget.
        seed: Seeds torch, NumPy, the envs and the evaluation envs.
        device: Where the networks live.
        run_dir: The run folder (TensorBoard events and the model go here).
        progress: Show the progress bar.
        checkpoint_every: Seconds between checkpoints (0: only on interruption).
        resume_state: A checkpoint to continue from (see agents.training_state).
        env_timeout: Seconds one env step may take before the env counts as hung.
        live: How the run is watched (a window's control, TensorBoard clips); the status and policy snapshots
            for watchers are always published (agents.live).

    Raises:
        TrainingInterrupted: On Ctrl-C or SIGTERM, after saving a checkpoint.
        PlaygroundError: When the env fails, after saving a checkpoint.
    """
    start = time.perf_counter()
    seed_everything(seed)
    env, eval_env, model, env_callbacks = build_training(spec, env_id, hyperparams, seed, device, str(run_dir),
                                                         env_timeout)
    if resume_state is not None:
        restore_checkpoint(model, env, resume_state, run_dir)

    keeper = BestPolicy()
    stopper = None if solved_at is None else StopWhenSolved(solved_at, _confirmation(env_id, seed),
                                                            hyperparams.get("confirm_margin") or 0.0)
    feed = (live or LiveOptions()).feed(run_dir, hyperparams["n_timesteps"], solved_at)
    evaluation, callbacks = _callbacks(spec, env_id, hyperparams, eval_env, keeper, stopper, feed, run_dir,
                                       checkpoint_every, progress)
    callbacks = env_callbacks + callbacks
    remaining = max(hyperparams["n_timesteps"] - model.num_timesteps, 0)
    try:
        with sigterm_as_interrupt():
            model.learn(total_timesteps=remaining, callback=callbacks, tb_log_name="tensorboard",
                        reset_num_timesteps=resume_state is None)
    except KeyboardInterrupt:
        save_checkpoint(run_dir, model, env)
        feed.finish("interrupted", final_policy=False)
        raise TrainingInterrupted(run_dir, model.num_timesteps) from None
    except EnvFault as fault:
        save_checkpoint(run_dir, model, env)
        feed.finish("failed", final_policy=False)
        raise PlaygroundError(f"{fault} Training stopped; a checkpoint was saved in {run_dir}: fix the env, "
                              f"then continue with --resume {run_dir}.") from None
    finally:
        env.close()
        eval_env.close()

    return _finish(model, env, evaluation.best_mean_reward, keeper, stopper, feed, run_dir, start)


def _confirmation(env_id: str, seed: int) -> Callable[[BaseAlgorithm, VecEnv], np.ndarray]:
    """The returns of a policy on CONFIRM_EPISODES fresh episodes, seeded apart from every other evaluation."""
    def confirm(model: BaseAlgorithm, env: VecEnv) -> np.ndarray:
        normalizer = ObservationNormalizer.from_vec_env(env)
        return np.asarray(evaluate(model, env_id, CONFIRM_EPISODES, seed + CONFIRMATION_SEED_OFFSET, normalizer))

    return confirm


def _callbacks(spec: AgentSpec, env_id: str, hyperparams: dict[str, Any], eval_env: VecEnv, keeper: BestPolicy,
               stopper: StopWhenSolved | None, feed: LiveFeed, run_dir: Path, checkpoint_every: float,
               progress: bool) -> tuple[EvalCallback, list[BaseCallback]]:
    """The evaluation (keep the best policy, publish it, stop when solved and confirmed), the live feed,
    hyperparameters, checkpoints and progress bar."""
    after_evaluation = CallbackList([feed.evaluation_hook()] + ([stopper] if stopper is not None else []))
    evaluation = EvalCallback(eval_env, callback_on_new_best=keeper, callback_after_eval=after_evaluation,
                              n_eval_episodes=hyperparams["eval_episodes"],
                              eval_freq=max(hyperparams["eval_every"] // hyperparams["n_envs"], 1),
                              deterministic=True, verbose=0, warn=False)
    callbacks: list[BaseCallback] = [HyperparamCallback(hyperparams), evaluation, feed]
    if checkpoint_every > 0:
        callbacks.append(PeriodicCheckpoint(run_dir, checkpoint_every))
    if progress:
        callbacks.append(ProgressCallback(hyperparams["n_timesteps"], f"{spec.name} on {env_id}"))
    return evaluation, callbacks


def _finish(model: BaseAlgorithm, env: VecEnv, best: float, keeper: BestPolicy, stopper: StopWhenSolved | None,
            feed: LiveFeed, run_dir: Path, start: float) -> TrainingResult:
    """Checkpoint the last weights, then save the policy to show (the last, or the best one when unsolved) and
    publish it to watchers."""
    solved = stopper is not None and stopper.solved
    save_checkpoint(run_dir, model, env, include_replay=False)  # the last weights: --resume continues from them
    if not solved and keeper.step < model.num_timesteps:
        keeper.restore(env)  # unsolved: keep the best policy the evaluations found, not the last weights
    normalizer = ObservationNormalizer.from_vec_env(env)
    model_path = save_model(run_dir, model, normalizer)
    feed.finish("solved" if solved else "budget spent")
    return TrainingResult(
        model=model,
        normalizer=normalizer,
        model_path=model_path,
        timesteps=model.num_timesteps,
        seconds=time.perf_counter() - start,
        solved=solved,
        best_eval_return=None if best == float("-inf") else float(best),
        best_step=keeper.step if keeper.weights is not None and not solved else None,
        confirmed_return=None if stopper is None else stopper.confirmed_return,
    )
