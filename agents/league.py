"""The league of a two-player game: every saved agent, the scripted player and random meet in round-robin
matches; ratings come from every game played (agents.ratings), the scripted player anchoring the scale at 1000.

A match is `games` games played at once in one batch: half with the first player on the right, half with the
sides swapped on the same seeds, so neither side nor serve favours anyone. Each match is written to the league
file (agents.league_file) as soon as it ends; a league run again skips the matches already played, so a killed
run resumes where it stopped and nothing counts twice. A saved agent whose weights changed (retrained, resumed)
is a new player: its old games no longer count for it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np

from agents.league_file import League, MatchRecord, league_path, read_league, record_match
from agents.players import SCRIPTED, Contestant, baselines, fingerprint, run_player_name, saved_contestant
from agents.ratings import Match, Rating, fit_ratings
from agents.run_record import MODEL_FILE
from core.errors import PlaygroundError
from core.runs import safe_name
from envs.games import game_variants
from envs.games.batch import GameVectorEnv, SeatView, TwoPlayerGames

ANCHOR, ANCHOR_ELO = SCRIPTED, 1000.0


@dataclass
class LeagueOptions:
    """What `play.py league` was asked.

    Args:
        game: The two-player game (Pong).
        runs_dir: Where the saved agents and the league file lie.
        games: Games per match (even: half of them with sides swapped).
        seed: The seed of every match's games (each pair of players meets on the same serves).
        trusted_code: Plug-in files or modules runs may import (`--trust-code`).
    """

    game: str
    runs_dir: Path = Path("runs")
    games: int = 100
    seed: int = 0
    trusted_code: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LeagueResult:
    """The ratings table, and what this run played."""

    ratings: list[Rating]
    played: int
    skipped: int
    seconds: float
    path: Path


def new_batch(game: str, num_games: int) -> GameVectorEnv:
    """A batch of `num_games` games of `game` (its vector variant: the observations every player can derive)."""
    vector_id = next(env_id for env_id, obs_mode in game_variants(game) if obs_mode == "vector")
    return gym.make_vec(vector_id, num_envs=num_games, vectorization_mode="vector_entry_point")


def play_match(game: str, first: Contestant, second: Contestant, seed: int, games: int) -> MatchRecord:
    """`games` games between two players at once; `first` plays the right side of the first half.

    A game ends when the rules end it or at the game's step limit; the sign of the right side's total reward
    decides it (0: a draw).
    """
    batch = new_batch(game, games)
    rules: TwoPlayerGames = batch.games
    pairs = games // 2
    first_on_right = np.arange(games) < pairs
    every = np.arange(games)
    rules.streams.seed(every, seed + every % pairs)  # game j and j + pairs: the same seed, sides swapped
    rules.reset_games(every)
    players = first.seat(rules, seed), second.seat(rules, seed + 1)
    for player in players:
        player.reset()
    total, playing = np.zeros(games), np.ones(games, dtype=bool)
    for _ in range(batch.max_episode_steps):
        first_actions = players[0](SeatView(rules, first_on_right))
        second_actions = players[1](SeatView(rules, ~first_on_right))
        reward, terminated, _ = rules.step(np.where(first_on_right, first_actions, second_actions),
                                           np.where(first_on_right, second_actions, first_actions))
        total += reward * playing
        playing &= ~terminated
        if not playing.any():
            break
    right_score = game_score(total)
    scores = np.where(first_on_right, right_score, 1.0 - right_score)
    return MatchRecord(first.name, second.name, first.fingerprint, second.fingerprint, seed,
                       tuple(float(score) for score in scores))


def game_score(returns: np.ndarray | float) -> np.ndarray:
    """A player's score in each game from its total reward there: 1 won, 0.5 drawn (0), 0 lost."""
    return np.where(np.asarray(returns) > 0, 1.0, np.where(np.asarray(returns) < 0, 0.0, 0.5))


def contestants(options: LeagueOptions, say: Callable[[str], None]) -> list[Contestant]:
    """The baselines and every finished agent saved for the game (all its observation variants); a run that
    cannot play is named and skipped."""
    found = baselines()
    for env_id, obs_mode in game_variants(options.game):
        folder = options.runs_dir / safe_name(env_id)
        runs = sorted(path for path in folder.glob("*/*") if path.is_dir()) if folder.is_dir() else []
        for run_dir in runs:
            try:
                contestant = saved_contestant(run_dir, obs_mode, options.trusted_code)
            except PlaygroundError as error:
                say(f"skipped {run_dir}: {str(error).splitlines()[0][:300]}")
                continue
            if any(other.name == contestant.name for other in found):
                say(f"skipped {run_dir}: another player is named {contestant.name} already.")
                continue
            found.append(contestant)
    return found


def play_league(options: LeagueOptions, say: Callable[[str], None]) -> LeagueResult:
    """Play every match not played yet, then rate everyone from all the games in the league file."""
    if options.games < 2 or options.games % 2 or options.games > 10_000:
        raise PlaygroundError(f"--games {options.games}: give an even number from 2 to 10,000 (half the games are "
                              "played with the sides swapped).")
    path = league_path(options.runs_dir, options.game)
    league = read_league(path, options.game)  # refuses a damaged file before anything is played
    players = contestants(options, say)
    start, played, skipped = time.perf_counter(), 0, 0
    pairs = list(itertools.combinations(players, 2))
    for number, (first, second) in enumerate(pairs, 1):
        planned = MatchRecord(first.name, second.name, first.fingerprint, second.fingerprint, options.seed,
                              (0.0,) * options.games)
        if league.has(planned):
            skipped += 1
            continue
        match = play_match(options.game, first, second, options.seed, options.games)
        record_match(path, match)
        played += 1
        say(f"match {number}/{len(pairs)}: {first.name} {_tally(match.scores)} {second.name}")
    seconds = time.perf_counter() - start
    ratings = league_ratings(read_league(path, options.game), players)
    return LeagueResult(ratings, played, skipped, seconds, path)


def league_ratings(league: League, players: list[Contestant]) -> list[Rating]:
    """Ratings from every game of the league whose players are still as they were when they played."""
    current = {player.name: player.fingerprint for player in players}

    def valid(name: str, fingerprint: str) -> bool:
        return name not in current or current[name] == fingerprint

    games = [Match(match.first, match.second, score) for match in league.matches
             if valid(match.first, match.first_id) and valid(match.second, match.second_id)
             for score in match.scores]
    if not any(ANCHOR in (game.first, game.second) for game in games):
        return []
    return fit_ratings(games, ANCHOR, ANCHOR_ELO)


def _tally(scores: tuple[float, ...]) -> str:
    wins, draws = sum(score == 1.0 for score in scores), sum(score == 0.5 for score in scores)
    return f"{wins}-{draws}-{len(scores) - wins - draws}"


def format_table(ratings: list[Rating]) -> list[str]:
    """The ratings as aligned text lines, best first."""
    rows = [("#", "player", "Elo", "95% interval", "games", "won", "drawn", "lost")]
    for rank, rating in enumerate(ratings, 1):
        interval = "anchor" if rating.name == ANCHOR else f"{rating.low:.0f} to {rating.high:.0f}"
        rows.append((str(rank), rating.name, f"{rating.elo:.0f}", interval, str(rating.games), str(rating.wins),
                     str(rating.draws), str(rating.losses)))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.rjust(width) if column != 1 else cell.ljust(width)
                      for column, (cell, width) in enumerate(zip(row, widths))) for row in rows]


def record_human_games(runs_dir: Path, env_id: str, agent: str, run_dir: Path | None, person: str, seeds: list[int],
                       agent_returns: list[float]) -> Path | None:
    """Add a person's finished games against an agent to the league of the game; returns the league file.

    Args:
        runs_dir: Where the league file lies.
        env_id: The world played; nothing is recorded for one that is not a two-player game.
        agent: The agent's name (`ppo`, `random`).
        run_dir: The agent's run folder (None for agents that have none).
        person: The person's name in the ratings.
        seeds: Each game's seed.
        agent_returns: The agent's return in each game: its sign says who won.
    """
    from envs.games import two_player_game

    game = two_player_game(env_id)
    if game is None:
        return None
    if run_dir is not None and (run_dir / MODEL_FILE).is_file():
        name, identity = run_player_name(run_dir, agent), fingerprint(run_dir / MODEL_FILE)
    else:
        name, identity = agent, agent
    path = league_path(runs_dir, game)
    for seed, score in zip(seeds, game_score(agent_returns)):
        record_match(path, MatchRecord(name, person, identity, "", seed, (float(score),), kind="human"))
    return path


def find_contestant(players: list[Contestant], wanted: str) -> Contestant:
    """A player by its league name or its run folder.

    Raises:
        PlaygroundError: No such player, with the names there are.
    """
    for player in players:
        if wanted == player.name or (player.run_dir is not None and Path(wanted).resolve() == player.run_dir.resolve()):
            return player
    names = ", ".join(player.name for player in players)
    raise PlaygroundError(f"--watch {wanted!r:.200}: no such player. The players are: {names[:2000]}. Name one, or "
                          "give a run folder.")


def league_game(env: str) -> str:
    """The two-player game a `--env` value names (Pong, or any of its ids).

    Raises:
        PlaygroundError: A world that is not a two-player game.
    """
    from envs.catalog import resolve_env_id
    from envs.games import two_player_game

    game = two_player_game(resolve_env_id(env))
    if game is None:
        raise PlaygroundError(f"--env {env}: a league needs a two-player game, such as Pong.")
    return game
