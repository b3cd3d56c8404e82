"""Name registries with case-insensitive lookup and did-you-mean suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from core.errors import PlaygroundError

T = TypeVar("T")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return a ' Did you mean X?' hint for a mistyped name, or an empty string.

    Args:
        name: What the user typed.
        choices: The valid names.
    """
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" Did you mean {by_lower[close[0]]}?" if close else ""


class Registry(Generic[T]):
    """A mapping from short names to entries, looked up case-insensitively.

    Args:
        kind: What the entries are ("agent", "environment"), used in error messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._names: dict[str, str] = {}

    def register(self, name: str, entry: T) -> T:
        """Add an entry under a name; returns the entry so it can be used as a decorator result."""
        if name.lower() in self._names:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._names[name.lower()] = name
        self._entries[name] = entry
        return entry

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._entries)

    def find(self, name: str) -> T | None:
        """The entry for a name (any case), or None."""
        canonical = self._names.get(name.lower())
        return None if canonical is None else self._entries[canonical]

    def get(self, name: str) -> T:
        """The entry for a name (any case); a PlaygroundError with a suggestion when unknown."""
        entry = self.find(name)
        if entry is None:
            raise PlaygroundError(
                f"unknown {self.kind} {name!r}.{did_you_mean(name, self.names())} "
                f"Choose one of: {', '.join(self.names())}."
            )
        return entry

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs in registration order."""
        return list(self._entries.items())
