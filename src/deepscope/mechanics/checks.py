"""Argument checks shared by the mechanics modules (errors in the house format)."""

from __future__ import annotations

import numpy as np

from deepscope.errors import invalid

__all__ = ["as_array", "positive_int"]


def positive_int(value: int, arg: str = "stride") -> int:
    """``value`` as an int if it is an int >= 1, else "`arg` must be an int >= 1. Received: ..."."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise invalid(arg, "an int >= 1", value)
    return int(value)


def as_array(x: np.ndarray, arg: str, ndims: tuple[int, ...], shape_doc: str) -> np.ndarray:
    """``x`` as a float64 array with one of ``ndims`` dimensions, else a clear error."""
    try:
        array = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise invalid(arg, f"a numeric array of shape {shape_doc}", type(x).__name__) from None
    if array.ndim not in ndims:
        raise invalid(f"{arg}.shape", f"{shape_doc} ({' or '.join(f'{n}-D' for n in ndims)})", array.shape)
    return array
