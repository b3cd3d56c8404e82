"""Attacker tests for the digit data reader: crafted IDX files end in one line, in bounded memory, running no code.

Every hostile file is made here, small: the gzip bomb repeats one compressed block of zeros, so a 2 GiB payload
is written as ~2 MB without ever being held. CLI runs go through `tests.hostile.run_capped` (a fresh process
under an address-space cap, with its own peak RSS); the property test calls `read_idx` in-process.
"""

from __future__ import annotations

import gzip
import json
import struct
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import PlaygroundError
from tests.hostile import CappedRun, assert_refused_in_one_line, run_capped, write_payload_module
from vision.idx import MAX_PAYLOAD_BYTES, read_idx, write_idx
from vision.mnist import IMAGES, LABELS

IMAGES_GZ = "t10k-images-idx3-ubyte.gz"
LABELS_GZ = "t10k-labels-idx1-ubyte.gz"
BOMB_ZEROS = 2 * 2**30  # the payload that follows the header: 2 GiB of zeros, ~2 MB compressed
MARGIN_MB = 200  # a refusal may use this much more than refusing a non-IDX file (all the Python it needs)


def header(shape: tuple[int, ...], code: int = 0x08) -> bytes:
    """An IDX header: magic 00 00 <code> <ndim>, then the sizes as big-endian uint32."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def write_gzip_bomb(path: Path, head: bytes, zeros: int, block: int = 2**24) -> None:
    """A valid gzip file of `head` and `zeros` zero bytes, built from one compressed block repeated.

    A full flush resets deflate's state, so every block of zeros compresses to the same bytes; the gzip
    framing (header, CRC-32 and length) is written by hand, so the test never holds more than one block.
    """
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    repeated = deflate.compress(bytes(block)) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + start)  # gzip header: deflate, no name, mtime 0
        for _ in range(zeros // block):
            out.write(repeated)
            crc = zlib.crc32(bytes(block), crc)
        out.write(deflate.compress(bytes(zeros % block)) + deflate.flush())
        crc = zlib.crc32(bytes(zeros % block), crc)
        out.write(struct.pack("<II", crc, (len(head) + zeros) & 0xFFFFFFFF))


# `python -m vision.digits ARGS`, which at exit writes its own peak RSS (VmHWM) to the file named first. run_capped
# forks (for its preexec_fn), and wait4's ru_maxrss keeps the test process's RSS from before the exec as a floor;
# VmHWM belongs to the program after the exec, so it measures the reader alone.
AS_MODULE_WITH_PEAK = """
import atexit, runpy, sys
from pathlib import Path
out = Path(sys.argv.pop(1))
status = Path("/proc/self/status")
atexit.register(lambda: status.exists() and out.write_text(status.read_text().split("VmHWM:")[1].split()[0]))
runpy.run_module("vision.digits", run_name="__main__", alter_sys=True)
"""


def digits_cli(folder: Path, *extra: str) -> CappedRun:
    """`python -m vision.digits --data FOLDER --holdout 10 ...` (the t10k files only), capped; its own peak RSS."""
    with tempfile.TemporaryDirectory() as scratch:
        peak = Path(scratch) / "peak_kb"
        run = run_capped(["-c", AS_MODULE_WITH_PEAK, str(peak), "--data", str(folder), "--holdout", "10",
                          "--no-progress", "--runs-dir", str(folder / "runs"), *extra])  # fmt: skip
        return replace(run, peak_rss_mb=int(peak.read_text()) / 1024) if peak.exists() else run


def refused(run: CappedRun, *fragments: str) -> None:
    """Exit 2 with one `error:` line naming every fragment, and nothing else on stderr (no warnings either)."""
    assert_refused_in_one_line(run, *fragments)
    assert len([line for line in run.stderr.splitlines() if line.strip()]) == 1, run.stderr[-3000:]


def good_pair(count: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random images (incompressible: a cut gzip stays within deflate's ratio) and labels 0-9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), rng.integers(0, 10, count, dtype=np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    """An array as raw IDX bytes (uint8)."""
    return header(array.shape) + array.tobytes()


@pytest.fixture(scope="module")
def normal_refusal(tmp_path_factory: pytest.TempPathFactory) -> CappedRun:
    """The CLI refusing a non-IDX file: the memory any refusal needs (measured: ~28 MB)."""
    folder = tmp_path_factory.mktemp("normal")
    (folder / IMAGES_GZ).write_bytes(b"this is not an IDX file")
    (folder / LABELS_GZ).write_bytes(b"this is not an IDX file")
    run = digits_cli(folder)
    refused(run, IMAGES_GZ, "not an IDX file")
    return run


def test_gzip_bomb_is_refused_in_bounded_memory(tmp_path: Path, normal_refusal: CappedRun) -> None:
    # A real header (60,000 28x28 images: 47 MB) followed by 2 GiB of zeros; the labels match, so the body
    # is read. Before the streaming reader this peaked at 4,127 MB; now at the 47 MB payload plus ~2 MB.
    write_gzip_bomb(tmp_path / IMAGES_GZ, header((60000, 28, 28)), BOMB_ZEROS)
    assert (tmp_path / IMAGES_GZ).stat().st_size < 3 * 2**20
    write_idx(tmp_path / LABELS_GZ, np.zeros(60000, np.uint8))
    run = digits_cli(tmp_path)
    refused(run, IMAGES_GZ, "longer than its header says", "(60000, 28, 28)")
    payload_mb = 60000 * 28 * 28 / 2**20
    assert run.peak_rss_mb < normal_refusal.peak_rss_mb + payload_mb + MARGIN_MB, run.peak_rss_mb


def test_gzip_bomb_with_unpaired_labels_is_refused_before_its_body(tmp_path: Path, normal_refusal: CappedRun) -> None:
    write_gzip_bomb(tmp_path / IMAGES_GZ, header((60000, 28, 28)), BOMB_ZEROS)
    write_idx(tmp_path / LABELS_GZ, np.zeros(10000, np.uint8))
    run = digits_cli(tmp_path)
    refused(run, "10,000 labels", "60,000 images")
    assert run.peak_rss_mb < normal_refusal.peak_rss_mb + MARGIN_MB, run.peak_rss_mb  # no body read at all


def test_gzip_bomb_past_the_size_cap_is_refused_before_its_body(tmp_path: Path, normal_refusal: CappedRun) -> None:
    # 32,769 images of 256x256 pixels: within the per-axis bounds and deflate's ratio for a 3 MB file, but a
    # image (64 KiB) past the 2 GiB cap on one file's values, so nothing is decompressed after the header.
    shape = (MAX_PAYLOAD_BYTES // (256 * 256) + 1, 256, 256)
    write_gzip_bomb(tmp_path / IMAGES_GZ, header(shape), 3 * 2**30)
    write_idx(tmp_path / LABELS_GZ, np.zeros(shape[0], np.uint8))
    run = digits_cli(tmp_path)
    refused(run, IMAGES_GZ, f"{MAX_PAYLOAD_BYTES:,} bytes (2 GiB)")
    assert run.peak_rss_mb < normal_refusal.peak_rss_mb + MARGIN_MB, run.peak_rss_mb


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def cut_gzip(images: np.ndarray) -> bytes:
    """A gzip file cut in the middle of its compressed stream."""
    data = gz(idx_bytes(images))
    return data[: len(data) // 2]


def bad_crc(images: np.ndarray) -> bytes:
    """A gzip file whose stored CRC-32 does not match its content."""
    data = bytearray(gz(idx_bytes(images)))
    data[-8] ^= 0xFF
    return bytes(data)


# Each case: the image file's content (from good random images) and fragments its one-line refusal must name.
IMAGE_CASES: dict[str, tuple[Callable[[np.ndarray], bytes], tuple[str, ...]]] = {
    "huge dims, tiny gzip body": (lambda a: gz(header((1_000_000, 256, 256)) + bytes(100)), ("truncated", "1032x")),
    "huge dims, tiny raw body": (lambda a: header((1_000_000, 256, 256)) + bytes(100), ("truncated",)),
    "uint32 product wraps to 0": (lambda a: header((65536, 65536, 1)), ("truncated", "4,294,967,312")),
    "uint32 product wraps to the body": (lambda a: header((65537, 65536, 1)) + bytes(65536), ("truncated",)),
    "all sizes 2**32-1": (lambda a: gz(header((2**32 - 1,) * 3)), ("truncated",)),
    "too many rows within the file": (lambda a: header((1, 300, 28)) + bytes(300 * 28), ("300 rows", "1-256")),
    "four dimensions": (lambda a: gz(header((50, 28, 28, 1)) + a.tobytes()), ("4-dimensional", "3 dimensions")),
    "float64 images": (lambda a: gz(header((50, 28, 28), 0x0E) + bytes(50 * 28 * 28 * 8)), ("float64", "0x0e")),
    "trailing garbage after the gzip stream": (lambda a: gz(idx_bytes(a)) + b"garbage", ("second gzip member",)),
    "trailing zeros after the gzip stream": (lambda a: gz(idx_bytes(a)) + bytes(4096), ("second gzip member",)),
    "a second gzip member with data": (lambda a: gz(idx_bytes(a)) + gz(bytes(10)), ("second gzip member",)),
    "an empty second gzip member": (lambda a: gz(idx_bytes(a)) + gz(b""), ("second gzip member",)),
    "header and body in two members": (lambda a: gz(idx_bytes(a)[:16]) + gz(a.tobytes()), ("second gzip member",)),
    "raw file with trailing bytes": (lambda a: idx_bytes(a) + b"x", ("longer than its header says",)),
    "gzip body one byte short": (lambda a: gz(idx_bytes(a)[:-1]), ("truncated", "39,215 bytes")),
    "gzip body one byte long": (lambda a: gz(idx_bytes(a) + b"\x00"), ("longer than its header says",)),
    "gzip cut mid-stream": (cut_gzip, ("damaged gzip", "truncated")),
    "gzip with a wrong CRC": (bad_crc, ("damaged gzip", "incorrect data check")),
    "gzip magic, then nonsense": (lambda a: b"\x1f\x8b" + bytes(range(256)) * 4, ("damaged gzip",)),
    "empty file": (lambda a: b"", ("not an IDX file", "nothing")),
}


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_crafted_image_file_is_refused_in_one_line(tmp_path: Path, case: str, normal_refusal: CappedRun) -> None:
    images, labels = good_pair()
    make, fragments = IMAGE_CASES[case]
    name = IMAGES_GZ if "raw" not in case else IMAGES_GZ.removesuffix(".gz")
    (tmp_path / name).write_bytes(make(images))
    write_idx(tmp_path / LABELS_GZ, labels)
    run = digits_cli(tmp_path)
    refused(run, name, *fragments)
    assert run.peak_rss_mb < normal_refusal.peak_rss_mb + MARGIN_MB, run.peak_rss_mb
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("shape, fragment", [((100, 0, 0), "0 rows"), ((100, 28, 0), "0 columns"),
                                             ((0, 28, 28), "0 images")])  # fmt: skip
def test_zero_sizes_with_matching_labels_are_one_line(tmp_path: Path, shape: tuple[int, ...], fragment: str) -> None:
    # With as many labels as declared images: before, (100, 0, 0) reached torch and ended in a RuntimeError.
    (tmp_path / IMAGES_GZ).write_bytes(gz(header(shape)))
    write_idx(tmp_path / LABELS_GZ, np.zeros(shape[0], np.uint8))
    refused(digits_cli(tmp_path), IMAGES_GZ, str(shape), fragment, "1,000,000 x 256 x 256")


def test_mismatched_counts_and_bad_labels_are_one_line(tmp_path: Path) -> None:
    images, labels = good_pair()
    write_idx(tmp_path / IMAGES_GZ, images)
    write_idx(tmp_path / LABELS_GZ, labels[:49])
    refused(digits_cli(tmp_path), "49 labels", "50 images", "not a pair")
    (tmp_path / LABELS_GZ).write_bytes(gz(header((50, 1)) + bytes(50)))
    refused(digits_cli(tmp_path), LABELS_GZ, "2-dimensional", "1 dimensions")
    (tmp_path / LABELS_GZ).write_bytes(gz(header((2_000_000,)) + bytes(2_000_000)))
    refused(digits_cli(tmp_path), LABELS_GZ, "2,000,000 labels", "1-1,000,000")


def test_bad_options_are_one_line(tmp_path: Path) -> None:
    images, labels = good_pair()
    write_idx(tmp_path / IMAGES_GZ, images)
    write_idx(tmp_path / LABELS_GZ, labels)
    for extra, fragment in ((["--holdout", "x"], "--holdout"), (["--epochs", "0"], "--epochs"),
                            (["--seed", "-1"], "--seed -1"), (["--image-size", "100000"], "--image-size"),
                            (["--shift", "1000"], "--shift 1000"), (["--lr", "nan"], "--lr nan")):  # fmt: skip
        refused(digits_cli(tmp_path, *extra), fragment)


@pytest.mark.slow
def test_data_folder_files_never_name_code(tmp_path: Path) -> None:
    # A data folder that also holds a module, a package marker and a config naming that module: the loader
    # reads only the four IDX names, so the module never runs; only --network on the command line names code.
    marker = tmp_path / "marker"
    folder = tmp_path / "data"
    write_payload_module(folder, marker, "evil")
    write_payload_module(folder, marker, "sitecustomize")
    (folder / "__init__.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n")
    (folder / "config.json").write_text(json.dumps({"config": {"network": f"{folder / 'evil.py'}:Net"}}))
    images, labels = good_pair(40)
    write_idx(folder / IMAGES_GZ, images)
    write_idx(folder / LABELS_GZ, labels)
    run = digits_cli(folder, "--network", "minatar", "--epochs", "1", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.splitlines()[-1])["network"] == "minatar"
    assert not marker.exists()


def mutated_file(draw: st.DrawFn) -> bytes:
    """A real IDX file (gzipped or raw) with some bytes of its header or body changed, maybe cut or extended."""
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    data = bytearray(idx_bytes(images))
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, 15 if draw(st.booleans()) else len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))] + draw(st.binary(max_size=8))
    return gz(bytes(data)) if draw(st.booleans()) else bytes(data)


@st.composite
def hostile_bytes(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, arbitrary bytes behind an IDX or gzip magic, or a mutated real file."""
    kind = draw(st.sampled_from(["any", "idx", "gzip", "gzipped", "mutated"]))
    if kind == "mutated":
        return mutated_file(draw)
    tail = draw(st.binary(max_size=64))
    prefix = {"any": b"", "idx": bytes([0, 0, draw(st.sampled_from([8, 9, 11, 12, 13, 14])), draw(st.integers(0, 4))]),
              "gzip": b"\x1f\x8b", "gzipped": b""}[kind]  # fmt: skip
    return gz(tail) if kind == "gzipped" else prefix + tail


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=hostile_bytes(), layout=st.sampled_from([None, IMAGES, LABELS]))
def test_read_idx_returns_an_array_or_one_error(tmp_path: Path, data: bytes, layout: object) -> None:
    path = tmp_path / "file.idx"
    path.write_bytes(data)
    try:
        array = read_idx(path, layout=layout)
    except PlaygroundError as error:
        assert str(path) in str(error) and "\n" not in str(error)
        return
    assert isinstance(array, np.ndarray) and array.nbytes <= MAX_PAYLOAD_BYTES
    assert array.nbytes <= len(data) * 1032  # nothing beyond what the file can hold
    if layout is not None:
        assert array.dtype == np.uint8 and array.ndim == len(layout.axes) and min(array.shape) >= 1
