"""Training presets: the recipe, as a dataclass, with a CPU and a larger GPU variant."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from core.errors import PlaygroundError
from core.schema import Fields
from textgen import limits

# The type and closed range of every recipe field, for command-line flags and for the recipe stored in latest.pt.
# Dropout must also stay below 1; minutes and steps may be None (no limit).
RANGES: dict[str, tuple[type, float, float]] = {
    "embed_size": (int, 1, limits.MAX_EMBED),
    "hidden_size": (int, 1, limits.MAX_HIDDEN),
    "num_layers": (int, 1, limits.MAX_LAYERS),
    "dropout": (float, 0.0, 1.0),
    "batch_size": (int, 1, limits.MAX_BATCH),
    "seq_len": (int, 1, limits.MAX_SEQ_LEN),
    "lr": (float, 1e-12, 10.0),
    "min_lr_ratio": (float, 0.0, 1.0),
    "warmup_steps": (int, 0, limits.MAX_STEPS),
    "weight_decay": (float, 0.0, 10.0),
    "grad_clip": (float, 1e-12, 1e12),
    "minutes": (float, 1e-6, 1e8),
    "steps": (int, 1, limits.MAX_STEPS),
    "eval_interval": (int, 1, limits.MAX_STEPS),
    "eval_chars": (int, 0, limits.MAX_CHARS),
}
OPTIONAL = ("minutes", "steps")
FLAGS = {"embed_size": "--embed", "hidden_size": "--hidden", "num_layers": "--layers"}  # the rest: --field-name


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
        """Refuse values outside RANGES with a PlaygroundError naming the flag."""
        for name, (_kind, low, high) in RANGES.items():
            value = getattr(self, name)
            if value is None and name in OPTIONAL:
                continue
            if not low <= value <= high or (name == "dropout" and value >= 1):  # `not` also catches NaN
                flag = FLAGS.get(name, f"--{name.replace('_', '-')}")
                raise PlaygroundError(f"{flag} must be {_expected(name)}, got {value}.")
        if self.batch_size * self.seq_len > limits.MAX_CHARS_PER_STEP:
            raise PlaygroundError(
                f"--batch-size {self.batch_size} x --seq-len {self.seq_len} is more than {limits.MAX_CHARS_PER_STEP:,} "
                "characters per step; lower one of them."
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "training recipe") -> TrainPreset:
        """Rebuild from `to_dict` output, checking every field's type and range (unknown keys are ignored).

        Args:
            data: The stored recipe (untrusted: it comes from a checkpoint).
            source: Where it was read from, for error messages.

        Raises:
            PlaygroundError: Naming `source` and the field, when a field is missing or out of range.
        """
        fields = Fields(data, source)
        values: dict[str, Any] = {}
        for name, (kind, low, high) in RANGES.items():
            if name in OPTIONAL and name in fields.data and fields.data[name] is None:
                values[name] = None
            else:
                values[name] = (fields.integer if kind is int else fields.number)(name, low, high)
        if values["dropout"] >= 1:
            raise fields.fail("dropout", _expected("dropout"), values["dropout"])
        if values["batch_size"] * values["seq_len"] > limits.MAX_CHARS_PER_STEP:
            raise fields.fail("batch_size", f"at most {limits.MAX_CHARS_PER_STEP:,} characters per step with seq_len",
                              values["batch_size"])
        return cls(**values)


def _expected(name: str) -> str:
    """What a field must be, in words."""
    kind, low, high = RANGES[name]
    if name == "dropout":
        return "a number from 0 to below 1"
    return f"an integer from {low:,} to {high:,}" if kind is int else f"a number from {low:g} to {high:g}"


PRESETS: dict[str, TrainPreset] = {
    # Tuned for a 2-core CPU and a 5-minute budget on Tiny Shakespeare (see textgen/README_SECTION.md).
    "cpu": TrainPreset(),
    # A larger network for a GPU, where width is almost free.
    "gpu": TrainPreset(
        embed_size=128,
        hidden_size=1024,
        num_layers=3,
        dropout=0.5,  # 0.25 overfit within a minute on an H200 (the sweep: README, "Text generation")
        weight_decay=0.1,
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
