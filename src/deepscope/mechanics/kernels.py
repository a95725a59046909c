"""Named 3x3 kernels from the lectures, and reading a kernel from a text/CSV or .npy file."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from deepscope import limits
from deepscope.errors import DataError, UnknownNameError

if TYPE_CHECKING:
    from os import PathLike

__all__ = ["KERNELS", "MAX_KERNEL_BYTES", "MAX_KERNEL_SIDE", "get_kernel", "load_kernel"]

MAX_KERNEL_BYTES = 4 << 20  # a kernel file larger than 4 MiB is not a kernel
MAX_KERNEL_SIDE = 512  # rows or columns of a kernel (the largest image `deepscope conv` draws)


def _frozen(rows: list[list[float]]) -> np.ndarray:
    array = np.array(rows, dtype=np.float64)
    array.setflags(write=False)  # shared module constant: nobody may edit it in place
    return array


_EDGE_H = [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]
_SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]

KERNELS: dict[str, np.ndarray] = {
    "identity": _frozen([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "blur": _frozen([[1 / 9] * 3] * 3),  # 3x3 box: the window's mean
    "edge-h": _frozen(_EDGE_H),  # bright horizontal line: high
    "edge-v": _frozen(np.array(_EDGE_H).T.tolist()),  # bright vertical line: high
    "sharpen": _frozen([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "sobel-x": _frozen(_SOBEL_X),  # left-to-right brightness change
    "sobel-y": _frozen(np.array(_SOBEL_X).T.tolist()),  # top-to-bottom brightness change
}
"""Named kernels: read-only (3, 3) float64 arrays (a constant table: never add to it; pass your
own kernel arrays instead). ``edge-h`` has rows -1 -1 -1 / 2 2 2 / -1 -1 -1."""


def get_kernel(name: str) -> np.ndarray:
    """A writable copy of the named kernel; unknown names get a did-you-mean error."""
    if name not in KERNELS:
        raise UnknownNameError("kernel", name, KERNELS)
    return KERNELS[name].copy()


def load_kernel(path: str | PathLike[str]) -> np.ndarray:
    """Read a 2-D kernel (kh, kw) from ``.npy`` (no pickles) or a text/CSV file of numbers, one
    kernel row per line, separated by commas and/or spaces; blank lines and ``#`` comments skip.
    Only regular files of at most ``MAX_KERNEL_BYTES``, kernels of at most ``MAX_KERNEL_SIDE``
    rows and columns; the .npy header is checked before any array is allocated."""
    name = str(path)
    data = limits.read_bytes(path, "kernel file", limit=MAX_KERNEL_BYTES)  # DataError: missing, a FIFO, too large
    kernel = (
        _parse_npy(data, name) if name.lower().endswith(".npy") else _parse_rows(data.decode("utf-8", "replace"), name)
    )
    if kernel.ndim != 2 or min(kernel.shape) < 1:
        raise DataError(f"Kernel file {name} must hold a 2-D kernel (kh, kw). Received: shape={kernel.shape}")
    if max(kernel.shape) > MAX_KERNEL_SIDE:
        raise DataError(
            f"Kernel file {name} must hold a kernel of at most {MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE}. Received: shape={kernel.shape}"
        )
    if not np.isfinite(kernel).all():
        raise DataError(f"Kernel file {name} must hold finite numbers (no NaN or inf).")
    return kernel


def _parse_npy(data: bytes, name: str) -> np.ndarray:
    """A numeric .npy array from its bytes: the header (shape, dtype) is read and checked
    against the bytes present before numpy allocates anything; pickles are refused."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(stream)
    except (ValueError, TypeError, SyntaxError) as error:
        raise DataError(f"Kernel file {name} is not a plain numeric .npy array ({error}).") from None
    if dtype.kind not in "biuf" or dtype.hasobject:
        raise DataError(f"Kernel file {name} is not a plain numeric .npy array (dtype={dtype}): kernels hold numbers.")
    if len(shape) != 2:
        raise DataError(f"Kernel file {name} must hold a 2-D kernel (kh, kw). Received: shape={shape}")
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > len(data) - stream.tell():
        raise DataError(f"Kernel file {name} is truncated: its header says shape={shape} of {dtype}.")
    stream.seek(0)
    try:
        return np.load(stream, allow_pickle=False).astype(np.float64)
    except ValueError as error:
        raise DataError(f"Kernel file {name} is not a plain numeric .npy array ({error}).") from None


def _parse_rows(text: str, name: str) -> np.ndarray:
    """Rows of numbers, one kernel row per line (commas and/or spaces; '#' starts a comment)."""
    rows: list[list[float]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            rows.append([float(v) for v in line.replace(",", " ").split()])
        except ValueError:
            raise DataError(
                f"Kernel file {name}, line {number}: expected numbers separated by commas or spaces. Received: {line[:80]!r}"
            ) from None
        if len(rows[-1]) != len(rows[0]):
            raise DataError(
                f"Kernel file {name}, line {number}: every row must have {len(rows[0])} "
                f"numbers like the first. Received: {len(rows[-1])}"
            )
        if len(rows) > MAX_KERNEL_SIDE or len(rows[0]) > MAX_KERNEL_SIDE:
            too_many = f"{len(rows)}+ rows" if len(rows) > MAX_KERNEL_SIDE else f"rows of {len(rows[0])} numbers"
            raise DataError(
                f"Kernel file {name} must hold a kernel of at most {MAX_KERNEL_SIDE}x{MAX_KERNEL_SIDE}. "
                f"Received: {too_many}"
            )
    if not rows:
        raise DataError(f"Kernel file {name} holds no numbers.")
    return np.array(rows)
