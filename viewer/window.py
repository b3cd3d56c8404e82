"""Playing episodes for people to watch: in a pygame window, or into a video file when headless."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pygame

from core.control import Controller
from viewer.hud import PANEL_WIDTH, Hud, HudState
from viewer.video import VideoWriter

GAME_HEIGHT = 400
BASE_KEYS = ["   ESC  quit"]


@dataclass
class ViewerOptions:
    """How to show the episodes.

    Args:
        window: Open a window (else draw off screen).
        record_to: Also write every frame, HUD included, to this .mp4/.gif.
        fps: Frames per second; None uses the env's own `render_fps`.
    """

    window: bool = True
    record_to: Path | None = None
    fps: int | None = None


class Viewer:
    """Runs a controller in a `render_mode="rgb_array"` env and shows each frame with the HUD.

    Events are pumped every frame, so the window never freezes; ESC or closing the window stops.
    """

    def __init__(self, env: gym.Env, controller: Controller, state: HudState, options: ViewerOptions) -> None:
        self.env = env
        self.controller = controller
        self.state = state
        self.state.help_lines = state.help_lines + BASE_KEYS
        self.options = options
        self.fps = options.fps or int(env.metadata.get("render_fps", 30))
        self.hud = Hud()
        self.screen: pygame.Surface | None = None
        self.canvas: pygame.Surface | None = None
        self.clock = pygame.time.Clock()
        self.recorder = VideoWriter(options.record_to, self.fps) if options.record_to else None
        self.quit = False
        if options.window:
            pygame.display.init()

    def run(self, episodes: int, seed: int | None) -> list[float]:
        """Play up to `episodes` episodes; returns the returns of those that finished."""
        returns: list[float] = []
        for episode in range(episodes):
            observation, _ = self.env.reset(seed=None if seed is None else seed + episode)
            self.controller.reset()
            self.state.episode, self.state.step, self.state.episode_return = episode + 1, 0, 0.0
            self.state.decision = None
            done = False
            self._present()
            while not done and not self.quit:
                self.state.decision = self.controller.decide(observation)
                observation, reward, terminated, truncated, _ = self.env.step(self.state.decision.action)
                self.state.step += 1
                self.state.episode_return += float(reward)
                done = terminated or truncated
                self._present()
            if self.quit:
                break
            returns.append(self.state.episode_return)
            self.state.finished_returns.append(self.state.episode_return)
        return returns

    def close(self) -> Path | None:
        """Close the env and the window; returns the video path when recording."""
        self.env.close()
        path = self.recorder.close() if self.recorder else None
        if self.screen is not None:
            pygame.display.quit()
        return path

    def _present(self) -> None:
        """Handle input, draw the frame and HUD, show or record it."""
        self._handle_events()
        frame = self._compose()
        if self.recorder:
            self.recorder.add(pygame.surfarray.array3d(frame).swapaxes(0, 1))
        if self.options.window:
            assert self.screen is not None
            self.screen.blit(frame, (0, 0))
            pygame.display.flip()
            self.clock.tick(self.fps)

    def _handle_events(self) -> None:
        if not self.options.window:
            return
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                self.quit = True

    def _compose(self) -> pygame.Surface:
        """The game frame scaled to a fixed height, with the HUD panel on its right."""
        frame = np.asarray(self.env.render())
        game = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        width = int(round(game.get_width() * GAME_HEIGHT / game.get_height() / 2)) * 2
        game = pygame.transform.smoothscale(game, (width, GAME_HEIGHT))
        if self.canvas is None:
            size = (width + PANEL_WIDTH, GAME_HEIGHT)
            if self.options.window:
                self.screen = pygame.display.set_mode(size)
                pygame.display.set_caption(f"Agent Playground: {self.state.agent} on {self.state.env_id}")
            self.canvas = pygame.Surface(size)
        self.canvas.blit(game, (0, 0))
        self.hud.draw(self.canvas, pygame.Rect(width, 0, PANEL_WIDTH, GAME_HEIGHT), self.state)
        return self.canvas
