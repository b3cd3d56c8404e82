"""Training checkpoints: everything needed to resume, in one file of tensors and plain values.

`checkpoint.pt` holds the networks and optimizers (SB3's `get_parameters()`), extra torch
variables (SAC's entropy coefficient), the step counters, the VecNormalize statistics and,
for off-policy agents, the replay buffer. It is written atomically (temporary file, flush,
rename), so a process killed at any moment leaves the previous complete checkpoint, and read
with `torch.load(weights_only=True)`, so loading never runs code.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import get_device
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from core.checkpoint import load_state, save_state
from core.errors import PlaygroundError

CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
REPLAY_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


def _normalization_state(env: VecEnv) -> dict[str, Any] | None:
    if not isinstance(env, VecNormalize):
        return None
    return {
        "obs_mean": _tensor(env.obs_rms.mean), "obs_var": _tensor(env.obs_rms.var), "obs_count": env.obs_rms.count,
        "ret_mean": _tensor(env.ret_rms.mean), "ret_var": _tensor(env.ret_rms.var), "ret_count": env.ret_rms.count,
    }


def _replay_state(model: BaseAlgorithm) -> dict[str, Any] | None:
    buffer = getattr(model, "replay_buffer", None)
    if not isinstance(buffer, ReplayBuffer):
        return None
    filled = buffer.buffer_size if buffer.full else buffer.pos
    state: dict[str, Any] = {"pos": buffer.pos, "full": buffer.full}
    for name in REPLAY_FIELDS:
        array = getattr(buffer, name, None)
        if array is not None and getattr(array, "size", 0):
            state[name] = _tensor(array[:filled])
    return state


def save_checkpoint(run_dir: Path, model: BaseAlgorithm, env: VecEnv, include_replay: bool = True) -> Path:
    """Write `checkpoint.pt` in `run_dir` atomically; returns its path."""
    _, variables = model._get_torch_save_params()
    state = {
        "format": CHECKPOINT_FORMAT,
        "parameters": model.get_parameters(),
        "variables": {name: _attribute(model, name).detach().cpu() for name in variables},
        "num_timesteps": int(model.num_timesteps),
        "n_updates": int(getattr(model, "_n_updates", 0)),
        "episode_num": int(model._episode_num),
        "normalization": _normalization_state(env),
        "replay_buffer": _replay_state(model) if include_replay else None,
        "saved_at": time.time(),
    }
    path = run_dir / CHECKPOINT_FILE
    save_state(path, state)
    return path


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """Read a checkpoint without unpickling anything but tensors and plain values."""
    path = run_dir / CHECKPOINT_FILE
    if not path.is_file():
        raise PlaygroundError(f"{run_dir} holds no {CHECKPOINT_FILE} to resume from.")
    state = load_state(path, "checkpoint")
    if state.get("format") != CHECKPOINT_FORMAT:
        raise PlaygroundError(f"{path} is not a checkpoint this version can resume (format {CHECKPOINT_FORMAT}).")
    if not all(_is_count(state.get(key)) for key in ("num_timesteps", "n_updates", "episode_num")):
        raise _refuse(run_dir, "its step counters are not whole numbers in range")
    return state


def _refuse(run_dir: Path | str, what: str) -> PlaygroundError:
    return PlaygroundError(f"{Path(run_dir) / CHECKPOINT_FILE} does not fit this run: {what}. The file is damaged or "
                           "from another run; restore it, or train anew.")


def _is_count(value: Any, high: float = 1e13) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high


def check_checkpoint(model: BaseAlgorithm, env: VecEnv, state: dict[str, Any], run_dir: Path | str) -> None:
    """Check a checkpoint read from disk against the freshly built model and env, before anything is copied.

    Raises:
        PlaygroundError: A counter, variable, statistic or replay field of the wrong type, name or shape.
    """
    if not isinstance(state.get("parameters"), dict):
        raise _refuse(run_dir, "it holds no network parameters")
    variables = state.get("variables")
    _, names = model._get_torch_save_params()
    if not isinstance(variables, dict) or set(variables) != set(names):
        raise _refuse(run_dir, f"its extra variables are not {sorted(names)}")
    for name, value in variables.items():
        if not isinstance(value, torch.Tensor) or value.shape != _attribute(model, name).shape:
            raise _refuse(run_dir, f"the variable {name} has the wrong shape")
    _check_normalization(env, state.get("normalization"), run_dir)
    _check_replay(model, state.get("replay_buffer"), run_dir)


def _check_normalization(env: VecEnv, normalization: Any, run_dir: Path | str) -> None:
    if normalization is None or not isinstance(env, VecNormalize):
        return
    expected = {"obs_mean": env.obs_rms.mean.shape, "obs_var": env.obs_rms.var.shape,
                "ret_mean": env.ret_rms.mean.shape, "ret_var": env.ret_rms.var.shape}
    if not isinstance(normalization, dict) or any(
            not isinstance(normalization.get(key), torch.Tensor) or tuple(normalization[key].shape) != shape
            for key, shape in expected.items()):
        raise _refuse(run_dir, "its observation statistics do not match the env's observations")
    if not all(isinstance(normalization.get(key), (int, float)) for key in ("obs_count", "ret_count")):
        raise _refuse(run_dir, "its statistics counts are not numbers")


def _check_replay(model: BaseAlgorithm, replay: Any, run_dir: Path | str) -> None:
    buffer = getattr(model, "replay_buffer", None)
    if replay is None or not isinstance(buffer, ReplayBuffer):
        return
    if not isinstance(replay, dict) or not _is_count(replay.get("pos"), buffer.buffer_size) \
            or not isinstance(replay.get("full"), bool):
        raise _refuse(run_dir, "its replay buffer position is not valid for this buffer")
    for name in REPLAY_FIELDS:
        saved, array = replay.get(name), getattr(buffer, name, None)
        if saved is None or array is None:
            continue
        if not isinstance(saved, torch.Tensor) or len(saved) > len(array) or tuple(saved.shape[1:]) != array.shape[1:]:
            raise _refuse(run_dir, f"its replay buffer's {name} do not fit a buffer of {buffer.buffer_size:,} steps")


def restore_checkpoint(model: BaseAlgorithm, env: VecEnv, state: dict[str, Any], run_dir: Path | str = "") -> None:
    """Put a checkpoint's networks, optimizers, counters, statistics and replay buffer into a fresh model.

    Everything is checked first (`check_checkpoint`); networks and optimizers that do not fit are refused.
    """
    check_checkpoint(model, env, state, run_dir)
    try:
        model.set_parameters(state["parameters"], exact_match=True, device=get_device(model.device))
    except (RuntimeError, ValueError, KeyError, TypeError) as error:  # torch's own shape and key checks
        detail = str(error).splitlines()[0][:120]
        raise _refuse(run_dir, f"its networks or optimizers do not match ({detail})") from None
    for name, value in state["variables"].items():
        _attribute(model, name).data.copy_(value.to(model.device))
    model.num_timesteps = state["num_timesteps"]
    model._episode_num = state["episode_num"]
    if hasattr(model, "_n_updates"):
        model._n_updates = state["n_updates"]
    normalization = state.get("normalization")
    if normalization is not None and isinstance(env, VecNormalize):
        env.obs_rms.mean, env.obs_rms.var = normalization["obs_mean"].numpy(), normalization["obs_var"].numpy()
        env.obs_rms.count = normalization["obs_count"]
        env.ret_rms.mean, env.ret_rms.var = normalization["ret_mean"].numpy(), normalization["ret_var"].numpy()
        env.ret_rms.count = normalization["ret_count"]
    _restore_replay(model, state.get("replay_buffer"))


def _restore_replay(model: BaseAlgorithm, replay: dict[str, Any] | None) -> None:
    buffer = getattr(model, "replay_buffer", None)
    if replay is None or not isinstance(buffer, ReplayBuffer):
        return
    for name in REPLAY_FIELDS:
        if name in replay:
            saved = replay[name].numpy()
            getattr(buffer, name)[: len(saved)] = saved
    buffer.pos, buffer.full = replay["pos"], replay["full"]


def _attribute(model: BaseAlgorithm, dotted: str) -> Any:
    target: Any = model
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


class PeriodicCheckpoint(BaseCallback):
    """Writes a checkpoint every `every_seconds` of wall-clock time."""

    def __init__(self, run_dir: Path, every_seconds: float) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.every_seconds = every_seconds
        self._last = time.monotonic()

    def _on_step(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.every_seconds:
            save_checkpoint(self.run_dir, self.model, self.training_env)
            self._last = now
        return True
