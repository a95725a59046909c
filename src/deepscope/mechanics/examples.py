"""Small built-in images for the hand-worked examples (no files, no downloads)."""

from __future__ import annotations

import numpy as np

from deepscope.errors import UnknownNameError

__all__ = ["EXAMPLE_IMAGES", "example_image"]

EXAMPLE_IMAGES = ("cross", "ell")


def example_image(name: str) -> np.ndarray:
    """A 7x7 binary (0/1) float image: ``'cross'`` (a plus with arms of 2 pixels around the
    centre, one pixel of background all round) or ``'ell'`` (an L: a vertical bar down column 1
    and a horizontal bar along row 5)."""
    image = np.zeros((7, 7))
    if name == "cross":
        image[1:6, 3] = 1.0  # vertical bar, rows 1..5
        image[3, 1:6] = 1.0  # horizontal bar, cols 1..5
    elif name == "ell":
        image[1:6, 1] = 1.0  # vertical bar, rows 1..5
        image[5, 1:6] = 1.0  # horizontal bar, cols 1..5
    else:
        raise UnknownNameError("example image", name, EXAMPLE_IMAGES)
    return image
