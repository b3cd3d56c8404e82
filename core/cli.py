"""What every command line of the playground shares: usage errors as one line, and one way to end.

`play.py`, `python -m textgen` and `python -m vision.digits` (and `play.py tune|seeds`) build their parsers
from `ArgumentParser` and run their work through `run_command`, so a user mistake always ends the same way:
one line `error: ...` on stderr and exit code 2; Ctrl-C ends with code 130 and any hint the work attached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from core.errors import PlaygroundError

USAGE_ERROR = 2
INTERRUPTED = 130


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its usage errors raised as a PlaygroundError that points at `--help`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise PlaygroundError(f"{message} (see {self.prog} --help)")


def one_line(message: object) -> str:
    """A message on one line: user input inside it may hold line breaks."""
    return " ".join(str(message).split())


def run_command(work: Callable[[], int]) -> int:
    """Run a command's work; a PlaygroundError becomes one `error:` line and exit code 2.

    Args:
        work: Parses and runs the command; returns its exit code.

    Returns:
        The exit code: the work's own, 2 for a user mistake, 130 for Ctrl-C.
    """
    try:
        return work()
    except PlaygroundError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt as interrupt:  # the work may attach how to continue (see TrainingInterrupted)
        hint = getattr(interrupt, "hint", "")
        print(f"\n{interrupt or 'interrupted'}{'; ' + hint if hint else ''}", file=sys.stderr)
        return INTERRUPTED
