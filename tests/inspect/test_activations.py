from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from deepscope import zoo
from deepscope.errors import InvalidArgumentError
from deepscope.inspect import feature_maps


def test_feature_map_shapes_equal_the_layer_output_shapes(tiny_cnn, images):
    result = feature_maps(tiny_cnn, None, images[:1])
    assert result.layers == ["0", "2", "3"]
    assert result.maps["0"].shape == (1, 4, 12, 12)
    assert result.maps["2"].shape == (1, 4, 6, 6)
    assert result.maps["3"].shape == (1, 6, 2, 2)
    expected = tiny_cnn[:4](images[:1]).detach().numpy()
    np.testing.assert_allclose(result.maps["3"], expected, atol=1e-6)
    assert result.labels["3"] == "3: Conv2d 4->6, 3x3, stride 2"
    assert result.inputs.shape == (1, 1, 12, 12)


def test_feature_maps_of_a_batch_equal_one_input_at_a_time(tiny_cnn, images):
    batch = feature_maps(tiny_cnn, ["2"], images[:3])
    assert batch.maps["2"].shape == (3, 4, 6, 6)
    for n in range(3):
        alone = feature_maps(tiny_cnn, ["2"], images[n : n + 1])
        np.testing.assert_allclose(batch.maps["2"][n], alone.maps["2"][0], atol=1e-6)


def test_feature_maps_of_a_zoo_model_and_chosen_layers():
    model = zoo.create("lecture_cnn", in_shape=(1, 8, 8), seed=0)
    model.train()
    x = torch.rand(1, 1, 8, 8)
    result = feature_maps(model, ["1"], x)
    assert list(result.maps) == ["1"]
    assert result.maps["1"].shape == (1, 32, 8, 8)
    assert result.maps["1"].min() >= 0  # the ReLU layer's output
    assert model.training  # mode restored


def test_feature_maps_take_one_input_type(tiny_cnn, images):
    with pytest.raises(
        InvalidArgumentError, match=r"a float batch of images \(N, C, H, W\) \(one image: pass x\[None\]\)"
    ):
        feature_maps(tiny_cnn, None, images[0])
    with pytest.raises(
        InvalidArgumentError, match=r"`inputs` must be a torch.Tensor batch .*Received: inputs='TensorDataset'"
    ):
        feature_maps(tiny_cnn, None, TensorDataset(images))
    with pytest.raises(
        InvalidArgumentError, match=r"`layers` must be a list of layer names \(wrap one name in a list\)"
    ):
        feature_maps(tiny_cnn, "0", images[:1])
