"""Checked reading of records from files a user may have received from someone else.

A `config.json`, `model.json` or `normalization.json` is untrusted until each field has been checked:
its type, its range, and (by the caller) its sizes against the tensors it describes. `Fields` reads one
JSON object field by field and turns every wrong value into one `PlaygroundError` that names the file and
the field, so a damaged or crafted file never reaches a constructor, an allocation or an import.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Collection
from typing import Any

from core.errors import PlaygroundError

_MISSING: Any = object()
FIX = "The file is damaged or was not written by this version: restore it, or retrain."


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlong, _SHORT.maxstring, _SHORT.maxother = 3, 40, 40, 40


def _shown(value: Any) -> str:
    """The value for a message, short and on one line, whatever a crafted file holds (huge ints, deep lists)."""
    try:
        text = _SHORT.repr(value)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    text = " ".join(text.split())
    return text if len(text) <= 60 else f"{text[:57]}..."


def is_finite_number(value: Any) -> bool:
    """An int or float a float can hold (a JSON integer of 309+ digits cannot), not a boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) < 1e308 if isinstance(value, int) else math.isfinite(value)


class Fields:
    """Typed, range-checked access to the fields of one JSON object read from a file.

    Args:
        data: What `json.loads` returned for the file.
        where: The file, for error messages (`runs/.../config.json`).

    Raises:
        PlaygroundError: When `data` is not a JSON object.
    """

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise PlaygroundError(f"{where} must hold a JSON object, not {type(data).__name__}. {FIX}")
        self.data = data
        self.where = where

    def fail(self, key: str, expected: str, value: Any = _MISSING) -> PlaygroundError:
        """The error for a field that is not what it must be."""
        found = "is missing" if value is _MISSING else f"is {_shown(value)}"
        return PlaygroundError(f"{self.where}: {key!r} {found}; it must be {expected}. {FIX}")

    def _present(self, key: str, default: Any, expected: str) -> bool:
        """Whether the field is there; a missing field without a default is an error."""
        if key in self.data:
            return True
        if default is _MISSING:
            raise self.fail(key, expected)
        return False

    def integer(self, key: str, low: int, high: int, default: Any = _MISSING) -> int:
        """An integer within [low, high] (booleans refused)."""
        expected = f"an integer from {low:,} to {high:,}"
        if not self._present(key, default, expected):
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, expected, value)
        return value

    def number(self, key: str, low: float, high: float, default: Any = _MISSING) -> float:
        """A finite number within [low, high]."""
        expected = f"a number from {low:g} to {high:g}"
        if not self._present(key, default, expected):
            return default
        value = self.data[key]
        if not is_finite_number(value) or not low <= value <= high:
            raise self.fail(key, expected, value)
        return float(value)

    def text(self, key: str, max_length: int = 200, default: Any = _MISSING,
             choices: Collection[str] | None = None) -> str:
        """A string of at most `max_length` characters, one of `choices` when given."""
        expected = f"one of {', '.join(sorted(choices))}" if choices else f"a string of at most {max_length} characters"
        if not self._present(key, default, expected):
            return default
        value = self.data[key]
        if not isinstance(value, str) or len(value) > max_length or (choices is not None and value not in choices):
            raise self.fail(key, expected, value)
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        """true or false."""
        if not self._present(key, default, "true or false"):
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def mapping(self, key: str, default: Any = _MISSING) -> dict[str, Any]:
        """A JSON object (its own fields are the caller's to check)."""
        if not self._present(key, default, "a JSON object"):
            return default
        value = self.data[key]
        if not isinstance(value, dict):
            raise self.fail(key, "a JSON object", value)
        return value

    def numbers(self, key: str, length: int | None = None, max_length: int = 1_000_000) -> list[float]:
        """A flat list of finite numbers, of exactly `length` entries when given."""
        expected = f"a list of {length if length is not None else f'at most {max_length:,}'} finite numbers"
        self._present(key, _MISSING, expected)
        value = self.data[key]
        if not isinstance(value, list) or len(value) > max_length or (length is not None and len(value) != length):
            raise self.fail(key, expected, value)
        if not all(is_finite_number(item) for item in value):
            raise self.fail(key, expected, value)
        return [float(item) for item in value]
