"""Checking what latest.pt says before `--resume` trusts it: the trainer state and the optimizer state.

The weights were checked by textgen.checkpoint.load_model. What is left can still break a resumed run, or
make it allocate without bound: a step count or budget of the wrong type, a recipe with a batch of a million
streams, an eval interval of 0, Adam moments of the wrong shape or made of stride-0 views. Each field is
checked here; what is kept is rebuilt from the checked values (unknown keys are dropped).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from core.errors import PlaygroundError
from core.schema import Fields
from textgen import limits
from textgen.checkpoint import check_backed
from textgen.model import CharLSTMConfig
from textgen.presets import TrainPreset

MOMENTS = ("exp_avg", "exp_avg_sq")  # AdamW without amsgrad keeps these two per parameter, and a step count


def read_trainer(
    checkpoint: dict[str, Any], where: str, budget: TrainPreset, config: CharLSTMConfig
) -> tuple[dict[str, Any], TrainPreset]:
    """The trainer state and the run's recipe from latest.pt, every field checked.

    Args:
        checkpoint: What latest.pt held.
        where: The file, for error messages.
        budget: The command line's budget; its minutes and steps replace the recipe's.
        config: The model config the weights were checked against; the recipe must describe the same model.

    Returns:
        The trainer state (step, best_val, elapsed_s, chars, seed, corpus, end_s, end_step) and the recipe.

    Raises:
        PlaygroundError: When a field is missing, of the wrong type or out of range, or the recipe describes
            another model than model.json.
    """
    fields = Fields(Fields(checkpoint, where).mapping("trainer"), f"{where} (trainer state)")
    recipe = fields.mapping("preset")
    preset = TrainPreset.from_dict({**recipe, "minutes": budget.minutes, "steps": budget.steps}, f"{where} (recipe)")
    model_fields = ("embed_size", "hidden_size", "num_layers", "dropout")
    if any(getattr(preset, name) != getattr(config, name) for name in model_fields):
        raise PlaygroundError(f"{where}: its recipe describes another model than model.json; the run folder is "
                              "mixed up. Restore it, or retrain.")
    trainer = {
        "step": fields.integer("step", 0, limits.MAX_STEPS),
        "best_val": _loss_or_infinity(fields, "best_val"),  # infinity until the first evaluation
        "elapsed_s": fields.number("elapsed_s", 0.0, limits.MAX_SECONDS),
        "chars": fields.integer("chars", 0, limits.MAX_CHARS),
        "seed": fields.integer("seed", -(2**63), 2**64 - 1),
        "corpus": _corpus_path(fields),
        "end_s": _optional(fields, "end_s", lambda key: fields.number(key, 0.0, limits.MAX_SECONDS)),
        "end_step": _optional(fields, "end_step", lambda key: fields.integer(key, 0, 2 * limits.MAX_STEPS)),
    }
    return trainer, preset


def _corpus_path(fields: Fields) -> str:
    """The corpus path; control characters are refused, since error messages print it on one line."""
    path = fields.text("corpus", max_length=limits.MAX_PATH)
    if not path or any(ord(char) < 32 or ord(char) == 127 for char in path):
        raise fields.fail("corpus", "a file path without control characters", path)
    return path


def _loss_or_infinity(fields: Fields, key: str) -> float:
    """A loss in nats per character, or infinity (no evaluation yet)."""
    value = fields.data.get(key)
    if isinstance(value, float) and value == math.inf:
        return value
    return fields.number(key, 0.0, limits.MAX_LOSS)


def _optional(fields: Fields, key: str, read: Callable[[str], Any]) -> Any:
    """None when the field is missing or null, else what `read(key)` checks and returns."""
    return None if fields.data.get(key) is None else read(key)


def optimizer_state(checkpoint: dict[str, Any], optimizer: torch.optim.Optimizer, where: str) -> dict[str, Any]:
    """The Adam moments from latest.pt, checked against the parameters, as a state dict for `optimizer`.

    Only the per-parameter moments and step counts are taken from the file. The parameter groups (learning
    rate, betas, weight decay) come from `optimizer` itself, built from the checked recipe, so no
    hyperparameter or flag in the file reaches torch.

    Args:
        checkpoint: What latest.pt held.
        optimizer: The optimizer built for the loaded model.
        where: The file, for error messages.

    Returns:
        A dict for `optimizer.load_state_dict`.

    Raises:
        PlaygroundError: When the state names another parameter, or a moment has the wrong type, shape or
            values, or is not backed by its own bytes in the file.
    """
    saved = Fields(Fields(checkpoint, where).mapping("optimizer"), f"{where} (optimizer)").mapping("state")
    params = [param for group in optimizer.param_groups for param in group["params"]]
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, entry in saved.items():
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key < len(params):
            raise PlaygroundError(f"{where}: the optimizer state names a parameter outside 0..{len(params) - 1} "
                                  "of this model; the run folder is mixed up. Restore it, or retrain.")
        state[key] = _moments(entry, params[key], f"{where}: the optimizer state of parameter {key}")
    check_backed([tensor for entry in state.values() for tensor in entry.values()], where)
    return {"state": state, "param_groups": optimizer.state_dict()["param_groups"]}


def _moments(entry: Any, param: torch.Tensor, where: str) -> dict[str, torch.Tensor]:
    """One parameter's Adam state: a step count and two finite float32 moments of the parameter's shape."""
    if not isinstance(entry, dict) or set(entry) != {"step", *MOMENTS}:
        raise PlaygroundError(f"{where} is not Adam's (step, exp_avg, exp_avg_sq); it is corrupt.")
    step = entry["step"]
    dense = isinstance(step, torch.Tensor) and step.layout == torch.strided and step.dtype == torch.float32
    if not dense or step.dim() != 0 or not 0 <= float(step) <= limits.MAX_STEPS:  # `not` also catches NaN
        raise PlaygroundError(f"{where}: its step count is not a float32 number from 0 to {limits.MAX_STEPS:,}.")
    for name in MOMENTS:
        moment = entry[name]
        if not isinstance(moment, torch.Tensor) or moment.layout != torch.strided or moment.dtype != torch.float32 \
                or moment.shape != param.shape:
            raise PlaygroundError(f"{where}: {name} is not a dense float32 tensor of shape {tuple(param.shape)}.")
        if not bool(torch.isfinite(moment).all()):
            raise PlaygroundError(f"{where}: {name} holds NaN or infinite numbers.")
    if bool((entry["exp_avg_sq"] < 0).any()):  # Adam divides by its square root
        raise PlaygroundError(f"{where}: exp_avg_sq holds negative numbers.")
    return {"step": step, **{name: entry[name] for name in MOMENTS}}
