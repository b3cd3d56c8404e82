"""Players of two-player games for leagues and self-play: baselines and trained policies, each acting on a whole
batch of games at once (the `envs.games.batch.Player` protocol).

A `Contestant` is a player that can sit down at any batch: the game's scripted player, a random one, or a saved
agent (a run folder, read through its validated record and its weights, never unpickled).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.policies import BasePolicy

from agents.normalization import ObservationNormalizer
from agents.recurrent import is_recurrent
from agents.registry import AGENTS
from agents.run_record import MODEL_FILE, read_record
from core.errors import PlaygroundError
from envs.games.batch import EVERY, Index, Player, SeatView, TwoPlayerGames

SCRIPTED, RANDOM = "scripted", "random"


class RandomPlayer:
    """Uniformly random actions in every game: the floor of a league."""

    def __init__(self, num_actions: int, seed: int) -> None:
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)

    def reset(self, index: Index = EVERY) -> None:
        pass

    def __call__(self, view: SeatView) -> np.ndarray:
        return self.rng.integers(0, self.num_actions, view.games.num_games)


class PolicyPlayer:
    """A stable-baselines3 policy (ppo, a2c, dqn, ppo-lstm) playing `num_games` games from its own side.

    A recurrent policy keeps one LSTM state per game, cleared by `reset`. `act` serves a subset of the games,
    so that a pool can split a batch between its members.

    Args:
        policy: The policy, in evaluation mode; it is not trained through this player.
        obs_mode: The observation mode it was trained on ("vector" or "pixels").
        num_games: The size of the batch it plays.
        normalizer: Observation statistics it was trained with, if any.
        deterministic: Greedy actions (leagues) or sampled ones (self-play opponents, for variety).
    """

    def __init__(self, policy: BasePolicy, obs_mode: str, num_games: int,
                 normalizer: ObservationNormalizer | None = None, deterministic: bool = True) -> None:
        self.policy = policy
        self.obs_mode = obs_mode
        self.normalizer = normalizer
        self.deterministic = deterministic
        self.starts = np.ones(num_games, dtype=bool)
        self.state: tuple[np.ndarray, ...] | None = None
        if is_recurrent(policy):
            shape = policy.lstm_hidden_state_shape
            self.state = tuple(np.zeros((shape[0], num_games, shape[2]), np.float32) for _ in range(2))

    def reset(self, index: Index = EVERY) -> None:
        self.starts[index] = True

    def __call__(self, view: SeatView) -> np.ndarray:
        return self.act(view.observe(self.obs_mode), np.arange(len(self.starts)))

    def act(self, observations: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Actions for the games `rows`, whose observations (from this player's side) are `observations`."""
        if self.normalizer is not None:
            observations = self.normalizer(observations)
        if self.state is None:  # the policy's own step, without `predict`'s per-call checks (a third faster)
            with torch.no_grad():
                tensor, _ = self.policy.obs_to_tensor(observations)
                return self.policy._predict(tensor, deterministic=self.deterministic).cpu().numpy()
        state = tuple(part[:, rows] for part in self.state)
        actions, state = self.policy.predict(observations, state, self.starts[rows], self.deterministic)
        for part, new in zip(self.state, state):
            part[:, rows] = new
        self.starts[rows] = False
        return actions


@dataclass
class Contestant:
    """A player of a league, by name, that can take a seat at any batch of games.

    Args:
        name: How tables and match records name it: `scripted`, `random` or `<agent>/<run folder>`.
        seat: Makes its player for a batch: (games, seed) -> Player.
        fingerprint: What identifies the exact player (a hash of a saved agent's weights); a changed
            fingerprint means a changed player.
        run_dir: The run folder of a saved agent.
    """

    name: str
    seat: Callable[[TwoPlayerGames, int], Player]
    fingerprint: str = ""
    run_dir: Path | None = None


def baselines() -> list[Contestant]:
    """The game's scripted player (the league's anchor) and a random player."""
    return [Contestant(SCRIPTED, lambda games, seed: games.scripted_player(games.num_games), SCRIPTED),
            Contestant(RANDOM, lambda games, seed: RandomPlayer(games.num_actions, seed), RANDOM)]


def run_player_name(run_dir: Path, agent: str) -> str:
    """The league name of a saved agent: `<agent>/<run folder>`."""
    return f"{agent}/{run_dir.name}"


def fingerprint(model_path: Path) -> str:
    """The first 16 hex digits of the SHA-256 of a model file: a retrained or resumed agent is a new player."""
    digest = hashlib.sha256()
    with model_path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def saved_contestant(run_dir: Path, obs_mode: str, trusted_code: list[str] | tuple[str, ...] = ()) -> Contestant:
    """A saved agent from its run folder, validated and rebuilt on the CPU.

    Raises:
        PlaygroundError: A run that is not a finished, readable agent of a kind that plays from a policy.
    """
    from agents.models import read_normalizer, rebuild_model
    from envs.make import env_spaces

    record = read_record(run_dir, trusted_code=trusted_code)
    model_path = run_dir / MODEL_FILE
    if record.status != "complete" or not model_path.is_file():
        raise PlaygroundError(f"{run_dir} has no finished agent (status {record.status}).")
    spaces = env_spaces(record.env_id)
    if (record.observation_space, record.action_space) != tuple(repr(space) for space in spaces):
        raise PlaygroundError(f"{run_dir}: its model's spaces do not match {record.env_id} here.")
    model = rebuild_model(AGENTS.get(record.agent), record, model_path, torch.device("cpu"))
    model.policy.set_training_mode(False)
    normalizer = read_normalizer(run_dir, spaces[0].shape)

    def seat(games: TwoPlayerGames, seed: int) -> Player:
        return PolicyPlayer(model.policy, obs_mode, games.num_games, normalizer)

    return Contestant(run_player_name(run_dir, record.agent), seat, fingerprint(model_path), run_dir)
