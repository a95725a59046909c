"""Step-by-step convolution records, the conv -> ReLU -> pool pipeline and kernel stacks."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.errors import InvalidArgumentError
from deepscope.mechanics import KERNELS, apply_kernels, conv2d, conv2d_steps, conv_pipeline, example_image


@pytest.mark.parametrize("padding,stride", [(0, 1), ("same", 1), (1, 2), (2, 3)])
def test_steps_rebuild_conv2d_one_dot_product_per_cell(padding, stride):
    image = np.random.default_rng(0).normal(size=(7, 6))
    kernel = KERNELS["sobel-x"]
    steps = conv2d_steps(image, kernel, padding=padding, stride=stride)
    expected = conv2d(image, kernel, padding=padding, stride=stride)
    assert len(steps.steps) == expected.size
    assert np.allclose(steps.output, expected, rtol=0, atol=1e-12)  # same sums, other order
    for step in steps.steps:
        window = steps.padded[step.top : step.top + 3, step.left : step.left + 3]
        assert np.array_equal(step.window, window)
        assert step.value == pytest.approx(float((window * kernel).sum()))
        assert step.value == pytest.approx(expected[step.row, step.col])
    # row by row, the window moving by the stride
    assert [(s.row, s.col) for s in steps.steps[:2]] == [(0, 0), (0, 1)]
    assert steps.steps[1].left == stride


def test_steps_record_the_padding_they_add():
    steps = conv2d_steps(np.ones((4, 4)), np.ones((2, 2)), padding="same")
    assert steps.padding == (0, 1, 0, 1)  # even kernel: the extra zeros go bottom/right
    assert steps.padded.shape == (5, 5) and steps.padded[4].sum() == 0 and steps.padded[:, 4].sum() == 0


def test_steps_worked_example_first_cells_of_the_ell():
    # the L: a bar down column 1 (rows 1..5) and along row 5 (cols 1..5)
    ell = example_image("ell")
    assert ell.sum() == 9 and ell[1:6, 1].all() and ell[5, 1:6].all()
    steps = conv2d_steps(ell, KERNELS["edge-v"])
    # window rows 0-2, cols 0-2 holds column 1 rows 1-2: two pixels under the +2 column -> 4
    assert steps.steps[0].value == 4.0
    assert np.array_equal(steps.steps[0].products, [[0, 0, 0], [0, 2, 0], [0, 2, 0]])
    # window cols 1-3: the bar is now under the left -1 column -> -2
    assert steps.steps[1].value == -2.0


def test_pipeline_keeps_each_stage():
    result = conv_pipeline(example_image("cross"), KERNELS["edge-h"], pool=2)
    assert result.output.shape == (5, 5) and result.pooled.shape == (2, 2)
    assert result.activated.min() == 0.0 and np.array_equal(result.pooled, [[1, 1], [4, 4]])
    with pytest.raises(InvalidArgumentError, match=r"`pool` must be no larger than the convolution output \(5x5\)"):
        conv_pipeline(example_image("cross"), KERNELS["edge-h"], pool=6)


def test_kernel_stack_is_one_feature_map_with_k_channels():
    image = example_image("cross")
    names = ("edge-h", "edge-v", "blur")
    stack = apply_kernels(image, {n: KERNELS[n] for n in names}, padding="same")
    assert stack.names == names and stack.maps.shape == (3, 7, 7) and stack.kernels.shape == (3, 3, 3)
    for k, name in enumerate(names):
        assert np.array_equal(stack.maps[k], conv2d(image, KERNELS[name], padding="same"))
    with pytest.raises(InvalidArgumentError, match="kernels of one shape"):
        apply_kernels(image, {"a": np.ones((3, 3)), "b": np.ones((2, 2))})
