"""Many MLP policies of one build acting at once: their weights stacked, one batched matmul per layer for all.

Self-play's pool holds up to a window of frozen snapshots of one learner. Asked one by one, each costs a full
policy call (about 80 microseconds, mostly Python and dispatch, at Pong's sizes) on every env step; stacked, all
of them cost about as much as one. Only the plain case is stacked: stable-baselines3's actor-critic `MlpPolicy`
(flattened observations, Linear layers and activations, discrete actions); anything else is asked one by one.
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from torch import nn


def actor_layers(policy: object) -> list[nn.Module] | None:
    """The actor's layers, observation to action logits, when the policy is a plain discrete MLP; else None."""
    if type(policy) is not ActorCriticPolicy or not isinstance(policy.action_space, gym.spaces.Discrete):
        return None
    if not isinstance(policy.pi_features_extractor, FlattenExtractor) or len(policy.observation_space.shape) != 1:
        return None
    layers = [*policy.mlp_extractor.policy_net, policy.action_net]
    if not all(isinstance(layer, nn.Linear) or next(layer.parameters(), None) is None for layer in layers):
        return None
    return layers


class StackedActors:
    """The action logits of K policies of one build, for every game under every policy at once.

    Args:
        policies: Policies for which `actor_layers` is not None, all of one build.
    """

    def __init__(self, policies: list[nn.Module]) -> None:
        built = [actor_layers(policy) for policy in policies]
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | nn.Module] = []
        for position, layer in enumerate(built[0]):
            if isinstance(layer, nn.Linear):  # (K, in, out) weights and (K, 1, out) biases, for baddbmm
                weights = torch.stack([layers[position].weight.detach().T for layers in built])
                biases = torch.stack([layers[position].bias.detach()[None] for layers in built])
                self.layers.append((weights, biases))
            else:
                self.layers.append(layer)  # an activation: the same module for every policy

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """(K, games, actions) logits of a (games, features) batch under each of the K policies."""
        x = observations.float().expand(len(self.layers[-1][0]), *observations.shape)
        for layer in self.layers:
            x = torch.baddbmm(layer[1], x, layer[0]) if isinstance(layer, tuple) else layer(x)
        return x

    def sample(self, observations: torch.Tensor, members: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One sampled action per game, game i acting with policy `members[i]` (Gumbel-max: softmax sampling).

        The policies may live on a GPU: the inputs go to their device and the actions come back on the CPU. The
        noise is drawn from `generator` on the CPU, so the same seed draws the same actions on any device.
        """
        device = self.layers[-1][0].device
        with torch.no_grad():
            logits = self.logits(observations.to(device))
            chosen = logits[members.to(device), torch.arange(len(members), device=device)]
            noise = torch.rand(chosen.shape, generator=generator).clamp_min_(1e-20).to(device)
            return torch.argmax(chosen - torch.log(-torch.log(noise)), dim=1).cpu()
