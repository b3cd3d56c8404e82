"""Elo ratings from match results: the maximum-likelihood fit on the Elo scale, anchored, with intervals.

Classic Elo updates after each game, so the same games in another order give other ratings; a league that is
interrupted and resumed, or that plays its matches in parallel, must not depend on order. Here every rating
comes from all the games at once: the Bradley-Terry model on the Elo scale (a player rated 400 above another is
expected to score 10 to 1), fitted by maximum likelihood, a draw counting half a win for each side. One player,
the anchor (the scripted paddle), is held at a fixed rating so that numbers keep their meaning as players come.
A small prior (a few virtual draws against an anchor-rated player) keeps ratings finite for a player who won or
lost every game.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

ELO_SCALE = 400.0 / math.log(10.0)  # Elo points per unit of log-odds
Z_95 = 1.959964


@dataclass(frozen=True)
class Match:
    """One game's result: `score` is 1 when `first` won, 0.5 for a draw, 0 when `second` won."""

    first: str
    second: str
    score: float


@dataclass(frozen=True)
class Rating:
    """A player's fitted rating with its 95% interval and record."""

    name: str
    elo: float
    low: float
    high: float
    games: int
    wins: int
    draws: int
    losses: int


def expected_score(rating: float, other: float) -> float:
    """The score a player rated `rating` is expected to make against one rated `other`."""
    return 1.0 / (1.0 + 10.0 ** ((other - rating) / 400.0))


def fit_ratings(matches: Iterable[Match], anchor: str, anchor_elo: float = 1000.0,
                prior_draws: float = 1.0, iterations: int = 200) -> list[Rating]:
    """Fit every player's rating to `matches`, best first.

    Args:
        matches: The games played.
        anchor: The player held at `anchor_elo`; it must have played.
        anchor_elo: The anchor's rating.
        prior_draws: Virtual draws of each other player against an opponent rated `anchor_elo`.
        iterations: Newton steps (the fit converges in a handful; the cap only bounds the work).

    Raises:
        ValueError: When the anchor has played no game.
    """
    matches = list(matches)
    players = sorted({name for match in matches for name in (match.first, match.second)})
    if anchor not in players:
        raise ValueError(f"the anchor {anchor!r} has played no game")
    strength = {name: 0.0 for name in players}  # log-odds against the anchor
    for _ in range(iterations):
        gradient, curvature = _derivatives(matches, strength, anchor, prior_draws)
        largest = 0.0
        for name in players:
            if name != anchor:
                step = gradient[name] / curvature[name]
                strength[name] += step
                largest = max(largest, abs(step))
        if largest < 1e-10:
            break
    _, curvature = _derivatives(matches, strength, anchor, prior_draws)
    records = _records(matches)
    ratings = []
    for name in players:
        elo = anchor_elo + ELO_SCALE * strength[name]
        margin = 0.0 if name == anchor else Z_95 * ELO_SCALE / math.sqrt(curvature[name])
        ratings.append(Rating(name, elo, elo - margin, elo + margin, *records[name]))
    return sorted(ratings, key=lambda rating: -rating.elo)


def _derivatives(matches: list[Match], strength: dict[str, float], anchor: str,
                 prior_draws: float) -> tuple[dict[str, float], dict[str, float]]:
    """The log-likelihood's gradient and (negated) second derivative for each player's own strength."""
    gradient = {name: 0.0 for name in strength}
    curvature = {name: 0.0 for name in strength}
    for match in matches:
        expected = 1.0 / (1.0 + math.exp(strength[match.second] - strength[match.first]))
        gradient[match.first] += match.score - expected
        gradient[match.second] -= match.score - expected
        for name in (match.first, match.second):
            curvature[name] += expected * (1.0 - expected)
    for name in strength:
        if name != anchor:  # virtual draws against an anchor-rated opponent (strength 0)
            expected = 1.0 / (1.0 + math.exp(-strength[name]))
            gradient[name] += prior_draws * (0.5 - expected)
            curvature[name] += prior_draws * expected * (1.0 - expected)
    return gradient, curvature


def _records(matches: list[Match]) -> dict[str, tuple[int, int, int, int]]:
    """Games, wins, draws and losses of every player."""
    tally: dict[str, list[int]] = {}
    for match in matches:
        for name, score in ((match.first, match.score), (match.second, 1.0 - match.score)):
            record = tally.setdefault(name, [0, 0, 0, 0])
            record[0] += 1
            record[1 if score > 0.5 else 2 if score == 0.5 else 3] += 1
    return {name: (games, wins, draws, losses) for name, (games, wins, draws, losses) in tally.items()}
