"""A text generator's files in its run folder: weights, optimizer, config, vocabulary, trainer state.

runs/textgen/<run>/
    model.json      the CharLSTMConfig (JSON)
    vocab.json      the Vocabulary (JSON, with size and fingerprint)
    best.pt         weights with the lowest validation loss (a state dict)
    latest.pt       the latest weights, optimizer state and trainer state, for --resume
    events.out...   TensorBoard
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from core.checkpoint import load_state, save_state
from core.errors import PlaygroundError
from core.files import read_json, write_json
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
    """Rebuild a trained model from its run folder.

    Args:
        run_dir: The run folder.
        which: "best" or "latest".
        device: Where to put the model.

    Returns:
        The model (in eval mode), its vocabulary, and the whole checkpoint dict (for resuming).

    Raises:
        PlaygroundError: When a file is missing or corrupt, or the vocabulary does not match the weights.
    """
    run_dir = Path(run_dir)
    vocab = Vocabulary.load(run_dir / VOCAB_FILE)
    raw_config = read_json(run_dir / CONFIG_FILE, "model config")
    config = CharLSTMConfig.from_dict(raw_config, f"model config {run_dir / CONFIG_FILE}")
    checkpoint = load_state(run_dir / (BEST_FILE if which == "best" else LATEST_FILE), map_location=device)
    weights = checkpoint.get("model")
    embedding = weights.get("embedding.weight") if isinstance(weights, dict) else None
    if not isinstance(embedding, torch.Tensor):
        raise PlaygroundError(f"checkpoint in {run_dir} holds no character-LSTM weights; it is corrupt.")
    recorded_hash = raw_config.get("vocab_sha256") if isinstance(raw_config, dict) else None
    if embedding.shape[0] != vocab.size or config.vocab_size != vocab.size or recorded_hash != vocab.sha256:
        raise PlaygroundError(
            f"the vocabulary file {run_dir / VOCAB_FILE} ({vocab.size} characters) does not match the weights "
            f"({embedding.shape[0]} characters) of this run; the run folder is mixed up. Retrain or restore it."
        )
    model = CharLSTM(config)
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[0]
        raise PlaygroundError(f"weights in {run_dir} do not fit {CONFIG_FILE} ({first[:160]}).") from None
    return model.to(device).eval(), vocab, checkpoint


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
