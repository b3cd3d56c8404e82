"""Getting an agent ready to act: reuse a trained one, train a new one, or load one from a file."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents.controllers import ModelController, RandomController
from agents.normalization import ObservationNormalizer
from agents.presets import resolve_hyperparams
from agents.registry import AGENTS, AgentSpec, fitting_agents
from agents.storage import (
    ensure_zip_archive,
    find_reusable_run,
    is_pickled,
    load_pickled_model,
    read_normalizer,
    read_run_config,
    rebuild_model,
    resolve_model_path,
    save_config,
)
from agents.training import train
from core.device import describe_device, resolve_device, use_single_cpu_thread_for_small_models
from core.errors import PlaygroundError
from core.runs import new_run_dir, write_command_line
from envs.catalog import resolve_env_id
from envs.factory import make_env


@dataclass
class SessionOptions:
    """What the user asked for on the command line."""

    agent: str | None
    env: str | None
    seed: int = 0
    timesteps: int | None = None
    device: str = "auto"
    runs_dir: Path = Path("runs")
    retrain: bool = False
    load: str | None = None
    hp: list[str] = field(default_factory=list)
    trust_pickle: bool = False
    progress: bool = True
    argv: list[str] | None = None


@dataclass
class PreparedAgent:
    """An agent ready to act, and where it came from."""

    spec: AgentSpec
    env_id: str
    controller: Any
    run_dir: Path | None = None
    model_path: Path | None = None
    normalizer: ObservationNormalizer | None = None
    trained: bool = False
    reused: bool = False
    train_seconds: float = 0.0
    timesteps: int = 0
    solved: bool | None = None
    spaces: tuple[gym.Space, gym.Space] | None = None


def env_spaces(env_id: str) -> tuple[gym.Space, gym.Space]:
    """The observation and action spaces of an env."""
    env = make_env(env_id)
    spaces = (env.observation_space, env.action_space)
    env.close()
    return spaces


def check_fit(spec: AgentSpec, env_id: str, action_space: gym.Space) -> None:
    """Refuse an agent that cannot act in the env's action space, naming those that can."""
    if not spec.fits(action_space):
        raise PlaygroundError(
            f"{spec.name} cannot act in {env_id}: its action space is {action_space}. "
            f"Agents that fit: {', '.join(fitting_agents(action_space))}."
        )


def solved_threshold(env_id: str, hyperparams: dict[str, Any]) -> float | None:
    """The return at which training stops: the preset's `solved_at`, else the env's reward threshold."""
    if hyperparams.get("solved_at") is not None:
        return float(hyperparams["solved_at"])
    threshold = gym.spec(env_id).reward_threshold
    return None if threshold is None else float(threshold)


def prepare(options: SessionOptions, say: Callable[[str], None] = print) -> PreparedAgent:
    """Resolve the agent and env, then reuse, train or load the agent as asked."""
    if options.load:
        return _load(options, say)
    spec = AGENTS.get(options.agent or "ppo")
    env_id = resolve_env_id(options.env or "CartPole")
    observation_space, action_space = env_spaces(env_id)
    check_fit(spec, env_id, action_space)
    if not spec.trainable:
        controller = RandomController(action_space, options.seed) if spec.name == "random" else None
        return PreparedAgent(spec, env_id, controller, spaces=(observation_space, action_space))
    return _reuse_or_train(spec, env_id, (observation_space, action_space), options, say)


def _reuse_or_train(spec: AgentSpec, env_id: str, spaces: tuple[gym.Space, gym.Space], options: SessionOptions,
                    say: Callable[[str], None]) -> PreparedAgent:
    algorithm_class = spec.algorithm_class()
    hp = list(options.hp) + ([f"n_timesteps={options.timesteps}"] if options.timesteps is not None else [])
    hyperparams = resolve_hyperparams(spec.name, env_id, algorithm_class, hp)
    small_model = "Cnn" not in hyperparams.get("policy", "")
    device = resolve_device(options.device, prefer_gpu=not small_model)
    use_single_cpu_thread_for_small_models(device, small_model)
    if not options.retrain:
        run_dir = find_reusable_run(options.runs_dir, env_id, spec.name, hyperparams, options.seed)
        if run_dir is not None:
            say(f"Reusing the {spec.name} agent trained before in {run_dir} (no training; --retrain trains anew).")
            model_path = run_dir / "model.pt"
            model = rebuild_model(spec, read_run_config(run_dir), model_path, device)
            normalizer = read_normalizer(run_dir)
            return PreparedAgent(spec, env_id, ModelController(model, spec.name, normalizer), run_dir,
                                 model_path, normalizer, reused=True)

    run_dir = new_run_dir(options.runs_dir, env_id, spec.name, tag=f"s{options.seed}")
    write_command_line(run_dir, options.argv)
    threshold = solved_threshold(env_id, hyperparams)
    observation_space, action_space = spaces
    config = {"agent": spec.name, "env_id": env_id, "seed": options.seed, "device": str(device),
              "observation_space": repr(observation_space), "action_space": repr(action_space),
              "solved_at": threshold, "hyperparams": hyperparams, "status": "training",
              "versions": _versions()}
    save_config(run_dir, config)
    reason = "" if device.type == "cuda" else " (small MLP policies train faster on the CPU)" \
        if options.device == "auto" else ""
    goal = f"until the evaluation mean return reaches {threshold:g}" if threshold is not None else "for the budget"
    say(f"Training {spec.name} on {env_id} on {describe_device(device)}{reason}, {goal}, "
        f"at most {hyperparams['n_timesteps']:,} steps. Run folder: {run_dir}")
    result = train(spec, env_id, hyperparams, threshold, options.seed, device, run_dir, options.progress)
    _log_final_episode(result, env_id, spec.name, run_dir, options.seed)
    config.update(status="complete", timesteps=result.timesteps, train_seconds=round(result.seconds, 3),
                  solved=result.solved, best_eval_return=result.best_eval_return)
    save_config(run_dir, config)
    verdict = "solved" if result.solved else "not solved"
    best = "-" if result.best_eval_return is None else f"{result.best_eval_return:.1f}"
    say(f"Trained for {result.timesteps:,} steps in {result.seconds:.1f} s: {verdict} "
        f"(best evaluation mean return {best}). Saved {result.model_path}")
    return PreparedAgent(spec, env_id, ModelController(result.model, spec.name, result.normalizer), run_dir,
                         result.model_path, result.normalizer, trained=True, train_seconds=result.seconds,
                         timesteps=result.timesteps, solved=result.solved)


def _log_final_episode(result: Any, env_id: str, name: str, run_dir: Path, seed: int) -> None:
    """Put one evaluation episode into the run's TensorBoard as an animated image."""
    from agents.episode_video import log_episode_gif, record_episode

    event_dirs = sorted(run_dir.glob("tensorboard_*"))
    if not event_dirs:
        return
    frames, _, fps = record_episode(ModelController(result.model, name, result.normalizer), env_id, seed + 40_000)
    log_episode_gif(event_dirs[-1], frames, fps=fps, step=result.timesteps)


def _load(options: SessionOptions, say: Callable[[str], None]) -> PreparedAgent:
    model_path, run_dir = resolve_model_path(options.load)
    if is_pickled(model_path):
        return _load_pickled(model_path, options, say)
    config = read_run_config(run_dir)
    spec = AGENTS.get(config["agent"])
    if options.agent and AGENTS.get(options.agent) is not spec:
        raise PlaygroundError(f"--load {options.load} holds a {spec.name} agent, not {options.agent}. "
                              f"Use --agent {spec.name} or leave --agent out.")
    env_id = _check_env(options, config["env_id"])
    observation_space, action_space = env_spaces(env_id)
    if (config.get("observation_space"), config.get("action_space")) != (repr(observation_space), repr(action_space)):
        raise PlaygroundError(
            f"--load {options.load}: the model's spaces ({config.get('observation_space')}, "
            f"{config.get('action_space')}) do not match {env_id} ({observation_space}, {action_space})."
        )
    device = resolve_device(options.device, prefer_gpu=False)
    model = rebuild_model(spec, config, model_path, device)
    say(f"Loaded the {spec.name} agent from {model_path}.")
    normalizer = read_normalizer(run_dir)
    return PreparedAgent(spec, env_id, ModelController(model, spec.name, normalizer), run_dir, model_path,
                         normalizer, reused=True)


def _check_env(options: SessionOptions, saved_env: str) -> str:
    """The env to play: the saved one, or `--env` when it names the same."""
    env_id = resolve_env_id(options.env) if options.env else saved_env
    if env_id != saved_env:
        raise PlaygroundError(f"--load {options.load} was trained on {saved_env}, not {env_id}. "
                              f"Use --env {saved_env} or leave --env out.")
    return env_id


def _load_pickled(model_path: Path, options: SessionOptions, say: Callable[[str], None]) -> PreparedAgent:
    """A stable-baselines3 .zip from elsewhere: only with --trust-pickle, --agent and --env."""
    if not options.trust_pickle:
        raise PlaygroundError(f"--load {options.load} is a pickled stable-baselines3 file: loading it can run "
                              "any code it holds. Pass --trust-pickle only if you trust where it came from.")
    if not options.agent or not options.env:
        raise PlaygroundError(f"--load {options.load}: a .zip carries no config; add --agent and --env.")
    spec = AGENTS.get(options.agent)
    if not spec.trainable:
        raise PlaygroundError(f"--load needs a learning agent; {spec.name} has no saved model.")
    env_id = resolve_env_id(options.env)
    ensure_zip_archive(model_path)
    print(f"warning: unpickling {model_path} (--trust-pickle): it can run code.", file=sys.stderr)
    model = load_pickled_model(model_path, spec, resolve_device(options.device, prefer_gpu=False))
    observation_space, action_space = env_spaces(env_id)
    if model.observation_space != observation_space or model.action_space != action_space:
        raise PlaygroundError(
            f"--load {options.load}: the model's spaces ({model.observation_space}, {model.action_space}) "
            f"do not match {env_id} ({observation_space}, {action_space})."
        )
    say(f"Loaded the {spec.name} agent from {model_path}.")
    return PreparedAgent(spec, env_id, ModelController(model, spec.name), model_path.parent, model_path,
                         reused=True)


def _versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    import gymnasium
    import stable_baselines3
    import torch

    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "stable_baselines3": stable_baselines3.__version__, "gymnasium": gymnasium.__version__}
