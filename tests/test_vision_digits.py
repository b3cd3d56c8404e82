"""vision.digits: the IDX reader, the data checks, the download cache and the classifier CLI.

Every file is written by the tests themselves (no network); the one test on the real MNIST t10k set in
../shared/data/mnist skips when it is missing.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.errors import PlaygroundError
from tests.conftest import ROOT, assert_user_error, default_sigint, last_json
from vision.idx import read_idx, write_idx
from vision.mnist import CACHE_ENV, MIRROR_ENV, PARTS, ensure_downloaded, load_digits, standard_name

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
NAMES = {part: standard_name(part) for part in PARTS}


def run_digits(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m vision.digits ARGS` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "vision.digits", *args], cwd=ROOT, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=300, preexec_fn=default_sigint,
    )  # fmt: skip


def synthetic_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An easy 10-class task: class k is a bright 5x5 block at its own place (2 rows of 5), jittered, on noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 80, (count, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels):
        row = 4 + 12 * (label // 5) + rng.integers(-1, 2)
        col = 1 + 5 * (label % 5) + rng.integers(0, 2)
        image[row : row + 5, col : col + 5] = 255
    return images, labels


def write_set(folder: Path, train: int = 600, test: int = 200, names: dict[str, str] | None = None) -> Path:
    """Write a synthetic MNIST-format folder (gzipped, standard names unless `names` says otherwise)."""
    names = names or NAMES
    for kind, count, seed in (("train", train, 0), ("test", test, 1)):
        images, labels = synthetic_digits(count, seed)
        write_idx(folder / names[f"{kind} images"], images)
        write_idx(folder / names[f"{kind} labels"], labels)
    return folder


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path: Path, suffix: str, dtype: type) -> None:
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / f"data.idx{suffix}"
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    back = read_idx(path, ndim=3)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, array)


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.lists(st.integers(0, 5), min_size=1, max_size=4).map(tuple)), st.booleans())
def test_idx_round_trip_any_shape(tmp_path_factory: pytest.TempPathFactory, array: np.ndarray, gz: bool) -> None:
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    assert np.array_equal(read_idx(path), array) and read_idx(path).shape == array.shape


def test_reads_the_standard_mnist_header(tmp_path: Path) -> None:
    # The first bytes of the real train-labels file: magic 2049, 60000 items, then labels 5 0 4.
    (tmp_path / "labels").write_bytes(bytes.fromhex("00000801 0000ea60") + bytes([5, 0, 4]) + bytes(59997))
    labels = read_idx(tmp_path / "labels", ndim=1)
    assert labels.shape == (60000,) and labels[:3].tolist() == [5, 0, 4]


def test_alternative_names_raw_files_and_holdout(tmp_path: Path) -> None:
    names = {"test images": "t10k-images.idx3-ubyte", "test labels": "t10k-labels.idx1-ubyte"}
    images, labels = synthetic_digits(50, 1)
    write_idx(tmp_path / names["test images"], images)
    write_idx(tmp_path / names["test labels"], labels)
    digits = load_digits(tmp_path, holdout=10)
    assert digits.train_images.shape == (40, 28, 28) and digits.test_labels.tolist() == labels[40:].tolist()
    assert "holdout" in digits.split and digits.train_labels.dtype == np.int64


def corrupt(folder: Path, case: str) -> None:
    """Damage a synthetic folder in one of the ways a user's files can be damaged."""
    images = folder / NAMES["train images"]
    labels = folder / NAMES["train labels"]
    raw = gzip.decompress(images.read_bytes())
    if case == "bad magic":
        images.write_bytes(gzip.compress(b"\x12\x34" + raw[2:]))
    elif case == "truncated":
        images.write_bytes(gzip.compress(raw[:-100]))
    elif case == "truncated header":
        images.write_bytes(gzip.compress(raw[:9]))
    elif case == "huge header":
        images.write_bytes(gzip.compress(raw[:4] + b"\xff" * 12 + raw[16:]))
    elif case == "damaged gzip":
        images.write_bytes(images.read_bytes()[:200])
    elif case == "count mismatch":
        write_idx(labels, synthetic_digits(599, 0)[1])
    elif case == "label out of range":
        write_idx(labels, np.full(600, 11, np.uint8))
    elif case == "labels in place of images":
        images.write_bytes(labels.read_bytes())
    elif case == "missing file":
        labels.unlink()


REFUSALS = {
    "bad magic": ("train-images-idx3-ubyte.gz", "not an IDX file"),
    "truncated": ("train-images-idx3-ubyte.gz", "truncated"),
    "truncated header": ("train-images-idx3-ubyte.gz", "truncated"),
    "huge header": ("train-images-idx3-ubyte.gz", "truncated"),
    "damaged gzip": ("train-images-idx3-ubyte.gz", "damaged gzip"),
    "count mismatch": ("599 labels", "600 images"),
    "label out of range": ("label 11", "0-9"),
    "labels in place of images": ("train-images-idx3-ubyte.gz", "1-dimensional"),
    "missing file": ("no train labels file", "train-labels-idx1-ubyte.gz"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_damaged_files_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    corrupt(write_set(tmp_path / "mnist"), case)
    assert_user_error(run_digits("--data", str(tmp_path / "mnist"), "--runs-dir", str(tmp_path / "runs")),
                      *REFUSALS[case])  # fmt: skip
    assert not (tmp_path / "runs").exists()  # refused before any run folder


def test_missing_folder_and_test_files_only(tmp_path: Path) -> None:
    assert_user_error(run_digits("--data", str(tmp_path / "nowhere")), "no such folder")
    assert_user_error(run_digits("--data", __file__), "not a folder")
    folder = write_set(tmp_path / "mnist")
    for part in ("train images", "train labels"):
        (folder / NAMES[part]).unlink()
    assert_user_error(run_digits("--data", str(folder)), "t10k test files only", "--holdout")
    assert_user_error(run_digits("--data", str(folder), "--holdout", "200"), "--holdout 200", "between 1 and 199")


def test_download_once_into_the_cache(tmp_path: Path) -> None:
    mirror = write_set(tmp_path / "mirror", train=20, test=10)
    cache = ensure_downloaded(tmp_path / "cache", mirror=mirror.as_uri())
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES.values())
    for file in mirror.iterdir():
        file.unlink()
    assert ensure_downloaded(tmp_path / "cache", mirror=mirror.as_uri()) == cache  # cached: no second fetch
    assert len(load_digits(cache).train_images) == 20
    with pytest.raises(PlaygroundError, match="--data FOLDER"):
        ensure_downloaded(tmp_path / "other", mirror=mirror.as_uri())
    assert not list((tmp_path / "other").iterdir())  # no partial file left behind


def test_unreachable_mirror_is_one_line(tmp_path: Path) -> None:
    env = {CACHE_ENV: str(tmp_path), MIRROR_ENV: (tmp_path / "offline").as_uri()}
    assert_user_error(run_digits(env=env), "cannot download", "--data FOLDER")


@pytest.mark.slow
def test_learns_an_easy_task_and_saves_the_run(tmp_path: Path) -> None:
    folder = write_set(tmp_path / "mnist")
    completed = run_digits("--data", str(folder), "--network", "minatar", "--epochs", "3", "--batch-size", "32",
                           "--runs-dir", str(tmp_path / "runs"), "--json")  # fmt: skip
    result = last_json(completed)
    assert result["test_accuracy"] >= 0.95, result  # chance is 10%
    run_dir = Path(result["run_dir"])
    assert run_dir.parent == tmp_path / "runs" / "digits" / "minatar"
    assert {"model.pt", "config.json", "command.txt"} <= {p.name for p in run_dir.iterdir()}
    assert any(p.name.startswith("events.out.tfevents") for p in run_dir.iterdir())
    assert json.loads((run_dir / "config.json").read_text())["config"]["network"] == "minatar"


PLUGIN = """
import torch
from torch import nn

class TinyNet(nn.Module):
    def __init__(self, observation_space):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(observation_space.shape[0], 8, 5, stride=2), nn.ReLU(), nn.Flatten())

    def forward(self, x):
        return self.net(x)
"""


@pytest.mark.slow
def test_plugged_in_network_and_nature_upsampling(tmp_path: Path) -> None:
    (tmp_path / "my_nets.py").write_text(PLUGIN)
    folder = write_set(tmp_path / "mnist", train=300, test=100)
    for network in (f"{tmp_path / 'my_nets.py'}:TinyNet", "nature"):
        completed = run_digits("--data", str(folder), "--network", network, "--epochs", "2", "--batch-size", "32",
                               "--runs-dir", str(tmp_path / "runs"), "--json", "--no-progress")  # fmt: skip
        assert last_json(completed)["test_accuracy"] >= 0.5, completed.stdout
    assert_user_error(run_digits("--data", str(folder), "--network", "natur"), "Did you mean nature?")


def test_data_module_does_not_import_torch() -> None:
    code = "import sys, vision.digits, vision.mnist; vision.digits.build_parser(); print('torch' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"


def test_random_shift_moves_each_image_within_bounds() -> None:
    import torch

    from vision.classify import fitting_size, random_shift

    images = torch.zeros(64, 1, 28, 28, dtype=torch.uint8)
    images[:, :, 14, 14] = 255
    shifted = random_shift(images, 2)
    assert shifted.shape == images.shape and shifted.is_contiguous() and shifted.stride(1) == 28 * 28
    positions = {tuple(torch.nonzero(image[0]).flatten().tolist()) for image in shifted}
    assert len(positions) > 5 and all(12 <= r <= 16 and 12 <= c <= 16 for r, c in positions)
    assert fitting_size("nature", 28, 28) == 84 and fitting_size("impala", 28, 28) == 28


@pytest.mark.slow
@pytest.mark.skipif(not MNIST.is_dir(), reason=f"{MNIST} is missing (the shared MNIST t10k copy)")
def test_real_mnist_holdout(tmp_path: Path) -> None:
    completed = run_digits("--data", str(MNIST), "--holdout", "--train-limit", "3000", "--test-limit", "500",
                           "--network", "minatar", "--epochs", "2", "--batch-size", "64", "--runs-dir", str(tmp_path),
                           "--json")  # fmt: skip
    result = last_json(completed)
    assert result["test_accuracy"] >= 0.8 and result["train_images"] == 3000, result
    assert "not the standard MNIST test" in result["split"]


def test_mlp_is_the_seed_tutorials_perceptron() -> None:
    import torch
    from torch import nn

    from vision.classify import NETWORKS, ClassifierConfig, DigitClassifier, fitting_size
    from vision.digits import build_parser

    assert "mlp" in NETWORKS and fitting_size("mlp", 28, 28) == 28  # it takes the digits as they are
    assert all(name in build_parser().format_help() for name in NETWORKS)  # the torch-free help names them all
    model = DigitClassifier(ClassifierConfig("mlp", 28))
    layers = [*model.features.layers, model.head]
    assert [type(layer) for layer in layers] == [nn.Flatten, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    hidden_layer, dropout, head = layers[1], layers[3], layers[4]
    assert (hidden_layer.in_features, hidden_layer.out_features) == (784, 128)
    assert (head.in_features, head.out_features) == (128, 10) and dropout.p == 0.2
    assert sum(p.numel() for p in model.parameters()) == 101_770  # as the tutorial's model summary says

    images = torch.randint(0, 256, (256, 1, 28, 28), dtype=torch.uint8).float() / 255.0
    with torch.no_grad():
        hidden = torch.relu(hidden_layer(images.flatten(1)))
        active = hidden > 0
        torch.manual_seed(0)
        model.train()
        dropped = model.features(images)[active]
        zeroed = dropped == 0
        assert 0.17 < zeroed.float().mean() < 0.23, zeroed.float().mean()  # ~16,000 active units: +-0.003 is 1 sd
        torch.testing.assert_close(dropped[~zeroed], hidden[active][~zeroed] / 0.8)  # the kept ones scaled up
        model.eval()
        torch.testing.assert_close(model.features(images), hidden)  # no dropout when evaluating
        assert torch.equal(model(images)[0], model(images)[0])


@pytest.mark.slow
def test_mistyped_mlp_is_one_line(tmp_path: Path) -> None:
    folder = write_set(tmp_path / "mnist", train=20, test=10)
    assert_user_error(run_digits("--data", str(folder), "--network", "MLPP", "--runs-dir", str(tmp_path / "runs")),
                      "Did you mean mlp?", "nature, impala, minatar, mlp")  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not MNIST.is_dir(), reason=f"{MNIST} is missing (the shared MNIST t10k copy)")
def test_mlp_learns_real_digits_and_its_saved_model_reloads(tmp_path: Path) -> None:
    import torch
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from core.checkpoint import load_state
    from vision.classify import ClassifierConfig, DigitClassifier, accuracy, to_device

    completed = run_digits("--data", str(MNIST), "--holdout", "--network", "mlp", "--epochs", "2",
                           "--runs-dir", str(tmp_path / "runs"), "--json", "--no-progress")  # fmt: skip
    result = last_json(completed)
    assert result["test_accuracy"] >= 0.85 and result["test_images"] == 2000, result  # chance is 10%
    run_dir = Path(result["run_dir"])
    assert run_dir.parent == tmp_path / "runs" / "digits" / "mlp"
    assert json.loads((run_dir / "config.json").read_text())["config"]["image_size"] == 28  # not resized
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    assert [round(e.value, 4) for e in events.Scalars("eval/accuracy")][-1] == round(result["test_accuracy"], 4)
    assert len(events.Scalars("eval/accuracy")) == 2 and events.Scalars("train/loss")

    state = load_state(run_dir / "model.pt", "digit classifier")
    model = DigitClassifier(ClassifierConfig(**state["config"]))
    model.load_state_dict(state["model"])
    digits = load_digits(MNIST, holdout=2000)
    test_set = to_device(digits.test_images, digits.test_labels, torch.device("cpu"))
    assert accuracy(model, *test_set) == result["correct"]  # the reloaded model answers exactly as the saved one
