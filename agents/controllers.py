"""Controllers: agents behind the `core.control.Controller` interface.

A controller returns a `Decision`: the action, and what it can show about why (action
probabilities, Q-values, a value estimate), so the viewer never reaches into stable-baselines3.
Controllers also offer stable-baselines3's batch `predict`, so evaluation can run them on VecEnvs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space_channels_first, preprocess_obs

from agents.normalization import ObservationNormalizer
from agents.recurrent import is_recurrent
from agents.recurrent_memory import RecurrentMemory
from core.control import Decision
from core.spaces import is_image_space
from vision.saliency import gradient_saliency, smoothing_for


class RandomController:
    """Uniformly random actions: the baseline every agent must beat."""

    def __init__(self, action_space: gym.Space, seed: int | None = None) -> None:
        self.name = "random"
        self.action_space = action_space
        self.action_space.seed(seed)

    def reset(self) -> None:
        pass

    def decide(self, observation: np.ndarray) -> Decision:
        return Decision(self.action_space.sample())

    def predict(self, observations: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        return np.stack([self.action_space.sample() for _ in range(len(observations))]), None


class ModelController:
    """A trained stable-baselines3 model, with its observation statistics when it used any.

    A recurrent model (ppo-lstm) carries its LSTM state from one `decide` to the next; `reset` clears it,
    so call it at every episode start. Set `explain_pixels` to have each decision on an image observation
    carry a saliency map (`vision.saliency`) of the chosen action's logit (actor-critic) or Q-value (DQN).

    Args:
        model: The trained algorithm.
        name: The agent's name, for display.
        normalizer: Observation statistics to apply before the model sees an observation.
        deterministic: Act greedily (the default for watching and evaluating).
    """

    def __init__(self, model: BaseAlgorithm, name: str, normalizer: ObservationNormalizer | None = None,
                 deterministic: bool = True) -> None:
        self.model = model
        self.name = name
        self.normalizer = normalizer
        self.deterministic = deterministic
        self.memory = RecurrentMemory(model.policy) if is_recurrent(model.policy) else None
        self.explain_pixels = False

    def reset(self) -> None:
        if self.memory is not None:
            self.memory.reset()

    def predict(self, observations: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        # Evaluation envs apply the normaliser themselves (VecNormalize), so observations arrive ready.
        return self.model.predict(observations, state, episode_start, deterministic)

    def decide(self, observation: np.ndarray) -> Decision:
        if self.normalizer is not None:
            observation = self.normalizer(observation)
        if self.memory is not None:
            return self.memory.decide(observation, self.deterministic, self.explain_pixels and self._sees_images())
        action, _ = self.model.predict(observation, deterministic=self.deterministic)
        decision = Decision(action.item() if np.ndim(action) == 0 else action)
        with torch.no_grad():
            self._explain(observation, action, decision)
        if self.explain_pixels and self._sees_images():
            decision.saliency = self._saliency(observation, decision.action)
        return decision

    def _sees_images(self) -> bool:
        """Whether the policy's input is an image (a 3-D box), the only kind saliency is drawn for."""
        return is_image_space(self.model.policy.observation_space)

    def _saliency(self, observation: np.ndarray, action: Any) -> np.ndarray | None:
        """The saliency map of the chosen action's score, or None when the algorithm has no such score."""
        policy = self.model.policy
        score = action_score(self.model, action)
        if score is None:
            return None
        obs_tensor, _ = policy.obs_to_tensor(observation)  # uint8 images stay raw; the score preprocesses
        channels_first = is_image_space_channels_first(policy.observation_space)
        height, width = obs_tensor.shape[2:4] if channels_first else obs_tensor.shape[1:3]
        return gradient_saliency(score, obs_tensor, channels_first, smoothing_for(height, width))

    def _explain(self, observation: np.ndarray, action: np.ndarray, decision: Decision) -> None:
        """Fill in probabilities, Q-values and the value estimate where the algorithm has them."""
        policy = self.model.policy
        obs_tensor, _ = policy.obs_to_tensor(observation)
        if isinstance(self.model, DQN):
            q_values = policy.q_net(obs_tensor)[0]
            decision.q_values = q_values.cpu().numpy()
            decision.value = float(q_values.max())
        elif isinstance(policy, ActorCriticPolicy):
            distribution = policy.get_distribution(obs_tensor)
            if isinstance(distribution, CategoricalDistribution):
                decision.probabilities = distribution.distribution.probs[0].cpu().numpy()
            decision.value = float(policy.predict_values(obs_tensor)[0, 0])
        elif hasattr(policy, "critic") and hasattr(policy, "scale_action"):  # SAC, TD3
            scaled = torch.as_tensor(policy.scale_action(np.asarray(action)), device=obs_tensor.device)
            q_values = policy.critic(obs_tensor, scaled.reshape(1, -1).float())
            decision.value = float(torch.min(torch.cat(q_values, dim=1)))


def action_score(model: BaseAlgorithm, action: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The chosen action's score as a function of the raw observation tensor, for saliency.

    Discrete actions only: the action's logit (actor-critic: the policy network before the softmax) or its
    Q-value (DQN). The function preprocesses as the policy does (SB3 scales uint8 images by 1/255).

    Returns:
        The score function, or None for algorithms or action spaces it does not cover.
    """
    policy = model.policy
    if not isinstance(policy.action_space, gym.spaces.Discrete):
        return None
    index = int(action)
    if isinstance(model, DQN):
        return lambda observations: policy.q_net(observations)[:, index]
    if isinstance(policy, ActorCriticPolicy):
        def logit(observations: torch.Tensor) -> torch.Tensor:
            inputs = preprocess_obs(observations, policy.observation_space, normalize_images=policy.normalize_images)
            latent = policy.mlp_extractor.forward_actor(policy.pi_features_extractor(inputs))
            return policy.action_net(latent)[:, index]

        return logit
    return None
