"""Reading training text: a UTF-8 file, or the Tiny Shakespeare corpus from a cache or the network."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import PlaygroundError

SHAKESPEARE = "shakespeare"
SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_FILE = "tinyshakespeare.txt"
CACHE_ENV = "AGENT_PLAYGROUND_CACHE"
VALIDATION_FRACTION = 0.1


def cache_dir() -> Path:
    """The download cache: $AGENT_PLAYGROUND_CACHE, else ~/.cache/agent-playground."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path.home() / ".cache" / "agent-playground"


def resolve_corpus(corpus: str, timeout_s: float = 30.0) -> Path:
    """Turn a `--corpus` value into a file path, downloading Tiny Shakespeare once if needed.

    Args:
        corpus: "shakespeare" or a path to a UTF-8 text file.
        timeout_s: Network timeout for the one-time download.

    Returns:
        The path of the corpus file.
    """
    if corpus.lower() != SHAKESPEARE:
        return Path(corpus)
    cached = cache_dir() / SHAKESPEARE_FILE
    if cached.is_file():
        return cached
    _download(SHAKESPEARE_URL, cached, timeout_s)
    return cached


def _download(url: str, target: Path, timeout_s: float) -> None:
    import urllib.request

    from core.files import atomic_path

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            data = response.read()
        data.decode("utf-8")
    except (OSError, ValueError) as error:
        raise PlaygroundError(
            f"cannot download Tiny Shakespeare ({getattr(error, 'reason', error)}) and it is not cached at "
            f"{target}. Pass --corpus path/to/tinyshakespeare.txt instead."
        ) from None
    try:
        with atomic_path(target) as temporary:
            temporary.write_bytes(data)
    except OSError as error:
        raise PlaygroundError(f"cannot write the corpus cache {target} ({error}). Set {CACHE_ENV}.") from None


def read_corpus(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 text corpus.

    Raises:
        PlaygroundError: When the file is missing, empty, binary or not UTF-8.
    """
    file = Path(path)
    if not file.is_file():
        raise PlaygroundError(f"corpus {file} does not exist. Pass --corpus shakespeare or a path to a .txt file.")
    try:
        data = file.read_bytes()
    except OSError as error:
        raise PlaygroundError(f"cannot read corpus {file} ({error.strerror or error}).") from None
    if not data:
        raise PlaygroundError(f"corpus {file} is empty. Give a UTF-8 text file with some text in it.")
    if b"\x00" in data:
        raise PlaygroundError(f"corpus {file} looks binary (it holds NUL bytes), not text. Give a UTF-8 text file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PlaygroundError(
            f"corpus {file} is not UTF-8 text (bad byte at offset {error.start}). Give a UTF-8 text file."
        ) from None
    return text.removeprefix("\ufeff")


def split_corpus(text: str, seq_len: int) -> tuple[str, str]:
    """Hold out the last 10% of the text for validation.

    Args:
        text: The whole corpus.
        seq_len: The training sequence length: the training part must hold one sequence and its targets.

    Returns:
        (training text, validation text).

    Raises:
        PlaygroundError: When the corpus is too short for one training sequence.
    """
    split = len(text) - max(2, int(len(text) * VALIDATION_FRACTION))
    needed = seq_len + 1
    if split < needed:
        minimum = needed + max(2, int(needed / (1 - VALIDATION_FRACTION) * VALIDATION_FRACTION) + 1)
        raise PlaygroundError(
            f"the corpus has {len(text)} characters, too short for one training sequence of {seq_len} "
            f"plus the 10% held out (about {minimum} needed). Use a longer text or a smaller --seq-len."
        )
    return text[:split], text[split:]
