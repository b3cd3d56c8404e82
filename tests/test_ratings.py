"""Elo ratings fitted from match results, against numbers worked out by hand."""

from __future__ import annotations

import math
import random

import pytest

from agents.ratings import ELO_SCALE, Match, expected_score, fit_ratings


def by_name(ratings):
    return {rating.name: rating for rating in ratings}


def games(first: str, second: str, wins: int, losses: int, draws: int = 0) -> list[Match]:
    results = [1.0] * wins + [0.0] * losses + [0.5] * draws
    return [Match(first, second, score) for score in results]


def test_expected_score_is_ten_to_one_at_400_points():
    assert expected_score(1400, 1000) == pytest.approx(10 / 11)
    assert expected_score(1200, 1000) == pytest.approx(1 / (1 + 10 ** -0.5))
    assert expected_score(1000, 1000) == 0.5


def test_three_wins_in_four_against_the_anchor():
    ratings = by_name(fit_ratings(games("agent", "script", 3, 1), anchor="script", prior_draws=0.0))
    assert ratings["script"].elo == 1000.0 and ratings["script"].low == ratings["script"].high == 1000.0
    assert ratings["agent"].elo == pytest.approx(1000 + 400 * math.log10(3))           # 1190.85
    margin = 1.959964 * ELO_SCALE / math.sqrt(4 * 0.75 * 0.25)                          # 393.2 points
    assert ratings["agent"].high - ratings["agent"].elo == pytest.approx(margin)
    assert (ratings["agent"].games, ratings["agent"].wins, ratings["agent"].losses) == (4, 3, 1)


def test_a_chain_of_results_adds_up_and_draws_count_half():
    matches = games("a", "b", 3, 1) + games("b", "script", 3, 1) + games("c", "script", 0, 0, draws=5)
    ratings = by_name(fit_ratings(matches, anchor="script", prior_draws=0.0))
    assert ratings["b"].elo == pytest.approx(1000 + 400 * math.log10(3))
    assert ratings["a"].elo == pytest.approx(1000 + 800 * math.log10(3))
    assert ratings["c"].elo == pytest.approx(1000.0) and ratings["c"].draws == 5
    assert [rating.name for rating in fit_ratings(matches, anchor="script")][0] == "a"


def test_the_order_of_the_games_does_not_matter():
    matches = games("a", "b", 7, 3, 2) + games("b", "script", 4, 6) + games("a", "script", 9, 1)
    shuffled = list(matches)
    random.Random(0).shuffle(shuffled)
    first, second = fit_ratings(matches, anchor="script"), fit_ratings(shuffled, anchor="script")
    assert [(r.name, round(r.elo, 9)) for r in first] == [(r.name, round(r.elo, 9)) for r in second]


def test_a_player_who_won_everything_stays_finite_and_uncertain():
    ratings = by_name(fit_ratings(games("champion", "script", 10, 0), anchor="script"))
    champion = ratings["champion"]
    assert 1400 < champion.elo < 1900 and champion.high - champion.low > 300


def test_the_anchor_must_have_played():
    with pytest.raises(ValueError, match="anchor"):
        fit_ratings(games("a", "b", 1, 1), anchor="script")
