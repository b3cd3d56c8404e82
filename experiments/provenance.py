"""Whether an experiment folder is the user's own, before resuming it unpickles Ray Tune's state.

Resuming (`--resume`) hands the folder to `ray.tune.Tuner.restore`, which unpickles its tuner.pkl, the
trial states in experiment_state-*.json and the searcher's state; unpickling runs any code the file names.
A folder someone sent must therefore not be resumed silently. When this playground starts an experiment it
draws a random token, writes it into the folder's experiment.json and into a per-user registry outside the
folder (`$AGENT_PLAYGROUND_CACHE/experiment-tokens`, else `~/.cache/agent-playground/experiment-tokens`),
keyed by the folder's resolved path. A folder is the user's own when the two agree; anyone who sends a folder
cannot know the token this machine holds for the path it lands at. Other folders resume only with
`--trust-pickle`.

The registry holds one small file per experiment (named by a hash of the folder's path) rather than one
shared file: two sweeps started at once in two terminals cannot overwrite each other's entry, and no lock is
needed.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sys
from pathlib import Path
from typing import TypeGuard

from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.schema import Fields

# The same rule as textgen/corpus.py and vision/mnist.py (experiments may not import them).
CACHE_ENV = "AGENT_PLAYGROUND_CACHE"
REGISTRY_DIR = "experiment-tokens"
PICKLED_STATE = "tuner.pkl"  # what Tuner.restore unpickles first
TOKEN_BYTES = 32
TOKEN_PATTERN = re.compile(r"[0-9a-f]{64}")
MAX_ENTRY_BYTES = 64 * 1024
MAX_PATH_CHARACTERS = 4096


def cache_dir() -> Path:
    """The playground's per-user cache: $AGENT_PLAYGROUND_CACHE, else ~/.cache/agent-playground."""
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else Path.home() / ".cache" / "agent-playground"


def registry_dir() -> Path:
    """The folder of the registry's entries, one file per experiment."""
    return cache_dir() / REGISTRY_DIR


def new_token() -> str:
    """A fresh random token (64 hex digits) for a new experiment folder."""
    return secrets.token_hex(TOKEN_BYTES)


def is_token(value: object) -> TypeGuard[str]:
    """Whether `value` has the shape of a token new_token draws."""
    return isinstance(value, str) and TOKEN_PATTERN.fullmatch(value) is not None


def _entry_path(folder: Path) -> Path:
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return registry_dir() / f"{digest}.json"


def register(folder: Path, token: str) -> None:
    """Remember `token` as the token of `folder`, so that its own user may resume it without --trust-pickle.

    An unwritable cache only costs that convenience: a warning, and the experiment runs.
    """
    entry = _entry_path(folder)
    try:
        # Only this user may read the tokens or add entries.
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_json(entry, {"path": str(folder.resolve()), "token": token})
    except OSError as error:
        print(f"warning: cannot record the token of {folder} in {entry.parent} ({error.strerror or error}); "
              f"resuming it will need --trust-pickle. Set {CACHE_ENV} to a writable folder.", file=sys.stderr)


def is_own(folder: Path, token: str | None) -> bool:
    """Whether the registry holds `token` for `folder`: this user's playground started the experiment there.

    A missing, unreadable or malformed entry means no: the folder is then treated as one from elsewhere.
    """
    if not is_token(token):
        return False
    entry = _entry_path(folder)
    if not entry.is_file():
        return False
    try:
        fields = Fields(read_json(entry, what="the experiment token file", max_bytes=MAX_ENTRY_BYTES), str(entry))
        path = fields.text("path", max_length=MAX_PATH_CHARACTERS)
        saved = fields.text("token", max_length=2 * TOKEN_BYTES)
    except PlaygroundError:
        return False
    # compare_digest: the time taken says nothing about how much of the token matched.
    return is_token(saved) and path == str(folder.resolve()) and secrets.compare_digest(saved, token)


def check_resumable(folder: Path, token: str | None, trust_pickle: bool) -> None:
    """Allow resuming `folder` only when it is the user's own, or the user trusts it with --trust-pickle.

    Args:
        folder: The experiment folder.
        token: The token its experiment.json holds (None when it holds none).
        trust_pickle: The user passed --trust-pickle.

    Raises:
        PlaygroundError: The folder holds nothing to resume, or it is not the user's own and not trusted.
    """
    pickled = folder / PICKLED_STATE
    if not pickled.is_file():
        raise PlaygroundError(f"--resume {folder}: there is no {PICKLED_STATE} in it, so Ray Tune has nothing to "
                              "resume. Start the experiment anew without --resume.")
    if is_own(folder, token):
        return
    if not trust_pickle:
        raise PlaygroundError(
            f"--resume {folder}: resuming would unpickle {pickled}, and unpickling can run any code the file holds; "
            f"this folder was not started by your playground (its token is not in {registry_dir()}). "
            "Pass --trust-pickle only if you trust where the folder came from.")
    print(f"warning: unpickling {pickled} and the trial state beside it (--trust-pickle): they can run code.",
          file=sys.stderr)
