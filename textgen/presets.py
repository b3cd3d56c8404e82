"""Training presets: the recipe, as a dataclass, with a CPU and a larger GPU variant."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from core.errors import PlaygroundError


@dataclass
class TrainPreset:
    """The training recipe. Command-line flags override single fields.

    Args:
        embed_size: Character embedding size.
        hidden_size: LSTM units per layer.
        num_layers: Stacked LSTM layers.
        dropout: Dropout between layers and before the read-out.
        batch_size: Parallel text streams; each carries its LSTM state from chunk to chunk.
        seq_len: Characters per chunk: the truncated backpropagation-through-time horizon.
        lr: Peak learning rate (AdamW).
        min_lr_ratio: The learning rate decays (cosine) to lr * min_lr_ratio at the end of the budget.
        warmup_steps: Linear warm-up steps.
        weight_decay: AdamW weight decay (matrices only).
        grad_clip: Gradient-norm clipping.
        minutes: Wall-clock budget of the training loop; None for no time limit.
        steps: Step budget; None for no step limit. With both, whichever ends first.
        eval_interval: Steps between validation evaluations.
        eval_chars: Held-out characters used for the periodic evaluations (the whole held-out set is
            scored at the end); 0 for all of them every time.
    """

    embed_size: int = 64
    hidden_size: int = 384
    num_layers: int = 2
    dropout: float = 0.0
    batch_size: int = 64
    seq_len: int = 64
    lr: float = 3e-3
    min_lr_ratio: float = 0.05
    warmup_steps: int = 50
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    minutes: float | None = 5.0
    steps: int | None = None
    eval_interval: int = 100
    eval_chars: int = 30_000

    def with_overrides(self, **overrides: Any) -> TrainPreset:
        """A copy with the given non-None fields replaced; checks the result."""
        chosen = {key: value for key, value in overrides.items() if value is not None}
        preset = replace(self, **chosen)
        preset.check()
        return preset

    def check(self) -> None:
        """Refuse impossible values with a PlaygroundError naming the flag."""
        positive = ("embed_size", "hidden_size", "num_layers", "batch_size", "seq_len", "eval_interval")
        for name in positive:
            if getattr(self, name) < 1:
                raise PlaygroundError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}.")
        if not self.lr > 0:
            raise PlaygroundError(f"--lr must be above 0, got {self.lr}.")
        if not 0 <= self.dropout < 1:
            raise PlaygroundError(f"--dropout must be in [0, 1), got {self.dropout}.")
        if self.minutes is not None and not self.minutes > 0:
            raise PlaygroundError(f"--minutes must be above 0, got {self.minutes}.")
        if self.steps is not None and self.steps < 1:
            raise PlaygroundError(f"--steps must be at least 1, got {self.steps}.")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainPreset:
        """Rebuild from `to_dict` output, ignoring unknown keys."""
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


PRESETS: dict[str, TrainPreset] = {
    # Tuned for a 2-core CPU and a 5-minute budget on Tiny Shakespeare (see textgen/README_SECTION.md).
    "cpu": TrainPreset(),
    # A larger network for a GPU, where width is almost free.
    "gpu": TrainPreset(
        embed_size=128,
        hidden_size=1024,
        num_layers=3,
        dropout=0.25,
        batch_size=128,
        seq_len=128,
        lr=2e-3,
        warmup_steps=100,
        eval_interval=250,
        eval_chars=0,
    ),
}


def choose_preset(name: str, device_type: str) -> TrainPreset:
    """The preset for `--preset auto|cpu|gpu`; auto picks by the device in use."""
    key = ("gpu" if device_type == "cuda" else "cpu") if name == "auto" else name
    if key not in PRESETS:
        raise PlaygroundError(f"unknown preset {name!r}. Choose one of: auto, {', '.join(PRESETS)}.")
    return replace(PRESETS[key])
