"""Tests for textgen: vocabulary, corpus checks, training, sampling, resuming, TensorBoard, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import PlaygroundError
from tests.conftest import default_sigint
from textgen import checkpoint as ckpt
from textgen.corpus import CACHE_ENV, read_corpus, resolve_corpus, split_corpus
from textgen.data import StreamBatcher, evaluate
from textgen.generator import Generator, load_generator
from textgen.presets import TrainPreset
from textgen.train import train
from textgen.vocab import Vocabulary

ROOT = Path(__file__).resolve().parents[1]
SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"
SENTENCE = "the quick brown fox jumps over the lazy dog.\n"
TINY = TrainPreset(
    embed_size=16, hidden_size=64, num_layers=1, batch_size=8, seq_len=32, lr=1e-2,
    warmup_steps=5, minutes=None, steps=150, eval_interval=50, eval_chars=0,
)  # fmt: skip


def _tiny_train(corpus: Path, runs: Path, **overrides) -> object:
    preset = TINY.with_overrides(**overrides)
    return train(str(corpus), preset, torch.device("cpu"), runs, progress=False, log=lambda _: None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, object]:
    """A model that learned the repeated sentence by heart."""
    folder = tmp_path_factory.mktemp("textgen")
    corpus = folder / "tiny.txt"
    corpus.write_text(SENTENCE * 40, encoding="utf-8")
    result = _tiny_train(corpus, folder / "runs")
    return folder / "runs", result


# ----- vocabulary -----


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_vocab_round_trip(text):
    vocab = Vocabulary.from_text(text)
    assert vocab.decode(vocab.encode(text)) == text
    assert vocab.size == len(set(text))


def test_vocab_file_round_trip_and_fingerprint(tmp_path):
    vocab = Vocabulary.from_text("ROMEO: wherefore art thou?\n")
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab
    data = json.loads((tmp_path / "vocab.json").read_text())
    data["chars"][0], data["chars"][1] = data["chars"][1], data["chars"][0]
    (tmp_path / "vocab.json").write_text(json.dumps(data))
    with pytest.raises(PlaygroundError, match="corrupt"):
        Vocabulary.load(tmp_path / "vocab.json")


def test_vocab_names_unknown_characters():
    vocab = Vocabulary.from_text("abc")
    with pytest.raises(PlaygroundError, match=r"'x', 'Z'"):
        vocab.encode("abxZx")


# ----- corpus -----


def test_corpus_errors(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "latin1.txt").write_bytes("caf\u00e9 au lait".encode("latin-1"))
    with pytest.raises(PlaygroundError, match="empty"):
        read_corpus(tmp_path / "empty.txt")
    with pytest.raises(PlaygroundError, match="binary"):
        read_corpus(tmp_path / "binary.bin")
    with pytest.raises(PlaygroundError, match="not UTF-8"):
        read_corpus(tmp_path / "latin1.txt")
    with pytest.raises(PlaygroundError, match="does not exist"):
        read_corpus(tmp_path / "missing.txt")
    with pytest.raises(PlaygroundError, match="too short"):
        split_corpus("x" * 60, seq_len=64)
    train_part, val_part = split_corpus("y" * 1000, seq_len=64)
    assert len(train_part) == 900 and len(val_part) == 100


def test_shakespeare_from_cache_and_no_network(tmp_path, monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "empty-cache"))
    with pytest.raises(PlaygroundError, match="--corpus path/to/tinyshakespeare.txt"):
        resolve_corpus("shakespeare")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    (tmp_path / "tinyshakespeare.txt").write_text("First Citizen:\n", encoding="utf-8")
    assert resolve_corpus("shakespeare") == tmp_path / "tinyshakespeare.txt"
    assert resolve_corpus("some/file.txt") == Path("some/file.txt")


@pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"{SHAKESPEARE} is missing (the shared Tiny Shakespeare copy)")
def test_tiny_shakespeare_split():
    text = read_corpus(SHAKESPEARE)
    train_part, val_part = split_corpus(text, 64)
    assert len(text) == 1_115_394 and Vocabulary.from_text(text).size == 65
    assert len(val_part) == 111_539 and train_part + val_part == text


def test_stream_batcher_continues_streams():
    data = torch.arange(1000)
    batcher = StreamBatcher(data, batch_size=4, seq_len=10)
    x0, y0, fresh0 = batcher.batch(0)
    x1, _, fresh1 = batcher.batch(1)
    assert fresh0 and not fresh1
    assert torch.equal(y0, x0 + 1) and torch.equal(x1[:, 0], x0[:, -1] + 1)
    last = batcher.chunks_per_epoch - 1
    assert int(batcher.batch(last)[1].max()) < 1000 and batcher.batch(last + 1)[2]


# ----- training and sampling -----


def test_overfits_tiny_corpus_and_reproduces_it_greedily(trained):
    runs, result = trained
    generator = load_generator(runs_dir=runs, device="cpu")
    # One stream over the whole text: only the very first character comes without context.
    ids = torch.tensor(generator.vocab.encode(SENTENCE * 40))
    loss = evaluate(generator.model, ids, seq_len=32, max_streams=1)
    assert loss < 0.02, f"training-text loss {loss:.4f} nats/char after {result.step} steps"
    text = generator.generate("the quick", length=len(SENTENCE) * 2, temperature=0)
    assert ("the quick" + text).startswith((SENTENCE * 3)[: len(SENTENCE) * 2])


def test_sampling_determinism(trained):
    runs, _ = trained
    generator = load_generator(runs_dir=runs, device="cpu")
    assert generator.generate("t", 60, temperature=0) == generator.generate("t", 60, temperature=0)
    hot = [generator.generate("t", 80, temperature=1.5, seed=seed) for seed in (0, 0, 1, 2)]
    assert hot[0] == hot[1]
    assert len(set(hot)) > 1, "different seeds should give different samples at a high temperature"
    assert len(generator.generate("t", 7, temperature=1.0, top_k=1)) == 7
    assert generator.generate("t", 40, temperature=1.0, top_k=1) == generator.generate("t", 40, temperature=0)


def test_generator_api_errors(trained):
    runs, _ = trained
    generator = load_generator(runs_dir=runs, device="cpu")
    assert isinstance(generator, Generator)
    with pytest.raises(PlaygroundError, match="'Q'"):
        generator.generate("Queen", 10)
    with pytest.raises(PlaygroundError, match="--temperature"):
        generator.generate("t", 10, temperature=-0.5)
    with pytest.raises(PlaygroundError, match="--length"):
        generator.generate("t", 0)
    with pytest.raises(PlaygroundError, match="train"):
        load_generator(runs_dir=runs.parent / "nothing-here")


def test_resume_continues_step_count_and_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    corpus = tmp_path / "tiny.txt"
    corpus.write_text(SENTENCE * 20, encoding="utf-8")
    first = _tiny_train(corpus, tmp_path / "runs", steps=20, eval_interval=10)
    assert first.step == 20
    latest = torch.load(first.run_dir / ckpt.LATEST_FILE, weights_only=True)
    assert latest["trainer"]["step"] == 20 and latest["optimizer"]["state"]
    preset = TrainPreset(minutes=None, steps=15)
    second = train("ignored", preset, torch.device("cpu"), tmp_path / "runs", first.run_dir, progress=False)
    assert second.run_dir == first.run_dir and second.step == 35
    assert json.loads(json.dumps(second.best_val)) <= first.best_val

    events = EventAccumulator(str(first.run_dir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    train_steps = [event.step for event in events.Scalars("train/loss")]
    assert train_steps == sorted(set(train_steps)) and train_steps[-1] == 30
    assert [event.step for event in events.Scalars("eval/loss")][-1] == 35
    text_tags = [tag for tag in events.Tags()["tensors"] if tag.startswith("eval/sample_")]
    assert text_tags, events.Tags()
    sample = events.Tensors(text_tags[0])[-1].tensor_proto.string_val[0].decode()
    assert len(sample) > 100


# ----- the command line -----


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), CACHE_ENV: str(cwd / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "textgen", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _assert_user_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"", "empty"), (bytes(range(256)), "binary"), (b"\xff\xfe bad", "not UTF-8"), (b"short text", "too short")],
)
def test_cli_bad_corpus(tmp_path, content, fragment):
    (tmp_path / "corpus.txt").write_bytes(content)
    _assert_user_error(_cli("train", "--corpus", "corpus.txt", "--steps", "2", cwd=tmp_path), fragment)


@pytest.mark.slow
def test_cli_sample_bad_inputs(trained, tmp_path):
    runs, result = trained
    run = str(result.run_dir)
    _assert_user_error(_cli("sample", "--run", run, "--prime", "ROMEO:", cwd=tmp_path), "'R', 'O', 'M', 'E'")
    _assert_user_error(_cli("sample", "--run", run, "--temperature", "0.5", "-1", cwd=tmp_path), "-1")
    _assert_user_error(_cli("sample", "--run", run, "--length", "0", cwd=tmp_path), "--length 0")
    _assert_user_error(_cli("sample", "--runs-dir", str(tmp_path / "none"), cwd=tmp_path), "Train one first")
    _assert_user_error(_cli("sample", "--run", str(tmp_path / "nope"), cwd=tmp_path), "does not exist")
    ok = _cli("sample", "--run", run, "--prime", "the", "--length", "30", "--temperature", "0", "1", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("----- temperature") == 2 and "the quick brown fox" in ok.stdout


@pytest.mark.slow
def test_cli_broken_checkpoints(trained, tmp_path):
    import shutil

    _, result = trained
    missing, corrupt, mismatch = (tmp_path / name for name in ("missing", "corrupt", "mismatch"))
    for folder in (missing, corrupt, mismatch):
        shutil.copytree(result.run_dir, folder)
    (missing / ckpt.BEST_FILE).unlink()
    _assert_user_error(_cli("sample", "--run", str(missing), cwd=tmp_path), "does not exist")
    data = (corrupt / ckpt.BEST_FILE).read_bytes()
    (corrupt / ckpt.BEST_FILE).write_bytes(data[: len(data) // 2])
    _assert_user_error(_cli("sample", "--run", str(corrupt), cwd=tmp_path), "corrupt")
    Vocabulary.from_text("only a few letters").save(mismatch / ckpt.VOCAB_FILE)
    _assert_user_error(_cli("sample", "--run", str(mismatch), cwd=tmp_path), "does not match")


@pytest.mark.slow
def test_cli_train_resume_and_ctrl_c(tmp_path):
    (tmp_path / "corpus.txt").write_text(SENTENCE * 400, encoding="utf-8")
    args = ["train", "--corpus", "corpus.txt", "--hidden", "32", "--layers", "1", "--no-progress"]
    process = subprocess.Popen(
        [sys.executable, "-m", "textgen", *args, "--minutes", "2"], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not list(tmp_path.glob("runs/textgen/*/events.out.tfevents.*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)  # let it train a few steps
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    (run,) = tmp_path.glob("runs/textgen/*")
    saved = torch.load(run / ckpt.LATEST_FILE, weights_only=True)["trainer"]["step"]
    assert saved > 0 and (run / ckpt.BEST_FILE).is_file()

    resumed = _cli("train", "--resume", "--steps", "5", "--no-progress", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert torch.load(run / ckpt.LATEST_FILE, weights_only=True)["trainer"]["step"] == saved + 5
    assert f"step {saved + 5}:" in resumed.stdout


def test_cli_help_does_not_import_torch(tmp_path):
    code = "import sys; from textgen.cli import main; import textgen; print('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
