"""The heads-up display: what the agent is doing, drawn beside the game frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pygame

from core.control import Decision

BACKGROUND = (22, 24, 30)
TEXT = (230, 232, 236)
MUTED = (140, 146, 160)
ACCENT = (90, 170, 255)
CHOSEN = (255, 190, 70)
PANEL_WIDTH = 300
MEMORY_COLUMNS, MEMORY_ROWS, MEMORY_CELL_HEIGHT = 32, 8, 8  # the hidden-state heat map: at most 256 cells shown


@dataclass
class HudState:
    """Everything the HUD shows for the current frame."""

    agent: str
    env_id: str
    episodes: int
    episode: int = 1
    step: int = 0
    episode_return: float = 0.0
    decision: Decision | None = None
    action_labels: list[str] | None = None
    finished_returns: list[float] = field(default_factory=list)
    help_lines: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    status: str = ""
    paused: bool = False
    speed: float = 1.0
    counting: bool = True  # False while a live run trains: its episodes do not count towards `episodes`


def format_action(action: object, labels: list[str] | None) -> str:
    """A short text for an action: its label when known, else its value."""
    if isinstance(action, (int, np.integer)) and labels and 0 <= int(action) < len(labels):
        return f"{int(action)} ({labels[int(action)]})"
    if isinstance(action, np.ndarray):
        return np.array2string(action, precision=2, suppress_small=True)
    return str(action)


def heat_colour(value: float) -> tuple[int, int, int]:
    """A diverging colour for a value in [-1, 1] (an LSTM's hidden units are): blue, dark grey at 0, orange."""
    level = float(np.clip(value, -1.0, 1.0))
    base, far = np.array((40, 44, 54)), np.array(CHOSEN if level > 0 else ACCENT)
    return tuple(int(c) for c in base + abs(level) * (far - base))


class TextPanel:
    """A panel of text lines in two fonts, made once (the HUD and the training strip are both such panels)."""

    def __init__(self) -> None:
        pygame.font.init()
        self.font = pygame.font.Font(None, 22)
        self.small = pygame.font.Font(None, 18)

    def _line(self, surface: pygame.Surface, text: str, x: int, y: int, colour: tuple = TEXT,
              font: pygame.font.Font | None = None, spacing: int = 2) -> int:
        """Draw one line of text; returns the y of the next line."""
        font = font or self.font
        surface.blit(font.render(text, True, colour), (x, y))
        return y + font.get_linesize() + spacing


class Hud(TextPanel):
    """Draws a `HudState` into a panel."""

    def draw(self, surface: pygame.Surface, rect: pygame.Rect, state: HudState) -> None:
        """Render the panel into `rect` of `surface`."""
        surface.fill(BACKGROUND, rect)
        x, y = rect.x + 12, rect.y + 8
        title = f"{state.agent}  on  {state.env_id}"
        if self.font.size(title)[0] <= rect.width - 24:
            y = self._line(surface, title, x, y, ACCENT)
        else:  # a long name (a league player's run folder): the agent, then the world on a line of its own
            y = self._line(surface, state.agent, x, y, ACCENT)
            y = self._line(surface, f"on {state.env_id}", x, y, ACCENT, self.small)
        episode = f"{state.episode}/{state.episodes}" if state.counting else f"{state.episode} (while training)"
        y = self._line(surface, f"episode {episode}    step {state.step}", x, y)
        y = self._line(surface, f"return {state.episode_return:.1f}", x, y)
        mode = "paused" if state.paused else f"speed x{state.speed:g}"
        y = self._line(surface, f"{mode}   {state.status}", x, y, CHOSEN if state.paused else MUTED, self.small)
        decision = state.decision
        if decision is not None:
            y = self._line(surface, f"action {format_action(decision.action, state.action_labels)}", x, y)
            if decision.probabilities is not None:
                y = self._bars(surface, "action probabilities", decision.probabilities, decision.action,
                               state.action_labels, x, y + 2, rect.width - 24, normalized=True)
            if decision.q_values is not None:
                y = self._bars(surface, "Q-values", decision.q_values, decision.action,
                               state.action_labels, x, y + 2, rect.width - 24, normalized=False)
            if decision.value is not None:
                y = self._line(surface, f"value estimate {decision.value:.2f}", x, y, MUTED, self.small)
                y = self._plot(surface, state.values, pygame.Rect(x, y, rect.width - 24, 40)) + 4
            if decision.hidden is not None:
                y = self._memory(surface, decision.hidden, x, y, rect.width - 24)
        if state.finished_returns:
            shown = ", ".join(f"{r:.0f}" for r in state.finished_returns[-6:])
            y = self._line(surface, f"returns: {shown}", x, y, MUTED, self.small)
        line_height = self.small.get_linesize()
        y = max(y + 4, rect.bottom - line_height * len(state.help_lines) - 6)
        for line in state.help_lines:
            y = self._line(surface, line, x, y, MUTED, self.small, spacing=0)

    def _plot(self, surface: pygame.Surface, values: list[float], rect: pygame.Rect) -> int:
        """A running line plot of the last values; returns the y below it."""
        pygame.draw.rect(surface, (40, 44, 54), rect)
        recent = values[-rect.width:]
        if len(recent) >= 2:
            low, high = min(recent), max(recent)
            span = high - low if high > low else 1.0
            points = [(rect.x + i * (rect.width - 1) / max(len(recent) - 1, 1),
                       rect.bottom - 2 - (v - low) / span * (rect.height - 4)) for i, v in enumerate(recent)]
            pygame.draw.lines(surface, ACCENT, False, points, 2)
        return rect.bottom

    def _memory(self, surface: pygame.Surface, hidden: np.ndarray, x: int, y: int, width: int) -> int:
        """The LSTM hidden state as a heat map, a cell per unit (blue below zero, orange above); returns the y below."""
        values = np.asarray(hidden, dtype=np.float64).ravel()
        shown = values[:MEMORY_COLUMNS * MEMORY_ROWS]
        y = self._line(surface, f"memory: LSTM hidden state ({values.size} units)", x, y, MUTED, self.small, spacing=0)
        columns = max(1, min(shown.size, MEMORY_COLUMNS))
        cell = max(2, width // columns)
        for index, value in enumerate(shown):
            row, column = divmod(index, columns)
            surface.fill(heat_colour(value), (x + column * cell, y + 1 + row * MEMORY_CELL_HEIGHT,
                                              cell - 1, MEMORY_CELL_HEIGHT - 1))
        rows = -(-shown.size // columns)
        return y + rows * MEMORY_CELL_HEIGHT + 6

    def _bars(self, surface: pygame.Surface, title: str, values: np.ndarray, chosen: object,
              labels: list[str] | None, x: int, y: int, width: int, normalized: bool) -> int:
        """One horizontal bar per action; the chosen one highlighted."""
        y = self._line(surface, title, x, y, MUTED, self.small, spacing=0)
        values = np.asarray(values, dtype=np.float64).ravel()
        low, high = (0.0, 1.0) if normalized else (float(values.min()), float(values.max()))
        span = high - low if high > low else 1.0
        label_width = 70
        for index, value in enumerate(values[:12]):
            label = labels[index] if labels and index < len(labels) else str(index)
            colour = CHOSEN if isinstance(chosen, (int, np.integer)) and int(chosen) == index else ACCENT
            surface.blit(self.small.render(label[:10], True, TEXT), (x, y))
            bar = int((width - label_width - 50) * (0.08 + 0.92 * (value - low) / span))
            pygame.draw.rect(surface, colour, (x + label_width, y + 2, max(bar, 2), 11))
            surface.blit(self.small.render(f"{value:.2f}", True, TEXT), (x + label_width + bar + 4, y))
            y += 16
        return y + 2
