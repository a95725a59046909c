from __future__ import annotations

import numpy as np
import pytest
import torch

from deepscope import zoo
from deepscope.errors import InvalidArgumentError
from deepscope.inspect import feature_maps


def test_feature_map_shapes_equal_the_layer_output_shapes(tiny_cnn, images):
    result = feature_maps(tiny_cnn, images[0])
    assert result.layers == ["0", "2", "3"]
    assert result.maps["0"].shape == (4, 12, 12)
    assert result.maps["2"].shape == (4, 6, 6)
    assert result.maps["3"].shape == (6, 2, 2)
    expected = tiny_cnn[:4](images[:1])[0].detach().numpy()
    np.testing.assert_allclose(result.maps["3"], expected, atol=1e-6)
    assert result.labels["3"] == "3: Conv2d 4->6, 3x3, stride 2"
    assert result.input.shape == (1, 12, 12)


def test_feature_maps_of_a_zoo_model_and_chosen_layers():
    model = zoo.create("lecture_cnn", in_shape=(1, 8, 8), seed=0)
    model.train()
    x = torch.rand(1, 8, 8)
    result = feature_maps(model, x, layers=["1"])
    assert list(result.maps) == ["1"]
    assert result.maps["1"].shape == (32, 8, 8)
    assert result.maps["1"].min() >= 0  # the ReLU layer's output
    assert model.training  # mode restored


def test_feature_maps_reject_a_batch(tiny_cnn, images):
    with pytest.raises(InvalidArgumentError, match=r"one float image tensor \(C, H, W\)"):
        feature_maps(tiny_cnn, images[:2])
