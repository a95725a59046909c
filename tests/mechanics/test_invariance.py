"""Pooling's shift invariance, measured on images whose answer is worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.mechanics import pooling_shift_invariance, shift_image


def test_shift_image_moves_content_right_with_zeros_coming_in():
    image = np.arange(1.0, 7.0).reshape(2, 3)  # [[1, 2, 3], [4, 5, 6]]
    assert np.array_equal(shift_image(image, 1), [[0, 1, 2], [0, 4, 5]])
    assert np.array_equal(shift_image(image, 0), image)
    with pytest.raises(InvalidArgumentError, match=r"`shift` must be an int in \[0, 2\]"):
        shift_image(image, 3)


def test_bright_dots_on_even_columns_survive_a_one_pixel_shift_only():
    # One bright pixel at the left of every 2x2 window: (row 0, col 0), (row 0, col 2), ... of an
    # 8x8 image. Shifting right by 1 keeps each dot inside its window (col 0 -> 1, 2 -> 3, ...),
    # so every pooled value is unchanged. Shifting by 4 moves each dot two windows right: the two
    # leftmost pooled columns become 0 while the others still see a dot -> 2 of 4 columns changed.
    image = np.zeros((8, 8))
    image[::2, ::2] = 1.0
    result = pooling_shift_invariance(image, shifts=(1, 4), size=2)
    assert result.pooled.shape == (4, 4) and np.array_equal(result.pooled, np.ones((4, 4)))
    assert result.unchanged == {1: 1.0, 4: 0.5}
    assert np.array_equal(result.pooled_shifted[4][:, :2], np.zeros((4, 2)))


def test_dots_at_the_right_of_each_window_change_with_a_one_pixel_shift():
    # dots at the right column of each window (cols 1, 3, 5, 7): a 1-pixel shift pushes every
    # dot into the next window, so the first pooled column empties: 1 of 4 columns changes
    image = np.zeros((8, 8))
    image[::2, 1::2] = 1.0
    assert pooling_shift_invariance(image, shifts=(1,), size=2).unchanged == {1: 0.75}


def test_average_pooling_changes_more_than_max_pooling():
    image = np.random.default_rng(0).random((16, 16))
    max_result = pooling_shift_invariance(image, shifts=(1,), size=2, mode="max")
    avg_result = pooling_shift_invariance(image, shifts=(1,), size=2, mode="avg")
    assert avg_result.unchanged[1] == 0.0  # a random image: every mean moves
    assert max_result.unchanged[1] > 0.2  # the max often stays in its window
    with pytest.raises(InvalidArgumentError, match="`mode` must be 'max' or 'avg'"):
        pooling_shift_invariance(image, mode="median")
