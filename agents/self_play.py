"""Self-play for two-player games: the learner meets a pool of its own frozen past policies and the scripted player.

The schedule is a preset's `self_play` mapping (`SelfPlaySettings`). Every `snapshot_every` steps a copy of the
learner's policy is frozen into the pool and saved in the run folder (`opponents/step-<N>.pt`, tensors only, read
back with `torch.load(weights_only=True)`), so a resumed run gets its pool back. When a game starts, its opponent is
drawn: the scripted player (share `scripted`), the newest snapshot (share `latest`), else any of the newest `window`
snapshots. The pool is the games' left `Player` (envs.games.batch), acting on every game at once: plain MLP
snapshots act together through stacked weights (agents.policy_stack), others with one policy call per snapshot in
use; never one call per game.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy

from agents.normalization import ObservationNormalizer
from agents.players import PolicyPlayer
from agents.policy_stack import StackedActors, actor_layers
from core.checkpoint import load_state, save_state
from core.errors import PlaygroundError
from core.schema import Fields
from envs.games.batch import EVERY, Index, Player, SeatView

SNAPSHOT_DIR = "opponents"
SCRIPTED_SEAT = -1  # the pool's code for "this game is against the scripted player"


@dataclass(frozen=True)
class SelfPlaySettings:
    """The self-play schedule of a preset (`self_play:`); every field has a default.

    Args:
        snapshot_every: Steps between frozen copies of the learner added to the pool (the first is taken at
            the start).
        window: How many of the newest snapshots the pool keeps.
        latest: The share of games against the newest snapshot.
        scripted: The share of games against the game's scripted player (it keeps the learner honest
            against a fixed style of play).
    """

    snapshot_every: int = 100_000
    window: int = 10
    latest: float = 0.5
    scripted: float = 0.2

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None, origin: str) -> SelfPlaySettings:
        """Read and check a preset's (or a saved run's) `self_play` mapping.

        Raises:
            PlaygroundError: An unknown key or a value out of range.
        """
        settings = settings or {}
        fields = Fields(settings, f"{origin} self_play")
        unknown = set(settings) - set(cls.__dataclass_fields__)
        if unknown:
            raise PlaygroundError(f"{origin} self_play: unknown key {sorted(unknown)[0]!r:.60}; the keys are "
                                  f"{', '.join(cls.__dataclass_fields__)}.")
        default = cls()
        parsed = cls(snapshot_every=fields.integer("snapshot_every", 1, 10**10, default.snapshot_every),
                     window=fields.integer("window", 1, 1000, default.window),
                     latest=fields.number("latest", 0.0, 1.0, default.latest),
                     scripted=fields.number("scripted", 0.0, 1.0, default.scripted))
        if parsed.latest + parsed.scripted > 1.0:
            raise PlaygroundError(f"{origin} self_play: latest + scripted is {parsed.latest + parsed.scripted:g}; "
                                  "they are shares of the games and add up to at most 1.")
        return parsed


def frozen_copy(policy: BasePolicy, state: dict[str, torch.Tensor] | None = None) -> BasePolicy:
    """A new policy of the same build holding a copy of `state` (default: `policy`'s own weights now), for
    acting only: evaluation mode, no gradients, sharing no tensor with `policy`."""
    copy = type(policy)(**policy._get_constructor_parameters()).to(policy.device)
    weights = state if state is not None else policy.state_dict()
    copy.load_state_dict({name: tensor.detach().clone() for name, tensor in weights.items()})
    copy.set_training_mode(False)
    copy.requires_grad_(False)
    return copy


class OpponentPool:
    """The left player of every game in a self-play batch: the scripted player or a frozen snapshot, per game.

    Args:
        settings: The schedule.
        num_games: The batch size.
        obs_mode: What the snapshots see ("vector" or "pixels"), as the learner does.
        seed: Seeds the draws of opponents.
    """

    def __init__(self, settings: SelfPlaySettings, num_games: int, obs_mode: str, seed: int) -> None:
        self.settings = settings
        self.num_games = num_games
        self.obs_mode = obs_mode
        self.rng = np.random.default_rng(seed)
        self.snapshots: dict[int, PolicyPlayer] = {}  # by the step they were taken at, newest last
        self.seats = np.full(num_games, SCRIPTED_SEAT, dtype=np.int64)  # whom each game is against
        self.scripted: Player | None = None
        self.generator = torch.Generator().manual_seed(seed)
        self._stack: tuple[np.ndarray, StackedActors | None] | None = None  # by snapshot steps, rebuilt on change

    def add(self, step: int, policy: BasePolicy, normalizer: ObservationNormalizer | None = None,
            state: dict[str, torch.Tensor] | None = None) -> None:
        """Freeze a copy of `policy` (with the weights `state`, default its own) as the snapshot of `step`; the
        oldest beyond the window leave the pool once their games are over."""
        self.snapshots[step] = PolicyPlayer(frozen_copy(policy, state), self.obs_mode, self.num_games, normalizer,
                                            deterministic=False)
        self._forget_old()

    def window(self) -> list[int]:
        """The steps of the snapshots new games can draw, oldest first."""
        return sorted(self.snapshots)[-self.settings.window:]

    def reset(self, index: Index = EVERY) -> None:
        """Draw the opponents of the games at `index`, which start anew."""
        games = np.arange(self.num_games)[index]
        window = self.window()
        seats = np.full(len(games), SCRIPTED_SEAT, dtype=np.int64)
        if window:
            share = self.rng.random(len(games))
            earlier = window[:-1] or window  # the older snapshots; the newest alone at first
            older = np.asarray(earlier)[self.rng.integers(0, len(earlier), len(games))]
            newest = share < self.settings.scripted + self.settings.latest
            seats = np.where(share < self.settings.scripted, SCRIPTED_SEAT, np.where(newest, window[-1], older))
        self.seats[games] = seats
        for seat in np.unique(seats):
            rows = games[seats == seat]
            if seat != SCRIPTED_SEAT:
                self.snapshots[int(seat)].reset(rows)
            elif self.scripted is not None:
                self.scripted.reset(rows)
        self._forget_old()

    def __call__(self, view: SeatView) -> np.ndarray:
        if self.scripted is None:
            self.scripted = view.games.scripted_player(self.num_games)
        actions = self.scripted(view)  # the script is cheap: it plays every game, the snapshots' games are replaced
        rows = np.flatnonzero(self.seats != SCRIPTED_SEAT)
        if len(rows) == 0:
            return actions
        steps, stacked = self._stacked()
        observations = view.observe(self.obs_mode)[rows]
        if stacked is not None:
            members = torch.as_tensor(np.searchsorted(steps, self.seats[rows]))
            actions[rows] = stacked.sample(torch.as_tensor(observations), members, self.generator).numpy()
            return actions
        for seat in np.unique(self.seats[rows]):
            mine = self.seats[rows] == seat
            actions[rows[mine]] = self.snapshots[int(seat)].act(observations[mine], rows[mine])
        return actions

    def _stacked(self) -> tuple[np.ndarray, StackedActors | None]:
        """The snapshots' steps, and their stacked actors when all are plain MLPs without normalisation."""
        steps = np.asarray(sorted(self.snapshots))
        if self._stack is None or not np.array_equal(self._stack[0], steps):
            players = [self.snapshots[int(step)] for step in steps]
            plain = all(actor_layers(player.policy) is not None and player.normalizer is None for player in players)
            self._stack = steps, StackedActors([player.policy for player in players]) if plain else None
        return self._stack

    def shares(self) -> dict[str, float]:
        """The share of games now against the scripted player, the newest snapshot and older ones."""
        window = self.window()
        newest = window[-1] if window else None
        return {"scripted": float(np.mean(self.seats == SCRIPTED_SEAT)),
                "latest": float(np.mean(self.seats == newest)) if newest is not None else 0.0,
                "older": float(np.mean((self.seats != SCRIPTED_SEAT) & (self.seats != newest)))}

    def _forget_old(self) -> None:
        """Drop snapshots outside the window that no game plays against any more."""
        keep = set(self.window()) | set(self.seats.tolist())
        for step in [step for step in self.snapshots if step not in keep]:
            del self.snapshots[step]


class SelfPlayCallback(BaseCallback):
    """Adds a frozen copy of the learner to the pool every `snapshot_every` steps, and saves it in the run folder.

    On a resumed run the saved snapshots (the newest `window`) are read back first.
    """

    def __init__(self, pool: OpponentPool, run_dir: Path) -> None:
        super().__init__()
        self.pool = pool
        self.folder = run_dir / SNAPSHOT_DIR
        self.next_snapshot = 0

    def _on_training_start(self) -> None:
        for step, path in saved_snapshots(self.folder)[-self.pool.settings.window:]:
            state = load_state(path, "self-play snapshot")
            try:
                self.pool.add(step, self.model.policy, self._normalizer(), state)
            except (RuntimeError, KeyError):
                raise PlaygroundError(f"{path} does not fit this run's policy: remove the {SNAPSHOT_DIR} folder "
                                      "to start the pool afresh.") from None
        latest = max(self.pool.snapshots, default=None)
        if latest is None or latest < self.num_timesteps:
            self._snapshot()
        else:
            self.next_snapshot = latest + self.pool.settings.snapshot_every
        self.pool.reset()

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_snapshot:
            self._snapshot()
        return True

    def _on_rollout_end(self) -> None:
        for name, share in self.pool.shares().items():
            self.logger.record(f"self_play/games_vs_{name}", share)
        self.logger.record("self_play/snapshots", len(self.pool.window()))

    def _snapshot(self) -> None:
        step = self.num_timesteps
        self.folder.mkdir(exist_ok=True)
        save_state(self.folder / f"step-{step:012d}.pt", self.model.policy.state_dict())
        self.pool.add(step, self.model.policy, self._normalizer())
        self.next_snapshot = step + self.pool.settings.snapshot_every

    def _normalizer(self) -> ObservationNormalizer | None:
        vec_normalize = self.model.get_vec_normalize_env()
        return ObservationNormalizer.from_vec_env(vec_normalize) if vec_normalize is not None else None


def saved_snapshots(folder: Path) -> list[tuple[int, Path]]:
    """(step, file) of the snapshots saved in a run's opponents folder, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("step-*.pt"):
        digits = path.stem.removeprefix("step-")
        if digits.isdigit() and path.is_file():
            found.append((int(digits), path))
    return sorted(found)


def self_play_pool(env_id: str, hyperparams: dict[str, Any], seed: int) -> OpponentPool | None:
    """The opponent pool of a run whose settings say `opponent: self`; None for other runs.

    Raises:
        PlaygroundError: Self-play asked for on a one-player world.
    """
    if hyperparams.get("opponent") != "self":
        return None
    obs_mode = self_play_obs_mode(env_id)
    settings = SelfPlaySettings.from_settings(hyperparams.get("self_play"), "self_play")
    return OpponentPool(settings, hyperparams["n_envs"], obs_mode, seed)


def self_play_obs_mode(env_id: str) -> str:
    """What a self-play opponent on `env_id` sees ("vector" or "pixels").

    Raises:
        PlaygroundError: When `env_id` is not a two-player game.
    """
    from envs.games import game_variants, two_player_game

    game = two_player_game(env_id)
    if game is None:
        raise PlaygroundError(f"--opponent self trains against the agent's own past selves, in a two-player game "
                              f"such as Pong; {env_id} has one player. Drop --opponent.")
    return dict(game_variants(game))[env_id]
