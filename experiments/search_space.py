"""Search spaces: per-algorithm YAML files beside the presets (agents/presets/search/<agent>.yml), keyed by env id.

Each key is a hyperparameter the preset could hold, validated with the presets' own rules, so a mistyped
name fails at once with a suggestion instead of after an hour of trials. Each value says how to sample it:
`{loguniform: [low, high]}`, `{uniform: [low, high]}`, `{int: [low, high]}` or `{choice: [a, b, ...]}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agents.presets import PRESET_DIR, _number_if_numeric, validate
from core.errors import PlaygroundError

SEARCH_DIR = PRESET_DIR / "search"
KINDS = ("loguniform", "uniform", "int", "choice")
SCALARS = (bool, int, float, str, type(None))
MAX_FILE_BYTES = 256 * 1024  # a search space is a few dozen lines; a larger file is not one
# Values of one hyperparameter, nested ones counted: YAML aliases can make a few lines stand for billions of
# values (or a list that holds itself), which encoding the choices would then try to write out.
MAX_VALUES = 10_000


@dataclass(frozen=True)
class Dimension:
    """How one hyperparameter is sampled.

    Attributes:
        key: The hyperparameter (`learning_rate`, `policy_kwargs.net_arch`).
        kind: One of KINDS.
        low: The lower end of a range (loguniform, uniform, int).
        high: The upper end of a range, included for `int`.
        options: The values of a `choice`.
    """

    key: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    options: tuple[Any, ...] = field(default_factory=tuple)

    def encoded_options(self) -> list[Any]:
        """The choices as the search algorithm sees them: lists and mappings become JSON strings.

        Optuna's categorical distributions hold scalars only.
        """
        return [option if isinstance(option, SCALARS) else json.dumps(option) for option in self.options]

    def decode(self, value: Any) -> Any:
        """The hyperparameter value for a sampled one (undoes encoded_options; NumPy numbers become Python's)."""
        if self.kind == "choice" and isinstance(value, str):
            for option, encoded in zip(self.options, self.encoded_options()):
                if encoded == value:
                    return option
        if hasattr(value, "item"):
            value = value.item()
        return int(value) if self.kind == "int" else value


def search_file(agent: str) -> Path:
    """The search-space file of an agent."""
    return SEARCH_DIR / f"{agent}.yml"


def load_search_space(agent: str, env_id: str, algorithm_class: type, path: Path | None = None) -> list[Dimension]:
    """The validated search space of `agent` on `env_id`: the file's `default`, with the env's entry over it.

    Args:
        agent: The agent name (`ppo`).
        env_id: The Gymnasium id.
        algorithm_class: The SB3 algorithm whose hyperparameters the keys must be.
        path: A search-space file of the user's; the agent's own file when None.

    Raises:
        PlaygroundError: The file is missing or malformed, or names an unknown hyperparameter or a bad range.
    """
    path = path or search_file(agent)
    entries = _read(path)
    merged = {**(entries.get("default") or {}), **(entries.get(env_id) or {})}
    if not merged:
        raise PlaygroundError(f"{path}: no search space for {env_id} and no `default` entry. Add one.")
    return [parse_dimension(key, spec, algorithm_class, str(path)) for key, spec in merged.items()]


def _read(path: Path) -> dict[str, Any]:
    try:
        if path.exists() and not path.is_file():  # a folder, /dev/zero or a pipe: nothing to read, or endless
            raise PlaygroundError(f"{path} is not a file; --search-space takes a YAML file.")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise PlaygroundError(f"{path} is larger than {MAX_FILE_BYTES // 1024} KiB: not a search space file.")
        entries = yaml.safe_load(raw.decode("utf-8"))
    except FileNotFoundError:
        raise PlaygroundError(f"no search space file {path}. Write one (see agents/presets/search/ppo.yml).") from None
    except (OSError, ValueError, yaml.YAMLError, RecursionError) as error:  # ValueError: bad UTF-8 or NUL in path
        raise PlaygroundError(f"{path} cannot be read as YAML ({' '.join(str(error).split())[:300]}).") from None
    if not isinstance(entries, dict) or not all(isinstance(value, dict) for value in entries.values()):
        raise PlaygroundError(f"{path} must map env ids (or `default`) to mappings of hyperparameter: sampler.")
    return entries


def parse_dimension(key: str, spec: Any, algorithm_class: type, origin: str) -> Dimension:
    """One validated Dimension from its YAML form, e.g. `learning_rate: {loguniform: [1.0e-4, 3.0e-3]}`."""
    example = "e.g. learning_rate: {loguniform: [1.0e-4, 3.0e-3]}"
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in KINDS:
        raise PlaygroundError(f"{origin}: {key}: write one of {', '.join(KINDS)} with its values, {example}.")
    kind, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values:
        raise PlaygroundError(f"{origin}: {key}: {kind} takes a list, {example}.")
    _check_size(key, values, origin)
    values = [_number_if_numeric(value) for value in values]
    for value in values:  # the presets' checks: unknown keys get a suggestion, wrong types a clear message
        validate({key: value}, algorithm_class, origin)
        if key == "perception" and ":" in str(value):  # a file read from disk names no code (see agents.run_record)
            raise PlaygroundError(f"{origin}: perception {value!r} names code, which a search space may not "
                                  "import; search over the built-in networks (nature, impala, minatar).")
    if kind == "choice":
        return Dimension(key, kind, options=tuple(values))
    return _range(key, kind, values, origin)


def _check_size(key: str, values: list[Any], origin: str) -> None:
    """Refuse more than MAX_VALUES values in all; counts visits, so shared and self-holding lists stop it too."""
    pending: list[Any] = [values]
    for _ in range(MAX_VALUES):
        if not pending:
            return
        item = pending.pop()
        if isinstance(item, (list, dict)):
            pending.extend(item.values() if isinstance(item, dict) else item)
    if pending:
        raise PlaygroundError(f"{origin}: {key}: more than {MAX_VALUES:,} values, nested ones counted; a search "
                              "space names a few values per hyperparameter.")


def _range(key: str, kind: str, values: list[Any], origin: str) -> Dimension:
    numbers = (int,) if kind == "int" else (int, float)
    if len(values) != 2 or not all(isinstance(v, numbers) and not isinstance(v, bool) for v in values):
        what = "two integers" if kind == "int" else "two numbers"
        raise PlaygroundError(f"{origin}: {key}: {kind} takes {what}, [low, high]; got {values}.")
    low, high = values
    if not low < high or (kind == "loguniform" and low <= 0):
        raise PlaygroundError(f"{origin}: {key}: {kind} needs low < high{' and low > 0' * (kind == 'loguniform')}; "
                              f"got [{low}, {high}].")
    return Dimension(key, kind, low=low, high=high)


def to_tune(space: list[Dimension]) -> dict[str, Any]:
    """The Ray Tune param space of a search space (imports Ray)."""
    from ray import tune

    samplers = {
        "loguniform": lambda d: tune.loguniform(d.low, d.high),
        "uniform": lambda d: tune.uniform(d.low, d.high),
        "int": lambda d: tune.randint(d.low, d.high + 1),
        "choice": lambda d: tune.choice(d.encoded_options()),
    }
    return {dimension.key: samplers[dimension.kind](dimension) for dimension in space}


def decode_config(space: list[Dimension], config: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameter overrides of a sampled trial config (only the searched keys)."""
    return {d.key: d.decode(config[d.key]) for d in space if d.key in config}
