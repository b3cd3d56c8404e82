"""Optimizers that take the same steps without importing torch._dynamo, about 1 s of every command.

torch imports its compiler (torch._dynamo) lazily, but the first optimizer built or stepped pulls it in:
`Optimizer.add_param_group` and friends are wrapped to be skipped by the compiler, and `Adam.step` (like
most torch optimizers) calls `torch._dynamo.graph_break()` on every step. In eager mode both are no-ops.
This project never compiles an optimizer step, so it marks those methods as already skipped and steps
through the undecorated update under the same grad mode. Should torch change these internals, `eager`
leaves a class as it is and the import simply happens again: slower, never different.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch.optim import Optimizer

# Optimizer methods torch wraps with torch._disable_dynamo (torch/optim/optimizer.py).
_COMPILER_SKIPPED = ("state_dict", "load_state_dict", "zero_grad", "add_param_group")


def _mark_compiler_skipped() -> None:
    """Give each wrapped method the "already disabled" function the wrapper would import dynamo to make."""
    for name in _COMPILER_SKIPPED:
        original = getattr(getattr(Optimizer, name), "__wrapped__", None)
        if original is not None and not hasattr(original, "__dynamo_disable"):
            setattr(original, "__dynamo_disable", original)


_mark_compiler_skipped()


def _undecorated_step(cls: type[Optimizer]) -> Callable[..., Any] | None:
    """The update of `cls.step` under its grad-mode wrapper, or None when the step is not wrapped that way."""
    step: Any = cls.step
    while getattr(step, "hooked", False):  # torch's profiling hook wrapper, added on first construction
        step = step.__wrapped__
    if getattr(step, "__code__", None) is None or step.__code__.co_name != "_use_grad":
        return None
    return getattr(step, "__wrapped__", None)


@functools.cache
def eager(cls: type[Optimizer]) -> type[Optimizer]:
    """A subclass of `cls` whose step never imports torch._dynamo; `cls` itself when that cannot be done."""
    update = _undecorated_step(cls)
    if update is None:
        return cls

    def step(self: Optimizer, closure: Callable[[], float] | None = None) -> Any:
        with torch.set_grad_enabled(self.defaults.get("differentiable", False)):
            return update(self, closure)

    return type(cls.__name__, (cls,), {"step": step, "__doc__": cls.__doc__, "__module__": __name__})


def make_eager(optimizer: Optimizer) -> None:
    """Switch a built optimizer to its eager class in place (same state, same hooks)."""
    eager_class = eager(type(optimizer))
    if eager_class is not type(optimizer):
        optimizer.__class__ = eager_class
        optimizer._patch_step_function()  # the step hooks and profiler label torch gives every optimizer
