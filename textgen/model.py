"""The character LSTM: embedding, core's LSTM block, a linear read-out to next-character logits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from core.errors import PlaygroundError
from core.nets import LSTMBlock, LSTMState


@dataclass
class CharLSTMConfig:
    """Everything needed to rebuild the network; stored as JSON beside the weights.

    Args:
        vocab_size: Number of distinct characters.
        embed_size: Size of the character embedding.
        hidden_size: LSTM units per layer.
        num_layers: Stacked LSTM layers.
        dropout: Dropout between LSTM layers and before the read-out.
    """

    vocab_size: int
    embed_size: int = 64
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "model config") -> CharLSTMConfig:
        """Rebuild from `to_dict` output; a PlaygroundError naming `source` when it does not fit."""
        names = {field.name for field in fields(cls)}
        try:
            config = cls(**{key: value for key, value in data.items() if key in names})
            ints = (config.vocab_size, config.embed_size, config.hidden_size, config.num_layers)
            if any(not isinstance(value, int) or value < 1 for value in ints):
                raise ValueError("sizes must be positive integers")
            config.dropout = float(config.dropout)
        except (AttributeError, TypeError, ValueError) as error:
            raise PlaygroundError(f"{source} is corrupt ({error}).") from None
        return config


class CharLSTM(nn.Module):
    """A character-level language model over core.nets.LSTMBlock.

    Args:
        config: The sizes.
    """

    def __init__(self, config: CharLSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_size)
        self.lstm = LSTMBlock(config.embed_size, config.hidden_size, config.num_layers, config.dropout)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> LSTMState:
        """Zero LSTM state for `batch_size` parallel streams."""
        return self.lstm.initial_state(batch_size, device)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None, state: LSTMState | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, LSTMState]:
        """Predict the next character at every position.

        Args:
            idx: Character ids, shape `(batch, time)`.
            targets: The next characters, same shape, or None.
            state: The LSTM state to continue from, or None for zeros.

        Returns:
            Logits `(batch, time, vocab_size)`, the mean cross-entropy in nats per character (None
            without targets), and the final LSTM state.
        """
        hidden, state = self.lstm(self.embedding(idx), state)
        logits = self.head(self.dropout(hidden))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss, state

    def num_parameters(self) -> int:
        """The number of trainable parameters."""
        return sum(parameter.numel() for parameter in self.parameters())
