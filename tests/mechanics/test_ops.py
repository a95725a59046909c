"""The numpy reference ops against torch (random inputs, float64) and against hand-worked
examples whose expected integers are written out below, computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepscope.errors import InvalidArgumentError
from deepscope.mechanics import (
    KERNELS,
    avg_pool2d,
    conv2d,
    dense,
    example_image,
    max_pool2d,
    relu,
    simple_rnn,
    softmax,
)

TOL = 1e-10  # float64 on both sides: differences are rounding only (the issue asks for <= 1e-5)


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x, dtype=np.float64))


# ----------------------------------------------------------------------------- conv2d vs torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("channels,kernels", [(1, 1), (3, 1), (1, 4), (3, 5)])
@pytest.mark.parametrize("kernel_size", [(3, 3), (2, 2), (1, 1), (3, 2), (4, 5)])
@pytest.mark.parametrize("padding,stride", [(0, 1), (1, 1), (2, 2), (1, 3), ("valid", 2), ("same", 1)])
def test_conv2d_matches_torch(channels, kernels, kernel_size, padding, stride):
    rng = np.random.default_rng(sum(kernel_size) * 10 + channels + kernels)
    image = rng.normal(size=(channels, 9, 8))
    weight = rng.normal(size=(kernels, channels, *kernel_size))
    ours = conv2d(image, weight, padding=padding, stride=stride)
    theirs = F.conv2d(_t(image)[None], _t(weight), padding=padding, stride=stride)[0].numpy()  # (K, H', W')
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= TOL


def test_conv2d_shapes_follow_image_and_kernel_ranks():
    rng = np.random.default_rng(0)
    grey, rgb = rng.normal(size=(6, 7)), rng.normal(size=(3, 6, 7))
    assert conv2d(grey, rng.normal(size=(3, 3))).shape == (4, 5)
    assert conv2d(rgb, rng.normal(size=(3, 3, 3))).shape == (4, 5)
    assert conv2d(rgb, rng.normal(size=(8, 3, 3, 3))).shape == (8, 4, 5)
    assert conv2d(grey, rng.normal(size=(8, 1, 3, 3))).shape == (8, 4, 5)
    # a (C, kh, kw) kernel is one kernel summed over channels: the sum of per-channel convolutions
    kernel = rng.normal(size=(3, 3, 3))
    per_channel = sum(conv2d(rgb[c], kernel[c]) for c in range(3))
    assert np.allclose(conv2d(rgb, kernel), per_channel)


@pytest.mark.parametrize("size", [2, 4])
def test_conv2d_same_padding_keeps_size_and_puts_even_extra_bottom_right(size):
    image = np.zeros((6, 6))
    image[0, 0] = 1.0  # a single bright pixel in the top-left corner
    kernel = np.ones((size, size))
    out = conv2d(image, kernel, padding="same")
    assert out.shape == (6, 6)
    # padding (k-1)//2 before, the rest after: the corner pixel is seen by windows starting at
    # rows/cols -(k-1)//2 .. 0, i.e. output cells 0 .. (k-1)//2
    seen = (size - 1) // 2 + 1
    expected = np.zeros((6, 6))
    expected[:seen, :seen] = 1.0
    assert np.array_equal(out, expected)


# ----------------------------------------------------------------------------- pooling vs torch
@pytest.mark.parametrize("size,stride", [(2, None), (3, None), (2, 1), (3, 2), (1, None)])
@pytest.mark.parametrize("shape", [(7, 9), (2, 6, 5)])
def test_pooling_matches_torch(size, stride, shape):
    x = np.random.default_rng(size).normal(size=shape)
    batch = _t(x).reshape(1, -1, *shape[-2:])  # (1, C, H, W)
    want_max = F.max_pool2d(batch, size, stride or size)[0].numpy()  # (C, H', W')
    want_avg = F.avg_pool2d(batch, size, stride or size)[0].numpy()
    ours_max, ours_avg = max_pool2d(x, size, stride), avg_pool2d(x, size, stride)
    assert ours_max.shape == want_max.shape[-ours_max.ndim :]
    assert np.abs(ours_max.reshape(want_max.shape) - want_max).max() <= TOL
    assert np.abs(ours_avg.reshape(want_avg.shape) - want_avg).max() <= TOL


def test_max_pool_drops_trailing_rows_and_columns():
    x = np.arange(25.0).reshape(5, 5)  # rows 0..4 hold 0-4, 5-9, ..., 20-24
    # windows rows 0-1 / 2-3 and cols 0-1 / 2-3; row 4 and col 4 do not fill a window
    assert np.array_equal(max_pool2d(x, 2), np.array([[6.0, 8.0], [16.0, 18.0]]))
    assert np.array_equal(avg_pool2d(x, 2), np.array([[3.0, 5.0], [13.0, 15.0]]))


# ----------------------------------------------------------------------------- dense, softmax, relu
def test_dense_matches_torch_linear():
    rng = np.random.default_rng(1)
    x, W, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
    want = F.linear(_t(x), _t(W).T, _t(b)).numpy()  # torch stores (out, in)
    assert np.abs(dense(x, W, b) - want).max() <= TOL
    assert np.abs(dense(x[0], W, b) - want[0]).max() <= TOL


def test_softmax_matches_torch_and_survives_huge_logits():
    z = np.random.default_rng(2).normal(size=(3, 6)) * 5
    assert np.abs(softmax(z) - torch.softmax(_t(z), dim=-1).numpy()).max() <= TOL
    big = softmax(np.array([1000.0, 1001.0, 999.0]))  # exp(1000) overflows without the max shift
    assert np.all(np.isfinite(big)) and abs(big.sum() - 1) < 1e-12
    assert np.allclose(big, torch.softmax(torch.tensor([1000.0, 1001.0, 999.0], dtype=torch.float64), 0).numpy())


def test_relu_zeroes_negatives_only():
    assert np.array_equal(relu(np.array([[-2.0, 0.0, 3.5]])), np.array([[0.0, 0.0, 3.5]]))


# ----------------------------------------------------------------------------- simple_rnn vs torch
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_simple_rnn_matches_torch_rnn(activation):
    rng = np.random.default_rng(3)
    n_in, units, steps = 4, 5, 7
    W, U, b = rng.normal(size=(n_in, units)) * 0.5, rng.normal(size=(units, units)) * 0.5, rng.normal(size=units)
    batch = rng.normal(size=(3, steps, n_in))
    rnn = torch.nn.RNN(n_in, units, nonlinearity=activation, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(_t(W).T)  # torch: h = act(x W_ih^T + b_ih + h W_hh^T + b_hh)
        rnn.weight_hh_l0.copy_(_t(U).T)
        rnn.bias_ih_l0.copy_(_t(b))
        rnn.bias_hh_l0.zero_()
        want, _ = rnn(_t(batch))  # (N, T, units)
    assert np.abs(simple_rnn(batch, W, U, b, activation) - want.numpy()).max() <= TOL
    assert np.abs(simple_rnn(batch[1], W, U, b, activation) - want[1].numpy()).max() <= TOL


def test_simple_rnn_remembers_by_hand():
    # linear, W = 1, U = 0.5: state_t = x_t + 0.5 * state_{t-1}; one impulse then silence halves
    out = simple_rnn(
        np.array([[1.0], [0.0], [0.0], [2.0]]),
        np.array([[1.0]]),
        np.array([[0.5]]),
        np.array([0.0]),
        activation="linear",
    )
    assert np.array_equal(out, np.array([[1.0], [0.5], [0.25], [2.125]]))


# ----------------------------------------------------------------------------- hand-worked: 7x7 cross
# The image (example_image('cross')): a plus with arms of 2 pixels, one pixel of background around.
CROSS = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 1, 1, 1, 1, 1, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ]
)


def test_example_cross_is_the_written_out_image():
    assert np.array_equal(example_image("cross"), CROSS)


def test_cross_identity_kernel_returns_the_centre_pixels():
    assert np.array_equal(conv2d(CROSS, KERNELS["identity"]), CROSS[1:6, 1:6])
    assert np.array_equal(conv2d(CROSS, KERNELS["identity"], padding="same"), CROSS)


def test_cross_blur_counts_the_ones_in_each_window():
    # blur = ones / 9, so 9 * output = number of 1-pixels in the 3x3 window
    ones_in_window = np.array(
        [
            [0, 2, 2, 2, 0],
            [2, 5, 5, 5, 2],
            [2, 5, 5, 5, 2],
            [2, 5, 5, 5, 2],
            [0, 2, 2, 2, 0],
        ]
    )
    assert np.allclose(conv2d(CROSS, KERNELS["blur"]) * 9, ones_in_window, atol=1e-12)
    # 2x2 max-pool of the blur: every window contains a 5
    assert np.allclose(max_pool2d(conv2d(CROSS, KERNELS["blur"])) * 9, [[5, 5], [5, 5]], atol=1e-12)


def test_cross_horizontal_edge_then_relu_then_pool():
    # edge-h = 2 * (middle row sum) - (top row sum) - (bottom row sum) of each window
    edge = np.array(
        [
            [0, 1, 1, 1, 0],
            [-2, -2, -2, -2, -2],
            [4, 4, 4, 4, 4],
            [-2, -2, -2, -2, -2],
            [0, 1, 1, 1, 0],
        ]
    )
    after_relu = np.array(
        [
            [0, 1, 1, 1, 0],
            [0, 0, 0, 0, 0],
            [4, 4, 4, 4, 4],
            [0, 0, 0, 0, 0],
            [0, 1, 1, 1, 0],
        ]
    )
    out = conv2d(CROSS, KERNELS["edge-h"])
    assert np.array_equal(out, edge)
    assert np.array_equal(relu(out), after_relu)
    # 2x2 windows over rows/cols 0-1 and 2-3 (row 4 and col 4 dropped)
    assert np.array_equal(max_pool2d(relu(out), 2), np.array([[1, 1], [4, 4]]))


def test_cross_vertical_edge_then_relu_then_pool():
    # the cross is symmetric under transposition, so edge-v gives the transpose of edge-h
    edge = np.array(
        [
            [0, -2, 4, -2, 0],
            [1, -2, 4, -2, 1],
            [1, -2, 4, -2, 1],
            [1, -2, 4, -2, 1],
            [0, -2, 4, -2, 0],
        ]
    )
    out = conv2d(CROSS, KERNELS["edge-v"])
    assert np.array_equal(out, edge)
    assert np.array_equal(max_pool2d(relu(out), 2), np.array([[1, 4], [1, 4]]))


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call,fragment",
    [
        (lambda: conv2d(np.zeros(5), np.ones((3, 3))), "`image.shape` must be (H, W) or (C, H, W)"),
        (lambda: conv2d(np.zeros((2, 2, 5, 5)), np.ones((3, 3))), "Received: image.shape=(2, 2, 5, 5)"),
        (lambda: conv2d(np.zeros((5, 5)), np.ones(3)), "`kernel.shape` must be"),
        (lambda: conv2d(np.zeros((3, 5, 5)), np.ones((2, 3, 3))), "`kernel` must be 3 input channel(s)"),
        (lambda: conv2d(np.zeros((3, 5, 5)), np.ones((4, 1, 3, 3))), "Received: kernel=(4, 1, 3, 3)"),
        (
            lambda: conv2d(np.zeros((5, 5)), np.ones((3, 3)), padding="full"),
            "`padding` must be an int >= 0, 'valid' or 'same'. Received: padding='full'",
        ),
        (lambda: conv2d(np.zeros((5, 5)), np.ones((3, 3)), padding=-1), "Received: padding=-1"),
        (lambda: conv2d(np.zeros((5, 5)), np.ones((3, 3)), padding="same", stride=2), "('same' needs stride=1)"),
        (
            lambda: conv2d(np.zeros((5, 5)), np.ones((3, 3)), stride=0),
            "`stride` must be an int >= 1. Received: stride=0",
        ),
        (lambda: conv2d(np.zeros((5, 5)), np.ones((3, 3)), stride=1.5), "Received: stride=1.5"),
        (lambda: conv2d(np.zeros((2, 2)), np.ones((3, 3))), "no larger than the padded image (2x2"),
        (lambda: conv2d(np.zeros((2, 2)), np.ones((6, 6)), padding=1), "no larger than the padded image (4x4"),
        (lambda: max_pool2d(np.zeros((3, 3)), 4), "`size` must be no larger than the input (3x3). Received: size=4"),
        (lambda: max_pool2d(np.zeros((4, 4)), 2, stride=0), "`stride` must be an int >= 1"),
        (lambda: dense(np.zeros(3), np.zeros((4, 2)), np.zeros(2)), "`W` must be shape (3, n_out)"),
        (lambda: dense(np.zeros(3), np.zeros((3, 2)), np.zeros(5)), "`b` must be shape (2,)"),
        (
            lambda: simple_rnn(np.zeros((4, 2)), np.zeros((2, 3)), np.zeros((3, 3)), np.zeros(3), "sigmoid"),
            "`activation` must be 'tanh', 'relu' or 'linear'. Received: activation='sigmoid'",
        ),
        (
            lambda: simple_rnn(np.zeros((4, 2)), np.zeros((2, 3)), np.zeros((2, 2)), np.zeros(3)),
            "`U` must be shape (3, 3)",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, fragment):
    with pytest.raises(InvalidArgumentError) as error:
        call()
    assert fragment in str(error.value)
