"""Safe file writing: atomic replacement, JSON helpers, writability checks."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import PlaygroundError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is flushed and renamed over `path`.

    A reader never sees a half-written file: either the old one or the complete new one. The file gets the
    permissions a plain `open` would give it (the umask's), so that others who may read the folder can read it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(handle, 0o666 & ~_umask())  # mkstemp makes 0600; the file gets the mode `open` would give it
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        with open(temporary_path, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary_path, target)
    finally:
        temporary_path.unlink(missing_ok=True)


def _umask() -> int:
    """The process's umask (reading it means setting it: set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


MAX_JSON_BYTES = 16 * 1024 * 1024


def read_json(path: str | os.PathLike[str], what: str = "file", max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read a JSON file of at most `max_bytes`; a PlaygroundError naming the file when it is missing, too
    large, nested too deeply or broken. Files a user received are read through here, so none of them can
    take more memory than its capped size or end in a RecursionError."""
    file = Path(path)
    try:
        with open(file, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise PlaygroundError(f"{what} {path} does not exist.") from None
    except OSError as error:
        raise PlaygroundError(f"{what} {path} cannot be read ({error.strerror or error}).") from None
    if len(raw) > max_bytes:
        raise PlaygroundError(f"{what} {path} is larger than {max_bytes // 2**20} MiB; it is not one this program "
                              "wrote. Restore it, or retrain.")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:  # ValueError: broken JSON, or an integer of 4,300+ digits
        raise PlaygroundError(f"{what} {path} cannot be read ({str(error)[:120]}).") from None
    except RecursionError:
        raise PlaygroundError(f"{what} {path} is nested too deeply to be a file this program wrote. "
                              "Restore it, or retrain.") from None


def claim_new_file(path: str | os.PathLike[str]) -> Path:
    """Create `path` as a new, empty file, or fail if anything is there: a writer that claims its file this
    way never replaces one, not even one that another process created a moment ago.

    Raises:
        PlaygroundError: When the path exists.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        raise PlaygroundError(f"{target} exists, and nothing here replaces a file. Choose a new name or delete "
                              "it first.") from None
    return target


def new_file(path: str | os.PathLike[str]) -> Path:
    """Claim `path`, or `stem-1.suffix`, `stem-2.suffix`, ... when it is taken: a fresh file that is ours alone."""
    target = Path(path)
    for attempt in range(10_000):
        candidate = target if attempt == 0 else target.with_name(f"{target.stem}-{attempt}{target.suffix}")
        try:
            return claim_new_file(candidate)
        except PlaygroundError:
            continue
    raise PlaygroundError(f"no free file name beside {target}; clean up {target.parent}.")


MIN_FREE_BYTES = 50 * 1024 * 1024


def ensure_writable_dir(path: str | os.PathLike[str], what: str = "runs folder") -> Path:
    """Create `path` if needed and prove it is writable with room to spare now, before any long work starts."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        raise PlaygroundError(
            f"the {what} {folder} is not writable ({error.strerror or error}). "
            "Choose another with --runs-dir or fix its permissions."
        ) from None
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise PlaygroundError(
            f"the {what} {folder} has only {free / 2**20:.0f} MB free; checkpoints and models need room. "
            "Free some space or choose another folder with --runs-dir."
        )
    return folder
