"""The character vocabulary: one tokenizer shared by training and sampling, stored as JSON."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence

from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.schema import Fields
from textgen.limits import MAX_VOCAB, MAX_VOCAB_FILE_BYTES

VOCAB_FORMAT = 1


class Vocabulary:
    """A bijection between the characters of a corpus and the integers 0..size-1.

    Args:
        chars: The distinct characters, in id order.
    """

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = list(chars)
        if not self.chars or any(len(c) != 1 for c in self.chars) or len(set(self.chars)) != len(self.chars):
            raise ValueError("a vocabulary needs distinct single characters")
        self._ids = {char: index for index, char in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """The vocabulary of a text: its distinct characters in code-point order.

        Raises:
            PlaygroundError: When the text has more distinct characters than a model may have (MAX_VOCAB).
        """
        chars = sorted(set(text))
        if len(chars) > MAX_VOCAB:
            raise PlaygroundError(
                f"the corpus has {len(chars):,} distinct characters; a model takes at most {MAX_VOCAB:,}. "
                "Use a text with fewer distinct characters."
            )
        return cls(chars)

    @property
    def size(self) -> int:
        """The number of characters."""
        return len(self.chars)

    @property
    def sha256(self) -> str:
        """A fingerprint of the characters and their order; weights are only valid for this one."""
        return hashlib.sha256(json.dumps(self.chars, ensure_ascii=True).encode("ascii")).hexdigest()

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of `text` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(char for char in text if char not in self._ids))

    def encode(self, text: str) -> list[int]:
        """Turn text into ids.

        Raises:
            PlaygroundError: When the text holds characters outside the vocabulary (it names them).
        """
        missing = self.unknown(text)
        if missing:
            shown = ", ".join(repr(char) for char in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise PlaygroundError(
                f"the text holds {len(missing)} character(s) the model never saw in training: {shown}{more}. "
                "Use only characters of the training corpus."
            )
        return [self._ids[char] for char in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Turn ids back into text."""
        return "".join(self.chars[int(index)] for index in ids)

    def __contains__(self, char: object) -> bool:
        return char in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other.chars == self.chars

    def __repr__(self) -> str:
        return f"Vocabulary(size={self.size})"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary as JSON (atomically), with its size and fingerprint."""
        write_json(path, {"format": VOCAB_FORMAT, "size": self.size, "sha256": self.sha256, "chars": self.chars})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocabulary:
        """Read a vocabulary written by `save`, checking every field, its size and its fingerprint.

        Raises:
            PlaygroundError: When the file is missing, broken, or its contents disagree with its fingerprint.
        """
        fields = Fields(read_json(path, "vocabulary file", MAX_VOCAB_FILE_BYTES), f"vocabulary file {path}")
        fields.integer("format", VOCAB_FORMAT, VOCAB_FORMAT)
        size = fields.integer("size", 1, MAX_VOCAB)
        digest = fields.text("sha256", max_length=64)
        expected = f"a list of 1 to {MAX_VOCAB:,} distinct single characters"
        if "chars" not in fields.data:
            raise fields.fail("chars", expected)
        chars = fields.data["chars"]
        if not _distinct_characters(chars):
            raise fields.fail("chars", expected, chars)
        vocab = cls(chars)
        if size != vocab.size or digest != vocab.sha256:
            raise PlaygroundError(
                f"vocabulary file {path} is corrupt: its characters do not match its recorded size/fingerprint."
            )
        return vocab


def _distinct_characters(chars: object) -> bool:
    """Whether `chars` is a list of distinct one-character strings that UTF-8 text can hold.

    Lone surrogates (JSON "\\ud800") are refused: no UTF-8 corpus has them, and printing one fails.
    """
    if not isinstance(chars, list) or not 1 <= len(chars) <= MAX_VOCAB:
        return False
    if not all(isinstance(char, str) and len(char) == 1 and not 0xD800 <= ord(char) <= 0xDFFF for char in chars):
        return False
    return len(set(chars)) == len(chars)
