"""What an experiment leaves behind in its folder: the best preset (YAML), summary tables (markdown), JSON."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from core.files import atomic_path
from experiments.records import TrialRecord
from experiments.stats import SeedStatistics


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; floats with 4 significant digits, None as '-'."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> Path:
    """Write a text file atomically; returns its path."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def rounded(values: dict[str, Any]) -> dict[str, Any]:
    """Floats to 4 significant digits: sampled values such as 0.002485367048344989 read as 0.002485."""
    return {key: float(f"{value:.4g}") if isinstance(value, float) else value for key, value in values.items()}


def nested(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys (`policy_kwargs.net_arch`) folded into their mapping, as the preset files write them."""
    from agents.presets import apply_overrides

    plain = {key: value for key, value in hyperparams.items() if "." not in key}
    return apply_overrides(plain, {key: value for key, value in hyperparams.items() if "." in key})


def write_best_preset(path: Path, env_id: str, preset: dict[str, Any], note: str) -> Path:
    """A preset file in the format of agents/presets/<agent>.yml, holding one entry: `env_id`.

    Args:
        path: Where to write it.
        env_id: The key of the entry.
        preset: The effective hyperparameters (dotted keys allowed).
        note: A comment for the head of the file (where the values come from).
    """
    header = "".join(f"# {line}\n" for line in note.splitlines())
    body = yaml.safe_dump({env_id: nested(rounded(preset))}, sort_keys=False, default_flow_style=None)
    return write_text(path, header + body)


def hp_arguments(overrides: dict[str, Any]) -> str:
    """The `--hp key=value` arguments that set `overrides` on a normal run."""
    def text(value: Any) -> str:
        return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()

    return " ".join(shlex.quote(f"--hp={key}={text(value)}") for key, value in rounded(overrides).items())


def tune_table(records: list[TrialRecord], keys: list[str], decoded: list[dict[str, Any]], budget: int) -> str:
    """One row per trial, complete ones first, by final return: status, steps trained, final and best return, values."""
    order = sorted(range(len(records)), key=lambda i: (records[i].status(budget) != "complete",
                                                       -(records[i].final_return or float("-inf"))))
    rows = [[records[i].name, records[i].status(budget) + (" (retried)" if records[i].retried else ""),
             records[i].steps[-1] if records[i].steps else None, records[i].final_return, records[i].best_return,
             *[decoded[i].get(key) for key in keys]] for i in order]
    return markdown_table(["trial", "status", "steps", "final return", "best return", *keys], rows)


def seeds_table(statistics: SeedStatistics, solved: int, solved_at: float | None) -> str:
    """The statistics of the final evaluation return over seeds, as a two-column table."""
    goal = "-" if solved_at is None else f"{solved} of {statistics.n} (return >= {solved_at:g})"
    rows = [["seeds", statistics.n], ["mean", statistics.mean], ["standard deviation", statistics.std],
            ["interquartile mean", statistics.iqm],
            ["95% bootstrap CI of the mean", f"[{statistics.ci_low:.4g}, {statistics.ci_high:.4g}]"],
            ["min / max", f"{statistics.minimum:.4g} / {statistics.maximum:.4g}"], ["solved", goal]]
    return markdown_table(["final evaluation return", "value"], rows)


def per_seed_table(records: list[TrialRecord], seeds: list[int], solved_at: float | None) -> str:
    """One row per seed: steps, final and best evaluation return, solved or not."""
    rows = [[seed, record.steps[-1] if record.steps else None, record.final_return, record.best_return,
             "-" if solved_at is None or record.best_return is None else
             ("yes" if record.best_return >= solved_at else "no")] for seed, record in zip(seeds, records)]
    return markdown_table(["seed", "steps", "final return", "best return", "solved"], rows)
