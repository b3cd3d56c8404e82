"""The IDX file format of MNIST: read (gzip or raw) with every field checked, and write.

An IDX file is a 4-byte magic number `00 00 <type code> <number of dimensions>`, one big-endian uint32
per dimension, then the values in C order, big-endian. Reading checks each part against the file's
length, so a damaged file ends in one PlaygroundError that names the file, never a traceback.
Only NumPy is needed: the loader runs (and refuses bad files) before torch is imported.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

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

FIX = "Download it again (or delete it and let vision.digits fetch it), or point --data at a good copy."


def read_idx(path: str | os.PathLike[str], ndim: int | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed (by its content, whatever the name) or raw.

    Args:
        path: The file.
        ndim: The number of dimensions the caller needs (3 for images, 1 for labels), or None for any.

    Returns:
        The array, in native byte order.

    Raises:
        PlaygroundError: When the file is missing, unreadable, not IDX, truncated or too long.
    """
    file = Path(path)
    data = _read_bytes(file)
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise PlaygroundError(
            f"{file} is not an IDX file (it starts with {data[:4].hex() or 'nothing'}, "
            f"expected 0000 then a type code and a dimension count). {FIX}"
        )
    type_code, dims = data[2], data[3]
    if type_code not in TYPE_CODES:
        raise PlaygroundError(
            f"{file} has an unknown IDX type code 0x{type_code:02x} "
            f"(known: {', '.join(f'0x{c:02x}' for c in TYPE_CODES)}). {FIX}"
        )
    if ndim is not None and dims != ndim:
        raise PlaygroundError(
            f"{file} holds {dims}-dimensional data where {ndim} dimensions were expected "
            "(images have 3, labels 1): is it the right file?"
        )
    header = 4 + 4 * dims
    if len(data) < header:
        raise PlaygroundError(f"{file} is truncated: {len(data)} bytes, shorter than its {header}-byte header. {FIX}")
    shape = struct.unpack(f">{dims}I", data[4:header])
    dtype = TYPE_CODES[type_code]
    expected = header + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "longer than its header says"
        raise PlaygroundError(
            f"{file} is {state}: {len(data):,} bytes where its header {shape} needs {expected:,}. {FIX}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_bytes(file: Path) -> bytes:
    """The file's bytes, decompressed when they start with the gzip magic number."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise PlaygroundError(f"{file} does not exist. Point --data at the folder that holds it.") from None
    except OSError as error:
        raise PlaygroundError(f"cannot read {file} ({error.strerror or error}).") from None
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise PlaygroundError(f"{file} is a damaged gzip file ({error or type(error).__name__}). {FIX}") from None


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
