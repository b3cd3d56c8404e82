"""The viewer's keyboard: pause, single steps, speed, human take-over, saliency, screenshots, reset, quit, and
for a run training live: pause training, save a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

KEY_HELP = [
    "SPACE  pause / resume",
    "    .  one step while paused",
    "  + -  faster / slower",
    "    t  take over / give back",
    "    s  screenshot",
    "    r  restart the episode",
    "  ESC  quit",
]
SALIENCY_HELP = "    g  saliency: on the view, + game, off"
TRAINING_HELP = "p  pause training    c  save a checkpoint    r  newest policy"
SALIENCY_MODES = 3  # off, on the agent's view, on the agent's view and the game frame
MIN_SPEED, MAX_SPEED = 1 / 8, 8.0


@dataclass
class Controls:
    """What the viewer's keys have asked for; the viewer reads and clears the one-shot requests."""

    paused: bool = False
    step_once: bool = False
    speed: float = 1.0
    takeover: bool = False
    screenshot: bool = False
    saliency: int = 0  # 0 off, 1 on the agent's view, 2 on the game frame too
    reset: bool = False
    quit: bool = False
    training_paused: bool = False
    checkpoint: bool = False

    def handle(self, event: pygame.event.Event) -> None:
        """Update from one pygame event."""
        if event.type == pygame.QUIT:
            self.quit = True
        if event.type != pygame.KEYDOWN:
            return
        key, text = event.key, getattr(event, "unicode", "")
        if key == pygame.K_ESCAPE:
            self.quit = True
        elif key == pygame.K_SPACE:
            self.paused = not self.paused
        elif key in (pygame.K_PERIOD, pygame.K_KP_PERIOD):
            self.step_once = True
        elif key in (pygame.K_PLUS, pygame.K_KP_PLUS, pygame.K_EQUALS) or text == "+":
            self.speed = min(self.speed * 2, MAX_SPEED)
        elif key in (pygame.K_MINUS, pygame.K_KP_MINUS) or text == "-":
            self.speed = max(self.speed / 2, MIN_SPEED)
        elif key == pygame.K_t:
            self.takeover = not self.takeover
        elif key == pygame.K_g:
            self.saliency = (self.saliency + 1) % SALIENCY_MODES
        elif key == pygame.K_s:
            self.screenshot = True
        elif key == pygame.K_r:
            self.reset = True
        elif key == pygame.K_p:
            self.training_paused = not self.training_paused
        elif key == pygame.K_c:
            self.checkpoint = True

    def should_step(self) -> bool:
        """Whether the next frame advances the game (not paused, or a single step was asked for)."""
        if not self.paused:
            return True
        if self.step_once:
            self.step_once = False
            return True
        return False
