"""Opponents for two-player games (Pong): a human at the keyboard, or the agent itself."""

from __future__ import annotations

import numpy as np

from core.control import Controller, Decision
from core.errors import PlaygroundError
from envs.games.batch import Player, SeatView, TwoPlayerGames

VERSUS_CHOICES = ("scripted", "human", "self")


class KeyboardOpponent:
    """The left paddle for a person: W moves up, S moves down (actions 1 and 2; 0 stays)."""

    help_lines = ["     W  your paddle up", "     S  your paddle down"]

    def __init__(self) -> None:
        import pygame

        self._up, self._down = pygame.K_w, pygame.K_s

    def __call__(self, observation: np.ndarray) -> int:
        import pygame

        held = pygame.key.get_pressed()
        return 1 if held[self._up] else 2 if held[self._down] else 0


class SelfOpponent:
    """The agent plays the other paddle too (the env mirrors what that side sees)."""

    help_lines: list[str] = []

    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def __call__(self, observation: np.ndarray) -> int:
        return int(self.controller.decide(observation).action)


def set_opponent(env: object, versus: str, controller: Controller) -> list[str]:
    """Swap the opponent of a two-player env; returns key-map lines for the HUD.

    Raises:
        PlaygroundError: When the env has no opponent to swap.
    """
    if versus == "scripted":
        return []
    game = getattr(env, "unwrapped", env)
    if not hasattr(game, "opponent"):
        raise PlaygroundError(f"--versus {versus} needs a two-player game such as Pong; this env has one player.")
    opponent = KeyboardOpponent() if versus == "human" else SelfOpponent(controller)
    game.opponent = opponent
    return opponent.help_lines


class SeatedPlayer:
    """A league player (a batched `envs.games.batch.Player`) at a single game's batch of one, on one side: as the
    viewer's controller (right side) or as the env's opponent (left side)."""

    help_lines: list[str] = []

    def __init__(self, name: str, player: Player, games: TwoPlayerGames, on_right: bool) -> None:
        self.name = name
        self.player = player
        self.view_side = np.array([on_right])
        self.games = games

    def reset(self) -> None:
        self.player.reset()

    def decide(self, observation: np.ndarray) -> Decision:
        return Decision(int(self.player(SeatView(self.games, self.view_side))[0]))

    def __call__(self, observation: np.ndarray) -> int:
        return int(self.decide(observation).action)
