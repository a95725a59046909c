"""Receptive fields from the layer configuration, checked against brute force: which input
pixels get a non-zero gradient for one unit, in torch."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from deepscope import zoo
from deepscope.errors import InvalidArgumentError, UnknownNameError
from deepscope.mechanics import ReceptiveField, receptive_field


class _SumPool(nn.Module):
    """A max-pool's windows with every element on the gradient path: the sum over the same
    windows (kernel, stride, padding, dilation). A max passes its gradient to one pixel per
    input, which depends on the values; the receptive field is every pixel it could pick."""

    def __init__(self, pool: nn.MaxPool2d):
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, channels = self.pool, x.shape[1]
        size = p.kernel_size if isinstance(p.kernel_size, tuple) else (p.kernel_size, p.kernel_size)
        ones = torch.ones(channels, 1, *size, dtype=x.dtype)
        return F.conv2d(x, ones, stride=p.stride, padding=p.padding, dilation=p.dilation, groups=channels)


def _brute_force_pixels(model: nn.Module, in_shape: tuple[int, int, int], row: int, col: int) -> np.ndarray:
    """(H, W) bool: the input pixels with a non-zero gradient for unit (0, row, col) of the
    model's output. Conv weights are made positive and biases zero, and the input is positive,
    so every activation is positive (ReLU passes every gradient) and no paths cancel."""
    model = copy.deepcopy(model).float().eval()  # float32: all values positive, so no rounding to 0
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.MaxPool2d):
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, _SumPool(module))
    x = torch.ones((1, *in_shape), requires_grad=True)
    out = model(x)  # (1, K, H', W')
    out[0, 0, row, col].backward()
    return (x.grad[0].abs().sum(dim=0) > 0).numpy()  # (H, W)


def _box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), half-open, of the pixels that are set."""
    rows, cols = np.nonzero(pixels.any(axis=1))[0], np.nonzero(pixels.any(axis=0))[0]
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def _up_to(model: nn.Sequential, layer: str) -> nn.Sequential:
    return model[: int(layer) + 1]


def _check_against_brute_force(
    model: nn.Module, truncated: nn.Module, layer: str, in_shape: tuple[int, int, int], dense: bool
) -> ReceptiveField:
    rf = receptive_field(model, layer)
    with torch.no_grad():
        _, _, out_h, out_w = truncated(torch.zeros(1, *in_shape)).shape
    for row, col in {(0, 0), (out_h // 2, out_w // 2), (out_h - 1, out_w - 1)}:
        pixels = _brute_force_pixels(truncated, in_shape, row, col)
        expected = rf.bounds(row, col, image_shape=in_shape[1:])
        assert _box(pixels) == expected, f"unit ({row}, {col}) of layer {layer}"
        if dense:  # no dilation and no stride larger than a kernel: no holes in the field
            top, left, bottom, right = expected
            assert pixels[top:bottom, left:right].all() and pixels.sum() == (bottom - top) * (right - left)
    return rf


# ----------------------------------------------------------------------------- zoo CNNs
def test_lecture_cnn_receptive_fields_by_hand():
    model = zoo.create("lecture_cnn", in_shape=(1, 8, 8), num_classes=10)
    conv, pool = receptive_field(model, "0"), receptive_field(model, "2")
    # conv 3x3 padding 1: 3 pixels starting 1 left of the image; 2x2 pool: 3 + 1 = 4, jump 2
    assert (conv.size, conv.jump, conv.offset) == ((3, 3), (1, 1), (-1, -1))
    assert (pool.size, pool.jump, pool.offset) == ((4, 4), (2, 2), (-1, -1))


def test_mnist_cnn_receptive_fields_by_hand():
    model = zoo.create("mnist_cnn", in_shape=(1, 28, 28), num_classes=10)
    fields = {layer: receptive_field(model, layer) for layer in ("0", "1", "2", "4", "5")}
    # conv3 -> 3; ReLU keeps it; conv3 -> 5; pool 2 -> 6 with jump 2; dropout keeps it;
    # no padding: unit (0, 0) starts at pixel 0
    assert {k: (f.size, f.jump, f.offset) for k, f in fields.items()} == {
        "0": ((3, 3), (1, 1), (0, 0)),
        "1": ((3, 3), (1, 1), (0, 0)),
        "2": ((5, 5), (1, 1), (0, 0)),
        "4": ((6, 6), (2, 2), (0, 0)),
        "5": ((6, 6), (2, 2), (0, 0)),
    }


def test_every_sequential_image_cnn_in_the_zoo_is_covered():
    """Contract: each sequential image CNN in the zoo gets the right field (brute force) for
    every conv/pool layer, at three units."""
    checked = 0
    for entry in zoo.MODELS:
        info = entry.meta["info"]
        if info.kind != "image":
            continue
        # the builder alone (zoo.create would also dry-run recurrent image models, slowly)
        model = entry.builder(info.example_shape, info.example_classes, **(info.example_kwargs or {}))
        if not isinstance(model, nn.Sequential):
            continue
        for name, module in model.named_children():
            if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
                dense = all(getattr(m, "dilation", 1) in (1, (1, 1)) for m in model[: int(name) + 1])
                _check_against_brute_force(model, _up_to(model, name), name, info.example_shape, dense=dense)
                checked += 1
    assert checked >= 5  # lecture_cnn: 2 layers, mnist_cnn: 3


# ----------------------------------------------------------------------------- other architectures
def test_strides_padding_dilation_and_rectangular_kernels():
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1),
        nn.ReLU(),  # (N, 4, 32, 32)
        nn.MaxPool2d(3, stride=2, padding=1),  # (N, 4, 16, 16)
        nn.Conv2d(4, 4, 3, padding=2, dilation=2),
        nn.ReLU(),  # (N, 4, 16, 16)
        nn.AvgPool2d(2),  # (N, 4, 8, 8)
        nn.Conv2d(4, 3, (5, 3), stride=(1, 2)),  # (N, 3, 4, 3)
    )
    for layer in ("0", "2", "3", "5", "6"):
        rf = _check_against_brute_force(model, _up_to(model, layer), layer, (2, 64, 64), dense=False)
    # worked by hand: size 3 -> 7 -> 7 + 4*4 = 23 -> 27 -> rows 27 + 4*8 = 59, cols 27 + 2*8 = 43
    assert (rf.size, rf.jump, rf.offset) == ((59, 43), (8, 16), (-11, -11))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_dilated_max_pool_and_even_same_padding():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3),
        nn.ReLU(),  # (N, 2, 10, 10)
        nn.MaxPool2d(2, stride=1, dilation=2),  # (N, 2, 8, 8)
        nn.Conv2d(2, 2, 4, padding="same"),  # (N, 2, 8, 8): pads 1 before, 2 after
    )
    pool = _check_against_brute_force(model, _up_to(model, "2"), "2", (1, 12, 12), dense=False)
    last = _check_against_brute_force(model, _up_to(model, "3"), "3", (1, 12, 12), dense=False)
    assert (pool.size, pool.offset) == ((5, 5), (0, 0))
    assert (last.size, last.offset) == ((8, 8), (-1, -1))


def test_nested_modules_are_addressed_by_their_names():
    features = nn.Sequential(nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
    model = nn.Sequential(OrderedDict(features=features, head=nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 3))))
    rf = _check_against_brute_force(model, features, "features.2", (1, 16, 16), dense=True)
    assert rf.layer == "features.2" and rf.size == (6, 6) and rf.offset == (-2, -2)


def test_a_plain_list_of_layers_works_with_index_names():
    layers = [nn.Conv2d(1, 1, 3), nn.ReLU(), nn.MaxPool2d(2)]
    assert receptive_field(layers, "2").size == (4, 4)


def test_unknown_layer_gets_did_you_mean():
    model = nn.Sequential(OrderedDict(conv1=nn.Conv2d(1, 2, 3), relu=nn.ReLU()))
    with pytest.raises(UnknownNameError, match=r"Unknown layer 'conv'. Did you mean 'conv1'"):
        receptive_field(model, "conv")


def test_layers_after_flatten_have_no_spatial_field():
    model = zoo.create("lecture_cnn", in_shape=(1, 8, 8), num_classes=10)
    with pytest.raises(InvalidArgumentError, match=r"layer '3' \(Flatten\) comes before it"):
        receptive_field(model, "4")


def test_bounds_clip_to_the_image():
    rf = ReceptiveField("x", size=(4, 4), jump=(2, 2), offset=(-1, -1))
    assert rf.bounds(0, 0) == (-1, -1, 3, 3)  # (top, left, bottom, right)
    assert rf.bounds(3, 1, image_shape=(8, 6)) == (5, 1, 8, 5)
    assert rf.bounds(0, 2, image_shape=(8, 6)) == (0, 3, 3, 6)
