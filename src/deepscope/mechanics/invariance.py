"""Pooling's slight shift invariance, measured: how many outputs keep their value when the
input moves right by a few pixels, with pooling and without.

Only outputs that carry something count: a background that is 0 before and after the shift
would be "unchanged" with or without pooling and hide the effect. On the hand-worked dots
image (one bright pixel at the left of every 2x2 window), a 1-pixel shift leaves 100% of the
max-pooled outputs unchanged and 0% of the pixels; a 4-pixel shift leaves 50% and 0%.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepscope.errors import invalid
from deepscope.mechanics.checks import as_array, positive_int
from deepscope.mechanics.ops import avg_pool2d, max_pool2d

__all__ = ["ShiftInvariance", "pooling_shift_invariance", "shift_image", "unchanged_fraction"]


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
    """Pooled outputs of an image and of shifted copies; dicts are keyed by the shift in pixels.

    ``unchanged[s]``: of the pooled outputs that are non-zero before or after a shift by ``s``
    pixels, the fraction that keep their value. ``unchanged_without_pooling[s]``: the same
    fraction for the image's own values (no pooling). NaN when no output is non-zero."""

    image: np.ndarray  # (H, W) or (C, H, W)
    size: int  # pooling window = stride
    mode: str  # 'max' or 'avg'
    pooled: np.ndarray  # pool(image): (H', W') or (C, H', W')
    shifted: dict[int, np.ndarray]  # shift -> image moved right by shift pixels
    pooled_shifted: dict[int, np.ndarray]  # shift -> pool(shifted image)
    unchanged: dict[int, float]  # shift -> fraction of non-zero pooled outputs that keep their value
    unchanged_without_pooling: dict[int, float]  # shift -> the same fraction for the image's values


def unchanged_fraction(before: np.ndarray, after: np.ndarray) -> float:
    """Of the positions where ``before`` or ``after`` is non-zero, the fraction whose value is
    the same in both (NaN if there is none): how much of the signal survived a change."""
    same = np.isclose(before, after, rtol=0.0, atol=1e-12)
    active = ~(np.isclose(before, 0.0, rtol=0.0, atol=1e-12) & np.isclose(after, 0.0, rtol=0.0, atol=1e-12))
    return float(same[active].mean()) if active.any() else float("nan")


def pooling_shift_invariance(
    image: np.ndarray, shifts: tuple[int, ...] = (1, 4), size: int = 2, mode: str = "max"
) -> ShiftInvariance:
    """Pool ``image`` and copies shifted right by each of ``shifts`` pixels, and measure, with
    pooling and without, the fraction of outputs (same position; those non-zero before or
    after the shift) that keep their value.

    A shift smaller than the pooling window often leaves the window's maximum in the same
    window, so many pooled outputs stay the same while most pixels change; a shift of several
    windows changes most of them: pooling buys invariance to small translations only.
    """
    size = positive_int(size, "size")
    if mode not in ("max", "avg"):
        raise invalid("mode", "'max' or 'avg'", mode)
    pool = max_pool2d if mode == "max" else avg_pool2d
    x = as_array(image, "image", (2, 3), "(H, W) or (C, H, W)")
    pooled = pool(x, size)  # (..., H // size, W // size)
    shifted, pooled_shifted, unchanged, unchanged_without = {}, {}, {}, {}
    for shift in shifts:
        moved = shift_image(x, shift)
        shifted[int(shift)] = moved
        pooled_shifted[int(shift)] = pool(moved, size)
        unchanged[int(shift)] = unchanged_fraction(pooled, pooled_shifted[int(shift)])
        unchanged_without[int(shift)] = unchanged_fraction(x, moved)
    return ShiftInvariance(x, size, mode, pooled, shifted, pooled_shifted, unchanged, unchanged_without)
