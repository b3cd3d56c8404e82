"""The IDX file format of MNIST: read (gzip or raw) with every field checked, and write.

An IDX file is a 4-byte magic number `00 00 <type code> <number of dimensions>`, one big-endian uint32
per dimension, then the values in C order, big-endian. A file may come from anywhere, so reading is
bounded by what its header justifies: the header is read first (streaming through gzip), checked against
the file's size and the caller's `Layout`, and only then is the body read, in chunks, into one buffer of
exactly the declared size; a byte more, a byte less or data after the gzip stream is refused. Peak memory is
the declared payload (at most `MAX_PAYLOAD_BYTES`) plus a chunk. Every problem ends in one PlaygroundError
that names the file, never a traceback. Only NumPy is needed: the loader runs (and refuses bad files)
before torch is imported.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.errors import PlaygroundError

TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type codes and the NumPy dtypes they stand for (all big-endian)."""

MAX_PAYLOAD_BYTES = 2**31
"""The most values one file may declare, in bytes (2 GiB; MNIST's largest file is 47 MB, EMNIST's 0.55 GB)."""

DEFLATE_MAX_RATIO = 1032
"""Deflate expands at most 1032-fold (a 258-byte match in 2 bits), so a gzip file of n bytes holds < 1032 n."""

CHUNK = 2**20
"""Content bytes read (and decompressed) at a time."""

COMPRESSED_CHUNK = 2**16
"""Compressed bytes read at a time: small, as zlib copies the input it has not used yet on every call."""

FIX = "Download it again (or delete it and let vision.digits fetch it), or point --data at a good copy."


@dataclass(frozen=True)
class Layout:
    """What a caller accepts from an IDX file, checked on the header before any of the body is read.

    Args:
        what: The content, in words ('images').
        axes: Per dimension its name and largest size, e.g. (('images', 10**6), ('rows', 256)); each must be >= 1.
        dtype: The one accepted dtype (as in TYPE_CODES), or None for any.
    """

    what: str
    axes: tuple[tuple[str, int], ...]
    dtype: np.dtype | None = None

    def describe(self) -> str:
        """The bound in words, e.g. 'images: at most 1,000,000 x 256 x 256'."""
        return f"{self.what}: at most {' x '.join(f'{limit:,}' for _, limit in self.axes)}"


@dataclass(frozen=True)
class IdxHeader:
    """A checked IDX header: the values' dtype (big-endian) and the shape."""

    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        """The header's own length in bytes."""
        return 4 + 4 * len(self.shape)

    @property
    def payload(self) -> int:
        """The length of the values in bytes (Python ints: no uint32 overflow)."""
        return math.prod(self.shape) * self.dtype.itemsize


def read_idx(path: str | os.PathLike[str], ndim: int | None = None, layout: Layout | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed (by its content, whatever the name) or raw.

    Args:
        path: The file.
        ndim: The number of dimensions the caller needs (3 for images, 1 for labels), or None for any.
        layout: Sizes and dtype the caller accepts (implies `ndim`), or None for any within MAX_PAYLOAD_BYTES.

    Returns:
        The array, in native byte order.

    Raises:
        PlaygroundError: When the file is missing, unreadable, not IDX, outside `layout`, truncated or too long.
    """
    file = Path(path)
    with _open(file) as stream:
        header = _read_header(stream, ndim, layout)
        buffer = _read_body(stream, header)
    array = buffer.view(header.dtype).reshape(header.shape)
    native = header.dtype.newbyteorder("=")
    if native != header.dtype:  # swap in place: a copy would double the peak memory
        array = array.byteswap(inplace=True).view(native)
    return array


def read_header(path: str | os.PathLike[str], ndim: int | None = None, layout: Layout | None = None) -> IdxHeader:
    """Read and check only the header of an IDX file (see `read_idx`), e.g. to compare counts before the bodies."""
    with _open(Path(path)) as stream:
        return _read_header(stream, ndim, layout)


class _Stream:
    """The content of a raw or gzip file, read piece by piece: nothing past what is asked is decompressed.

    Args:
        file: The file's path (for messages).
        handle: The open file, at its start.
    """

    def __init__(self, file: Path, handle: BinaryIO) -> None:
        self.file, self._handle = file, handle
        self.stored = os.fstat(handle.fileno()).st_size
        self.gzipped = handle.read(2) == b"\x1f\x8b"
        handle.seek(0)
        # wbits 31: the gzip format, whose header, CRC and length zlib itself checks.
        self._inflate = zlib.decompressobj(wbits=31) if self.gzipped else None
        self._pending = b""

    def capacity(self) -> int:
        """The most content bytes the file can hold: its size, or deflate's largest expansion of it."""
        return self.stored * DEFLATE_MAX_RATIO if self.gzipped else self.stored

    def read(self, size: int) -> bytes:
        """Up to `size` (> 0) bytes of content; b'' at its end."""
        if self._inflate is None:
            return self._handle.read(size)
        while not self._inflate.eof:
            if not self._pending:
                self._pending = self._handle.read(COMPRESSED_CHUNK)
                if not self._pending:
                    raise self._damaged("it ends before its compressed stream does: truncated")
            try:
                out = self._inflate.decompress(self._pending, size)
            except zlib.error as error:
                raise self._damaged(str(error)) from None
            self._pending = self._inflate.unconsumed_tail
            if out:
                return out
        return b""

    def after_end(self) -> str | None:
        """What follows the content, in words ('more content', 'bytes after the gzip stream'), or None."""
        if self.read(1):  # for gzip this also reaches the stream's end, where zlib checks its CRC and length
            return "more content"
        if (self._inflate and self._inflate.unused_data) or self._handle.read(1):
            return "bytes after the gzip stream"
        return None

    def _damaged(self, reason: str) -> PlaygroundError:
        return PlaygroundError(f"{self.file} is a damaged gzip file ({reason}). {FIX}")


@contextmanager
def _open(file: Path) -> Iterator[_Stream]:
    """The file as a `_Stream`; errors opening or reading it become one PlaygroundError."""
    try:
        with open(file, "rb") as handle:
            yield _Stream(file, handle)
    except FileNotFoundError:
        raise PlaygroundError(f"{file} does not exist. Point --data at the folder that holds it.") from None
    except OSError as error:
        raise PlaygroundError(f"cannot read {file} ({error.strerror or error}).") from None


def _read_exactly(stream: _Stream, size: int) -> bytes:
    """`size` bytes of content, or fewer at its end."""
    parts, got = [], 0
    while got < size and (part := stream.read(size - got)):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _read_header(stream: _Stream, ndim: int | None, layout: Layout | None) -> IdxHeader:
    """Read the magic number and the sizes, and check them before any of the values are read."""
    file, magic = stream.file, _read_exactly(stream, 4)
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        raise PlaygroundError(
            f"{file} is not an IDX file (it starts with {magic.hex() or 'nothing'}, "
            f"expected 0000 then a type code and a dimension count). {FIX}"
        )
    type_code, dims = magic[2], magic[3]
    if type_code not in TYPE_CODES:
        raise PlaygroundError(
            f"{file} has an unknown IDX type code 0x{type_code:02x} "
            f"(known: {', '.join(f'0x{c:02x}' for c in TYPE_CODES)}). {FIX}"
        )
    ndim = len(layout.axes) if layout and ndim is None else ndim
    if ndim is not None and dims != ndim:
        raise PlaygroundError(
            f"{file} holds {dims}-dimensional data where {ndim} dimensions were expected "
            "(images have 3, labels 1): is it the right file?"
        )
    sizes = _read_exactly(stream, 4 * dims)
    if len(sizes) < 4 * dims:
        raise PlaygroundError(
            f"{file} is truncated: {4 + len(sizes)} bytes, shorter than its {4 + 4 * dims}-byte header. {FIX}"
        )
    header = IdxHeader(TYPE_CODES[type_code], struct.unpack(f">{dims}I", sizes))
    _check_fits_file(stream, header)
    if layout is not None:
        _check_layout(file, header, layout)
    if header.payload > MAX_PAYLOAD_BYTES:
        raise PlaygroundError(
            f"{file} declares {header.shape} {header.dtype.name} values, {header.payload:,} bytes: more than "
            f"the {MAX_PAYLOAD_BYTES:,} bytes (2 GiB) one IDX file may hold here. Is it the right file?"
        )
    return header


def _check_fits_file(stream: _Stream, header: IdxHeader) -> None:
    """Refuse a header that declares more (or, raw, other) than the file's size can hold."""
    file, expected = stream.file, header.size + header.payload
    if not stream.gzipped and stream.stored != expected:
        state = "truncated" if stream.stored < expected else "longer than its header says"
        raise PlaygroundError(
            f"{file} is {state}: {stream.stored:,} bytes where its header {header.shape} needs {expected:,}. {FIX}"
        )
    if expected > stream.capacity():
        raise PlaygroundError(
            f"{file} is truncated (a damaged gzip file): its header {header.shape} needs {expected:,} bytes, "
            f"more than {stream.stored:,} compressed bytes can hold (deflate expands at most "
            f"{DEFLATE_MAX_RATIO}x). {FIX}"
        )


def _check_layout(file: Path, header: IdxHeader, layout: Layout) -> None:
    """Refuse a dtype or a size (zero, or past its bound) that the caller does not accept."""
    if layout.dtype is not None and header.dtype != layout.dtype:
        codes = {dtype: code for code, dtype in TYPE_CODES.items()}
        raise PlaygroundError(
            f"{file} holds {header.dtype.name} values (IDX type 0x{codes[header.dtype]:02x}); {layout.what} "
            f"files hold {layout.dtype.name} (IDX type 0x{codes[layout.dtype]:02x}). Is it the right file?"
        )
    for size, (axis, limit) in zip(header.shape, layout.axes):
        if not 1 <= size <= limit:
            raise PlaygroundError(
                f"{file} declares {header.shape} ({', '.join(name for name, _ in layout.axes)}): {size:,} {axis} "
                f"is outside 1-{limit:,} ({layout.describe()}). Is it the right file? {FIX}"
            )


def _read_body(stream: _Stream, header: IdxHeader) -> np.ndarray:
    """The values' bytes, read chunk by chunk into one buffer of exactly the declared size."""
    try:
        # np.empty maps pages lazily: a body shorter than its header claims costs only what it holds.
        buffer = np.empty(header.payload, np.uint8)
    except MemoryError:
        raise PlaygroundError(
            f"not enough memory to read {stream.file} ({header.payload:,} bytes of values for {header.shape})."
        ) from None
    view, filled = memoryview(buffer), 0
    while filled < header.payload and (chunk := stream.read(min(CHUNK, header.payload - filled))):
        view[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    _check_end(stream, header, filled)
    return buffer


def _check_end(stream: _Stream, header: IdxHeader, filled: int) -> None:
    """Refuse a body shorter or longer than the header says, or anything after the gzip stream."""
    expected = header.size + header.payload
    after = stream.after_end()
    if after == "more content":
        raise PlaygroundError(
            f"{stream.file} is longer than its header says: its content goes on past the {expected:,} bytes "
            f"its header {header.shape} needs. {FIX}"
        )
    if after:  # also when the body is short: a second member may hold the rest, which is still refused
        raise PlaygroundError(
            f"{stream.file} has bytes after the end of its gzip stream (trailing data or a second gzip member); "
            f"an IDX .gz file is one gzip stream (recompress it with gzip, or use the raw file). {FIX}"
        )
    if filled < header.payload:
        raise PlaygroundError(
            f"{stream.file} is truncated: {header.size + filled:,} bytes where its header {header.shape} "
            f"needs {expected:,}. {FIX}"
        )


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write an array as an IDX file, gzip-compressed when the name ends in `.gz`, atomically.

    Args:
        path: The target file.
        array: An array of one of the IDX dtypes (uint8, int8, int16, int32, float32, float64).
    """
    from core.files import atomic_path

    codes = {dtype.newbyteorder("="): code for code, dtype in TYPE_CODES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot hold {array.dtype}")
    big_endian = array.astype(TYPE_CODES[code], copy=False)
    data = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + big_endian.tobytes()
    if str(path).endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
