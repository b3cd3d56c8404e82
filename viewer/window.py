"""Playing episodes for people to watch: in a pygame window, or into a video file when headless."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pygame

from core.control import Controller
from viewer.controls import KEY_HELP, SALIENCY_HELP, Controls
from viewer.heatmap import overlay, stretch
from viewer.hud import PANEL_WIDTH, Hud, HudState
from viewer.live import LiveTraining
from viewer.training_panel import STRIP_HEIGHT, TrainingPanel
from viewer.video import VideoWriter
from viewer.view_panel import VIEW_PANEL_WIDTH, ViewPanel

GAME_HEIGHT = 400


@dataclass
class ViewerOptions:
    """How to show the episodes.

    Args:
        window: Open a window (else draw off screen, e.g. to record a video headless).
        record_to: Also write every frame, HUD included, to this .mp4/.gif.
        fps: Frames per second at speed 1; None uses the env's own `render_fps`.
        human: A keyboard controller for take-over (`t`), when the env has a key map.
        screenshot_dir: Where `s` saves PNG screenshots.
    """

    window: bool = True
    record_to: Path | None = None
    fps: int | None = None
    human: Controller | None = None
    screenshot_dir: Path = Path(".")


class Viewer:
    """Runs a controller in a `render_mode="rgb_array"` env and shows each frame with the HUD.

    Events are pumped every frame, paused or not, so the window never freezes. For envs with image
    observations an agent's-view panel sits between the game frame and the HUD: the observation the shown
    decision was made on, and (key `g`) the decision's saliency map over it. With `live` (a run that trains
    while it is shown) the controller is the run's newest policy, swapped in at each episode start; a strip
    under the game shows the training, and episodes count towards `episodes` once training is over.
    """

    def __init__(self, env: gym.Env, controller: Controller, state: HudState, options: ViewerOptions,
                 live: LiveTraining | None = None) -> None:
        self.env = env
        self.controller = controller
        self.state = state
        self.live = live
        self.training_panel = TrainingPanel() if live is not None else None
        self.view_panel = ViewPanel(env.observation_space) if ViewPanel.wanted(env.observation_space) else None
        self.seen: np.ndarray | None = None  # the observation the shown decision was made on
        self.state.help_lines = state.help_lines + KEY_HELP + ([SALIENCY_HELP] if self.view_panel else [])
        self.options = options
        self.fps = options.fps or int(env.metadata.get("render_fps", 30))
        self.controls = Controls()
        self.hud = Hud()
        self.screen: pygame.Surface | None = None
        self.canvas: pygame.Surface | None = None
        self.clock = pygame.time.Clock()
        self.recorder = VideoWriter(options.record_to, self.fps) if options.record_to else None
        self.screenshots: list[Path] = []
        if options.window:
            pygame.display.init()

    @property
    def quit(self) -> bool:
        """Whether the user asked to stop."""
        return self.controls.quit

    def run(self, episodes: int, seed: int | None) -> list[float]:
        """Play up to `episodes` episodes (live: once training is over); returns the returns of those that finished."""
        returns: list[float] = []
        episode = 0
        while len(returns) < episodes and not self.quit:
            finished = self._play_episode(episode, None if seed is None else seed + episode)
            if finished:
                if self.state.counting:
                    returns.append(self.state.episode_return)
                self.state.finished_returns.append(self.state.episode_return)
                episode += 1
        return returns

    def _play_episode(self, index: int, seed: int | None) -> bool:
        """One episode; False when it was cut short by quit or restarted by reset."""
        observation, _ = self.env.reset(seed=seed)
        self.state.episode, self.state.step, self.state.episode_return = index + 1, 0, 0.0
        self.state.decision, self.state.values = None, []
        self.seen = observation
        self._frame(advanced=True)
        if self.live is not None and not self._take_newest_policy():
            return False
        self.controller.reset()
        done = False
        while not done:
            if self.quit:
                return False
            if self.controls.reset:
                self.controls.reset = False
                return False
            if not self.controls.should_step():
                self._frame(advanced=False)
                continue
            acting = self._acting_controller()
            self._ask_for_saliency()
            self.seen = observation
            self.state.decision = acting.decide(observation)
            observation, reward, terminated, truncated, _ = self.env.step(self.state.decision.action)
            self.state.step += 1
            self.state.episode_return += float(reward)
            if self.state.decision.value is not None:
                self.state.values.append(self.state.decision.value)
            done = terminated or truncated
            self._frame(advanced=True)
        return True

    def _take_newest_policy(self) -> bool:
        """Live: wait (drawing) until a policy is loaded, then take the newest; False when the user quit first."""
        assert self.live is not None
        while not self.live.ready:
            if self.quit:
                return False
            self.state.status = "loading the agent..."
            self._frame(advanced=False)
        self.live.before_episode()
        self.state.counting = self.live.counting
        self.state.status = ""
        return True

    def _acting_controller(self) -> Controller:
        if self.controls.takeover and self.options.human is not None:
            self.state.status = "you have control (t gives it back)"
            return self.options.human
        self.state.status = "no key map for this env" if self.controls.takeover else ""
        return self.controller

    def _ask_for_saliency(self) -> None:
        """Tell the agent whether to explain its decisions (only when there is a panel to show it on)."""
        if self.view_panel is not None and hasattr(self.controller, "explain_pixels"):
            self.controller.explain_pixels = self.controls.saliency > 0

    def _saliency_status(self) -> tuple[np.ndarray | None, str]:
        """The saliency map to show, and a line about it."""
        if not self.controls.saliency:
            return None, "g: show saliency"
        if not hasattr(self.controller, "explain_pixels"):
            return None, "saliency: this agent cannot show it"
        saliency = self.state.decision.saliency if self.state.decision is not None else None
        if saliency is None:
            return None, "saliency: none for this decision"
        return saliency, "saliency on the view (g: game too)" if self.controls.saliency == 1 else \
            "saliency on view and game (g: off)"

    def panel_rect(self) -> pygame.Rect | None:
        """Where the agent's-view panel is on the composed frame; None when there is none (or no frame yet)."""
        if self.view_panel is None or self.canvas is None:
            return None
        return pygame.Rect(self.canvas.get_width() - PANEL_WIDTH - VIEW_PANEL_WIDTH, 0, VIEW_PANEL_WIDTH, GAME_HEIGHT)

    def close(self) -> Path | None:
        """Close the env and the window (live: stopping a training that still runs); returns the video path."""
        if self.live is not None:
            self.live.close()
        self.env.close()
        path = self.recorder.close() if self.recorder else None
        if self.screen is not None:
            pygame.display.quit()
        return path

    def _frame(self, advanced: bool) -> None:
        """Handle input, draw the frame and HUD, show it, and record it if the game advanced."""
        self._handle_events()
        if self.live is not None:
            self.live.on_frame(self.controls)
        self.state.paused, self.state.speed = self.controls.paused, self.controls.speed
        frame = self._compose()
        if self.recorder and advanced:
            self.recorder.add(pygame.surfarray.array3d(frame).swapaxes(0, 1))
        if self.controls.screenshot:
            self.controls.screenshot = False
            self._save_screenshot(frame)
        if self.options.window:
            assert self.screen is not None
            self.screen.blit(frame, (0, 0))
            pygame.display.flip()
            self.clock.tick(self.fps * self.controls.speed)

    def _handle_events(self) -> None:
        if self.options.window:
            for event in pygame.event.get():
                self.controls.handle(event)

    def _save_screenshot(self, frame: pygame.Surface) -> None:
        folder = Path(self.options.screenshot_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"screenshot-{time.strftime('%Y%m%d-%H%M%S')}-{len(self.screenshots) + 1}.png"
        pygame.image.save(frame, str(path))
        self.screenshots.append(path)
        self.state.status = f"saved {path.name}"

    def _compose(self) -> pygame.Surface:
        """The game frame scaled to a fixed height; on its right the agent's view (image observations) and the HUD."""
        frame = np.asarray(self.env.render())
        if self.view_panel is not None and self.controls.saliency == 2:
            saliency, _ = self._saliency_status()
            if saliency is not None:  # taking the observation to be the whole frame, resized
                frame = overlay(frame, stretch(saliency, frame.shape[0], frame.shape[1]))
        game = pygame.surfarray.make_surface(frame.swapaxes(0, 1))
        width = int(round(game.get_width() * GAME_HEIGHT / game.get_height() / 2)) * 2
        if game.get_size() != (width, GAME_HEIGHT):
            game = pygame.transform.scale(game, (width, GAME_HEIGHT))
        view_width = VIEW_PANEL_WIDTH if self.view_panel is not None else 0
        strip_height = STRIP_HEIGHT if self.training_panel is not None else 0
        if self.canvas is None:
            size = (width + view_width + PANEL_WIDTH, GAME_HEIGHT + strip_height)
            if self.options.window:
                self.screen = pygame.display.set_mode(size)
                pygame.display.set_caption(f"Agent Playground: {self.state.agent} on {self.state.env_id}")
            self.canvas = pygame.Surface(size)
        self.canvas.blit(game, (0, 0))
        if self.view_panel is not None:
            saliency, status = self._saliency_status()
            view_rect = pygame.Rect(width, 0, view_width, GAME_HEIGHT)
            self.view_panel.draw(self.canvas, view_rect, self.seen, saliency, status)
        self.hud.draw(self.canvas, pygame.Rect(width + view_width, 0, PANEL_WIDTH, GAME_HEIGHT), self.state)
        if self.training_panel is not None and self.live is not None:
            strip = pygame.Rect(0, GAME_HEIGHT, self.canvas.get_width(), strip_height)
            self.training_panel.draw(self.canvas, strip, self.live.view)
        return self.canvas
