"""Quiet pygame start-up on machines without a desktop session (SSH, CI)."""

from __future__ import annotations

import os
import tempfile


def ensure_sdl_runtime_dir() -> None:
    """Give SDL a private XDG_RUNTIME_DIR when none is set; without one it prints an error line at start-up."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if "XDG_RUNTIME_DIR" not in os.environ:
        os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="playground-xdg-")
