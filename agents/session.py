"""An agent session: what the command line asks for, and the agent it gets, reused, trained, loaded or resumed.

`prepare` is the one entry: `--load` rebuilds a saved run (or, with `--trust-pickle`, an SB3 .zip); `--resume`
continues an interrupted run from its checkpoint; otherwise a completed run with the same agent, env,
hyperparameters and seed is reused, or a new one is trained in a new run folder. Every run folder is read and
written through its typed record (agents.run_record), locked while it trains.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from agents.controllers import ModelController, RandomController
from agents.live import LiveOptions
from agents.live_control import TrainingControl
from agents.models import (
    canonical_perception,
    check_perception_fits,
    ensure_zip_archive,
    is_pickled,
    load_pickled_model,
    read_normalizer,
    rebuild_model,
    resolve_model_path,
    uses_cnn,
)
from agents.normalization import ObservationNormalizer
from agents.presets import check_run_sizes, resolve_hyperparams
from agents.registry import AGENTS, AgentSpec, fitting_agents
from agents.run_record import RunRecord, find_resumable_run, find_reusable_run, locked_run, read_record
from agents.self_play import self_play_obs_mode
from agents.training import CONFIRM_EPISODES, TrainingInterrupted, train
from agents.training_state import load_checkpoint
from core.device import choose_device, describe_device, resolve_device
from core.errors import PlaygroundError
from core.runs import new_run_dir, write_command_line
from envs.catalog import default_agent, resolve_env_id
from envs.make import env_spaces


@dataclass
class SessionOptions:
    """What the user asked for on the command line."""

    agent: str | None
    env: str | None
    seed: int = 0
    timesteps: int | None = None
    perception: str | None = None
    opponent: str | None = None  # two-player games: "self" trains against a pool of its past selves
    device: str = "auto"
    runs_dir: Path = Path("runs")
    retrain: bool = False
    load: str | None = None
    hp: list[str] = field(default_factory=list)
    trust_pickle: bool = False
    trust_code: list[str] = field(default_factory=list)
    resume: str | None = None
    checkpoint_every: float = 60.0
    env_timeout: float = 60.0
    progress: bool = True
    argv: list[str] | None = None
    watch: Callable[[Path, RunRecord], TrainingControl | None] | None = None  # a live window on a run about to train
    clips: str = "evaluations"  # TensorBoard clips of the policy: "evaluations", "final" or "none" (agents.live)


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
    env_id = resolve_env_id(options.env or "CartPole")
    spec = AGENTS.get(options.agent or default_agent(env_id))
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
                                      {"n_timesteps": options.timesteps, "perception": options.perception,
                                       "opponent": options.opponent})
    if hyperparams.get("opponent") == "self":
        self_play_obs_mode(env_id)  # refuses a one-player world before a run folder is made
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
        margin = hyperparams.get("confirm_margin") or 0
        by = f" by {margin:g} standard error{'s' if margin != 1 else ''}" if margin else ""
        goal = (f"until an evaluation reaches a mean return of {threshold:g} and {CONFIRM_EPISODES} fresh episodes "
                f"confirm it{by}") if threshold is not None else "for the budget"
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
        wanted_env = resolve_env_id(options.env or "CartPole")
        wanted_agent = AGENTS.get(options.agent or default_agent(wanted_env)).name
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
    """Run the training (shown live in a window when `options.watch` opens one), keep the record's status
    current, and report the result."""
    control = options.watch(run_dir, record) if options.watch is not None else None
    live = LiveOptions(control=control, clips=options.clips,
                       trusted_code=[*options.trust_code, *_plugin_source(record.hyperparams)])
    try:
        result = train(spec, record.env_id, record.hyperparams, record.solved_at, record.seed, device, run_dir,
                       options.progress, checkpoint_every=options.checkpoint_every, resume_state=resume_state,
                       env_timeout=options.env_timeout, live=live)
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
    record.status, record.timesteps, record.solved = "complete", result.timesteps, result.solved
    record.train_seconds, record.best_eval_return = round(result.seconds, 3), result.best_eval_return
    record.save(run_dir)
    say(_verdict(result, record))
    return PreparedAgent(spec, record.env_id, ModelController(result.model, spec.name, result.normalizer), run_dir,
                         result.model_path, result.normalizer, trained=True, train_seconds=result.seconds,
                         timesteps=result.timesteps, solved=result.solved)


def _verdict(result: Any, record: RunRecord) -> str:
    """What training reached, said plainly; an unsolved run says which policy it keeps and what to try."""
    best = "-" if result.best_eval_return is None else f"{result.best_eval_return:.1f}"
    done = f"Trained for {result.timesteps:,} steps in {result.seconds:.1f} s"
    confirmed = "" if result.confirmed_return is None else \
        f", {CONFIRM_EPISODES} fresh episodes {result.confirmed_return:.1f}"
    if result.solved or record.solved_at is None:
        return f"{done}: {'solved' if result.solved else 'budget spent'} (best evaluation mean return {best}" \
               f"{confirmed}). Saved {result.model_path}"
    kept = f"kept the policy of its best evaluation ({best}, at step {result.best_step:,}), not the last weights" \
        if result.best_step is not None else "kept the last weights"
    return (f"{done}: NOT solved (the target is {record.solved_at:g}; best evaluation mean return {best}"
            f"{confirmed}); {kept}. "
            f"Saved {result.model_path}. To do better: a larger budget (--timesteps {2 * result.timesteps}), "
            f"or another seed (--seed {record.seed + 1}).")


def _mark(record: RunRecord, run_dir: Path, status: str, timesteps: int | None = None) -> None:
    """Record how training ended; on a full disk even this may fail, and the lock then tells that the run died."""
    record.status = status
    if timesteps is not None:
        record.timesteps = timesteps
    try:
        record.save(run_dir)
    except OSError:
        pass


def _versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    import gymnasium
    import stable_baselines3
    import torch

    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "stable_baselines3": stable_baselines3.__version__, "gymnasium": gymnasium.__version__}
