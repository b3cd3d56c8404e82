"""Batched games: N games stepped at once with NumPy, one rules implementation for the batch and the single game.

Each game (Snake, Pong, Bricks) keeps its state in arrays with one row per game (`BatchedGames`). The
Gymnasium env a person plays is a batch of one; `GameVectorEnv` presents a batch of many as a Gymnasium
vector env (and, through `envs.vector.GymnasiumVecEnv`, as a stable-baselines3 VecEnv) with per-game
auto-reset. Randomness comes from one counter-based stream per game (`GameStreams`), so game i of a batch
seeded s plays exactly like the single game seeded s + i, whatever the batch size.
"""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs.games.raster import PIXEL_SIZE

Index = np.ndarray | slice
EVERY = slice(None)  # every game of the batch
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function: a 64-bit hash that turns a counter into well-mixed bits."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class GameStreams:
    """One random stream per game (SplitMix64), drawn for many games at once without a Python loop.

    NumPy's generators draw for one stream at a time; a batch needs each game's draws to depend on that
    game alone, so that a game replays the same whatever else the batch holds.
    """

    def __init__(self, num_games: int) -> None:
        self.state = np.zeros(num_games, dtype=np.uint64)

    def seed(self, index: np.ndarray, seeds: np.ndarray) -> None:
        """Start the streams of the games at `index` from integer seeds (any non-negative int)."""
        seeds = np.asarray(seeds, dtype=np.uint64)
        with np.errstate(over="ignore"):
            self.state[index] = _mix(seeds + _GOLDEN)

    def uniform(self, index: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        """One float in [low, high) for each game at `index`."""
        with np.errstate(over="ignore"):
            self.state[index] += _GOLDEN
            bits = _mix(self.state[index])
        return low + (high - low) * ((bits >> np.uint64(11)).astype(np.float64) * 2.0**-53)

    def integers(self, index: np.ndarray, high: np.ndarray | int) -> np.ndarray:
        """One integer in [0, high) for each game at `index` (`high` per game or shared, at least 1)."""
        return np.minimum((self.uniform(index) * high).astype(np.int64), np.asarray(high) - 1)


class BatchedGames:
    """The state and rules of N games, one row per game; subclasses hold one game's rules.

    Attributes:
        num_games: N.
        streams: Each game's random stream; rules draw from it only.
        vector_space: The observation space of one game's feature vector.
        num_actions: The size of the Discrete action space.
    """

    vector_space: gym.spaces.Box
    num_actions = 3

    def __init__(self, num_games: int) -> None:
        self.num_games = num_games
        self.streams = GameStreams(num_games)

    def reset_games(self, index: np.ndarray) -> None:
        """Start new episodes for the games at `index` (their streams go on)."""
        raise NotImplementedError

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance every game one step; (reward float32, terminated bool, truncated bool) arrays of N."""
        raise NotImplementedError

    def vector_observation(self, index: Index = EVERY) -> np.ndarray:
        """The (games, features) float32 feature vectors of the games at `index`."""
        raise NotImplementedError

    def pixels(self, index: Index = EVERY) -> np.ndarray:
        """The (games, 64, 64, 3) uint8 frames of the games at `index`, as the single game draws them at 64x64."""
        raise NotImplementedError

    def observation_space(self, obs_mode: str) -> gym.spaces.Box:
        """One game's observation space in `obs_mode`."""
        if obs_mode == "pixels":
            return gym.spaces.Box(0, 255, (PIXEL_SIZE, PIXEL_SIZE, 3), np.uint8)
        return self.vector_space

    def observe(self, obs_mode: str, index: Index = EVERY) -> np.ndarray:
        """Observations of the games at `index` in `obs_mode` ("vector" or "pixels")."""
        return self.pixels(index) if obs_mode == "pixels" else self.vector_observation(index)


class Player(Protocol):
    """One side's player in a batch of two-player games: a script, a frozen policy, a pool of them.

    It sees its games through a `SeatView` (each game from its own side, in any observation mode) and returns
    one action per game; `reset(index)` tells it that the games at `index` start anew.
    """

    def __call__(self, view: SeatView) -> np.ndarray: ...

    def reset(self, index: Index = EVERY) -> None: ...


class TwoPlayerGames(BatchedGames):
    """Batched games for two: the right side is the env's agent, `opponent` plays the left side.

    The rules are symmetric: `mirror` turns observations of the right side into what the left side sees, so a
    player trained on either side can play the other.

    Attributes:
        opponent: The left player, used when `step` is given no actions for it.
    """

    opponent: Player

    def mirror(self, observations: np.ndarray, obs_mode: str) -> np.ndarray:
        """Right-side observations (a batch in `obs_mode`) as the left side sees the same games."""
        raise NotImplementedError

    def scripted_player(self, num_games: int) -> Player:
        """The game's scripted player for `num_games` games (the anchor of its league)."""
        raise NotImplementedError

    def step(self, actions: np.ndarray,
             opponent_actions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Advance every game one step, the left side playing `opponent_actions` (else `opponent`'s);
        rewards are the right side's (the left side's are their negatives)."""
        raise NotImplementedError

    def left_actions(self) -> np.ndarray:
        """What `opponent` plays in every game now."""
        return self.opponent(SeatView(self, np.zeros(self.num_games, bool)))


class SeatView:
    """A batch of two-player games as one player sees them: game i from the right side where `on_right[i]`,
    else from the left (mirrored). Observations are made on demand, once per mode.

    Args:
        games: The batch.
        on_right: Per game, whether this player has the right side.
    """

    def __init__(self, games: TwoPlayerGames, on_right: np.ndarray) -> None:
        self.games = games
        self.on_right = on_right
        self._seen: dict[str, np.ndarray] = {}

    def observe(self, obs_mode: str) -> np.ndarray:
        """This player's observations of all its games in `obs_mode` ("vector" or "pixels")."""
        if obs_mode not in self._seen:
            right = self.games.observe(obs_mode)
            if self.on_right.all():
                self._seen[obs_mode] = right
            else:
                left = self.games.mirror(right, obs_mode)
                if self.on_right.any():
                    where = self.on_right.reshape((-1,) + (1,) * (right.ndim - 1))
                    left = np.where(where, right, left)
                self._seen[obs_mode] = left
        return self._seen[obs_mode]


class GameVectorEnv(VectorEnv):
    """A Gymnasium vector env over a `BatchedGames`: same-step auto-reset and the episode step limit.

    Args:
        games: The batch; its size is the number of envs.
        obs_mode: "vector" or "pixels".
        max_episode_steps: Steps after which an episode is truncated (the single game's TimeLimit).
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, games: BatchedGames, obs_mode: str, max_episode_steps: int) -> None:
        self.games = games
        self.obs_mode = obs_mode
        self.max_episode_steps = max_episode_steps
        self.num_envs = games.num_games
        self.single_observation_space = games.observation_space(obs_mode)
        self.single_action_space = gym.spaces.Discrete(games.num_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.elapsed = np.zeros(self.num_envs, dtype=np.int64)
        self._all = np.arange(self.num_envs)
        self._seeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Reset every game; with `seed`, game i is seeded `seed + i` (stable-baselines3's convention). Without one,
        the games' streams go on (as a Gymnasium env's generator does), so repeated evaluations stay reproducible;
        only a batch never seeded draws its seed from the OS."""
        super().reset(seed=seed)
        if seed is None and not self._seeded:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
        if seed is not None:
            self.games.streams.seed(self._all, seed + self._all)
            self._seeded = True
        self.games.reset_games(self._all)
        self.elapsed[:] = 0
        return self.games.observe(self.obs_mode), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or not ((actions >= 0) & (actions < self.games.num_actions)).all():
            raise ValueError(f"expected {self.num_envs} actions in [0, {self.games.num_actions}), got {actions!r}")
        reward, terminated, truncated = self.games.step(actions)
        self.elapsed += 1
        truncated = (truncated | (self.elapsed >= self.max_episode_steps)) & ~terminated
        observation = self.games.observe(self.obs_mode)
        done = terminated | truncated
        info: dict[str, Any] = {}
        if done.any():
            finished = np.flatnonzero(done)
            final_obs = np.full(self.num_envs, None, dtype=object)
            final_obs[finished] = list(observation[finished])
            info = {"final_obs": final_obs, "_final_obs": done}
            self.games.reset_games(finished)
            self.elapsed[finished] = 0
            observation[finished] = self.games.observe(self.obs_mode, finished)
        return observation, reward, terminated, truncated, info
