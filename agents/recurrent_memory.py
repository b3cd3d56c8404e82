"""The memory of a recurrent agent playing one episode at a time: the LSTM states carried from step to step.

Batch evaluation needs none of this: stable-baselines3's `evaluate_policy` passes the state and the episode
starts through `predict`. The viewer and the episode recorder ask for one decision at a time instead, so the
state lives here, is reset at every episode start, and is shown in the Decision.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.preprocessing import is_image_space_channels_first

from core.control import Decision
from vision.saliency import gradient_saliency, smoothing_for


class RecurrentMemory:
    """Steps a recurrent actor-critic policy on single observations, carrying both LSTMs' states.

    Args:
        policy: The recurrent policy (sb3-contrib's or agents.recurrent's).
    """

    def __init__(self, policy: RecurrentActorCriticPolicy) -> None:
        self.policy = policy
        self.states: RNNStates | None = None
        self.episode_start = True

    def reset(self) -> None:
        """Forget the episode: the next decision starts from a zero state."""
        self.states = None
        self.episode_start = True

    def _zero_states(self) -> RNNStates:
        shape = self.policy.lstm_hidden_state_shape
        zeros = torch.zeros(shape, device=self.policy.device)
        return RNNStates((zeros, zeros.clone()), (zeros.clone(), zeros.clone()))

    def decide(self, observation: np.ndarray, deterministic: bool = True, explain_pixels: bool = False) -> Decision:
        """Choose the action for one observation and move the memory one step on.

        Args:
            observation: One observation.
            deterministic: Act greedily.
            explain_pixels: Also compute the saliency of the chosen action (discrete actions, image observations).

        Returns:
            The Decision with the action, action probabilities (discrete actions), the value estimate and the
            actor LSTM's new hidden state (its last layer).
        """
        policy = self.policy
        policy.set_training_mode(False)
        obs_tensor, _ = policy.obs_to_tensor(observation)
        states = self.states if self.states is not None else self._zero_states()
        starts = torch.tensor([float(self.episode_start)], device=policy.device)
        with torch.no_grad():
            actions, values, _, new_states = policy(obs_tensor, states, starts, deterministic)
            distribution, _ = policy.get_distribution(obs_tensor, states.pi, starts)
        self.states, self.episode_start = new_states, False
        decision = Decision(self._env_action(actions.cpu().numpy()), value=float(values[0, 0]),
                            hidden=new_states.pi[0][-1, 0].cpu().numpy().copy())
        if isinstance(distribution, CategoricalDistribution):
            decision.probabilities = distribution.distribution.probs[0].cpu().numpy()
            if explain_pixels:
                decision.saliency = self._saliency(obs_tensor, states, starts, int(decision.action))
        return decision

    def _saliency(self, obs_tensor: torch.Tensor, states: RNNStates, starts: torch.Tensor, action: int) -> np.ndarray:
        """Saliency of the chosen action's log-probability, the memory held fixed at what it was before the step.

        The log-probability rather than the raw logit: the recurrent policy gives its distribution, not its
        logits, through a public method. (Their gradients differ by the softmax-weighted gradient of all logits.)
        """
        def log_probability(observations: torch.Tensor) -> torch.Tensor:
            distribution, _ = self.policy.get_distribution(observations, states.pi, starts)
            return distribution.distribution.logits[:, action]

        channels_first = is_image_space_channels_first(self.policy.observation_space)
        height, width = obs_tensor.shape[2:4] if channels_first else obs_tensor.shape[1:3]
        return gradient_saliency(log_probability, obs_tensor, channels_first, smoothing_for(height, width))

    def _env_action(self, actions: np.ndarray) -> Any:
        """The action as the env takes it: as `policy.predict` post-processes it, for one observation."""
        space = self.policy.action_space
        action = actions.reshape((-1, *space.shape))[0]
        if isinstance(space, spaces.Box):
            action = self.policy.unscale_action(action) if self.policy.squash_output else np.clip(
                action, space.low, space.high)
        return action.item() if np.ndim(action) == 0 else action
