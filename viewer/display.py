"""Is there a screen to open a window on?"""

from __future__ import annotations

import os

from core.headless import ensure_sdl_runtime_dir

ensure_sdl_runtime_dir()

HEADLESS_DRIVERS = {"offscreen", "dummy"}


def video_driver() -> str | None:
    """The SDL video driver pygame picks here, or None when none works (no display at all)."""
    import pygame

    try:
        pygame.display.init()
    except pygame.error:
        return None
    return pygame.display.get_driver()


def has_real_display() -> bool:
    """True when a window would be seen by someone (not SDL's offscreen or dummy drivers)."""
    driver = video_driver()
    return driver is not None and driver not in HEADLESS_DRIVERS


def window_possible() -> bool:
    """True when a window loop can run: a real display, or the dummy driver that tests ask for."""
    driver = video_driver()
    return driver is not None and (driver not in HEADLESS_DRIVERS or os.environ.get("SDL_VIDEODRIVER") == "dummy")
