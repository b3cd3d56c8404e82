"""The voice of the playground: a character-level LSTM that learns to write like its corpus.

    python -m textgen train --corpus shakespeare
    python -m textgen sample --prime "ROMEO:" --temperature 0.2 0.5 1.0

From Python:

    from textgen import load_generator
    print(load_generator().generate("ROMEO:", length=200, temperature=0.5))

Importing this package is cheap; torch is imported when a generator is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textgen.generator import Generator, load_generator

__all__ = ["Generator", "load_generator"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from textgen import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'textgen' has no attribute {name!r}")
