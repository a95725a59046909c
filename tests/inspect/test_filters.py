from __future__ import annotations

import numpy as np
import pytest

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
