from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from deepscope.errors import InvalidArgumentError
from deepscope.inspect import layer_outputs, top_patches
from deepscope.mechanics import receptive_field


def brute_force_top_k(model, x, layer, k):
    """Per channel, one forward per image: sorted (value, image index) of the k best images."""
    with torch.no_grad():
        peaks = torch.stack(
            [layer_outputs(model, [layer], x[n : n + 1])[layer][0].flatten(1).max(dim=1).values for n in range(len(x))]
        )  # (N, C)
    order = torch.argsort(peaks, dim=0, descending=True)[:k]  # (k, C)
    return peaks.gather(0, order).T.numpy(), order.T.numpy()


@pytest.mark.parametrize("layer", ["0", "2", "3"])
def test_top_patches_are_the_true_top_k(tiny_cnn, images, layer):
    result = top_patches(tiny_cnn, layer, images, k=5, batch_size=7)  # batches that split the top-k
    values, indices = brute_force_top_k(tiny_cnn, images, layer, k=5)
    np.testing.assert_allclose(result.values, values, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(result.indices, indices)


def test_patches_have_receptive_field_size_and_hold_the_input_there(tiny_cnn, images):
    result = top_patches(tiny_cnn, "3", images, k=4)
    field = receptive_field(tiny_cnn, "3")
    assert field.size == (8, 8)
    assert result.patches.shape == (6, 4, 1, 8, 8)
    for c in range(6):
        for r in range(4):
            n = result.indices[c, r]
            top, left, bottom, right = result.boxes[c, r]
            assert (bottom - top, right - left) == (8, 8)
            inside = np.zeros((1, 16 + 12, 16 + 12), np.float32)  # the image placed in a zero frame of 8
            inside[:, 8:20, 8:20] = images[n].numpy()
            np.testing.assert_array_equal(result.patches[c, r], inside[:, top + 8 : bottom + 8, left + 8 : right + 8])


def test_a_patch_alone_reproduces_the_units_activation(tiny_cnn, images):
    """Everything the unit sees is inside the crop: blanking the rest of the image keeps its value."""
    result = top_patches(tiny_cnn, "3", images, k=3)
    for c in range(6):
        for r in range(3):
            top, left, bottom, right = (int(v) for v in result.boxes[c, r])
            blank = torch.zeros(1, 1, 12, 12)
            t, l = max(top, 0), max(left, 0)
            blank[0, :, t:bottom, l:right] = images[result.indices[c, r], :, t:bottom, l:right]
            i, j = result.positions[c, r]
            with torch.no_grad():
                value = layer_outputs(tiny_cnn, ["3"], blank)["3"][0, c, i, j]
            assert float(value) == pytest.approx(float(result.values[c, r]), abs=1e-5)


def test_border_patches_are_padded_with_the_pad_value(tiny_cnn):
    result = top_patches(tiny_cnn, "0", torch.ones(3, 1, 12, 12), k=1, pad_value=-1.0)
    top, left = result.boxes[:, 0, 0], result.boxes[:, 0, 1]
    assert (top < 0).any() or (left < 0).any() or (top > 9).any() or (left > 9).any()  # some unit at the border
    for c in range(4):
        outside = result.patches[c, 0, 0] == -1.0
        expected_outside = 1 if top[c] < 0 or top[c] > 9 or left[c] < 0 or left[c] > 9 else 0
        assert bool(outside.any()) == bool(expected_outside)


def test_top_patches_of_a_custom_module_with_nested_names(custom_cnn, make_images):
    x = make_images(20, (3, 10, 10), seed=3)
    result = top_patches(custom_cnn, "features.2", x, k=3)
    assert result.patches.shape == (7, 3, 3, 7, 7)  # 3 + (dilated 5 - 1) = 7
    values, indices = brute_force_top_k(custom_cnn, x, "features.2", 3)
    np.testing.assert_array_equal(result.indices, indices)


def test_boxes_are_the_receptive_fields_own_boxes(tiny_cnn, images):
    """One box order everywhere: TopPatches.boxes[c, r] == ReceptiveField.bounds(row, col)."""
    for layer in ("0", "3"):
        result = top_patches(tiny_cnn, layer, images, k=4)
        field = receptive_field(tiny_cnn, layer)
        for c in range(result.channels):
            for r in range(result.k):
                row, col = (int(v) for v in result.positions[c, r])
                assert tuple(int(v) for v in result.boxes[c, r]) == field.bounds(row, col)
        top, left, bottom, right = np.moveaxis(result.boxes, -1, 0)  # each (C, k)
        assert (bottom - top == field.size[0]).all() and (right - left == field.size[1]).all()


def test_top_patches_of_a_zoo_model_on_the_test_images(digits):
    from deepscope import zoo

    model = zoo.create("lecture_cnn", data=digits, seed=0)
    x = digits.test.tensors[0]
    result = top_patches(model, "0", x, k=2)
    assert result.num_images == len(x)
    assert result.indices.max() < len(x)


def test_bad_k_and_inputs_fail_clearly(tiny_cnn, images):
    with pytest.raises(InvalidArgumentError, match=r"`k` must be an int in \[1, 40\]"):
        top_patches(tiny_cnn, "0", images, k=41)
    with pytest.raises(
        InvalidArgumentError, match=r"`inputs` must be a torch.Tensor batch .*Received: inputs='ndarray'"
    ):
        top_patches(tiny_cnn, "0", images.numpy())
    with pytest.raises(InvalidArgumentError, match=r"`inputs` must be a torch.Tensor batch .*'TensorDataset'"):
        top_patches(tiny_cnn, "0", TensorDataset(images, torch.zeros(40)))
    with pytest.raises(TypeError):  # options are keyword-only
        top_patches(tiny_cnn, "0", images, 3)
