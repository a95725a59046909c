"""Pooling's slight shift invariance, measured: how many pooled outputs stay the same when
the input moves right by a few pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepscope.errors import invalid
from deepscope.mechanics.checks import as_array, positive_int
from deepscope.mechanics.ops import avg_pool2d, max_pool2d

__all__ = ["ShiftInvariance", "pooling_shift_invariance", "shift_image"]


def shift_image(image: np.ndarray, pixels: int) -> np.ndarray:
    """``image`` (H, W) or (C, H, W) moved right by ``pixels`` columns; zeros come in on the
    left and the rightmost columns fall off, so the shape is unchanged."""
    x = as_array(image, "image", (2, 3), "(H, W) or (C, H, W)")
    width = x.shape[-1]
    if isinstance(pixels, bool) or not isinstance(pixels, (int, np.integer)) or not 0 <= pixels < width:
        raise invalid("shift", f"an int in [0, {width - 1}] (the image is {width} pixels wide)", pixels)
    shifted = np.zeros_like(x)
    shifted[..., pixels:] = x[..., : width - pixels]
    return shifted


@dataclass(frozen=True)
class ShiftInvariance:
    """Pooled outputs of an image and of shifted copies; dicts are keyed by the shift in pixels."""

    image: np.ndarray  # (H, W) or (C, H, W)
    size: int  # pooling window = stride
    mode: str  # 'max' or 'avg'
    pooled: np.ndarray  # pool(image): (H', W') or (C, H', W')
    shifted: dict[int, np.ndarray]  # shift -> image moved right by shift pixels
    pooled_shifted: dict[int, np.ndarray]  # shift -> pool(shifted image)
    unchanged: dict[int, float]  # shift -> fraction of pooled outputs equal to pooled


def pooling_shift_invariance(
    image: np.ndarray, shifts: tuple[int, ...] = (1, 4), size: int = 2, mode: str = "max"
) -> ShiftInvariance:
    """Pool ``image`` and copies shifted right by each of ``shifts`` pixels, and measure the
    fraction of pooled outputs (same position) that did not change.

    A shift smaller than the pooling window often leaves the window's maximum in the same
    window, so many outputs stay the same; a shift of several windows changes most of them:
    pooling buys invariance to small translations only.
    """
    size = positive_int(size, "size")
    if mode not in ("max", "avg"):
        raise invalid("mode", "'max' or 'avg'", mode)
    pool = max_pool2d if mode == "max" else avg_pool2d
    x = as_array(image, "image", (2, 3), "(H, W) or (C, H, W)")
    pooled = pool(x, size)  # (..., H // size, W // size)
    shifted, pooled_shifted, unchanged = {}, {}, {}
    for shift in shifts:
        moved = shift_image(x, shift)
        shifted[int(shift)] = moved
        pooled_shifted[int(shift)] = pool(moved, size)
        same = np.isclose(pooled_shifted[int(shift)], pooled, rtol=0.0, atol=1e-12)
        unchanged[int(shift)] = float(same.mean())
    return ShiftInvariance(x, size, mode, pooled, shifted, pooled_shifted, unchanged)
