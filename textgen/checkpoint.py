"""A text generator's files in its run folder: weights, optimizer, config, vocabulary, trainer state.

runs/textgen/<run>/
    model.json      the CharLSTMConfig (JSON)
    vocab.json      the Vocabulary (JSON, with size and fingerprint)
    best.pt         weights with the lowest validation loss (a state dict)
    latest.pt       the latest weights, optimizer state and trainer state, for --resume
    events.out...   TensorBoard
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from core.checkpoint import load_state, save_state
from core.errors import PlaygroundError
from core.files import read_json, write_json
from core.schema import Fields
from textgen import limits
from textgen.model import CharLSTM, CharLSTMConfig
from textgen.vocab import Vocabulary

CONFIG_FILE = "model.json"
VOCAB_FILE = "vocab.json"
BEST_FILE = "best.pt"
LATEST_FILE = "latest.pt"


def save_model_files(run_dir: Path, config: CharLSTMConfig, vocab: Vocabulary) -> None:
    """Write the config and the vocabulary; done once, when a run starts."""
    write_json(run_dir / CONFIG_FILE, {**config.to_dict(), "vocab_sha256": vocab.sha256})
    vocab.save(run_dir / VOCAB_FILE)


def save_best(run_dir: Path, model: CharLSTM, step: int, val_loss: float) -> None:
    """Write the best weights (atomically)."""
    save_state(run_dir / BEST_FILE, {"model": model.state_dict(), "step": step, "val_loss": val_loss})


def save_latest(run_dir: Path, model: CharLSTM, optimizer: torch.optim.Optimizer, trainer: dict[str, Any]) -> None:
    """Write everything needed to resume (atomically): weights, optimizer and trainer state."""
    save_state(
        run_dir / LATEST_FILE,
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "trainer": trainer},
    )


def load_model(
    run_dir: Path, which: str = "best", device: torch.device | str = "cpu"
) -> tuple[CharLSTM, Vocabulary, dict[str, Any]]:
    """Rebuild a trained model from its run folder, which may have come from someone else.

    Every field of vocab.json and model.json is checked first; then the checkpoint's size against what the
    config needs, its tensors' names, types and shapes against the config, and only then is the model built.
    So no file in the folder can make this allocate more than the weights file itself holds.

    Args:
        run_dir: The run folder.
        which: "best" or "latest".
        device: Where to put the model.

    Returns:
        The model (in eval mode), its vocabulary, and the whole checkpoint dict (for resuming: its trainer and
        optimizer entries are still unchecked; see textgen.resume).

    Raises:
        PlaygroundError: When a file is missing, corrupt or out of range, or the files do not fit each other.
    """
    run_dir = Path(run_dir)
    vocab = Vocabulary.load(run_dir / VOCAB_FILE)
    config_file = run_dir / CONFIG_FILE
    raw_config = read_json(config_file, "model config", limits.MAX_CONFIG_FILE_BYTES)
    config = CharLSTMConfig.from_dict(raw_config, f"model config {config_file}")
    recorded = Fields(raw_config, f"model config {config_file}").text("vocab_sha256", max_length=64)
    if config.vocab_size != vocab.size or recorded != vocab.sha256:
        raise PlaygroundError(
            f"the vocabulary file {run_dir / VOCAB_FILE} ({vocab.size} characters, sha256 {vocab.sha256[:12]}...) "
            f"does not match {config_file} ({config.vocab_size} characters, sha256 {recorded[:12]!r}...); the run "
            "folder is mixed up. Retrain or restore it."
        )
    shapes = config.parameter_shapes()
    path = run_dir / (BEST_FILE if which == "best" else LATEST_FILE)
    check_archive(path, checkpoint_budget(shapes))
    checkpoint = load_state(path, map_location=device, max_pickle_bytes=limits.MAX_PICKLE_BYTES)
    fields = Fields(checkpoint, f"checkpoint {path}")
    fields.integer("step", 0, limits.MAX_STEPS, default=0)  # best.pt only: the step and loss it was saved at
    fields.number("val_loss", 0.0, limits.MAX_LOSS, default=0.0)
    weights = fields.mapping("model")
    check_weights(weights, shapes, f"checkpoint {path}")
    model = CharLSTM(config)
    model.load_state_dict(weights)  # cannot fail: every name and shape was checked
    return model.to(device).eval(), vocab, checkpoint


def checkpoint_budget(shapes: dict[str, tuple[int, ...]]) -> int:
    """The most bytes a checkpoint of a model with these tensors may hold.

    latest.pt holds the weights and Adam's two moments (three float32 copies); the rest (the recipe, the
    step counters, the pickle and zip headers) fits in a mebibyte.
    """
    return 3 * 4 * sum(math.prod(shape) for shape in shapes.values()) + 2**20


def check_archive(path: Path, max_bytes: int) -> None:
    """Refuse a checkpoint larger than the model in model.json needs, before torch reads any of it.

    (core.checkpoint.load_state then refuses compressed or oversized records and an oversized pickle.)

    Raises:
        PlaygroundError: When the file is missing or larger than `max_bytes`.
    """
    if not path.is_file():
        raise PlaygroundError(f"checkpoint {path} does not exist.")
    size = path.stat().st_size
    if size > max_bytes:
        raise PlaygroundError(
            f"checkpoint {path} holds {size:,} bytes, more than the {max_bytes:,} that the model in {CONFIG_FILE} "
            "needs; the run folder is mixed up or crafted. Restore it, or retrain."
        )


def check_weights(weights: dict[str, Any], shapes: dict[str, tuple[int, ...]], where: str) -> None:
    """Check a state dict against the names and shapes a config needs, before a model is built.

    Args:
        weights: The state dict read from the file.
        shapes: `CharLSTMConfig.parameter_shapes()`.
        where: The file, for error messages.

    Raises:
        PlaygroundError: When a tensor is missing, extra, not float32, of another shape, not backed by its
            own bytes in the file (a stride-0 view of one number would pass a shape check), or not finite.
    """
    if set(weights) != set(shapes):
        missing = sorted(set(shapes) - set(weights))[:3]
        extra = sorted(name[:40] for name in set(weights) - set(shapes) if isinstance(name, str))[:3]
        raise PlaygroundError(
            f"{where} does not fit {CONFIG_FILE}: missing {missing}, unexpected {extra}. "
            "The run folder is mixed up; restore it, or retrain."
        )
    for name, shape in shapes.items():
        tensor = weights[name]
        if not isinstance(tensor, torch.Tensor):
            raise PlaygroundError(f"{where}: {name} is a {type(tensor).__name__}, not a tensor; it is corrupt.")
        if tensor.layout != torch.strided or tensor.dtype != torch.float32 or tuple(tensor.shape) != shape:
            sparse = "" if tensor.layout == torch.strided else f" ({tensor.layout})"
            raise PlaygroundError(
                f"{where}: {name} is {tensor.dtype} {tuple(tensor.shape)}{sparse}, but {CONFIG_FILE} needs a dense "
                f"torch.float32 {shape}. The run folder is mixed up; restore it, or retrain."
            )
    check_backed(list(weights.values()), where)
    if not all(bool(torch.isfinite(tensor).all()) for tensor in weights.values()):
        raise PlaygroundError(f"{where} holds NaN or infinite weights; the run diverged or the file is damaged.")


def check_backed(tensors: list[torch.Tensor], where: str) -> None:
    """Refuse tensors that claim more elements than the file's bytes hold.

    A crafted file can store one number and a view of it with zero strides and any shape; copying such a
    view into a model would allocate the full size. Each tensor must be contiguous and fit its storage, and
    all of them together must not need more bytes than their distinct storages hold.
    """
    storages: dict[int, int] = {}
    needed = 0
    for tensor in tensors:
        if tensor.layout != torch.strided:  # a sparse tensor has no storage, and one with bad indices can crash torch
            raise PlaygroundError(f"{where} holds a {tensor.layout} tensor; this program writes dense ones only.")
        storage = tensor.untyped_storage()
        nbytes = tensor.numel() * tensor.element_size()
        fits = (tensor.storage_offset() * tensor.element_size() + nbytes) <= storage.nbytes()
        if not tensor.is_contiguous() or not fits:
            raise PlaygroundError(f"{where} is crafted: a tensor is a view larger than its stored data.")
        storages[storage.data_ptr()] = storage.nbytes()
        needed += nbytes
    if needed > sum(storages.values()):
        raise PlaygroundError(f"{where} is crafted: its tensors share stored data.")


def find_latest_run(runs_dir: str | Path, needs: str = BEST_FILE) -> Path:
    """The newest run under runs_dir/textgen that holds `needs` (a best or latest checkpoint).

    Raises:
        PlaygroundError: When there is none, saying to train first.
    """
    parent = Path(runs_dir) / "textgen"
    candidates = [path.parent for path in parent.glob(f"*/{needs}")] if parent.is_dir() else []
    if not candidates:
        raise PlaygroundError(
            f"no trained text generator under {parent} (no {needs}). "
            "Train one first: python -m textgen train --corpus shakespeare"
        )
    return max(candidates, key=lambda path: ((path / needs).stat().st_mtime, path.name))
