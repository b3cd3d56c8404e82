"""Safe checkpoint I/O: state dicts written atomically with torch.save, read back with weights_only=True.

Nothing here unpickles arbitrary objects: configuration and metadata belong in JSON beside the weights.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

from core.errors import PlaygroundError
from core.files import atomic_path


def save_state(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write a state dict (tensors, numbers, strings, nested dicts and lists) atomically.

    Args:
        path: The target file, usually ending in `.pt`.
        state: A module's or optimizer's `state_dict()`, or a dict of them.
    """
    import torch

    with atomic_path(path) as temporary:
        try:
            torch.save(state, temporary)
        except RuntimeError as error:  # torch's writer reports a failed write (a full disk) as a RuntimeError
            raise OSError(f"could not write {path}; is the disk full? ({str(error).splitlines()[0][:80]})") from None


MAX_PICKLE_BYTES = 16 * 2**20  # the structure of a state dict; its tensors lie in records of their own


def _check_archive(file: Path, what: str, max_pickle_bytes: int) -> None:
    """Refuse a file whose records torch.load would inflate beyond the file's own size, before it reads any.

    torch.save writes a zip of uncompressed (stored) records; torch.load also inflates compressed ones and
    unpickles a pickle of any size (each byte can become ~40 bytes of Python objects), so a small crafted file
    could otherwise take gigabytes before anything in it can be checked. Files of torch's pre-1.6 format (no
    zip) are refused too: nothing here writes them.
    """
    refusal = PlaygroundError(f"{file} is not a readable {what}: it is corrupt or not a checkpoint (not a torch zip "
                              "archive, or its records are compressed, larger than the file, or hold an oversized "
                              "pickle); it may be truncated or from another program.")
    try:
        with zipfile.ZipFile(file) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise refusal from None
    unpacked = sum(record.file_size for record in records)
    pickled = sum(record.file_size for record in records if record.filename.endswith(".pkl"))
    compressed = any(record.compress_type != zipfile.ZIP_STORED for record in records)
    if compressed or unpacked > file.stat().st_size or pickled > max_pickle_bytes:
        raise refusal


def load_state(path: str | os.PathLike[str], what: str = "checkpoint", map_location: Any = "cpu",
               max_pickle_bytes: int = MAX_PICKLE_BYTES) -> dict[str, Any]:
    """Read a state dict written by `save_state`, refusing anything but plain data.

    Args:
        path: The file to read.
        what: What the file is, for the error message.
        map_location: Where to put the tensors.
        max_pickle_bytes: The most the file's pickle (its structure, not its tensors) may hold.

    Returns:
        The state dict.

    Raises:
        PlaygroundError: When the file is missing, truncated, corrupt, inflates beyond its size or holds objects.
    """
    import torch

    file = Path(path)
    if not file.is_file():
        raise PlaygroundError(f"{what} {file} does not exist.")
    _check_archive(file, what, max_pickle_bytes)
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols; the refusal below says enough
            warnings.simplefilter("ignore")
            state = torch.load(file, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises many kinds for damaged files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PlaygroundError(f"{file} is not a readable {what}: it is corrupt or not a checkpoint ({reason[:160]}); "
                              "it may be truncated or from another program.") from None
    if not isinstance(state, dict):
        raise PlaygroundError(f"{what} {file} is not a state dict (it holds a {type(state).__name__}).")
    return state
