"""MNIST-format digit data on disk: find the four IDX files in a folder, check them, split, download once.

A folder holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
`t10k-labels-idx1-ubyte`, each raw or gzipped (`.gz`); the `t10k-images.idx3-ubyte` spelling works too.
Without `--data` the files are downloaded once into a cache. NumPy only, no torch.

Files are untrusted: each header is checked against `IMAGES` / `LABELS` (uint8; at most 1,000,000 images of at
most 256 x 256 pixels, no dimension zero) and the image and label counts are compared, all before any body is
read or decompressed, so a crafted file costs at most the memory of a real file of the size it declares.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import PlaygroundError
from vision.idx import Layout, read_header, read_idx

PARTS = {
    "train images": ("train-images", "idx3-ubyte"),
    "train labels": ("train-labels", "idx1-ubyte"),
    "test images": ("t10k-images", "idx3-ubyte"),
    "test labels": ("t10k-labels", "idx1-ubyte"),
}
"""Each file of the set: (stem, format suffix), joined by '-' (the standard) or '.'."""

CACHE_ENV = "AGENT_PLAYGROUND_CACHE"
MIRROR_ENV = "AGENT_PLAYGROUND_MNIST_MIRROR"
MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
CLASSES = 10
MAX_COUNT = 1_000_000
"""The most images (and labels) one file may declare: MNIST has 60,000, EMNIST's largest set 697,932."""
MAX_SIDE = 256
"""The largest image side a file may declare (MNIST-format sets are 28x28)."""
IMAGES = Layout("images", (("images", MAX_COUNT), ("rows", MAX_SIDE), ("columns", MAX_SIDE)), np.dtype(np.uint8))
LABELS = Layout("labels", (("labels", MAX_COUNT),), np.dtype(np.uint8))


@dataclass
class Digits:
    """Images `(N, H, W)` uint8 and labels `(N,)` int64 for training and testing.

    Args:
        train_images: Training images.
        train_labels: Their labels, 0-9.
        test_images: Test images.
        test_labels: Their labels, 0-9.
        split: How the two parts were made, in words (printed with the result).
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    split: str


def standard_name(part: str) -> str:
    """The standard gzipped file name of a part, e.g. 'train-images-idx3-ubyte.gz'."""
    stem, suffix = PARTS[part]
    return f"{stem}-{suffix}.gz"


def find_file(folder: Path, part: str) -> Path | None:
    """The file of one part in `folder` under any accepted spelling, or None."""
    stem, suffix = PARTS[part]
    for separator in ("-", "."):
        for ending in (".gz", ""):
            candidate = folder / f"{stem}{separator}{suffix}{ending}"
            if candidate.is_file():
                return candidate
    return None


def read_pair(folder: Path, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Read and cross-check the images and labels of `kind` ('train' or 'test') from `folder`.

    Raises:
        PlaygroundError: When a file is missing or damaged, the counts differ, or a label is not 0-9.
    """
    paths = {}
    for what in ("images", "labels"):
        found = find_file(folder, f"{kind} {what}")
        if found is None:
            raise PlaygroundError(
                f"{folder} has no {kind} {what} file ({standard_name(f'{kind} {what}')} "
                "or its raw, uncompressed form). Put the four MNIST IDX files there."
            )
        paths[what] = found
    # Both headers first: a mismatched pair is refused before either body is decompressed.
    _check_pair(paths, read_header(paths["images"], layout=IMAGES).shape[0],
                read_header(paths["labels"], layout=LABELS).shape[0])  # fmt: skip
    images = read_idx(paths["images"], layout=IMAGES)
    labels = read_idx(paths["labels"], layout=LABELS)
    _check_pair(paths, len(images), len(labels))  # again: the files may have changed in between
    if len(labels) and labels.max() >= CLASSES:
        position = int(np.argmax(labels >= CLASSES))
        raise PlaygroundError(
            f"{paths['labels']} holds label {labels[position]} at position {position:,}; digit "
            f"labels are 0-{CLASSES - 1}. Is it a digit label file?"
        )
    return images, labels.astype(np.int64)


def _check_pair(paths: dict[str, Path], images: int, labels: int) -> None:
    """Refuse an image file and a label file whose counts differ."""
    if images != labels:
        raise PlaygroundError(
            f"{paths['labels']} has {labels:,} labels but {paths['images']} has "
            f"{images:,} images: they are not a pair. Use matching files."
        )


def load_digits(folder: str | os.PathLike[str], holdout: int | None = None) -> Digits:
    """Load a folder of MNIST-format files.

    Args:
        folder: The folder with the four files (or only the two t10k files, with `holdout`).
        holdout: When given, use only the t10k files: train on all but their last `holdout` images and
            test on those (for a folder that holds the test set alone). None: the standard train/test split.

    Returns:
        The data.

    Raises:
        PlaygroundError: When the folder or a file is missing or damaged.
    """
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise PlaygroundError(
            f"--data {folder}: {'that is a file, not a folder' if path.exists() else 'there is no such folder'}. "
            "Give the folder that holds the MNIST IDX files, or leave --data out to download them."
        )
    if holdout is None:
        if find_file(path, "train images") is None and find_file(path, "test images") is not None:
            raise PlaygroundError(
                f"{path} holds the t10k test files only, no train files. Add "
                f"{standard_name('train images')} and {standard_name('train labels')}, "
                "or pass --holdout N to train and test on parts of the t10k set."
            )
        train_images, train_labels = read_pair(path, "train")
        test_images, test_labels = read_pair(path, "test")
        return Digits(train_images, train_labels, test_images, test_labels, "the standard train/test split")
    images, labels = read_pair(path, "test")
    if not 0 < holdout < len(images):
        raise PlaygroundError(
            f"--holdout {holdout}: the t10k set has {len(images):,} images; hold out between 1 "
            f"and {len(images) - 1:,} of them."
        )
    cut = len(images) - holdout
    split = (
        f"holdout: trained on t10k images 0-{cut - 1} ({cut:,}), tested on t10k images {cut}-{len(images) - 1} "
        f"({holdout:,}); not the standard MNIST test"
    )
    return Digits(images[:cut], labels[:cut], images[cut:], labels[cut:], split)


def limit(digits: Digits, train: int | None, test: int | None) -> Digits:
    """The first `train` training and `test` test images (None keeps all); the split says so."""
    split = digits.split
    if train is not None and train < len(digits.train_images):
        split += f"; trained on the first {train:,} of them"
    if test is not None and test < len(digits.test_images):
        split += f"; tested on the first {test:,} of them"
    images, labels = digits.train_images[:train], digits.train_labels[:train]
    return Digits(images, labels, digits.test_images[:test], digits.test_labels[:test], split)


def cache_dir() -> Path:
    """Where downloaded MNIST lives: $AGENT_PLAYGROUND_CACHE/mnist, else ~/.cache/agent-playground/mnist."""
    root = os.environ.get(CACHE_ENV)
    return (Path(root) if root else Path.home() / ".cache" / "agent-playground") / "mnist"


def ensure_downloaded(folder: Path | None = None, mirror: str | None = None, timeout_s: float = 60.0) -> Path:
    """Download the four files into the cache, each once, and return the cache folder.

    Args:
        folder: The cache folder (default: `cache_dir()`).
        mirror: The base URL (default: $AGENT_PLAYGROUND_MNIST_MIRROR, else the PyTorch mirror).
        timeout_s: Network timeout per file.
    """
    folder = folder or cache_dir()
    base = mirror or os.environ.get(MIRROR_ENV) or MIRROR
    for part in PARTS:
        if find_file(folder, part) is None:
            _download(base.rstrip("/") + "/" + standard_name(part), folder / standard_name(part), timeout_s)
    return folder


def _download(url: str, target: Path, timeout_s: float) -> None:
    """Fetch one file to `target` through a temporary file, so a broken download leaves nothing behind."""
    import shutil
    import urllib.request

    from core.files import atomic_path

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PlaygroundError(f"cannot create the MNIST cache {target.parent} ({error.strerror or error}). Set "
                              f"{CACHE_ENV} to a writable folder or pass --data FOLDER.") from None  # fmt: skip
    try:
        with atomic_path(target) as temporary:
            with urllib.request.urlopen(url, timeout=timeout_s) as response, open(temporary, "wb") as out:
                shutil.copyfileobj(response, out)
    except (OSError, ValueError) as error:  # URLError and timeouts are OSErrors
        reason = getattr(error, "reason", None) or error
        raise PlaygroundError(
            f"cannot download {url} ({reason}) into {target.parent}. Download the four MNIST "
            "files yourself and pass --data FOLDER, or set "
            f"{MIRROR_ENV} to another mirror."
        ) from None
