"""core.optimizers: the same updates as torch's optimizers, without importing torch._dynamo."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from core.optimizers import eager, make_eager

ROOT = Path(__file__).resolve().parents[1]


def _trajectory(optimizer_class: type[torch.optim.Optimizer], **kwargs: float) -> list[torch.Tensor]:
    """The parameters after each of 5 steps on a fixed quadratic, with a state_dict round trip midway."""
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 3)
    optimizer = optimizer_class(net.parameters(), **kwargs)
    inputs = torch.randn(16, 4)
    seen = []
    for step in range(5):
        optimizer.zero_grad()
        net(inputs).pow(2).mean().backward()
        optimizer.step()
        if step == 2:
            optimizer.load_state_dict(optimizer.state_dict())
        seen.append(torch.cat([p.detach().flatten() for p in net.parameters()]).clone())
    return seen


@pytest.mark.parametrize(("optimizer_class", "kwargs"), [
    (torch.optim.Adam, {"lr": 0.01}),
    (torch.optim.Adam, {"lr": 0.01, "fused": True}),  # what agents.overheads gives the policies
    (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    (torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.99, "eps": 1e-5}),
])
def test_eager_optimizers_take_exactly_the_same_steps(optimizer_class, kwargs):
    assert eager(optimizer_class) is not optimizer_class
    for ours, theirs in zip(_trajectory(eager(optimizer_class), **kwargs), _trajectory(optimizer_class, **kwargs)):
        assert torch.equal(ours, theirs)


def test_step_hooks_still_run_after_switching_a_built_optimizer():
    net = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(net.parameters())
    make_eager(optimizer)
    calls = []
    optimizer.register_step_post_hook(lambda *args: calls.append(1))
    net(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    assert calls == [1] and type(optimizer) is eager(torch.optim.Adam)


@pytest.mark.slow
def test_training_an_agent_never_imports_the_compiler():
    """Building, training, checkpointing and reloading a PPO and a SAC model leaves torch._dynamo unimported."""
    script = textwrap.dedent("""
        import operator, sys, torch
        from agents.models import build_model
        from agents.registry import AGENTS
        from envs.factory import make_vector_env
        runs = (("ppo", "CartPole-v1", {"n_steps": 64}), ("sac", "Pendulum-v1", {"learning_starts": 10}))
        for agent, env_id, extra in runs:
            env = make_vector_env(env_id, 1, 0, training=True)
            model = build_model(AGENTS.get(agent), extra, env, 0, torch.device("cpu"),
                                tensorboard_log=None)
            model.learn(128)
            for name in model._get_torch_save_params()[0]:
                optimizer = operator.attrgetter(name)(model)
                optimizer.load_state_dict(optimizer.state_dict())
        print("dynamo imported:", "torch._dynamo" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dynamo imported: False" in result.stdout
