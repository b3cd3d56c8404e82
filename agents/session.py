"""Getting an agent ready to act: reuse a trained one, train a new one, or load one from a file."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym

from agents.controllers import ModelController, RandomController
from agents.perception import canonical_perception, check_perception_fits, uses_cnn
from agents.prepared import PreparedAgent, SessionOptions
from agents.presets import check_run_sizes, resolve_hyperparams
from agents.registry import AGENTS, AgentSpec, fitting_agents
from agents.run_record import find_reusable_run, read_record
from agents.storage import (
    ensure_zip_archive,
    is_pickled,
    load_pickled_model,
    read_normalizer,
    rebuild_model,
    resolve_model_path,
)
from agents.training_run import resume_training, start_training
from core.device import choose_device, resolve_device
from core.errors import PlaygroundError
from envs.catalog import resolve_env_id
from envs.factory import env_spaces


def check_fit(spec: AgentSpec, env_id: str, action_space: gym.Space) -> None:
    """Refuse an agent that cannot act in the env's action space, naming those that can."""
    if not spec.fits(action_space):
        raise PlaygroundError(
            f"{spec.name} cannot act in {env_id}: its action space is {action_space}. "
            f"Agents that fit: {', '.join(fitting_agents(action_space))}."
        )


def prepare(options: SessionOptions, say: Callable[[str], None] = print) -> PreparedAgent:
    """Resolve the agent and env, then reuse, train or load the agent as asked."""
    if options.load:
        return _load(options, say)
    if options.resume is not None:
        return resume_training(options, say)
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
    hyperparams = resolve_hyperparams(spec.name, env_id, algorithm_class, options.hp,
                                      {"n_timesteps": options.timesteps, "perception": options.perception})
    if hyperparams.get("perception"):
        hyperparams["perception"] = canonical_perception(hyperparams["perception"])
    check_run_sizes(spec, hyperparams, spaces, "the settings (preset, --hp, --timesteps)")
    check_perception_fits(hyperparams, spaces[0], env_id)
    device = choose_device(options.device, small_model=not uses_cnn(hyperparams))
    if not options.retrain:
        run_dir = find_reusable_run(options.runs_dir, env_id, spec.name, hyperparams, options.seed)
        if run_dir is not None:
            say(f"Reusing the {spec.name} agent trained before in {run_dir} (no training; --retrain trains anew).")
            model_path = run_dir / "model.pt"
            record = read_record(run_dir, trusted_code=_plugin_source(hyperparams))  # the plug-in the user named
            model = rebuild_model(spec, record, model_path, device)
            normalizer = read_normalizer(run_dir, spaces[0].shape)
            return PreparedAgent(spec, env_id, ModelController(model, spec.name, normalizer), run_dir,
                                 model_path, normalizer, reused=True)

    return start_training(spec, env_id, spaces, hyperparams, device, options, say)


def _plugin_source(hyperparams: dict) -> list[str]:
    """The plug-in file or module the user's own settings name (they asked for it, so it may be imported)."""
    perception = hyperparams.get("perception") or ""
    return [perception.rpartition(":")[0]] if ":" in perception else []


def _load(options: SessionOptions, say: Callable[[str], None]) -> PreparedAgent:
    model_path, run_dir = resolve_model_path(options.load)
    if is_pickled(model_path):
        return _load_pickled(model_path, options, say)
    env_id = resolve_env_id(options.env) if options.env else None  # an env module the user names is imported first
    record = read_record(run_dir, trusted_code=options.trust_code)
    spec = AGENTS.get(record.agent)
    if options.agent and AGENTS.get(options.agent) is not spec:
        raise PlaygroundError(f"--load {options.load} holds a {spec.name} agent, not {options.agent}. "
                              f"Use --agent {spec.name} or leave --agent out.")
    env_id = _check_env(options, env_id, record.env_id)
    observation_space, action_space = env_spaces(env_id)
    if (record.observation_space, record.action_space) != (repr(observation_space), repr(action_space)):
        raise PlaygroundError(
            f"--load {options.load}: the model's spaces ({record.observation_space:.200}, "
            f"{record.action_space:.200}) do not match {env_id} ({observation_space}, {action_space})."
        )
    check_run_sizes(spec, record.hyperparams, (observation_space, action_space), f"--load {options.load}")
    device = resolve_device(options.device, prefer_gpu=False)
    model = rebuild_model(spec, record, model_path, device)
    say(f"Loaded the {spec.name} agent from {model_path}.")
    normalizer = read_normalizer(run_dir, observation_space.shape)
    return PreparedAgent(spec, env_id, ModelController(model, spec.name, normalizer), run_dir, model_path,
                         normalizer, reused=True)


def _check_env(options: SessionOptions, asked: str | None, saved_env: str) -> str:
    """The env to play: the saved one, or `--env` when it names the same."""
    env_id = asked or _registered(saved_env, options.load)
    if env_id != saved_env:
        raise PlaygroundError(f"--load {options.load} was trained on {saved_env}, not {env_id}. "
                              f"Use --env {saved_env} or leave --env out.")
    return env_id


def _registered(env_id: str, load: str | None) -> str:
    """A saved env id as the catalog resolves it, refused with a hint when it is not registered here."""
    import gymnasium

    import envs  # noqa: F401  (registers our own worlds)

    if env_id not in gymnasium.registry and not env_id.startswith("ALE/"):
        raise PlaygroundError(f"--load {load} was trained on {env_id}, which is not registered here. If it comes "
                              "from your own module, name it: --env your.module:" + env_id)
    return resolve_env_id(env_id)


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
