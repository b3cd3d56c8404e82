"""The league of two-player games: fair matches, the league file (resuming, hostile files), self-play's opponent
pool and its schedule, rated human games."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pygame
import pytest
import torch
from stable_baselines3 import PPO

import envs  # noqa: F401  (registers the games)
from agents import league as league_module
from agents.league import LeagueOptions, league_ratings, play_league, play_match
from agents.league_file import MatchRecord, league_path, read_league, record_match
from agents.players import RANDOM, SCRIPTED, Contestant, baselines
from agents.self_play import SCRIPTED_SEAT, OpponentPool, SelfPlayCallback, SelfPlaySettings, saved_snapshots
from core.errors import PlaygroundError
from envs.factory import make_vector_env
from envs.games.batch import SeatView
from envs.games.pong import PongGames, mirror_observations
from tests.conftest import assert_user_error, last_json, run_cli
from tests.hostile import payload_source


def _scripted_twin(name: str) -> Contestant:
    return Contestant(name, lambda games, seed: games.scripted_player(games.num_games), name)


def test_seat_view_shows_each_game_from_the_players_side():
    games = PongGames(4)
    games.streams.seed(np.arange(4), np.arange(4))
    games.reset_games(np.arange(4))
    on_right = np.array([True, False, True, False])
    seen = SeatView(games, on_right).observe("vector")
    right = games.vector_observation()
    assert np.array_equal(seen[on_right], right[on_right])
    assert np.array_equal(seen[~on_right], mirror_observations(right)[~on_right])
    pixels = SeatView(games, on_right).observe("pixels")
    assert np.array_equal(pixels[1], games.pixels()[1][:, ::-1])


def test_equal_players_split_a_match_exactly_because_sides_swap_on_the_same_seeds():
    match = play_match("Pong", _scripted_twin("a"), _scripted_twin("b"), seed=7, games=20)
    assert len(match.scores) == 20 and set(match.scores) <= {0.0, 0.5, 1.0}
    assert sum(match.scores) == 10.0  # game j and game j + 10 are the same game with the sides swapped
    assert len(set(match.scores[:10])) > 1  # the seeds differ from game to game, so results do too


def test_scripted_beats_random_and_ratings_anchor_at_1000(tmp_path):
    scripted, random = baselines()
    match = play_match("Pong", scripted, random, seed=0, games=20)
    assert sum(match.scores) >= 18
    ratings = {rating.name: rating for rating in league_ratings(
        league_module.League("Pong", [match]), [scripted, random])}
    assert ratings[SCRIPTED].elo == 1000.0 and ratings[RANDOM].elo < 700
    assert ratings[RANDOM].games == 20 and ratings[RANDOM].losses >= 18


def test_an_interrupted_league_resumes_without_counting_a_match_twice(tmp_path, monkeypatch):
    players = [*baselines(), _scripted_twin("twin")]
    monkeypatch.setattr(league_module, "contestants", lambda options, say: players)
    real_play_match, calls = league_module.play_match, []

    def killed_on_the_second_match(*args, **kwargs):
        calls.append(args[1].name + args[2].name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_play_match(*args, **kwargs)

    options = LeagueOptions("Pong", tmp_path, games=10)
    monkeypatch.setattr(league_module, "play_match", killed_on_the_second_match)
    with pytest.raises(KeyboardInterrupt):
        play_league(options, print)
    assert len(read_league(league_path(tmp_path, "Pong"), "Pong").matches) == 1  # the match in play is lost, no more
    monkeypatch.setattr(league_module, "play_match", real_play_match)
    result = play_league(options, print)
    assert (result.played, result.skipped) == (2, 1)
    again = play_league(options, print)
    assert (again.played, again.skipped) == (0, 3)
    matches = read_league(league_path(tmp_path, "Pong"), "Pong").matches
    assert len(matches) == 3 and len({match.key() for match in matches}) == 3
    assert {rating.games for rating in again.ratings} == {20}


def test_a_changed_agent_is_a_new_player(tmp_path):
    played = MatchRecord("ppo/run", SCRIPTED, "old-weights", SCRIPTED, 0, (1.0,) * 10)
    league = league_module.League("Pong", [played])
    scripted = baselines()[0]
    same = Contestant("ppo/run", scripted.seat, "old-weights")
    retrained = Contestant("ppo/run", scripted.seat, "new-weights")
    assert [rating.games for rating in league_ratings(league, [scripted, same])] == [10, 10]
    assert league_ratings(league, [scripted, retrained]) == []


@pytest.mark.parametrize("content, complaint", [
    ('{"format": 1, "game": "Pong", "matches": [{"first": "../../x", "second": "scripted", "first_id": "", '
     '"second_id": "", "seed": 0, "scores": [1], "kind": "league"}]}', "player names"),
    ('{"format": 1, "game": "Pong", "matches": [{"first": "a", "second": "scripted", "first_id": "", '
     '"second_id": "", "seed": 0, "scores": [2], "kind": "league"}]}', "scores"),
    ('{"format": 1, "game": "Pong", "matches": {"__class__": "os.system"}}', "matches"),
    ('{"format": 1, "game": "Snake", "matches": []}', "not Pong"),
    ('{"format": 9, "game": "Pong", "matches": []}', "format"),
    ("[" * 100_000, "league file"),
])
def test_a_hostile_league_file_is_refused_and_never_overwritten(tmp_path, content, complaint):
    path = league_path(tmp_path, "Pong")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(PlaygroundError, match=complaint):
        record_match(path, MatchRecord("a", "b", "", "", 0, (1.0,)))
    assert path.read_text() == content


def test_league_command_refuses_bad_input(tmp_path):
    assert_user_error(run_cli("league", "--env", "CartPole", "--runs-dir", str(tmp_path)), "two-player game")
    assert_user_error(run_cli("league", "--env", "Pong", "--games", "7", "--runs-dir", str(tmp_path)), "even number")
    assert_user_error(run_cli("--env", "CartPole", "--opponent", "self", "--render", "none",
                              "--runs-dir", str(tmp_path)), "two-player game")
    assert_user_error(run_cli("--env", "Pong", "--player", "ada", "--render", "none"), "--versus human")
    assert_user_error(run_cli("--env", "Pong", "--versus", "human", "--player", "../etc"), "--player")
    assert not any(tmp_path.iterdir())


def _pong_learner(n_envs: int = 4, pool: OpponentPool | None = None) -> PPO:
    env = make_vector_env("playground/Pong-v0", n_envs, seed=0, opponent=pool)
    return PPO("MlpPolicy", env, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")


def test_the_pool_never_holds_the_learners_current_weights(tmp_path):
    pool = OpponentPool(SelfPlaySettings(snapshot_every=256, window=3, latest=0.5, scripted=0.2), 4, "vector", 0)
    learner = _pong_learner(pool=pool)
    learner.learn(1024, callback=SelfPlayCallback(pool, tmp_path))
    steps = [step for step, _ in saved_snapshots(tmp_path / "opponents")]
    assert steps[0] == 0 and len(steps) >= 4
    assert sorted(pool.window()) == steps[-3:]  # the newest three
    learner_tensors = {tensor.data_ptr() for tensor in learner.policy.state_dict().values()}
    current = learner.policy.state_dict()
    for step, member in pool.snapshots.items():
        weights = member.policy.state_dict()
        assert not learner_tensors & {tensor.data_ptr() for tensor in weights.values()}
        assert not any(parameter.requires_grad for parameter in member.policy.parameters())
        saved = torch.load(tmp_path / "opponents" / f"step-{step:012d}.pt", weights_only=True)
        assert all(torch.equal(weights[name], saved[name]) for name in saved)
    newest = pool.snapshots[max(pool.snapshots)].policy.state_dict()
    assert any(not torch.equal(newest[name], current[name]) for name in current)  # the learner moved on since
    with torch.no_grad():  # changing the learner now leaves every snapshot as it is
        next(learner.policy.parameters()).add_(1.0)
    assert all(torch.equal(pool.snapshots[max(pool.snapshots)].policy.state_dict()[name], newest[name])
               for name in newest)


def test_a_resumed_run_gets_its_pool_back(tmp_path):
    settings = SelfPlaySettings(snapshot_every=256, window=2)
    first = OpponentPool(settings, 4, "vector", 0)
    _pong_learner(pool=first).learn(768, callback=SelfPlayCallback(first, tmp_path))
    again = OpponentPool(settings, 4, "vector", 1)
    learner = _pong_learner(pool=again)
    learner.num_timesteps = max(first.snapshots)
    callback = SelfPlayCallback(again, tmp_path)
    callback.init_callback(learner)
    callback.on_training_start({}, {})
    assert sorted(again.snapshots) == sorted(first.window())
    for step in again.snapshots:
        assert all(torch.equal(again.snapshots[step].policy.state_dict()[name], tensor)
                   for name, tensor in first.snapshots[step].policy.state_dict().items())


def test_the_pool_draws_opponents_on_the_schedule():
    pool = OpponentPool(SelfPlaySettings(window=4, latest=0.5, scripted=0.2), 20_000, "vector", 0)
    learner = _pong_learner()
    for step in range(6):
        pool.add(step, learner.policy)
    pool.reset()
    shares = pool.shares()
    assert abs(shares["scripted"] - 0.2) < 0.02 and abs(shares["latest"] - 0.5) < 0.02
    assert set(np.unique(pool.seats)) == {SCRIPTED_SEAT, 2, 3, 4, 5}  # the window: the newest four
    actions = pool(SeatView(PongGames(20_000), np.zeros(20_000, bool)))
    assert actions.shape == (20_000,) and set(np.unique(actions)) <= {0, 1, 2}


@pytest.mark.parametrize("settings, complaint", [
    ({"window": 0}, "window"), ({"latest": 0.9, "scripted": 0.2}, "add up"), ({"swap": 1}, "unknown key"),
    ({"snapshot_every": "often"}, "snapshot_every"),
])
def test_self_play_settings_are_checked(settings, complaint):
    with pytest.raises(PlaygroundError, match=complaint):
        SelfPlaySettings.from_settings(settings, "--hp")


@pytest.mark.slow
def test_self_play_trains_from_the_command_line_and_joins_the_league(tmp_path):
    summary = last_json(run_cli("--agent", "ppo", "--env", "Pong", "--opponent", "self", "--timesteps", "20000",
                                "--hp", "self_play={snapshot_every: 5000}", "--hp", "n_envs=8",
                                "--render", "none", "--episodes", "2", "--runs-dir", str(tmp_path), "--json"))
    run_dir = Path(summary["run_dir"])
    config = json.loads((run_dir / "config.json").read_text())
    assert config["hyperparams"]["opponent"] == "self"
    assert config["hyperparams"]["self_play"]["snapshot_every"] == 5000
    assert len(saved_snapshots(run_dir / "opponents")) >= 4
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next(run_dir.glob("tensorboard*")))).Reload()
    assert max(event.value for event in events.Scalars("self_play/snapshots")) >= 3
    league = last_json(run_cli("league", "--env", "Pong", "--games", "10", "--runs-dir", str(tmp_path), "--json"))
    names = {rating["name"] for rating in league["ratings"]}
    assert names == {SCRIPTED, RANDOM, f"ppo/{run_dir.name}"} and league["played"] == 3


def test_a_rated_human_game_is_recorded(tmp_path, monkeypatch):
    import play
    import viewer.display

    class Instant:  # no waiting between frames
        def tick(self, fps: float = 0) -> int:
            return 0

    monkeypatch.setattr(viewer.display, "window_possible", lambda: True)
    monkeypatch.setattr(viewer.display, "has_real_display", lambda: True)
    monkeypatch.setattr(pygame.time, "Clock", Instant)
    pygame.init()
    held = {pygame.K_s}  # the person holds S: their paddle goes down and stays there
    monkeypatch.setattr(pygame.key, "get_pressed", lambda: _Pressed(held))
    assert play.main(["--agent", "random", "--env", "Pong", "--versus", "human", "--player", "ada", "--render",
                      "human", "--episodes", "2", "--runs-dir", str(tmp_path), "--seed", "3"]) == 0
    matches = read_league(league_path(tmp_path, "Pong"), "Pong").matches
    assert [(match.first, match.second, match.kind, match.seed) for match in matches] == [
        (RANDOM, "ada", "human", 30_003), (RANDOM, "ada", "human", 30_004)]
    assert all(len(match.scores) == 1 for match in matches)


class _Pressed:
    def __init__(self, held: set[int]) -> None:
        self.held = held

    def __getitem__(self, key: int) -> bool:
        return key in self.held


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (payload_source(self.marker),))


def test_a_crafted_snapshot_in_a_received_run_never_runs(tmp_path):
    marker = tmp_path / "marker"
    folder = tmp_path / "opponents"
    folder.mkdir()
    torch.save({"weights": _Payload(marker)}, folder / "step-000000000100.pt")
    pool = OpponentPool(SelfPlaySettings(), 4, "vector", 0)
    learner = _pong_learner(pool=pool)
    callback = SelfPlayCallback(pool, tmp_path)
    callback.init_callback(learner)
    with pytest.raises(PlaygroundError, match="step-000000000100.pt"):
        callback.on_training_start({}, {})
    assert not marker.exists()


def test_the_league_skips_a_run_that_cannot_play_and_runs_nothing_it_holds(tmp_path):
    marker = tmp_path / "marker"
    run_dir = tmp_path / "playground-Pong-v0" / "ppo" / "20260101-000000-s0"
    run_dir.mkdir(parents=True)
    from agents.presets import resolve_hyperparams
    from envs.make import env_spaces

    spaces = [repr(space) for space in env_spaces("playground/Pong-v0")]
    (run_dir / "config.json").write_text(json.dumps({
        "format": 1, "agent": "ppo", "env_id": "playground/Pong-v0", "seed": 0, "status": "complete",
        "observation_space": spaces[0], "action_space": spaces[1],
        "hyperparams": resolve_hyperparams("ppo", "playground/Pong-v0", PPO, [])}))
    torch.save({"weights": _Payload(marker)}, run_dir / "model.pt")
    said: list[str] = []
    found = league_module.contestants(LeagueOptions("Pong", tmp_path), said.append)
    assert [player.name for player in found] == [SCRIPTED, RANDOM]
    assert len(said) == 1 and said[0].startswith(f"skipped {run_dir}") and "model.pt" in said[0]
    assert not marker.exists()


def test_stacked_snapshots_act_as_each_snapshot_would():
    from agents.policy_stack import StackedActors, actor_layers
    from agents.self_play import frozen_copy

    learner = _pong_learner()
    policies = []
    for shift in (0.0, 0.5, -0.5):
        policy = frozen_copy(learner.policy)
        with torch.no_grad():
            for parameter in policy.parameters():
                parameter.add_(shift * torch.randn_like(parameter))
        policies.append(policy)
    assert all(actor_layers(policy) is not None for policy in policies)
    stacked = StackedActors(policies)
    observations = torch.rand(5, 6) * 2 - 1
    logits = stacked.logits(observations)
    for member, policy in enumerate(policies):
        expected = policy.get_distribution(observations).distribution.probs
        assert torch.allclose(torch.softmax(logits[member], dim=1), expected, atol=1e-6)
    one = observations[:1].expand(30_000, 6)
    members = torch.full((30_000,), 2)
    actions = stacked.sample(one, members, torch.Generator().manual_seed(0))
    frequencies = torch.bincount(actions, minlength=3).float() / 30_000
    assert torch.allclose(frequencies, policies[2].get_distribution(observations[:1]).distribution.probs[0],
                          atol=0.015)
