"""agents.overheads: the per-call costs the agents skip leave the policies doing what SB3's do."""

from __future__ import annotations

import pytest
import torch
from stable_baselines3.common.policies import BasePolicy

from agents.models import build_model
from agents.overheads import mode_switch_on_change, with_fused_adam
from agents.registry import AGENTS
from envs.factory import make_vector_env

CPU = torch.device("cpu")


def test_fused_adam_is_asked_for_unless_the_run_says_otherwise():
    assert with_fused_adam({}, CPU) == {"optimizer_kwargs": {"fused": True}}
    assert with_fused_adam({"optimizer_kwargs": {"eps": 1e-5}}, CPU)["optimizer_kwargs"] == {"eps": 1e-5, "fused": True}
    assert with_fused_adam({"optimizer_kwargs": {"fused": False}}, CPU)["optimizer_kwargs"] == {"fused": False}
    assert with_fused_adam({"optimizer_class": torch.optim.SGD}, CPU) == {"optimizer_class": torch.optim.SGD}
    assert with_fused_adam({}, torch.device("meta")) == {}


@pytest.mark.parametrize(("agent", "env_id", "optimizers"), [
    ("ppo", "CartPole-v1", ["policy.optimizer"]),
    ("dqn", "CartPole-v1", ["policy.optimizer"]),
    ("sac", "Pendulum-v1", ["actor.optimizer", "critic.optimizer"]),
    ("ppo-lstm", "CartPole-v1", ["policy.optimizer"]),
])
def test_built_agents_update_with_fused_adam_and_switch_modes_on_change(agent, env_id, optimizers):
    env = make_vector_env(env_id, 1, 0)
    settings = {"n_steps": 64, "batch_size": 32} if "ppo" in agent else {}
    if agent == "ppo-lstm":
        settings["policy"] = "MlpLstmPolicy"
    model = build_model(AGENTS.get(agent), settings, env, 0, CPU, tensorboard_log=None)
    for name in optimizers:
        optimizer = eval(f"model.{name}")  # noqa: S307 - a fixed attribute path from the parametrization above
        assert all(group["fused"] for group in optimizer.param_groups), name
    assert type(model.policy).switches_mode_on_change and isinstance(model.policy, BasePolicy)
    model.predict(env.reset(), deterministic=True)  # SB3's predict asks for evaluation mode
    assert not any(module.training for module in _moved_modules(model.policy))
    model.policy.set_training_mode(True)
    assert all(module.training for module in _moved_modules(model.policy))


def _moved_modules(policy: BasePolicy) -> list[torch.nn.Module]:
    """The modules set_training_mode moves (SB3 keeps target networks in evaluation mode throughout)."""
    names = ("critic_target", "actor_target", "q_net_target")
    targets = [getattr(policy, name) for name in names if hasattr(policy, name)]
    excluded = {id(module) for target in targets for module in target.modules()}
    return [module for module in policy.modules() if id(module) not in excluded]


class _Dropping(BasePolicy):
    """A policy with dropout, whose mode decides its outputs; counts the walks over its modules."""

    def __init__(self) -> None:
        super().__init__(observation_space=None, action_space=None)  # type: ignore[arg-type]
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Dropout(0.5))
        self.walks = 0

    def train(self, mode: bool = True) -> _Dropping:
        self.walks += 1
        return super().train(mode)

    def _predict(self, observation, deterministic=False):  # pragma: no cover - not used
        raise NotImplementedError


def test_the_mode_walk_happens_only_on_a_change_and_eval_or_train_keep_it_right():
    policy = _Dropping()
    policy.__class__ = mode_switch_on_change(_Dropping)
    inputs = torch.ones(4, 8)
    policy.set_training_mode(False)
    policy.set_training_mode(False)
    assert policy.walks == 1 and not policy.net[1].training
    assert torch.equal(policy.net(inputs), policy.net(inputs))  # evaluation mode: no dropout
    policy.train()  # torch's own switch, outside set_training_mode
    policy.set_training_mode(True)
    assert policy.walks == 2 and policy.net[1].training
    policy.set_training_mode(False)
    assert policy.walks == 3 and not policy.net[1].training
    assert mode_switch_on_change(type(policy)) is type(policy)
