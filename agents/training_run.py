"""Training runs as the command line starts them: a new run folder, or a resumed one."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from agents.checkpoint import load_checkpoint
from agents.controllers import ModelController
from agents.perception import uses_cnn
from agents.prepared import PreparedAgent, SessionOptions
from agents.presets import check_run_sizes
from agents.registry import AGENTS, AgentSpec
from agents.run_record import RunRecord, find_resumable_run, locked_run, read_record
from agents.training import TrainingInterrupted, train
from core.device import choose_device, describe_device
from core.errors import PlaygroundError
from core.runs import new_run_dir, write_command_line
from envs.catalog import resolve_env_id
from envs.factory import env_spaces


def solved_threshold(env_id: str, hyperparams: dict[str, Any]) -> float | None:
    """The return at which training stops: the preset's `solved_at`, else the env's reward threshold."""
    if hyperparams.get("solved_at") is not None:
        return float(hyperparams["solved_at"])
    threshold = gym.spec(env_id).reward_threshold
    return None if threshold is None else float(threshold)


def start_training(spec: AgentSpec, env_id: str, spaces: tuple[gym.Space, gym.Space], hyperparams: dict[str, Any],
                   device: torch.device, options: SessionOptions, say: Callable[[str], None]) -> PreparedAgent:
    """Train in a new run folder."""
    run_dir = new_run_dir(options.runs_dir, env_id, spec.name, tag=f"s{options.seed}")
    with locked_run(run_dir):
        write_command_line(run_dir, options.argv)
        observation_space, action_space = spaces
        record = RunRecord(agent=spec.name, env_id=env_id, seed=options.seed, device=str(device),
                           observation_space=repr(observation_space), action_space=repr(action_space),
                           solved_at=solved_threshold(env_id, hyperparams), hyperparams=hyperparams,
                           versions=_versions())
        record.save(run_dir)
        on_cpu_by_choice = options.device == "auto" and device.type == "cpu"
        reason = " (small MLP policies train faster on the CPU)" if on_cpu_by_choice else ""
        threshold = record.solved_at
        goal = f"until the evaluation mean return reaches {threshold:g}" if threshold is not None else "for the budget"
        say(f"Training {spec.name} on {env_id} on {describe_device(device)}{reason}, {goal}, "
            f"at most {hyperparams['n_timesteps']:,} steps. Run folder: {run_dir}")
        return _train_and_record(spec, record, run_dir, device, options, say, resume_state=None)


def resume_training(options: SessionOptions, say: Callable[[str], None]) -> PreparedAgent:
    """Continue an interrupted run from its checkpoint: steps, optimizers, statistics, TensorBoard curve."""
    if options.resume:
        run_dir = Path(options.resume).expanduser()
        if not run_dir.is_dir():
            raise PlaygroundError(f"--resume {options.resume}: no such run folder.")
    else:
        wanted_agent = AGENTS.get(options.agent or "ppo").name
        wanted_env = resolve_env_id(options.env or "CartPole")
        run_dir = find_resumable_run(options.runs_dir, wanted_env, wanted_agent)
        if run_dir is None:
            raise PlaygroundError(f"no interrupted {wanted_agent} run on {wanted_env} under {options.runs_dir} to "
                                  "resume. Pass --resume RUN_FOLDER, or train without --resume.")
    with locked_run(run_dir):
        return _resume_locked(run_dir, options, say)


def _resume_locked(run_dir: Path, options: SessionOptions, say: Callable[[str], None]) -> PreparedAgent:
    """Resume a run whose folder this process holds."""
    asked_env = resolve_env_id(options.env) if options.env else None  # an env module the user names is imported
    record = read_record(run_dir, trusted_code=options.trust_code)
    spec = AGENTS.get(record.agent)
    if options.agent and AGENTS.get(options.agent) is not spec:
        raise PlaygroundError(f"--resume {run_dir} is a {spec.name} run; drop --agent {options.agent}.")
    if asked_env and asked_env != record.env_id:
        raise PlaygroundError(f"--resume {run_dir} is a run on {record.env_id}; drop --env {options.env}.")
    if options.hp:
        raise PlaygroundError("--hp cannot change a run being resumed: its hyperparameters are in its config.json. "
                              "Start a new run to try other settings.")
    if options.timesteps is not None:
        record.hyperparams["n_timesteps"] = options.timesteps
    check_run_sizes(spec, record.hyperparams, env_spaces(record.env_id), f"--resume {run_dir}")
    state = load_checkpoint(run_dir)
    device = choose_device(options.device, small_model=not uses_cnn(record.hyperparams))
    say(f"Resuming {run_dir} at step {state['num_timesteps']:,} of {record.hyperparams['n_timesteps']:,}.")
    record.status = "training"
    record.save(run_dir)
    return _train_and_record(spec, record, run_dir, device, options, say, resume_state=state)


def _train_and_record(spec: AgentSpec, record: RunRecord, run_dir: Path, device: torch.device,
                      options: SessionOptions, say: Callable[[str], None],
                      resume_state: dict[str, Any] | None) -> PreparedAgent:
    """Run the training, keep the record's status current, and report the result."""
    try:
        result = train(spec, record.env_id, record.hyperparams, record.solved_at, record.seed, device, run_dir,
                       options.progress, checkpoint_every=options.checkpoint_every, resume_state=resume_state,
                       env_timeout=options.env_timeout)
    except TrainingInterrupted as interrupted:
        _mark(record, run_dir, "interrupted", interrupted.timesteps)
        raise
    except PlaygroundError:
        _mark(record, run_dir, "failed")
        raise
    except OSError as error:  # a full disk or a vanished folder while writing checkpoints, events or the model
        _mark(record, run_dir, "failed")
        raise PlaygroundError(f"training stopped: writing in {run_dir} failed ({error.strerror or error}). The last "
                              f"complete checkpoint is kept: free some space, then python play.py --resume "
                              f"{run_dir}") from None
    _log_final_episode(result, record.env_id, spec.name, run_dir, record.seed)
    record.status, record.timesteps, record.solved = "complete", result.timesteps, result.solved
    record.train_seconds, record.best_eval_return = round(result.seconds, 3), result.best_eval_return
    record.save(run_dir)
    verdict = "solved" if result.solved else "not solved"
    best = "-" if result.best_eval_return is None else f"{result.best_eval_return:.1f}"
    say(f"Trained for {result.timesteps:,} steps in {result.seconds:.1f} s: {verdict} "
        f"(best evaluation mean return {best}). Saved {result.model_path}")
    return PreparedAgent(spec, record.env_id, ModelController(result.model, spec.name, result.normalizer), run_dir,
                         result.model_path, result.normalizer, trained=True, train_seconds=result.seconds,
                         timesteps=result.timesteps, solved=result.solved)


def _mark(record: RunRecord, run_dir: Path, status: str, timesteps: int | None = None) -> None:
    """Record how training ended; on a full disk even this may fail, and the lock then tells that the run died."""
    record.status = status
    if timesteps is not None:
        record.timesteps = timesteps
    try:
        record.save(run_dir)
    except OSError:
        pass


def _log_final_episode(result: Any, env_id: str, name: str, run_dir: Path, seed: int) -> None:
    """Put one evaluation episode into the run's TensorBoard as an animated image."""
    from agents.episode_video import log_episode_gif, record_episode

    event_dirs = sorted(run_dir.glob("tensorboard_*"))
    if not event_dirs:
        return
    frames, _, fps = record_episode(ModelController(result.model, name, result.normalizer), env_id, seed + 40_000)
    log_episode_gif(event_dirs[-1], frames, fps=fps, step=result.timesteps)


def _versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    import gymnasium
    import stable_baselines3
    import torch

    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "stable_baselines3": stable_baselines3.__version__, "gymnasium": gymnasium.__version__}
