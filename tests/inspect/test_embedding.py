from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from deepscope import zoo
from deepscope.errors import InvalidArgumentError
from deepscope.inspect import embedding_map, penultimate_layer


def test_embedding_map_gives_2d_points_with_their_labels(tiny_cnn, images):
    labels = torch.arange(40) % 3
    result = embedding_map(tiny_cnn, "3", images, labels=labels, n=30, seed=1)
    assert result.coords.shape == (30, 2) and np.isfinite(result.coords).all()
    assert len(np.unique(result.indices)) == 30
    np.testing.assert_array_equal(result.labels, labels.numpy()[result.indices])
    np.testing.assert_array_equal(result.inputs, images.numpy()[result.indices])
    assert result.features == 24 and result.pca_dims == 24


def test_embedding_map_defaults_to_the_penultimate_layer_and_separates_classes(digits):
    model = zoo.create("lecture_cnn", data=digits, seed=0)
    assert penultimate_layer(model) == "5"
    x, y = digits.test.tensors
    result = embedding_map(model, None, x, labels=y, classes=digits.classes, n=80)
    assert result.layer == "5" and result.coords.shape == (80, 2)
    assert result.classes == digits.classes
    assert set(result.labels) <= set(range(10))


def test_embedding_map_without_labels_and_of_non_image_inputs(tiny_cnn, images):
    result = embedding_map(tiny_cnn, "2", images, n=12, pca_dims=5)
    assert result.labels is None and result.pca_dims == 5 and result.features == 4 * 6 * 6
    series = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    mapped = embedding_map(series, None, torch.randn(15, 2, 10), n=10)  # (N, C, T) series
    assert mapped.layer == "2" and mapped.inputs.shape == (10, 2, 10) and mapped.features == 6


def test_embedding_map_bad_arguments_fail_clearly(tiny_cnn, images):
    with pytest.raises(InvalidArgumentError, match=r"`n` must be an int >= 5"):
        embedding_map(tiny_cnn, "2", images, n=2)
    with pytest.raises(InvalidArgumentError, match=r"`labels` must be a tensor \(N,\) of class indices"):
        embedding_map(tiny_cnn, "2", images, labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(InvalidArgumentError, match="`inputs` must be a torch.Tensor batch"):
        embedding_map(tiny_cnn, "2", TensorDataset(images, torch.zeros(40)))
