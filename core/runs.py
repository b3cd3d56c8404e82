"""Run folders: `runs/<env>/<agent>/<run>/`, holding everything needed to replay a run."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from core.files import ensure_writable_dir


def safe_name(text: str) -> str:
    """A file-system friendly form of an id such as 'ALE/Pong-v5' -> 'ALE-Pong-v5'."""
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def new_run_dir(runs_dir: str | Path, *parts: str, tag: str = "") -> Path:
    """Create a fresh, uniquely named run folder under runs_dir/<parts...>/.

    Args:
        runs_dir: The root of all runs.
        parts: Path components, e.g. the env id and the agent name.
        tag: A suffix for the run name, e.g. 's0' for seed 0.

    Returns:
        The new, empty folder. An existing folder is never reused.
    """
    parent = ensure_writable_dir(Path(runs_dir).joinpath(*(safe_name(p) for p in parts)))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{tag}" if tag else stamp
    for attempt in range(1000):
        candidate = parent / (base if attempt == 0 else f"{base}-{attempt}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder under {parent}")


def write_command_line(run_dir: Path, argv: list[str] | None = None) -> None:
    """Save the command line that started the run, shell-quoted, to `command.txt`."""
    args = sys.argv if argv is None else argv
    (run_dir / "command.txt").write_text(shlex.join([sys.executable, *args]) + "\n", encoding="utf-8")
