from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from deepscope.errors import InvalidArgumentError
from deepscope.inspect import filters


def test_first_layer_filters_keep_every_kernel(tiny_cnn):
    result = filters(tiny_cnn)
    assert result.layer == "0"
    assert result.kernels.shape == (4, 1, 3, 3)
    np.testing.assert_array_equal(result.kernels, tiny_cnn[0].weight.detach().numpy())
    assert result.reduce == "none"


def test_deeper_filters_are_averaged_or_kept_per_input_channel(tiny_cnn):
    mean = filters(tiny_cnn, "3")
    weight = tiny_cnn[3].weight.detach().numpy()  # (6, 4, 3, 3)
    assert mean.reduce == "mean" and mean.kernels.shape == (6, 1, 3, 3) and mean.in_channels == 4
    np.testing.assert_allclose(mean.kernels[:, 0], weight.mean(axis=1), atol=1e-7)
    full = filters(tiny_cnn, "3", reduce="none")
    assert full.kernels.shape == (6, 4, 3, 3)


def test_filters_of_a_non_conv_layer_fail_clearly(tiny_cnn):
    with pytest.raises(
        InvalidArgumentError, match=r"`layer` must be the name of an nn.Conv2d layer \(one of \['0', '3'\]\)"
    ):
        filters(tiny_cnn, "2")
    with pytest.raises(InvalidArgumentError, match="`reduce` must be one of"):
        filters(tiny_cnn, reduce="max")


def test_a_dense_first_layer_gives_its_weight_rows_as_images():
    """Softmax regression's "templates": row k of the weight, reshaped to the (C, H, W) input."""
    from deepscope import zoo

    model = zoo.create("mlp", in_shape=(1, 8, 8), num_classes=10, hidden=6, seed=0)
    result = filters(model)  # no conv layer: the first dense layer
    assert result.layer == "1" and result.kernels.shape == (6, 1, 8, 8)
    np.testing.assert_array_equal(result.kernels[2, 0], model[1].weight.detach().numpy()[2].reshape(8, 8))
    assert result.label == "1: Linear 64->6 (weight rows as 1x8x8 images)"
    rgb = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 5, 2))
    assert filters(rgb, "1", in_shape=(3, 4, 5)).kernels.shape == (2, 3, 4, 5)


def test_a_dense_layer_that_does_not_read_the_image_fails_clearly():
    from deepscope import zoo

    model = zoo.create("mlp", in_shape=(1, 8, 8), num_classes=10, hidden=6, seed=0)
    with pytest.raises(InvalidArgumentError, match=r"an nn.Linear layer that reads the flattened input \(64"):
        filters(model, "3")  # the output layer reads the 6 hidden units
    with pytest.raises(InvalidArgumentError, match=r"`in_shape` must be the input shape \(C, H, W\)"):
        filters(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)))  # not a zoo model: no recorded shape
    with pytest.raises(InvalidArgumentError, match="a model with an nn.Conv2d layer or a first nn.Linear"):
        filters(nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(8, 2)))
