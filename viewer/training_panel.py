"""The training strip under the game while a run trains: the evaluation curve with its target, and where
training stands (phase, steps, speed, time), which policy is on screen, and the keys that steer training."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from agents.live_files import LiveStatus
from viewer.controls import TRAINING_HELP
from viewer.hud import ACCENT, BACKGROUND, CHOSEN, MUTED, TEXT, TextPanel

STRIP_HEIGHT = 124
GRID = (40, 44, 54)
SOLVED = (110, 210, 120)
ENDED_BADLY = (235, 100, 90)
PHASE_COLOURS = {"learning": ACCENT, "confirming": ACCENT, "paused": CHOSEN, "solved": SOLVED,
                 "budget spent": MUTED, "interrupted": ENDED_BADLY, "failed": ENDED_BADLY}


@dataclass
class TrainingView:
    """What the strip shows.

    Args:
        status: The run's live status (None until the trainer wrote one).
        shown_step: The training step of the policy on screen (None while none is loaded).
        shown_final: Whether that policy is the one training ended with.
        steers: Whether this window controls training (its keys pause it and save checkpoints).
        note: A line about the window itself (loading, the trainer gone).
    """

    status: LiveStatus | None = None
    shown_step: int | None = None
    shown_final: bool = False
    steers: bool = False
    note: str = ""


def phase_label(view: TrainingView) -> str:
    """The phase in words."""
    status = view.status
    if status is None:
        return "starting"
    return {"confirming": "confirming on fresh episodes"}.get(status.phase, status.phase)


def elapsed_text(seconds: float) -> str:
    """H:MM:SS or M:SS."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def shown_policy_text(view: TrainingView) -> str:
    """Which policy is on screen, so an old one is never mistaken for the newest."""
    if view.shown_step is None:
        return "on screen: waiting for the first policy"
    if view.shown_final:
        return f"on screen: the final policy (step {view.shown_step:,})"
    newest = view.status.policy_step if view.status is not None else None
    newer = f"; newest {newest:,}" if newest is not None and newest > view.shown_step else ""
    return f"on screen: the policy of step {view.shown_step:,}{newer}"


class TrainingPanel(TextPanel):
    """Draws a `TrainingView` into a strip."""

    def draw(self, surface: pygame.Surface, rect: pygame.Rect, view: TrainingView) -> None:
        """Render the strip into `rect` of `surface`: the curve on the left, the text on the right."""
        surface.fill(BACKGROUND, rect)
        pygame.draw.line(surface, GRID, rect.topleft, rect.topright)
        curve_width = max(min(rect.width // 2, 520), 200)
        plot = pygame.Rect(rect.x + 12, rect.y + 22, curve_width - 24, rect.height - 40)
        self._curve(surface, plot, view.status, view.shown_step)
        self._text(surface, rect.x + curve_width, rect.y + 8, view)

    def _text(self, surface: pygame.Surface, x: int, y: int, view: TrainingView) -> None:
        status = view.status
        colour = PHASE_COLOURS.get(status.phase, TEXT) if status is not None else MUTED
        y = self._line(surface, f"training: {phase_label(view)}", x, y, colour)
        if status is not None:
            share = f" ({100 * status.step / status.total:.0f}%)" if status.total else ""
            y = self._line(surface, f"steps {status.step:,} / {status.total:,}{share}", x, y)
            y = self._line(surface, f"{status.steps_per_s:,.0f} steps/s    {elapsed_text(status.elapsed)} learning",
                           x, y, MUTED, self.small)
        y = self._line(surface, shown_policy_text(view), x, y, CHOSEN if view.shown_final else TEXT, self.small)
        note = view.note or (status.message if status is not None else "")
        if note:
            y = self._line(surface, note[:70], x, y, MUTED, self.small)
        if view.steers and status is not None and not status.ended:
            self._line(surface, TRAINING_HELP, x, y, MUTED, self.small)

    def _curve(self, surface: pygame.Surface, plot: pygame.Rect, status: LiveStatus | None,
               shown_step: int | None) -> None:
        """The evaluation curve against steps, the target as a dashed line, the step trained so far as a grey
        line and the step of the policy on screen as an orange mark under the plot."""
        title = "evaluation mean return"
        points = status.evaluations if status is not None else []
        if points:
            best = max(value for _, value in points)
            title += f"   best {best:.1f}"
        if status is not None and status.solved_at is not None:
            title += f"   target {status.solved_at:g}"
        surface.blit(self.small.render(title, True, MUTED), (plot.x, plot.y - 16))
        pygame.draw.rect(surface, GRID, plot)
        if status is None:
            return
        values = [value for _, value in points] + ([status.solved_at] if status.solved_at is not None else [])
        low, high = (min(values), max(values)) if values else (0.0, 1.0)
        span = high - low if high > low else 1.0
        x_end = max(status.total, status.step, 1)

        def at(step: float, value: float) -> tuple[float, float]:
            return (plot.x + step / x_end * (plot.width - 1),
                    plot.bottom - 3 - (value - low) / span * (plot.height - 6))

        if status.solved_at is not None:
            y = at(0, status.solved_at)[1]
            for start in range(plot.x, plot.right, 8):
                pygame.draw.line(surface, SOLVED, (start, y), (min(start + 4, plot.right), y))
        step_x = at(status.step, low)[0]
        pygame.draw.line(surface, MUTED, (step_x, plot.y), (step_x, plot.bottom - 1))
        corners = [at(step, value) for step, value in points]
        if len(corners) >= 2:
            pygame.draw.lines(surface, ACCENT, False, corners, 2)
        for corner in corners[-1:]:
            pygame.draw.circle(surface, CHOSEN, (int(corner[0]), int(corner[1])), 3)
        if shown_step is not None:
            x = at(shown_step, low)[0]
            pygame.draw.polygon(surface, CHOSEN, [(x, plot.bottom - 6), (x - 4, plot.bottom), (x + 4, plot.bottom)])
        label = self.small.render(f"0 .. {x_end:,} steps", True, MUTED)
        surface.blit(label, (plot.x, plot.bottom + 2))
