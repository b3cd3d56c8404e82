"""The character LSTM: embedding, core's LSTM block, a linear read-out to next-character logits."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from core.nets import LSTMBlock, LSTMState
from core.schema import Fields
from textgen.limits import MAX_EMBED, MAX_HIDDEN, MAX_LAYERS, MAX_VOCAB


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
        """Rebuild from `to_dict` output, checking every field's type and range (unknown keys are ignored).

        Args:
            data: What the JSON file held.
            source: The file, for error messages.

        Raises:
            PlaygroundError: Naming `source` and the field, when a field is missing or out of range.
        """
        fields = Fields(data, source)
        dropout = fields.number("dropout", 0.0, 1.0)
        if dropout >= 1.0:  # the ranges are closed; a dropout of 1 would zero every activation
            raise fields.fail("dropout", "a number from 0 to below 1", dropout)
        return cls(
            vocab_size=fields.integer("vocab_size", 1, MAX_VOCAB),
            embed_size=fields.integer("embed_size", 1, MAX_EMBED),
            hidden_size=fields.integer("hidden_size", 1, MAX_HIDDEN),
            num_layers=fields.integer("num_layers", 1, MAX_LAYERS),
            dropout=dropout,
        )

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every tensor in `CharLSTM(self).state_dict()`, computed without building it.

        Loading compares these with the tensors of a weights file before anything is allocated
        (tests/test_textgen_hostile.py checks that they match the real model).
        """
        vocab, embed, hidden = self.vocab_size, self.embed_size, self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {"embedding.weight": (vocab, embed)}
        for layer in range(self.num_layers):
            # nn.LSTM stacks the four gates' weights into one matrix per layer.
            shapes[f"lstm.lstm.weight_ih_l{layer}"] = (4 * hidden, embed if layer == 0 else hidden)
            shapes[f"lstm.lstm.weight_hh_l{layer}"] = (4 * hidden, hidden)
            shapes[f"lstm.lstm.bias_ih_l{layer}"] = (4 * hidden,)
            shapes[f"lstm.lstm.bias_hh_l{layer}"] = (4 * hidden,)
        shapes["head.weight"] = (vocab, hidden)
        shapes["head.bias"] = (vocab,)
        return shapes


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
