"""Attacker tests for textgen: a run folder received from someone else must be safe to open.

`python -m textgen sample --run FOLDER`, `load_generator(FOLDER)` and `python -m textgen train --resume FOLDER`
read model.json, vocab.json, best.pt and latest.pt. Each test below damages one of them on purpose (a size
that would allocate gigabytes, a field of the wrong type, a stride-0 view that passes a shape check, a zip
bomb, a pickle whose code would write a marker file) and asserts one line `error: ...`, exit code 2, no
traceback, no code run, and a peak memory close to that of a normal sample run.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.checkpoint import load_state
from core.errors import PlaygroundError
from core.schema import Fields
from tests.hostile import assert_refused_in_one_line, payload_source, run_capped
from textgen import checkpoint as ckpt
from textgen import limits, resume
from textgen.cli import main
from textgen.generator import load_generator
from textgen.model import CharLSTM, CharLSTMConfig
from textgen.presets import TrainPreset
from textgen.train import make_optimizer
from textgen.vocab import Vocabulary

SENTENCE = "the quick brown fox jumps over the lazy dog.\n"
TINY = ["--hidden", "16", "--layers", "1", "--embed", "8", "--batch-size", "4", "--seq-len", "16",
        "--steps", "5", "--eval-interval", "5", "--no-progress"]
# The peak resident memory a crafted file may cost beyond a normal `sample` run of the same tiny model, measured
# in the same session: 238 MB on the 2-core development machine (torch 2.13 CPU; importing torch takes 220 MB),
# so the bound there is 438 MB. Refused, the crafted files below peak at 219-221 MB. Before these checks they
# took 275 MB (the pickle bomb) to 2 GB and more (the stride-0 views, killed after a minute) beyond it, or hung.
EXTRA_RSS_MB = 200


# ----- one real run, and damaged copies of it -----


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real run of a tiny model (2,389 parameters), trained for 5 steps through the command line."""
    folder = tmp_path_factory.mktemp("hostile-textgen")
    corpus = folder / "corpus.txt"
    corpus.write_text(SENTENCE * 60, encoding="utf-8")
    assert main(["train", "--corpus", str(corpus), "--runs-dir", str(folder / "runs"), *TINY]) == 0
    (run,) = (folder / "runs" / "textgen").iterdir()
    return run


@pytest.fixture(scope="module")
def normal_rss_mb(run_dir) -> float:
    """The peak resident memory of a normal `sample` run of the tiny model."""
    run = run_capped(["-m", "textgen", "sample", "--run", str(run_dir), "--length", "50", "--temperature", "0.5"])
    assert run.returncode == 0, run.stderr[-2000:]
    return run.peak_rss_mb


def copy_run(run_dir: Path, tmp_path: Path, name: str = "received") -> Path:
    """A copy of the real run to damage."""
    return Path(shutil.copytree(run_dir, tmp_path / name))


def edit_json(path: Path, **changes: Any) -> None:
    """Set fields of a JSON file."""
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}), encoding="utf-8")


def edit_checkpoint(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Load a checkpoint, let `change` edit it in place, save it again (as torch.save writes it)."""
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)


def refused(capsys, *argv: str) -> str:
    """Run the command line in this process: exit code 2 and one line `error: ...` (any other exception fails)."""
    code = main(list(argv))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def sample_capped(run: Path) -> Any:
    return run_capped(["-m", "textgen", "sample", "--run", str(run), "--length", "20"], timeout=120)


class Payload:
    """Pickles as a call of `function(argument)`: what a crafted checkpoint runs when it is unpickled."""

    def __init__(self, function: Callable[[str], Any], argument: str) -> None:
        self.function, self.argument = function, argument

    def __reduce__(self) -> tuple[Any, ...]:
        return self.function, (self.argument,)


# ----- crafted files, each through the real command line in a fresh, memory-capped process -----


def _stride0_weights(run: Path) -> None:
    """model.json asks for 8,000 units; best.pt matches every shape with zero-stride views of one number."""
    edit_json(run / ckpt.CONFIG_FILE, hidden_size=8000)
    shapes = CharLSTMConfig.from_dict(json.loads((run / ckpt.CONFIG_FILE).read_text())).parameter_shapes()
    views = {name: torch.zeros(1).expand(*shape) for name, shape in shapes.items()}  # 1.1 GB as floats
    torch.save({"model": views, "step": 5, "val_loss": 1.0}, run / ckpt.BEST_FILE)


def _zip_bomb(run: Path) -> None:
    """best.pt with one record deflated from 512 MiB of zeros (the file stays under 1 MB)."""
    best = run / ckpt.BEST_FILE
    with zipfile.ZipFile(best) as original:
        records = {info.filename: original.read(info.filename) for info in original.infolist()}
    with zipfile.ZipFile(best, "w") as bomb:
        for name, data in records.items():
            if not name.endswith("/data/0"):
                bomb.writestr(name, data)
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with bomb.open(info, "w", force_zip64=True) as record:
                for _ in range(512):
                    record.write(bytes(2**20))


def _rewrite_zip(path: Path, change: Callable[[str, bytes], bytes]) -> None:
    """Rewrite a checkpoint's zip records (stored, as torch.save writes them) through `change(name, data)`."""
    with zipfile.ZipFile(path) as original:
        records = {info.filename: original.read(info.filename) for info in original.infolist()}
    with zipfile.ZipFile(path, "w") as crafted:
        for name, data in records.items():
            crafted.writestr(name, change(name, data))


def _pickle_bomb(run: Path) -> None:
    """best.pt whose pickle is 8 MB of 4 million empty dicts (some 300 MB as Python objects), inside the
    14 MB that the 512 units of its model.json allow."""
    edit_json(run / ckpt.CONFIG_FILE, hidden_size=512)
    bomb = b"\x80\x02]" + b"}a" * 4_000_000 + b"."  # PROTO 2, EMPTY_LIST, (EMPTY_DICT, APPEND) * 4M, STOP
    _rewrite_zip(run / ckpt.BEST_FILE, lambda name, data: bomb if name.endswith("/data.pkl") else data)


def _sparse_file(run: Path) -> None:
    """best.pt grown to 64 GiB without taking disk space (a sparse file)."""
    with open(run / ckpt.BEST_FILE, "r+b") as handle:
        handle.truncate(64 * 2**30)


CRAFTED: dict[str, tuple[Callable[[Path], None], str]] = {
    "hidden_size 8000": (lambda run: edit_json(run / "model.json", hidden_size=8000), "(32000, 8)"),
    "num_layers 10**6": (lambda run: edit_json(run / "model.json", num_layers=10**6), "'num_layers' is 1000000"),
    "embed_size 10**6": (lambda run: edit_json(run / "model.json", embed_size=10**6), "'embed_size'"),
    "vocab_size 10**9": (lambda run: edit_json(run / "model.json", vocab_size=10**9), "'vocab_size'"),
    "vocab.json with 10**6 characters": (
        lambda run: edit_json(run / "vocab.json", size=10**6, chars=[chr(0x4E00 + i % 20000) for i in range(10**6)]),
        "larger than 2 MiB",
    ),
    "stride-0 weights for a 1 GB model": (_stride0_weights, "a view larger than its stored data"),
    "zip bomb in best.pt": (_zip_bomb, "compressed, larger than the file"),
    "pickle of 4 million dicts in best.pt": (_pickle_bomb, "oversized pickle"),
    "sparse 64 GiB best.pt": (_sparse_file, "more than the"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_sizes_are_refused_in_one_line_within_bounded_memory(case, run_dir, normal_rss_mb, tmp_path):
    craft, fragment = CRAFTED[case]
    run = copy_run(run_dir, tmp_path)
    craft(run)
    result = sample_capped(run)
    assert_refused_in_one_line(result, "error: ", fragment)
    assert result.peak_rss_mb < normal_rss_mb + EXTRA_RSS_MB, (case, result.peak_rss_mb, normal_rss_mb)


def _plant_payload(how: str, run: Path, marker: Path) -> list[str]:
    """Put a pickle payload that would create `marker` into the run; the command line that reads it."""
    exec_payload = Payload(exec, payload_source(marker))
    if how == "exec in best.pt":
        torch.save({"model": exec_payload}, run / ckpt.BEST_FILE)
    elif how == "os.system in best.pt":
        torch.save({"model": Payload(os.system, f"touch {marker}")}, run / ckpt.BEST_FILE)
    elif how == "legacy pickle best.pt":
        (run / ckpt.BEST_FILE).write_bytes(pickle.dumps({"model": exec_payload}))
    else:
        edit_checkpoint(run / ckpt.LATEST_FILE, lambda state: state["trainer"].update(seed=exec_payload))
        return ["train", "--resume", str(run), "--steps", "1", "--no-progress"]
    return ["sample", "--run", str(run)]


@pytest.mark.parametrize("how", ["exec in best.pt", "os.system in best.pt", "legacy pickle best.pt", "--resume"])
def test_pickle_payloads_never_run(how, run_dir, tmp_path, capsys):
    marker = tmp_path / "marker.txt"
    argv = _plant_payload(how, copy_run(run_dir, tmp_path), marker)
    assert "corrupt or not a checkpoint" in refused(capsys, *argv)
    assert not marker.exists(), f"the payload ran ({how})"


@pytest.mark.slow
def test_a_payload_never_runs_in_a_fresh_command_line_process(run_dir, normal_rss_mb, tmp_path):
    marker = tmp_path / "marker.txt"
    argv = _plant_payload("exec in best.pt", copy_run(run_dir, tmp_path), marker)
    result = run_capped(["-m", "textgen", *argv], timeout=120)
    assert_refused_in_one_line(result, "error: ", "corrupt or not a checkpoint")
    assert not marker.exists()
    assert result.peak_rss_mb < normal_rss_mb + EXTRA_RSS_MB


def test_weights_only_loading_refuses_a_payload_by_itself(tmp_path):
    """core's torch.load(weights_only=True) refuses the payload even without textgen's zip check before it."""
    marker = tmp_path / "marker.txt"
    torch.save({"model": Payload(exec, payload_source(marker))}, tmp_path / "zip.pt")
    (tmp_path / "legacy.pt").write_bytes(pickle.dumps({"model": Payload(exec, payload_source(marker))}))
    for name in ("zip.pt", "legacy.pt"):
        with pytest.raises(PlaygroundError, match="corrupt or not a checkpoint"):
            load_state(tmp_path / name)
    assert not marker.exists()


# ----- every other field, through the command line in this process (fast) -----


def _set_weight(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda state: state["model"].__setitem__(name, value)


def _without(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda state: state.pop(key)


def _overflowing_weights(state: dict[str, Any]) -> None:
    """Finite weights whose scores overflow: saturated LSTM units (h = tanh(1)) times 3e38, sixteen times."""
    state["model"]["embedding.weight"].fill_(1.0)
    state["model"]["lstm.lstm.weight_ih_l0"].fill_(100.0)
    state["model"]["head.weight"].fill_(3e38)


MODEL_JSON = {  # what model.json holds instead, or the fields changed ("delete" removes one)
    "null": None,
    "a list": [1],
    "a string": "x",
    "vocab_size 30": {"vocab_size": 30},
    "vocab_size '29'": {"vocab_size": "29"},
    "no vocab_size": {"vocab_size": "delete"},
    "embed_size 0": {"embed_size": 0},
    "embed_size 8.0": {"embed_size": 8.0},
    "hidden_size -16": {"hidden_size": -16},
    "hidden_size true": {"hidden_size": True},
    "hidden_size 10**400": {"hidden_size": 10**400},
    "num_layers null": {"num_layers": None},
    "num_layers 2": {"num_layers": 2},
    "dropout 5": {"dropout": 5},
    "dropout 1": {"dropout": 1},
    "dropout NaN": {"dropout": float("nan")},
    "dropout 10**400": {"dropout": 10**400},
    "dropout '0'": {"dropout": "0"},
    "vocab_sha256 5": {"vocab_sha256": 5},
    "vocab_sha256 of another vocabulary": {"vocab_sha256": "0" * 64},
}
VOCAB_JSON = {
    "null": None,
    "a list": [1],
    "format 2": {"format": 2},
    "size 28": {"size": 28},
    "size '29'": {"size": "29"},
    "sha256 []": {"sha256": []},
    "chars a string": {"chars": "abc"},
    "chars two letters": {"chars": ["ab"]},
    "chars duplicated": {"chars": ["a", "a"]},
    "chars a surrogate": {"chars": ["\ud800"]},
    "chars []": {"chars": []},
    "chars [1]": {"chars": [1]},
    "no chars": {"chars": "delete"},
}
CHECKPOINT = {
    "model a list": lambda state: state.update(model=[1.0]),
    "no model": _without("model"),
    "step -1": lambda state: state.update(step=-1),
    "val_loss 'x'": lambda state: state.update(val_loss="x"),
    "a missing tensor": lambda state: state["model"].pop("head.bias"),
    "an extra tensor": _set_weight("extra", torch.zeros(1)),
    "an extra non-string key": _set_weight(("x", 10**5000), torch.zeros(1)),
    "float64 weights": lambda state: state["model"].update(
        {name: tensor.double() for name, tensor in state["model"].items()}),
    "a wrong shape": _set_weight("head.bias", torch.zeros(30)),
    "a list for a tensor": _set_weight("head.bias", [0.0] * 29),
    "a sparse tensor": _set_weight("head.bias", torch.zeros(29).to_sparse()),
    "NaN weights": lambda state: state["model"]["head.bias"].fill_(float("nan")),
    "shared storage": lambda state: state["model"].update(
        {"head.bias": state["model"]["embedding.weight"].view(-1)[:29]}),
    "overflowing weights": _overflowing_weights,
}


def _edit_record(path: Path, change: Any) -> None:
    """Change fields of a JSON record ("delete" removes one), or replace it when `change` is not a dict."""
    if isinstance(change, dict):
        data = json.loads(path.read_text())
        for key, value in change.items():
            if value == "delete":
                del data[key]
            else:
                data[key] = value
        change = data
    path.write_text(json.dumps(change), encoding="utf-8")


@pytest.mark.parametrize("case", list(MODEL_JSON))
def test_model_json_fields(case, run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path)
    _edit_record(run / ckpt.CONFIG_FILE, MODEL_JSON[case])
    assert "model.json" in refused(capsys, "sample", "--run", str(run), "--length", "5")


@pytest.mark.parametrize("case", list(VOCAB_JSON))
def test_vocab_json_fields(case, run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path)
    _edit_record(run / ckpt.VOCAB_FILE, VOCAB_JSON[case])
    assert "vocab.json" in refused(capsys, "sample", "--run", str(run), "--length", "5")


def test_unreadable_json_files(run_dir, tmp_path, capsys):
    contents = ("[" * 100_000 + "]" * 100_000, '{"size": ' + "9" * 5000 + "}", "{", "\xff", "")
    for name in (ckpt.CONFIG_FILE, ckpt.VOCAB_FILE):
        for index, content in enumerate(contents):
            run = copy_run(run_dir, tmp_path, f"{name}-{index}")
            (run / name).write_text(content, encoding="latin-1")
            refused(capsys, "sample", "--run", str(run), "--length", "5")


@pytest.mark.parametrize("case", list(CHECKPOINT))
def test_best_checkpoint_fields(case, run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path)
    edit_checkpoint(run / ckpt.BEST_FILE, CHECKPOINT[case])
    refused(capsys, "sample", "--run", str(run), "--length", "30", "--temperature", "1", "--prime", "the")


def test_a_checkpoint_holding_a_tensor_and_not_a_dict(run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path)
    torch.save(torch.zeros(3), run / ckpt.BEST_FILE)
    refused(capsys, "sample", "--run", str(run))


# ----- latest.pt: the trainer and optimizer state that --resume trusts -----


def _trainer(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda state: state["trainer"].update(changes)


def _recipe(**changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda state: state["trainer"]["preset"].update(changes)


def _moment(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    return lambda state: state["optimizer"]["state"][index].update(changes)


def _deep_list(depth: int) -> list[Any]:
    nested: list[Any] = []
    for _ in range(depth):
        nested = [nested]
    return nested


LATEST = {
    "no trainer": _without("trainer"),
    "trainer a list": lambda state: state.update(trainer=[1]),
    "step -1": _trainer(step=-1),
    "step '5'": _trainer(step="5"),
    "step 10**5000": _trainer(step=10**5000),
    "best_val NaN": _trainer(best_val=float("nan")),
    "best_val -inf": _trainer(best_val=-float("inf")),
    "elapsed_s 10**400": _trainer(elapsed_s=10**400),
    "chars 1.5": _trainer(chars=1.5),
    "seed a tensor": _trainer(seed=torch.zeros(2)),
    "corpus 5": _trainer(corpus=5),
    "corpus with a newline": _trainer(corpus="/tmp/x\nerror: forged"),
    "corpus a list": _trainer(corpus=["/tmp/x"]),
    "end_step -1": _trainer(end_step=-1),
    "end_s 'x'": _trainer(end_s="x"),
    "no recipe": lambda state: state["trainer"].pop("preset"),
    "eval_interval 0": _recipe(eval_interval=0),
    "batch_size 10**9": _recipe(batch_size=10**9),
    "batch 4096 x seq 4096": _recipe(batch_size=4096, seq_len=4096),
    "lr 'x'": _recipe(lr="x"),
    "warmup_steps -5": _recipe(warmup_steps=-5),
    "grad_clip inf": _recipe(grad_clip=float("inf")),
    "a recipe for another model": _recipe(hidden_size=32),
    "no optimizer": _without("optimizer"),
    "optimizer state a list": lambda state: state["optimizer"].update(state=[1]),
    "state for parameter 99": lambda state: state["optimizer"]["state"].update({99: {}}),
    "state for parameter '0'": lambda state: state["optimizer"]["state"].update({"0": {}}),
    "state for parameter 10**5000": lambda state: state["optimizer"]["state"].update({10**5000: {}}),
    "no exp_avg": lambda state: state["optimizer"]["state"][0].pop("exp_avg"),
    "exp_avg of another shape": _moment(0, exp_avg=torch.zeros(3, 3)),
    "exp_avg float64": _moment(0, exp_avg=torch.zeros(29, 8, dtype=torch.float64)),
    "exp_avg a stride-0 view": _moment(0, exp_avg=torch.zeros(1).expand(29, 8)),
    "exp_avg sparse": _moment(6, exp_avg=torch.zeros(29).to_sparse()),
    "exp_avg NaN": _moment(0, exp_avg=torch.full((29, 8), float("nan"))),
    "exp_avg_sq negative": _moment(0, exp_avg_sq=-torch.ones(29, 8)),
    "step NaN": _moment(0, step=torch.tensor(float("nan"))),
    "step a Python int": _moment(0, step=5),
    "step a vector": _moment(0, step=torch.zeros(3)),
    "NaN weights": lambda state: state["model"]["head.bias"].fill_(float("nan")),
}


@pytest.mark.parametrize("case", list(LATEST))
def test_resume_checks_the_trainer_and_optimizer_state(case, run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path)
    edit_checkpoint(run / ckpt.LATEST_FILE, LATEST[case])
    assert "latest.pt" in refused(capsys, "train", "--resume", str(run), "--steps", "1", "--no-progress")


def test_resume_refuses_a_value_nested_100_000_deep(run_dir, tmp_path, capsys):
    """torch.save cannot write such a value (it recurses), so the pickle is edited by hand: the corpus path
    becomes 100,000 nested lists, which the weights-only unpickler builds without recursion."""
    run = copy_run(run_dir, tmp_path)
    placeholder = "PLACEHOLDER-CORPUS-PATH"
    edit_checkpoint(run / ckpt.LATEST_FILE, _trainer(corpus=placeholder))
    depth = 100_000
    as_pickled = b"X" + struct.pack("<I", len(placeholder)) + placeholder.encode()  # BINUNICODE
    nested = b"]" * depth + b"a" * (depth - 1)  # EMPTY_LIST 100,000 times, then APPEND each into the one below
    _rewrite_zip(run / ckpt.LATEST_FILE, lambda name, data: data.replace(as_pickled, nested))
    line = refused(capsys, "train", "--resume", str(run), "--steps", "1", "--no-progress")
    assert "'corpus' is [[[[...]]]]; it must be a string" in line


def test_resume_of_an_intact_copy_still_works(run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path)
    assert main(["train", "--resume", str(run), "--steps", "2", "--no-progress"]) == 0
    assert torch.load(run / ckpt.LATEST_FILE, weights_only=True)["trainer"]["step"] == 7


# ----- properties: any JSON in model.json / vocab.json, any value in the trainer and optimizer state -----

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.text(max_size=12)
    | st.integers(min_value=-(10**30), max_value=10**30) | st.sampled_from([0, 1, -1, 29, 2**63, 10**400])
    | st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False),  # textgen turns on flush-to-zero
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)


@st.composite
def mutated_json(draw: st.DrawFn, original: dict[str, Any]) -> str:
    """The text of a JSON file: `original` with fields replaced or deleted, or something else entirely."""
    kind = draw(st.sampled_from(["fields", "fields", "fields", "whole", "deep", "text"]))
    if kind == "whole":
        return json.dumps(draw(JSON_VALUES))
    if kind == "deep":
        depth = draw(st.sampled_from([100, 1000, 100_000]))
        return draw(st.sampled_from(["[", '{"a":'])) * depth
    if kind == "text":
        return draw(st.text(max_size=40))
    data = dict(original)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(original)) | st.text(max_size=6))
        if draw(st.booleans()):
            data.pop(key, None)
        else:
            data[key] = draw(JSON_VALUES)
    return json.dumps(data)


@pytest.fixture(scope="module")
def scratch(run_dir, tmp_path_factory) -> Path:
    """A copy of the real run whose JSON files the property tests overwrite."""
    return Path(shutil.copytree(run_dir, tmp_path_factory.mktemp("scratch") / "run"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_json_in_model_and_vocab_files_loads_or_is_refused(scratch, run_dir, data):
    originals = {name: json.loads((run_dir / name).read_text()) for name in (ckpt.CONFIG_FILE, ckpt.VOCAB_FILE)}
    which = data.draw(st.sampled_from([[ckpt.CONFIG_FILE], [ckpt.VOCAB_FILE], list(originals)]))
    for name, original in originals.items():
        text = data.draw(mutated_json(original)) if name in which else json.dumps(original)
        (scratch / name).write_text(text, encoding="utf-8")
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        model, _, _ = ckpt.load_model(scratch)
    except PlaygroundError as error:
        assert "\n" not in str(error)
    else:  # only a file that still describes the same model loads, and it holds what the weights hold
        assert model.num_parameters() == 2389
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < EXTRA_RSS_MB * 1024


TENSORS = st.builds(
    lambda shape, dtype, fill: torch.full(shape, fill if dtype.is_floating_point else 1, dtype=dtype),
    st.lists(st.integers(0, 30), max_size=2).map(tuple),
    st.sampled_from([torch.float32, torch.float64, torch.int64]),
    st.sampled_from([0.0, 1.0, -1.0, float("nan")]),
) | st.builds(lambda shape: torch.zeros(1).expand(*shape), st.lists(st.integers(1, 30), min_size=1, max_size=2))
STORED_VALUES = JSON_VALUES | TENSORS  # what a weights_only pickle can hold
RECORDS = [("trainer",), ("trainer", "preset"), ("optimizer",), ("optimizer", "state", 0), ("optimizer", "state", 6)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_trainer_or_optimizer_state_resumes_or_is_refused(run_dir, data):
    checkpoint = torch.load(run_dir / ckpt.LATEST_FILE, weights_only=True)
    config = CharLSTMConfig.from_dict(json.loads((run_dir / ckpt.CONFIG_FILE).read_text()))
    for _ in range(data.draw(st.integers(1, 3))):
        record: Any = checkpoint
        for part in data.draw(st.sampled_from(RECORDS)):  # an earlier change may have replaced a record
            record = record.get(part) if isinstance(record, dict) else None
        if isinstance(record, dict):
            new_keys = st.text(max_size=6)  # an earlier change may have left an empty mapping: no keys to pick
            key = data.draw(st.sampled_from(sorted(map(str, record))) | new_keys if record else new_keys)
            record[key] = data.draw(STORED_VALUES)
    budget = TrainPreset(minutes=None, steps=1)
    try:
        trainer, preset = resume.read_trainer(checkpoint, "latest.pt", budget, config)
        optimizer = make_optimizer(CharLSTM(config), preset)
        optimizer.load_state_dict(resume.optimizer_state(checkpoint, optimizer, "latest.pt"))
    except PlaygroundError as error:
        assert "\n" not in str(error)
    else:
        assert 0 <= trainer["step"] <= limits.MAX_STEPS and preset.batch_size * preset.seq_len <= 2**20


# ----- the checks themselves -----


@pytest.mark.parametrize("sizes", [(29, 8, 16, 1), (5, 3, 7, 3), (65, 64, 384, 2)])
def test_parameter_shapes_are_the_real_model_s(sizes):
    config = CharLSTMConfig(*sizes)
    real = {name: tuple(tensor.shape) for name, tensor in CharLSTM(config).state_dict().items()}
    assert config.parameter_shapes() == real


def test_training_refuses_what_loading_would_refuse(tmp_path):
    with pytest.raises(PlaygroundError, match="--hidden"):
        TrainPreset().with_overrides(hidden_size=limits.MAX_HIDDEN + 1)
    with pytest.raises(PlaygroundError, match="characters per step"):
        TrainPreset().with_overrides(batch_size=4096, seq_len=4096)
    with pytest.raises(PlaygroundError, match="distinct characters"):
        Vocabulary.from_text("".join(chr(0x4E00 + i) for i in range(limits.MAX_VOCAB + 1)))


def test_the_largest_vocabulary_fits_under_the_file_cap(tmp_path):
    vocab = Vocabulary([chr(0x10000 + i) for i in range(limits.MAX_VOCAB)])  # the longest JSON escapes
    vocab.save(tmp_path / "vocab.json")
    assert (tmp_path / "vocab.json").stat().st_size <= limits.MAX_VOCAB_FILE_BYTES
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab


def test_a_tiny_temperature_samples_like_greedy(run_dir):
    generator = load_generator(run_dir, device="cpu")
    greedy = generator.generate("the", 40, temperature=0)
    assert generator.generate("the", 40, temperature=1e-300, seed=0) == greedy
    assert generator.generate("the", 40, temperature=5e-324, top_k=3, seed=0) == greedy


def test_fields_that_cannot_be_printed_are_still_one_line_errors():
    for value in (10**5000, _deep_list(100_000), [10**5000]):
        fields = Fields({"a": value}, "latest.pt")
        for read, bounds in ((fields.text, ()), (fields.integer, (0, 1)), (fields.number, (0, 1))):
            with pytest.raises(PlaygroundError, match=r"'a' is .{1,60}; it must be") as caught:
                read("a", *bounds)
            assert "\n" not in str(caught.value)
    with pytest.raises(PlaygroundError, match="'a' is 1000"):
        Fields({"a": 10**400}, "model.json").number("a", 0, 1)


def test_real_checkpoints_fit_their_budget(run_dir, tmp_path):
    """The budget that refuses oversized files leaves room for what training writes, at the CPU preset's size."""
    model, vocab, _ = ckpt.load_model(run_dir)
    assert vocab.size == 29 and model.num_parameters() == 2389
    config = CharLSTMConfig(65, 64, 384, 2)
    model = CharLSTM(config)
    optimizer = make_optimizer(model, TrainPreset())
    model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))[1].backward()
    optimizer.step()
    ckpt.save_latest(tmp_path, model, optimizer, {"step": 1, "corpus": "x" * limits.MAX_PATH})
    assert (tmp_path / ckpt.LATEST_FILE).stat().st_size <= ckpt.checkpoint_budget(config.parameter_shapes())
