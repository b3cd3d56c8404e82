"""What stable-baselines3 pays on every call that this project's agents skip: same algorithms, same settings.

Small policies spend most of their time in Python around tiny tensor operations, so per-call costs decide
their wall time. Each of these leaves the learning itself as it is:
- torch's check of a distribution's arguments on every step: SB3 builds its distributions from the policy's
  own outputs, valid by construction (about 9% of PPO's training time on CartPole);
- the import of torch._dynamo that the first optimizer step pulls in, about 1 s (`core.optimizers`);
- Adam's loop over the parameter tensors, one update at a time in Python: torch's fused Adam updates them all
  in one call (CPU and CUDA), about 12% of a SAC gradient step with 64x64 networks;
- the policy's mode switch: SB3's `predict` walks the whole module tree to set evaluation mode on every call,
  about 40% of a small policy's predict; here the walk happens only when the mode changes.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from core.optimizers import make_eager

FUSED_DEVICES = ("cpu", "cuda")  # where torch's fused Adam runs


def skip_argument_checks() -> None:
    """Turn off torch's validation of distribution arguments (SB3's are the policy's own outputs)."""
    torch.distributions.Distribution.set_default_validate_args(False)


def with_fused_adam(policy_kwargs: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """`policy_kwargs` asking the policy's default Adam for its fused update, where torch has one.

    A run that names its own optimizer class or says `fused` itself keeps what it says. (A2C replaces the
    optimizer arguments with RMSprop's unless told otherwise, so there this changes nothing.)
    """
    optimizer_kwargs = policy_kwargs.get("optimizer_kwargs", {})
    if device.type not in FUSED_DEVICES or "optimizer_class" in policy_kwargs or "fused" in optimizer_kwargs:
        return policy_kwargs
    return {**policy_kwargs, "optimizer_kwargs": {**optimizer_kwargs, "fused": True}}


def skip_per_call_overheads(model: BaseAlgorithm) -> None:
    """Optimizers that never import torch._dynamo, and a policy that switches modes only when they change."""
    for name in model._get_torch_save_params()[0]:  # every optimizer SB3 saves: policy, actor, critic, ent_coef
        optimizer = operator.attrgetter(name)(model)
        if isinstance(optimizer, torch.optim.Optimizer):
            make_eager(optimizer)
    model.policy.__class__ = mode_switch_on_change(type(model.policy))


@functools.cache
def mode_switch_on_change(cls: type[BasePolicy]) -> type[BasePolicy]:
    """A subclass of the policy class `cls` whose `set_training_mode` does nothing when the mode is already set.

    `nn.Module.train` and `eval` keep `training` true to the whole tree, and SB3 changes modes only through
    `set_training_mode` (which sets `training` too), so the flag says what the walk would find.
    """
    if getattr(cls, "switches_mode_on_change", False):
        return cls

    def set_training_mode(self: BasePolicy, mode: bool) -> None:
        if mode != self.training:
            cls.set_training_mode(self, mode)

    return type(cls.__name__, (cls,), {"set_training_mode": set_training_mode, "switches_mode_on_change": True,
                                       "__doc__": cls.__doc__, "__module__": __name__})
