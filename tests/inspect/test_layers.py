from __future__ import annotations

import pytest
import torch
from torch import nn

from deepscope.errors import InvalidArgumentError, UnknownNameError
from deepscope.inspect import conv_layers, get_layer, layer_outputs, spatial_layers


def test_layers_are_found_by_module_name(tiny_cnn, custom_cnn):
    assert conv_layers(tiny_cnn) == ["0", "3"]
    assert spatial_layers(tiny_cnn) == ["0", "2", "3"]
    assert conv_layers(custom_cnn) == ["features.0", "features.2"]
    assert get_layer(custom_cnn, "features.2") is custom_cnn.features[2]


def test_unknown_layer_suggests_close_names(custom_cnn):
    with pytest.raises(UnknownNameError, match="Did you mean 'features.2'"):
        get_layer(custom_cnn, "features.20")


def test_layer_outputs_match_a_manual_forward(tiny_cnn, images):
    out = layer_outputs(tiny_cnn, ["0", "2", "3"], images, stop=False)
    x0 = tiny_cnn[0](images)
    assert torch.allclose(out["0"], x0)  # not overwritten by the in-place ReLU that follows
    assert (out["0"] < 0).any()
    assert torch.allclose(out["2"], tiny_cnn[2](torch.relu(x0)))
    assert torch.allclose(out["3"], tiny_cnn[3](out["2"]))


def test_layer_outputs_stop_after_the_last_requested_layer(tiny_cnn, images):
    calls = []
    handle = tiny_cnn[6].register_forward_hook(lambda *a: calls.append(1))
    layer_outputs(tiny_cnn, ["2"], images)
    assert calls == []
    layer_outputs(tiny_cnn, ["2"], images, stop=False)
    assert calls == [1]
    handle.remove()


def test_layer_outputs_rejects_a_layer_the_forward_never_runs(custom_cnn, make_images):
    custom_cnn.unused = nn.Conv2d(3, 2, 3)
    with pytest.raises(InvalidArgumentError, match=r"layers that the forward pass runs. Received: layers=\['unused'\]"):
        layer_outputs(custom_cnn, ["unused", "features.0"], make_images(2, (3, 10, 10)))


def test_reading_reuses_its_hooks_and_removes_them(tiny_cnn, images):
    from deepscope.inspect import reading

    with reading(tiny_cnn, ["3"]) as read:
        first, second = read(images[:3])["3"], read(images[3:5])["3"]
        assert len(tiny_cnn[3]._forward_hooks) == 1
    assert first.shape == (3, 6, 2, 2) and second.shape == (2, 6, 2, 2)
    assert torch.allclose(second, tiny_cnn[:4](images[3:5]))
    assert len(tiny_cnn[3]._forward_hooks) == 0
