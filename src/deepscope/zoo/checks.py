"""Argument checks the zoo's builders share: image shapes and bounded sizes, each failing
with the project's "`arg` must be ... Received: ..." message."""

from __future__ import annotations

from typing import Any

from deepscope.errors import invalid

__all__ = ["bounded_int", "image_shape"]


def image_shape(in_shape: Any, name: str, *, multiple: int = 1, smallest: int = 1) -> tuple[int, int, int]:
    """``in_shape`` as (C, H, W) after checking it is an image shape whose height and width
    divide by ``multiple`` and are at least ``smallest`` (what model ``name`` needs)."""
    if not isinstance(in_shape, (tuple, list)) or len(in_shape) != 3 or min(in_shape) < 1:
        raise invalid("in_shape", "(channels, height, width)", in_shape)
    c, h, w = (int(s) for s in in_shape)
    if h % multiple or w % multiple or min(h, w) < smallest:
        needs = [f"divide by {multiple}"] if multiple > 1 else []
        needs += [f"are >= {smallest}"] if smallest > 1 else []
        raise invalid("in_shape", f"an image whose height and width {' and '.join(needs)} for {name}", in_shape)
    return c, h, w


def bounded_int(value: Any, name: str, high: int, low: int = 1) -> int:
    """``value`` if it is an int in [low, high] (not a bool), else the error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(name, f"an int in [{low}, {high}]", value)
    return value
