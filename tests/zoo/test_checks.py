"""The builders' shared argument checks."""

from __future__ import annotations

import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.zoo.checks import bounded_int, image_shape


def test_image_shapes_are_checked_and_returned_as_ints():
    assert image_shape([1, 28, 28], "net", multiple=4, smallest=20) == (1, 28, 28)
    with pytest.raises(InvalidArgumentError, match=r"`in_shape` must be \(channels, height, width\)"):
        image_shape((28, 28), "net")
    with pytest.raises(InvalidArgumentError, match="divide by 4 and are >= 20 for net. Received: in_shape=.1, 8, 8."):
        image_shape((1, 8, 8), "net", multiple=4, smallest=20)
    with pytest.raises(InvalidArgumentError, match="whose height and width divide by 4 for net"):
        image_shape((1, 30, 30), "net", multiple=4)


@pytest.mark.parametrize("value", [0, 5000, True, 2.0, "3"])
def test_sizes_outside_their_bounds_are_named(value):
    with pytest.raises(InvalidArgumentError, match=r"`width` must be an int in \[1, 4096\]"):
        bounded_int(value, "width", 4096)
