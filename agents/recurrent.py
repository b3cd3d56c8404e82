"""The recurrent agent `ppo-lstm`: sb3-contrib's RecurrentPPO whose LSTMs are core.nets.LSTMBlock.

sb3-contrib's recurrent policies build `lstm_actor` / `lstm_critic` as `nn.LSTM` and call them sequence-first,
`lstm(x, (h, c)) -> (out, (h, c))`, reading `input_size`, `hidden_size` and `num_layers`. The policies here
swap those for the project's one LSTM block (the same one textgen's char-LSTM runs on) in sequence-first
mode; everything else, rollouts with episode starts, sequence padding and the PPO update, stays
sb3-contrib's. `RecurrentPPO` here differs from sb3-contrib's only in the policies its names stand for.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
from sb3_contrib import RecurrentPPO as ContribRecurrentPPO
from sb3_contrib.common.recurrent.policies import (
    RecurrentActorCriticCnnPolicy,
    RecurrentActorCriticPolicy,
    RecurrentMultiInputActorCriticPolicy,
)
from stable_baselines3.common.policies import BasePolicy

from core.errors import PlaygroundError
from core.nets import LSTMBlock

LSTM_SIZE_KEYS = ("lstm_hidden_size", "n_lstm_layers")


def check_lstm_sizes(policy_kwargs: dict[str, Any]) -> None:
    """Refuse LSTM sizes that are not positive integers, naming the --hp that fixes them.

    Raises:
        PlaygroundError: For a size of 0, a negative size or a size that is no integer.
    """
    for key in LSTM_SIZE_KEYS:
        value = policy_kwargs.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            example = 64 if key == "lstm_hidden_size" else 1
            raise PlaygroundError(f"policy_kwargs.{key}={value!r}: the LSTM needs a positive whole number. "
                                  f"Example: --hp policy_kwargs.{key}={example}")


def core_lstm(input_size: int, hidden_size: int, num_layers: int, lstm_kwargs: dict[str, Any]) -> LSTMBlock:
    """The project's LSTM block in the layout sb3-contrib calls it in (sequence first).

    Args:
        input_size: Features per step (the features extractor's output).
        hidden_size: Units per layer.
        num_layers: Stacked layers.
        lstm_kwargs: sb3-contrib's `lstm_kwargs`; `dropout` and `forget_bias` are understood.
    """
    unknown = set(lstm_kwargs) - {"dropout", "forget_bias"}
    if unknown:
        raise PlaygroundError(f"policy_kwargs.lstm_kwargs: {', '.join(sorted(unknown))} not understood; "
                              "the LSTM block takes dropout and forget_bias.")
    return LSTMBlock(input_size, hidden_size, num_layers, batch_first=False, **lstm_kwargs)


class _CoreLSTMMixin:
    """Swaps the `nn.LSTM`s sb3-contrib builds for LSTMBlocks and rebuilds the optimizer over them.

    sb3-contrib builds its LSTMs and the optimizer inside `__init__` with no hook in between, so the
    blocks replace them right after (the discarded `nn.LSTM`s cost a few kilobytes, once).
    """

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, lr_schedule: Any, **kwargs: Any) -> None:
        check_lstm_sizes(kwargs)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)
        policy: Any = self
        num_layers, _, hidden_size = policy.lstm_hidden_state_shape
        policy.lstm_actor = core_lstm(policy.features_dim, hidden_size, num_layers, policy.lstm_kwargs)
        if policy.lstm_critic is not None:
            policy.lstm_critic = core_lstm(policy.features_dim, hidden_size, num_layers, policy.lstm_kwargs)
        policy.optimizer = policy.optimizer_class(policy.parameters(), lr=lr_schedule(1), **policy.optimizer_kwargs)


class CoreLstmPolicy(_CoreLSTMMixin, RecurrentActorCriticPolicy):
    """sb3-contrib's MlpLstmPolicy over core.nets.LSTMBlock (same arguments)."""


class CoreCnnLstmPolicy(_CoreLSTMMixin, RecurrentActorCriticCnnPolicy):
    """sb3-contrib's CnnLstmPolicy over core.nets.LSTMBlock: a CNN features extractor, then the LSTM."""


class CoreMultiInputLstmPolicy(_CoreLSTMMixin, RecurrentMultiInputActorCriticPolicy):
    """sb3-contrib's MultiInputLstmPolicy over core.nets.LSTMBlock, for Dict observations."""


class RecurrentPPO(ContribRecurrentPPO):
    """sb3-contrib's RecurrentPPO; its policy names stand for the policies over core's LSTM block.

    Refuses observation spaces the recurrent policies cannot read with a PlaygroundError.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpLstmPolicy": CoreLstmPolicy,
        "CnnLstmPolicy": CoreCnnLstmPolicy,
        "MultiInputLstmPolicy": CoreMultiInputLstmPolicy,
    }

    def _setup_model(self) -> None:
        # Checked here rather than in __init__, whose signature the preset validation reads.
        check_lstm_sizes(self.policy_kwargs)
        if not isinstance(self.observation_space, (gym.spaces.Box, gym.spaces.Dict)):
            raise PlaygroundError(f"ppo-lstm reads vector or image observations (Box), not {self.observation_space}. "
                                  "Pick an env with Box observations, e.g. --env CartPoleNoVel.")
        super()._setup_model()


def is_recurrent(policy: object) -> bool:
    """Whether a policy carries LSTM state from step to step."""
    return isinstance(policy, RecurrentActorCriticPolicy)
