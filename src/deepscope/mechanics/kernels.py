"""Named 3x3 kernels from the lectures, and reading a kernel from a text/CSV or .npy file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from deepscope.errors import DataError, UnknownNameError

if TYPE_CHECKING:
    from os import PathLike

__all__ = ["KERNELS", "get_kernel", "load_kernel"]


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
    kernel row per line, separated by commas and/or spaces; blank lines and ``#`` comments skip."""
    name = str(path)
    try:
        if name.lower().endswith(".npy"):
            kernel = np.load(path, allow_pickle=False)
            if kernel.dtype.kind not in "biuf":
                raise DataError(f"Kernel file {name} must hold numbers. Received: dtype={kernel.dtype}")
            kernel = kernel.astype(np.float64)
        else:
            with open(path, encoding="utf-8", errors="replace") as file:
                kernel = _parse_rows(file.read(), name)
    except (FileNotFoundError, IsADirectoryError):
        raise DataError(f"Kernel file {name} does not exist (or is a folder).") from None
    except ValueError as error:  # np.load: an object array would need pickle, which is refused
        raise DataError(f"Kernel file {name} is not a plain numeric .npy array ({error}).") from None
    if kernel.ndim != 2 or min(kernel.shape) < 1:
        raise DataError(f"Kernel file {name} must hold a 2-D kernel (kh, kw). Received: shape={kernel.shape}")
    if not np.isfinite(kernel).all():
        raise DataError(f"Kernel file {name} must hold finite numbers (no NaN or inf).")
    return kernel


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
                f"Kernel file {name}, line {number}: expected numbers separated by commas or spaces. Received: {line!r}"
            ) from None
        if len(rows[-1]) != len(rows[0]):
            raise DataError(
                f"Kernel file {name}, line {number}: every row must have {len(rows[0])} "
                f"numbers like the first. Received: {len(rows[-1])}"
            )
    if not rows:
        raise DataError(f"Kernel file {name} holds no numbers.")
    return np.array(rows)
