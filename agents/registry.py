"""The agent registry: every agent the CLI offers, what it is built from and which spaces it fits."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from core.registry import Registry

DISCRETE = "Discrete"
BOX = "Box"
MULTI_DISCRETE = "MultiDiscrete"
MULTI_BINARY = "MultiBinary"
OPPONENTS = ("scripted", "self")  # whom a learner trains against in a two-player game (`--opponent`)


@dataclass(frozen=True)
class AgentSpec:
    """One agent.

    Args:
        name: The CLI name (`ppo`).
        summary: One line for `--help` and `--env list`.
        action_spaces: The action space classes it can act in (names of gymnasium.spaces classes).
        algorithm: `module:Class` of the stable-baselines3 / sb3-contrib algorithm, None for agents
            that do not learn (random, human).
    """

    name: str
    summary: str
    action_spaces: tuple[str, ...]
    algorithm: str | None = None

    @property
    def trainable(self) -> bool:
        """Whether the agent learns (and so has presets, training and saved models)."""
        return self.algorithm is not None

    def fits(self, action_space: object) -> bool:
        """Whether the agent can act in `action_space`."""
        return type(action_space).__name__ in self.action_spaces

    def algorithm_class(self) -> type:
        """Import and return the algorithm class (imports torch: call only when training or loading)."""
        assert self.algorithm is not None, f"{self.name} has no algorithm"
        module_name, class_name = self.algorithm.split(":")
        return getattr(importlib.import_module(module_name), class_name)


AGENTS: Registry[AgentSpec] = Registry("agent")
for _spec in (
    AgentSpec("ppo", "Proximal Policy Optimization (stable-baselines3)", (DISCRETE, BOX, MULTI_DISCRETE, MULTI_BINARY),
              "stable_baselines3:PPO"),
    AgentSpec("dqn", "Deep Q-Network (stable-baselines3)", (DISCRETE,), "stable_baselines3:DQN"),
    AgentSpec("a2c", "Advantage Actor-Critic (stable-baselines3)", (DISCRETE, BOX, MULTI_DISCRETE, MULTI_BINARY),
              "stable_baselines3:A2C"),
    AgentSpec("sac", "Soft Actor-Critic (stable-baselines3)", (BOX,), "stable_baselines3:SAC"),
    AgentSpec("td3", "Twin Delayed DDPG (stable-baselines3)", (BOX,), "stable_baselines3:TD3"),
    AgentSpec("ppo-lstm", "recurrent PPO with an LSTM memory, for partially observable worlds (sb3-contrib)",
              (DISCRETE, BOX, MULTI_DISCRETE, MULTI_BINARY), "agents.recurrent:RecurrentPPO"),
    AgentSpec("random", "uniformly random actions, the baseline to beat",
              (DISCRETE, BOX, MULTI_DISCRETE, MULTI_BINARY)),
    AgentSpec("human", "you, at the keyboard (needs a display)", (DISCRETE, BOX)),
):
    AGENTS.register(_spec.name, _spec)


def fitting_agents(action_space: object) -> list[str]:
    """Names of the agents that can act in `action_space`."""
    return [name for name, spec in AGENTS.items() if spec.fits(action_space)]
