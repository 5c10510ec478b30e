"""Read and write IDX files, the container MNIST and Fashion-MNIST ship in.

Layout: two zero bytes, one dtype code, one byte giving ndim, ndim big-endian uint32
dimensions, then the values in C order, big-endian. Files may be gzip-compressed; that
is detected from the gzip magic bytes rather than the file name, because mirrors and
package managers rename files freely.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from hypermod.data.errors import CorruptDataError

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_BYTES = 4
_DIM_BYTES = 4

# IDX dtype code -> on-disk (big-endian) dtype.
_CODE_TO_DTYPE: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# (numpy kind, itemsize) -> IDX dtype code; byte order is irrelevant when writing.
_KIND_TO_CODE: dict[tuple[str, int], int] = {
    (dtype.kind, dtype.itemsize): code for code, dtype in _CODE_TO_DTYPE.items()
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, raw or gzip-compressed, into a native-endian array.

    Args:
        path: the file to read.

    Returns:
        An array with the shape recorded in the header, in native byte order and writable,
        so that `torch.from_numpy` accepts it without a copy or a warning.

    Raises:
        CorruptDataError: naming the file and the defect (bad magic, unknown dtype code,
            truncated header or data, trailing bytes, broken gzip stream).
    """
    path = Path(path)
    buffer = path.read_bytes()
    if buffer[:2] == _GZIP_MAGIC:
        buffer = _gunzip(buffer, path)

    if len(buffer) < _HEADER_BYTES:
        raise CorruptDataError(
            f"{path}: truncated IDX header: {len(buffer)} bytes, need at least {_HEADER_BYTES}"
        )
    if buffer[0] != 0 or buffer[1] != 0:
        raise CorruptDataError(
            f"{path}: bad IDX magic: first two bytes are {buffer[:2].hex()}, expected 0000"
        )
    code, ndim = buffer[2], buffer[3]
    if code not in _CODE_TO_DTYPE:
        known = ", ".join(f"0x{c:02X}" for c in _CODE_TO_DTYPE)
        raise CorruptDataError(f"{path}: bad IDX magic: unknown dtype code 0x{code:02X} ({known})")

    data_offset = _HEADER_BYTES + _DIM_BYTES * ndim
    if len(buffer) < data_offset:
        raise CorruptDataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {data_offset} bytes, "
            f"found {len(buffer)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(buffer, ">u4", count=ndim, offset=_HEADER_BYTES))

    dtype = _CODE_TO_DTYPE[code]
    count = math.prod(shape)
    expected = count * dtype.itemsize
    found = len(buffer) - data_offset
    if found < expected:
        raise CorruptDataError(
            f"{path}: truncated IDX data: shape {shape} of {dtype.name} needs {expected} bytes, "
            f"found {found}"
        )
    if found > expected:
        raise CorruptDataError(
            f"{path}: {found - expected} trailing bytes after the {expected} data bytes of "
            f"shape {shape}"
        )
    try:
        values = np.frombuffer(buffer, dtype, count=count, offset=data_offset).reshape(shape)
    except ValueError as err:  # zero-size, yet other dimensions beyond what numpy can index
        raise CorruptDataError(f"{path}: IDX shape {shape} cannot be held ({err})") from err
    # astype copies: the result is writable and native-endian, which torch requires.
    return values.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write an array as an IDX file.

    Args:
        path: the file to write (overwritten if present).
        array: any shape with 1 to 255 dimensions, each below 2**32; dtype uint8, int8,
            int16, int32, float32 or float64 (the types IDX can record).
        compress: gzip the file; by default, whether `path` ends with ".gz".

    Tests and benchmarks use this to build small data sets in the layout the loaders read.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _KIND_TO_CODE.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise ValueError(
            f"{path}: IDX cannot store dtype {array.dtype}; use uint8, int8, int16, int32, "
            "float32 or float64"
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"{path}: IDX needs 1 to 255 dimensions, array has {array.ndim}")
    if max(array.shape) >= 2**32:
        raise ValueError(f"{path}: IDX dimensions must be below 2**32, shape is {array.shape}")

    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=_CODE_TO_DTYPE[code]).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        # mtime=0 keeps the bytes reproducible from run to run.
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    path.write_bytes(payload)


def _gunzip(buffer: bytes, path: Path) -> bytes:
    """Decompress a whole gzip file held in memory, naming `path` if the stream is broken."""
    try:
        return gzip.decompress(buffer)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise CorruptDataError(f"{path}: corrupt or truncated gzip stream ({err})") from err
