"""The ranges every hyperparameter must lie in, and the size budgets of a run: one place for both.

Values come from presets, `--hp`, sweeps and received `config.json` files; all pass through
`check_value` (one key) and `check_sizes` (the network, the buffers and the step budget against the
env's spaces), so nonsense is refused with one line before anything is allocated or trained.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

from agents.registry import OPPONENTS
from core.errors import PlaygroundError
from core.registry import did_you_mean
from core.schema import is_finite_number

# Numeric hyperparameters: (lowest, highest) allowed. A test checks that every numeric argument of every
# agent's algorithm has an entry, so a new stable-baselines3 argument cannot slip through unchecked.
RANGES: dict[str, tuple[float, float]] = {
    "n_timesteps": (1, 10**10), "n_envs": (1, 1024), "eval_every": (1, 10**10), "eval_episodes": (1, 1000),
    "noise_std": (0, 100), "solved_at": (-1e12, 1e12), "confirm_margin": (0, 10),
    "learning_rate": (0, 10), "clip_range": (0, 100), "clip_range_vf": (0, 1e6),
    "n_steps": (1, 10**6), "batch_size": (1, 2**18), "n_epochs": (1, 10**4),
    "gamma": (0, 1), "gae_lambda": (0, 1), "ent_coef": (0, 100), "vf_coef": (0, 1e6), "max_grad_norm": (0, 1e12),
    "sde_sample_freq": (-1, 10**9), "target_kl": (0, 1e6), "stats_window_size": (1, 10**6),
    "buffer_size": (1, 10**9), "learning_starts": (0, 10**10), "tau": (0, 1), "train_freq": (1, 10**9),
    "gradient_steps": (-1, 10**5), "target_update_interval": (1, 10**10), "exploration_fraction": (0, 1),
    "exploration_initial_eps": (0, 1), "exploration_final_eps": (0, 1), "rms_prop_eps": (0, 1),
    "policy_delay": (1, 10**6), "target_policy_noise": (0, 100), "target_noise_clip": (0, 100),
    "target_entropy": (-1e6, 1e6),
}
# Keys whose value names a class or builds objects: a preset or a received file must not set them.
CODE_KEYS = {"rollout_buffer_class", "rollout_buffer_kwargs", "replay_buffer_class", "replay_buffer_kwargs",
             "action_noise"}
# policy_kwargs entries: the network's sizes and switches. Everything else (classes, optimizers) is refused.
POLICY_SIZES: dict[str, tuple[int, int]] = {"lstm_hidden_size": (1, 4096), "n_lstm_layers": (1, 16),
                                            "n_critics": (1, 16)}
POLICY_NUMBERS: dict[str, tuple[float, float]] = {"log_std_init": (-20, 20)}
POLICY_SWITCHES = {"ortho_init", "enable_critic_lstm", "shared_lstm", "share_features_extractor",
                   "normalize_images", "squash_output", "full_std", "use_expln"}
POLICY_KEYS = {"net_arch", "activation_fn", "optimizer_kwargs", *POLICY_SIZES, *POLICY_NUMBERS, *POLICY_SWITCHES}
MAX_LAYER_WIDTH = 65_536
MAX_LAYERS = 32
MAX_PERCEPTION_SETTING = 65_536
MAX_PARAMETERS = 100_000_000  # 400 MB of float32 weights, before optimizer state and target networks
ON_POLICY = {"ppo", "a2c", "ppo-lstm"}


def _range_text(low: float, high: float) -> str:
    return f"{low:,} to {high:,}" if float(low).is_integer() and float(high).is_integer() else f"{low:g} to {high:g}"


def check_number(key: str, value: Any, origin: str) -> None:
    """Refuse a number outside its key's range (or not finite)."""
    low, high = RANGES[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return  # the type check (agents.presets) owns that message
    if not is_finite_number(value) or not low <= value <= high:
        raise PlaygroundError(f"{origin} {key}={value!r} is out of range: it must lie from {_range_text(low, high)}.")


def check_value(key: str, value: Any, origin: str) -> None:
    """Check one (type-checked) hyperparameter's range; `lin_<x>` schedules check x.

    Raises:
        PlaygroundError: A value out of range, or a key that names code.
    """
    if key in CODE_KEYS:
        raise PlaygroundError(f"{origin} {key}: settings that name classes cannot be set here; the playground "
                              "chooses them.")
    if value is None:
        return
    if key == "policy_kwargs":
        check_policy_kwargs(value, origin)
    elif key == "perception_kwargs":
        check_perception_kwargs(value, origin)
    elif key == "normalize" and isinstance(value, dict):
        check_normalize(value, origin)
    elif key == "opponent" and value not in OPPONENTS:
        raise PlaygroundError(f"{origin} opponent={value!r:.40}: choose {' or '.join(OPPONENTS)}.")
    elif key == "self_play":
        from agents.self_play import SelfPlaySettings

        SelfPlaySettings.from_settings(value, origin)
    elif key == "train_freq" and isinstance(value, (list, tuple)):
        if len(value) != 2 or value[1] not in ("step", "episode"):
            raise PlaygroundError(f"{origin} train_freq={value!r}: write a number, or [n, step] / [n, episode].")
        check_number(key, value[0], origin)
    elif key in ("ent_coef", "target_entropy") and isinstance(value, str):
        _check_auto(key, value, origin)
    elif key in RANGES:
        number = float(value.removeprefix("lin_")) if isinstance(value, str) else value
        check_number(key, number, origin)


def _check_auto(key: str, value: str, origin: str) -> None:
    """SAC's `auto` / `auto_<initial value>` entropy settings."""
    rest = value.removeprefix("auto")
    try:
        valid = value.startswith("auto") and (rest == "" or (rest.startswith("_") and 0 < float(rest[1:]) < 100))
    except ValueError:
        valid = False
    if not valid:
        raise PlaygroundError(f"{origin} {key}={value!r}: write a number, auto, or auto_<initial value> (auto_0.1).")


def check_policy_kwargs(settings: Any, origin: str) -> None:
    """The policy's sizes and switches: known keys only, widths and depths bounded."""
    if not isinstance(settings, dict):
        raise PlaygroundError(f"{origin} policy_kwargs={settings!r}: expected a mapping such as {{net_arch: [64]}}.")
    for key, value in settings.items():
        where = f"{origin} policy_kwargs.{key}={value!r}"
        if key not in POLICY_KEYS:
            raise PlaygroundError(f"{origin} policy_kwargs.{key} is not a setting the playground accepts."
                                  f"{did_you_mean(str(key), POLICY_KEYS)} Known: {', '.join(sorted(POLICY_KEYS))}.")
        if key == "net_arch":
            check_net_arch(value, where)
        elif key in POLICY_SIZES:
            _check_int(value, *POLICY_SIZES[key], where)
        elif key in POLICY_NUMBERS:
            _check_float(value, *POLICY_NUMBERS[key], where)
        elif key in POLICY_SWITCHES and not isinstance(value, bool):
            raise PlaygroundError(f"{where}: expected true or false.")
        elif key == "activation_fn" and not isinstance(value, str):
            raise PlaygroundError(f"{where}: expected a name such as relu or tanh.")
        elif key == "optimizer_kwargs":
            _check_flat_numbers(value, 1e6, where)


def check_net_arch(value: Any, where: str) -> None:
    """A list of layer widths, or a mapping of such lists (`{pi: [64], vf: [64]}`)."""
    layers = value.values() if isinstance(value, dict) else [value]
    if isinstance(value, dict) and not set(value) <= {"pi", "vf", "qf"}:
        raise PlaygroundError(f"{where}: a net_arch mapping takes the keys pi, vf and qf.")
    for widths in layers:
        if not isinstance(widths, list) or len(widths) > MAX_LAYERS:
            raise PlaygroundError(f"{where}: expected a list of at most {MAX_LAYERS} layer widths, like [64, 64].")
        for width in widths:
            _check_int(width, 1, MAX_LAYER_WIDTH, where)


# The net_arch mappings each agent's SB3 policy reads (dqn's Q-network takes a list only).
NET_ARCH_KEYS = {"dqn": frozenset(), "sac": frozenset({"pi", "qf"}), "td3": frozenset({"pi", "qf"})}
ACTOR_CRITIC_KEYS = frozenset({"pi", "vf"})  # ppo, a2c, ppo-lstm: either may be left out (no layers)


def check_net_arch_keys(agent: str, net_arch: Any, origin: str) -> None:
    """Refuse a net_arch mapping the agent's policy cannot read (SB3 would fail with a KeyError)."""
    if not isinstance(net_arch, dict):
        return
    keys = NET_ARCH_KEYS.get(agent, ACTOR_CRITIC_KEYS)
    where = f"{origin} policy_kwargs.net_arch={net_arch!r}"
    if not keys:
        raise PlaygroundError(f"{where}: {agent} takes a list of layer widths, like [64, 64].")
    needed = keys if agent in NET_ARCH_KEYS else frozenset()
    if not set(net_arch) <= keys or not needed <= set(net_arch):
        names = " and ".join(sorted(keys))
        raise PlaygroundError(f"{where}: {agent} takes a list of layer widths or a mapping with the keys {names}, "
                              f"like {{{', '.join(f'{key}: [64]' for key in sorted(keys))}}}.")


def check_perception_kwargs(settings: Any, origin: str) -> None:
    """Settings of the perception network: plain numbers, switches and short names, sizes bounded."""
    if not isinstance(settings, dict):
        raise PlaygroundError(f"{origin} perception_kwargs={settings!r}: expected a mapping such as "
                              "{features_dim: 256}.")
    _check_flat_numbers(settings, MAX_PERCEPTION_SETTING, f"{origin} perception_kwargs")


def check_normalize(settings: dict[str, Any], origin: str) -> None:
    """VecNormalize's settings: its own switches and positive, finite numbers."""
    allowed = {"norm_obs": bool, "norm_reward": bool, "clip_obs": float, "clip_reward": float, "epsilon": float}
    for key, value in settings.items():
        kind = allowed.get(key)
        where = f"{origin} normalize.{key}={value!r}"
        if kind is None:
            raise PlaygroundError(f"{origin} normalize.{key} is unknown.{did_you_mean(str(key), allowed)} "
                                  f"Known: {', '.join(allowed)}.")
        if kind is bool and not isinstance(value, bool):
            raise PlaygroundError(f"{where}: expected true or false.")
        if kind is float:
            _check_float(value, 1e-12, 1e6, where)


def _check_int(value: Any, low: int, high: int, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PlaygroundError(f"{where}: expected a whole number from {low:,} to {high:,}.")


def _check_float(value: Any, low: float, high: float, where: str) -> None:
    if not is_finite_number(value) or not low <= value <= high:
        raise PlaygroundError(f"{where}: expected a number from {low:g} to {high:g}.")


def _check_flat_numbers(settings: Any, bound: float, where: str) -> None:
    """A mapping of short names to switches, short strings or numbers within +-bound."""
    if not isinstance(settings, dict):
        raise PlaygroundError(f"{where}={settings!r}: expected a mapping of names to numbers.")
    for key, value in settings.items():
        if isinstance(value, bool) or (isinstance(value, str) and len(value) <= 40):
            continue
        _check_float(value, -bound, bound, f"{where}.{key}={value!r}")


def space_size(space: gym.Space) -> int:
    """How many numbers one observation or action of `space` holds (one-hot for Discrete)."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return int(np.sum(space.nvec))
    return int(np.prod(space.shape)) if space.shape else 1


def mlp_parameters(inputs: int, widths: list[int], outputs: int) -> int:
    """Weights and biases of a fully connected stack."""
    sizes = [inputs, *widths, outputs]
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def estimated_parameters(agent: str, hyperparams: dict[str, Any], observation_space: gym.Space,
                         action_space: gym.Space) -> int:
    """An estimate of the policy's parameter count (MLP heads, LSTM, target networks), for the size budget.

    Perception CNNs are counted by their feature size only; their convolutions are small and bounded by the
    image, which the env (not the file) decides.
    """
    policy = hyperparams.get("policy_kwargs") or {}
    features = space_size(observation_space)
    if hyperparams.get("perception"):
        features = int((hyperparams.get("perception_kwargs") or {}).get("features_dim", 512))
    arch = policy.get("net_arch", [64, 64])
    actor = arch.get("pi", []) if isinstance(arch, dict) else arch
    critic = (arch.get("qf") or arch.get("vf") or []) if isinstance(arch, dict) else arch
    outputs = space_size(action_space)
    if agent == "ppo-lstm":
        hidden, layers = int(policy.get("lstm_hidden_size", 256)), int(policy.get("n_lstm_layers", 1))
        lstm = 4 * hidden * (features + hidden + 2) + (layers - 1) * 4 * hidden * (2 * hidden + 2)
        critic_lstm = lstm if policy.get("enable_critic_lstm", True) else 0
        return lstm + critic_lstm + mlp_parameters(hidden, actor, outputs) + mlp_parameters(hidden, critic, 1)
    if agent in ("sac", "td3"):
        critics = int(policy.get("n_critics", 2)) * mlp_parameters(features + outputs, critic, 1)
        return 2 * (mlp_parameters(features, actor, outputs) + critics)  # with the target networks
    if agent == "dqn":
        return 2 * mlp_parameters(features, actor, outputs)  # the Q-network and its target
    return mlp_parameters(features, actor, outputs) + mlp_parameters(features, critic, 1)


def physical_memory() -> int:
    """This machine's memory in bytes (a generous default where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def buffer_bytes(agent: str, hyperparams: dict[str, Any], observation_space: gym.Space) -> int:
    """The memory the rollout or replay buffer takes (observations dominate)."""
    per_observation = space_size(observation_space) * max(np.dtype(observation_space.dtype).itemsize, 1)
    n_envs = int(hyperparams.get("n_envs", 1))
    if agent in ON_POLICY:
        return int(hyperparams.get("n_steps", 2048)) * n_envs * space_size(observation_space) * 4  # float32 copy
    size = int(hyperparams.get("buffer_size", 1_000_000))
    copies = 1 if hyperparams.get("optimize_memory_usage") else 2  # observations and next observations
    return size * per_observation * copies


def check_sizes(agent: str, hyperparams: dict[str, Any], observation_space: gym.Space, action_space: gym.Space,
                origin: str = "the settings") -> None:
    """Refuse settings whose network or buffers would not fit this machine, or that overrun the step budget.

    Raises:
        PlaygroundError: With what is too large and which setting to lower.
    """
    check_net_arch_keys(agent, (hyperparams.get("policy_kwargs") or {}).get("net_arch"), origin)
    parameters = estimated_parameters(agent, hyperparams, observation_space, action_space)
    if parameters > MAX_PARAMETERS:
        raise PlaygroundError(f"{origin}: the policy would have about {parameters:,} parameters, more than the "
                              f"{MAX_PARAMETERS:,} the playground allows. Lower policy_kwargs.net_arch (or the LSTM or "
                              "features size).")
    needed, available = buffer_bytes(agent, hyperparams, observation_space), physical_memory() // 2
    if needed > available:
        setting = "n_steps or n_envs" if agent in ON_POLICY else "buffer_size"
        raise PlaygroundError(f"{origin}: the {'rollout' if agent in ON_POLICY else 'replay'} buffer would need "
                              f"{needed / 2**30:,.1f} GiB; this machine allows {available / 2**30:,.1f} GiB "
                              f"(half its memory). Lower {setting}.")
    budget, n_envs = int(hyperparams["n_timesteps"]), int(hyperparams.get("n_envs", 1))
    step = n_envs * int(hyperparams.get("n_steps", 2048)) if agent in ON_POLICY else n_envs
    if step > budget:
        what = f"one rollout (n_steps x n_envs = {step:,} steps)" if agent in ON_POLICY else f"n_envs={n_envs:,}"
        raise PlaygroundError(f"{origin}: {what} is larger than the budget of {budget:,} steps, which training "
                              "would overrun. Lower n_steps or n_envs, or raise --timesteps.")
