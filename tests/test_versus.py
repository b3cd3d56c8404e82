"""Two-player play and pixel observations from the command line."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pygame
import pytest

import envs  # noqa: F401  (registers the games)
from tests.conftest import assert_user_error, headless_env, last_json, run_cli
from viewer.opponents import KeyboardOpponent, SelfOpponent, set_opponent


@pytest.mark.slow
def test_agent_against_itself_records_a_video(tmp_path):
    summary = last_json(run_cli("--agent", "random", "--env", "Pong", "--versus", "self", "--render", "video",
                                "--episodes", "1", "--runs-dir", str(tmp_path), "--json"))
    assert summary["env_id"] == "playground/Pong-v0" and summary["episodes"] == 1
    assert Path(summary["video"]).stat().st_size > 0


@pytest.mark.slow
def test_versus_needs_a_two_player_game_and_a_window(tmp_path):
    assert_user_error(run_cli("--agent", "random", "--env", "CartPole", "--versus", "self", "--render", "video",
                              "--runs-dir", str(tmp_path)), "needs a two-player game")
    assert_user_error(run_cli("--agent", "random", "--env", "Pong", "--versus", "human", "--runs-dir", str(tmp_path),
                              env=headless_env()), "--versus human needs a window")
    assert_user_error(run_cli("--env", "Pong", "--versus", "self", "--render", "none"), "drop --render none")


@pytest.mark.slow
def test_obs_pixels_picks_the_pixel_variant(tmp_path):
    summary = last_json(run_cli("--agent", "random", "--env", "snake", "--obs", "pixels", "--render", "none",
                                "--episodes", "2", "--runs-dir", str(tmp_path), "--json"))
    assert summary["env_id"] == "playground/SnakePixels-v0"
    assert_user_error(run_cli("--agent", "random", "--env", "Acrobot", "--obs", "pixels", "--render", "none"),
                      "Acrobot has no pixel variant", "Snake", "CartPole")


def test_opponents_drive_the_left_paddle(monkeypatch):
    pygame.init()
    env = gym.make("playground/Pong-v0")
    env.reset(seed=0)

    class Up:
        name = "up"

        def reset(self) -> None:
            pass

        def decide(self, observation):
            from core.control import Decision

            return Decision(1)

    set_opponent(env, "self", Up())
    assert isinstance(env.unwrapped.opponent, SelfOpponent)
    assert env.unwrapped.opponent(np.zeros(6, dtype=np.float32)) == 1
    keyboard = KeyboardOpponent()
    monkeypatch.setattr(pygame.key, "get_pressed", lambda: {pygame.K_w: False, pygame.K_s: True})
    assert keyboard(np.zeros(6)) == 2
    assert set_opponent(env, "human", Up()) == KeyboardOpponent.help_lines
