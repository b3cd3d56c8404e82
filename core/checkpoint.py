"""Safe checkpoint I/O: state dicts written atomically with torch.save, read back with weights_only=True.

Nothing here unpickles arbitrary objects: configuration and metadata belong in JSON beside the weights.
"""

from __future__ import annotations

import os
import warnings
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


def load_state(path: str | os.PathLike[str], what: str = "checkpoint", map_location: Any = "cpu") -> dict[str, Any]:
    """Read a state dict written by `save_state`, refusing anything but plain data.

    Args:
        path: The file to read.
        what: What the file is, for the error message.
        map_location: Where to put the tensors.

    Returns:
        The state dict.

    Raises:
        PlaygroundError: When the file is missing, truncated, corrupt or holds objects.
    """
    import torch

    file = Path(path)
    if not file.is_file():
        raise PlaygroundError(f"{what} {file} does not exist.")
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
