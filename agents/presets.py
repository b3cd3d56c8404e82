"""Presets: per-algorithm YAML files keyed by env id, `--hp key=value` overrides, and validation.

Resolution order, in one place: command line (`--hp`) > the preset for this env > the preset `default`.
"""

from __future__ import annotations

import inspect
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from agents.limits import check_policy_kwargs, check_sizes, check_value
from core.errors import PlaygroundError
from core.registry import did_you_mean
from core.schema import is_finite_number

PRESET_DIR = Path(__file__).with_name("presets")

# Keys that steer the run rather than being passed to the algorithm, with the types they accept.
RUN_KEYS: dict[str, tuple[type, ...]] = {
    "policy": (str,),
    "n_timesteps": (int,),
    "n_envs": (int,),
    "normalize": (bool, dict),
    "eval_every": (int,),
    "eval_episodes": (int,),
    "noise_type": (str,),
    "noise_std": (float, int),
    "solved_at": (float, int),
    "confirm_margin": (float, int),
    "perception": (str,),
    "perception_kwargs": (dict,),
    "opponent": (str,),
    "self_play": (dict,),
}
# Run keys that cannot be null (the others mean "none": no normalisation, no perception, the env's threshold).
NOT_NULL = {"policy", "n_timesteps", "n_envs", "eval_every", "eval_episodes", "noise_std"}
# Arguments of the algorithms that the playground sets itself.
RESERVED = {"self", "policy", "env", "verbose", "seed", "device", "tensorboard_log", "_init_setup_model"}
SCHEDULABLE = {"learning_rate", "clip_range", "clip_range_vf"}


@cache
def read_preset_file(agent: str) -> dict[str, dict[str, Any]]:
    """The parsed YAML preset file of an agent (safe_load: plain mappings, no code)."""
    path = PRESET_DIR / f"{agent}.yml"
    presets = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(presets, dict) or not isinstance(presets.get("default"), dict):
        raise ValueError(f"{path} must map env ids to settings and hold a `default` entry")
    return presets


def has_env_preset(agent: str, env_id: str) -> bool:
    """Whether the agent's preset file has an entry for this env or its family (beyond `default`)."""
    from envs.catalog import env_kind

    presets = read_preset_file(agent)
    return env_id in presets or f"@{env_kind(env_id)}" in presets


def preset_for(agent: str, env_id: str) -> dict[str, Any]:
    """The merged preset: `default`, then the env family's `@<kind>` entry (`@atari`, `@minatar`), then the
    env's own entry; mappings such as policy_kwargs are merged key by key."""
    from envs.catalog import env_kind

    presets = read_preset_file(agent)
    merged = dict(presets["default"])
    for layer in (presets.get(f"@{env_kind(env_id)}", {}), presets.get(env_id, {})):
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return merged


def algorithm_parameters(algorithm_class: type) -> dict[str, Any]:
    """The tunable keyword arguments of an SB3 algorithm with their defaults."""
    signature = inspect.signature(algorithm_class.__init__)
    return {
        name: parameter.default
        for name, parameter in signature.parameters.items()
        if name not in RESERVED and parameter.kind is not inspect.Parameter.VAR_KEYWORD
    }


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Parse `key=value` strings; values are YAML scalars or flow collections (`[64, 64]`, `{a: 1}`)."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        key = key.strip()
        if not separator or not key:
            raise PlaygroundError(f"--hp {pair!r} is not key=value. Example: --hp learning_rate=0.001")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise PlaygroundError(f"--hp {pair!r}: the value {text!r} cannot be parsed. Quote strings, "
                                  "write lists as [64, 64].") from None
        overrides[key] = _number_if_numeric(value)
    return overrides


def _number_if_numeric(value: Any) -> Any:
    """YAML 1.1 reads `1e-3` as a string; users mean the number."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _type_name(types: tuple[type, ...]) -> str:
    return " or ".join("mapping" if t is dict else "number" if t is float else t.__name__ for t in types)


def _check_type(key: str, value: Any, accepted: tuple[type, ...], origin: str) -> Any:
    """Return `value` (ints widened to float where a float is expected) or raise a PlaygroundError."""
    if value is None:
        return value
    if float in accepted and isinstance(value, int) and not isinstance(value, bool):
        if not is_finite_number(value):
            raise PlaygroundError(f"{origin} {key}: the number is too large for a float.")
        return float(value)
    if isinstance(value, bool) and bool not in accepted:
        ok = False
    else:
        ok = isinstance(value, accepted)
    if not ok:
        raise PlaygroundError(
            f"{origin} {key}={value!r}: expected a {_type_name(accepted)}, got {type(value).__name__}."
        )
    return value


def _accepted_types(key: str, default: Any) -> tuple[type, ...] | None:
    """The types a hyperparameter accepts, judged from its default; None when anything goes."""
    if key in RUN_KEYS:
        return RUN_KEYS[key]
    if key in SCHEDULABLE:
        return (float, str)
    if key == "policy_kwargs":
        return (dict,)
    if key == "target_kl":  # None (no limit) or a number
        return (float,)
    if key == "ent_coef":  # a number, or "auto" / "auto_0.1" for SAC
        return (float, str)
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, int):
        return (int,)
    if isinstance(default, float):
        return (float,)
    if isinstance(default, (str, tuple)):
        return (type(default), int, list) if key == "train_freq" else (type(default),)
    return None


def validate(hyperparams: dict[str, Any], algorithm_class: type, origin: str) -> dict[str, Any]:
    """Check every key is known and every value has the right type; return the cleaned mapping.

    Args:
        hyperparams: The merged settings.
        algorithm_class: The SB3 algorithm they are for.
        origin: Where they came from, for error messages (`--hp`, `presets/ppo.yml`).
    """
    parameters = algorithm_parameters(algorithm_class)
    known = [*RUN_KEYS, *parameters]
    cleaned: dict[str, Any] = {}
    for key, value in hyperparams.items():
        top = key.split(".")[0]
        if top not in RUN_KEYS and top not in parameters:
            raise PlaygroundError(
                f"{origin}: unknown hyperparameter {key!r} for {algorithm_class.__name__}."
                f"{did_you_mean(top, known)} Known keys: {', '.join(sorted(known))}."
            )
        if top != key:  # a dotted key such as policy_kwargs.net_arch
            if top != "policy_kwargs":
                raise PlaygroundError(f"{origin}: {key!r}: only policy_kwargs takes dotted sub-keys.")
            check_policy_kwargs({key.split(".", 1)[1]: value}, origin)
            cleaned[key] = value
            continue
        if value is None and (key in NOT_NULL or parameters.get(key) is not None):
            raise PlaygroundError(f"{origin} {key}=null: {key} needs a value; leave it out to keep the preset's.")
        accepted = _accepted_types(key, parameters.get(key))
        cleaned[key] = _check_type(key, value, accepted, origin) if accepted else value
        if key in SCHEDULABLE and isinstance(value, str) and not _is_schedule(value):
            raise PlaygroundError(f"{origin}: {key}={value!r}: write a number or a linear schedule like lin_0.001.")
        if key == "policy" and value not in getattr(algorithm_class, "policy_aliases", {value: None}):
            choices = ", ".join(algorithm_class.policy_aliases)
            raise PlaygroundError(f"{origin} policy={value!r}: {algorithm_class.__name__} takes one of {choices}.")
        check_value(key, cleaned[key], origin)
    return cleaned


def _is_schedule(text: str) -> bool:
    try:
        float(text.removeprefix("lin_"))
    except ValueError:
        return False
    return text.startswith("lin_")


def apply_overrides(preset: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Merge `--hp` overrides into a preset; `policy_kwargs.x=v` sets one entry of policy_kwargs."""
    merged = dict(preset)
    for key, value in overrides.items():
        if key.startswith("policy_kwargs."):
            merged["policy_kwargs"] = {**(merged.get("policy_kwargs") or {}), key.split(".", 1)[1]: value}
        else:
            merged[key] = value
    return merged


def resolve_hyperparams(agent: str, env_id: str, algorithm_class: type, hp_pairs: list[str],
                        options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The effective hyperparameters of a run: preset default < env preset < `--hp` < typed options, validated.

    Args:
        hp_pairs: `--hp key=value` strings.
        options: Settings the command line gives typed, under their own flags (`n_timesteps` from
            `--timesteps`, `perception` from `--perception`); None values are left out.
    """
    preset = validate(preset_for(agent, env_id), algorithm_class, f"agents/presets/{agent}.yml")
    effective = apply_overrides(preset, validate(parse_overrides(hp_pairs), algorithm_class, "--hp"))
    for key, value in (options or {}).items():
        if value is not None:
            effective.update(validate({key: value}, algorithm_class, f"--{key.removeprefix('n_')}"))
    if effective.get("opponent") != "self":
        effective.pop("self_play", None)  # the self-play schedule means nothing to a run against the script
    return effective


def check_run_sizes(spec: Any, hyperparams: dict[str, Any], spaces: tuple[Any, Any], origin: str) -> None:
    """Refuse settings whose network, buffers or rollouts do not fit the machine or the step budget.

    Args:
        spec: The agent (an `AgentSpec`).
        hyperparams: The effective settings; the algorithm's defaults fill in the rest.
        spaces: The env's observation and action spaces.
        origin: Where the settings came from, for the message.
    """
    settings = {**algorithm_parameters(spec.algorithm_class()), **hyperparams}
    check_sizes(spec.name, settings, spaces[0], spaces[1], origin)
