"""Pooling's shift invariance, measured on images whose answer is worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.mechanics import KERNELS, conv2d, example_image, pooling_shift_invariance, relu, shift_image
from deepscope.mechanics.invariance import unchanged_fraction


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
    # without pooling a 1-pixel shift moves every dot off its pixel: none of the 32 pixels that
    # are lit before or after keeps its value. 4 pixels is twice the dots' period: the dots at
    # columns 4 and 6 land where dots were, half of the 32 lit pixels stay
    assert result.unchanged_without_pooling == {1: 0.0, 4: 0.5}


def test_background_is_not_counted_as_unchanged():
    # one lit pixel on 63 zeros: counting every position, a 1-pixel shift would leave 62/64
    # "unchanged"; only the two positions lit before or after count, and both change
    image = np.zeros((8, 8))
    image[2, 2] = 1.0
    result = pooling_shift_invariance(image, shifts=(1, 2), size=2)
    assert result.unchanged_without_pooling == {1: 0.0, 2: 0.0}
    assert result.unchanged == {1: 1.0, 2: 0.0}  # col 2 -> 3 stays in window [2, 3]; col 4 does not
    assert unchanged_fraction(np.zeros(3), np.zeros(3)) != unchanged_fraction(np.zeros(3), np.zeros(3))  # NaN


def test_pooling_keeps_more_of_a_small_shift_of_the_cross_feature_map():
    # `deepscope conv example:cross` (edge-h, valid): the ReLU map 0 1 1 1 0 / 0 / 4 4 4 4 4 / 0 / 0 1 1 1 0
    activated = relu(conv2d(example_image("cross"), KERNELS["edge-h"]))
    result = pooling_shift_invariance(activated, shifts=(1, 4), size=2)
    assert result.unchanged_without_pooling[1] == pytest.approx(8 / 13)  # 2 + 4 + 2 of 4 + 5 + 4 lit positions
    assert result.unchanged[1] == 0.75  # [[1, 1], [4, 4]] -> [[0, 1], [4, 4]]
    assert result.unchanged_without_pooling[4] == pytest.approx(1 / 11) and result.unchanged[4] == 0.0


def test_dots_at_the_right_of_each_window_change_with_a_one_pixel_shift():
    # dots at the right column of each window (cols 1, 3, 5, 7): a 1-pixel shift pushes every
    # dot into the next window, so the first pooled column empties: 1 of 4 columns changes
    image = np.zeros((8, 8))
    image[::2, 1::2] = 1.0
    result = pooling_shift_invariance(image, shifts=(1,), size=2)
    assert result.unchanged == {1: 0.75} and result.unchanged_without_pooling == {1: 0.0}


def test_average_pooling_changes_more_than_max_pooling():
    image = np.random.default_rng(0).random((16, 16))
    max_result = pooling_shift_invariance(image, shifts=(1,), size=2, mode="max")
    avg_result = pooling_shift_invariance(image, shifts=(1,), size=2, mode="avg")
    assert avg_result.unchanged[1] == 0.0  # a random image: every mean moves
    assert max_result.unchanged[1] > 0.2  # the max often stays in its window
    with pytest.raises(InvalidArgumentError, match="`mode` must be 'max' or 'avg'"):
        pooling_shift_invariance(image, mode="median")
