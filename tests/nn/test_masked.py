"""Masked and gated PixelCNN convolutions: exact receptive fields, raster-order causality, and
the blind spot that the gated stacks remove."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import InvalidArgumentError
from deepscope.nn import GatedLayer, HorizontalConv2d, MaskedConv2d, VerticalConv2d
from deepscope.nn.masked import gate

H, W = 6, 7  # not square: a swapped axis shows


def support(f, shape: tuple[int, ...] = (1, H, W)) -> torch.Tensor:
    """Which input pixels reach each output pixel of ``f``: bool (H, W, H, W), [i, j] the
    input pixels whose gradient on output (i, j) (summed over channels) is not zero."""
    x = torch.rand(1, *shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda inp: f(inp).sum(1)[0], x)  # (H, W, 1, C, H, W)
    return jacobian[:, :, 0].abs().sum(2) != 0


def before(i: int, j: int, *, inclusive: bool = False) -> torch.Tensor:
    """Pixels strictly before (i, j) in raster order (and (i, j) itself if ``inclusive``)."""
    order = torch.arange(H * W).reshape(H, W)
    return order <= i * W + j if inclusive else order < i * W + j


def test_masks_are_the_raster_masks_of_pixelcnn():
    a, b = MaskedConv2d(1, 1, 3, "A"), MaskedConv2d(1, 1, 3, "B")
    assert a.mask.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert b.mask.tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    assert MaskedConv2d(1, 1, 5, "A").mask.sum() == 12  # two full rows of 5 and two pixels on the left
    assert "mask" not in a.state_dict()  # rebuilt from the arguments, not stored


def test_masked_conv_equals_a_conv_with_the_masked_weights_zeroed():
    torch.manual_seed(0)
    layer = MaskedConv2d(2, 3, 5, "B").double()
    reference = nn.Conv2d(2, 3, 5, padding=2).double()
    with torch.no_grad():
        reference.weight.copy_(layer.weight)
        reference.bias.copy_(layer.bias)
        reference.weight[:, :, 2, 3:] = 0  # right of the centre
        reference.weight[:, :, 3:] = 0  # the rows below
    x = torch.randn(2, 2, H, W, dtype=torch.float64)
    assert torch.allclose(layer(x), reference(x))
    assert layer(x).shape == (2, 3, H, W)


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_output_sees_only_earlier_pixels(mask_type):
    layer = MaskedConv2d(1, 4, 3, mask_type).double()
    seen = support(layer)
    for i, j in [(0, 0), (0, W - 1), (2, 0), (2, 3), (H - 1, W - 1), (H - 1, 0)]:
        allowed = before(i, j, inclusive=mask_type == "B")
        assert not (seen[i, j] & ~allowed).any(), (i, j)  # nothing at or after (i, j) (B: after)
        assert bool(seen[i, j, i, j]) == (mask_type == "B")
    assert seen[2, 3, 1, 4] and seen[2, 3, 2, 2]  # up-right and left neighbours do reach it
    assert int(seen[0, 0].sum()) == (mask_type == "B")  # the first pixel: nothing (A), itself (B)


def test_stacked_masked_convs_have_the_blind_spot_and_gated_stacks_do_not():
    """van den Oord et al. 2016: stacked masked convolutions never see (i - 1, j + 2) from
    (i, j), however deep; the vertical stack reaches it in the second gated layer."""
    torch.manual_seed(0)
    masked = nn.Sequential(MaskedConv2d(1, 8, 3, "A"), *[MaskedConv2d(8, 8, 3, "B") for _ in range(5)]).double()
    seen = support(masked)
    assert not seen[3, 2, 2, 4] and not seen[4, 1, 3, 3]  # the blind spot
    assert seen[3, 2, 2, 3] and seen[3, 2, 0, 5]  # (i - 1, j + 1) and (i - 3, j + 3) are seen

    layers = nn.ModuleList([GatedLayer(1, 4, 3, first=True), GatedLayer(4, 4, 3)]).double()

    def gated(x: torch.Tensor) -> torch.Tensor:
        v = h = x
        for layer in layers:
            v, h = layer(v, h)
        return h

    seen = support(gated)
    assert seen[3, 2, 2, 4] and seen[4, 1, 3, 3]
    for i, j in [(0, 0), (3, 2), (H - 1, W - 1), (1, W - 1)]:
        assert not (seen[i, j] & ~before(i, j)).any(), (i, j)


@pytest.mark.parametrize("shift", [False, True])
def test_vertical_conv_sees_the_rows_above_within_the_kernel(shift):
    seen = support(VerticalConv2d(1, 3, 3, shift=shift).double())
    for i, j in [(0, 0), (3, 3), (H - 1, W - 1), (2, 0)]:
        rows = torch.arange(H)[:, None]
        cols = torch.arange(W)[None, :]
        top = i - 1 - shift
        expected = (rows >= top) & (rows <= i - shift) & ((cols - j).abs() <= 1)
        assert torch.equal(seen[i, j], expected), (i, j, shift)


@pytest.mark.parametrize("shift", [False, True])
def test_horizontal_conv_sees_the_pixels_to_the_left_in_the_row(shift):
    seen = support(HorizontalConv2d(1, 3, 5, shift=shift).double())
    for i, j in [(0, 0), (2, 3), (H - 1, W - 1)]:
        expected = torch.zeros(H, W, dtype=torch.bool)
        expected[i, max(0, j - 2 - shift) : j + 1 - shift] = True
        assert torch.equal(seen[i, j], expected), (i, j, shift)


def test_gated_stacks_are_causal_at_every_pixel():
    torch.manual_seed(0)
    layers = nn.ModuleList([GatedLayer(1, 4, 5, first=True), *[GatedLayer(4, 4, 3) for _ in range(2)]]).double()

    def stacks(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = h = x
        for layer in layers:
            v, h = layer(v, h)
        return v, h

    horizontal = support(lambda x: stacks(x)[1])
    vertical = support(lambda x: stacks(x)[0])
    for i in range(H):
        for j in range(W):
            assert not (horizontal[i, j] & ~before(i, j)).any(), (i, j)
            assert not vertical[i, j, i:].any(), (i, j)  # the vertical stack: rows above only
    assert torch.equal(horizontal[3, 4], before(3, 4))  # 3 layers reach every earlier pixel of a 6x7 image
    assert not horizontal[0, 0].any()


def test_gated_layer_computes_the_papers_equations():
    torch.manual_seed(0)
    layer = GatedLayer(4, 4, 3).double()
    v, h = torch.randn(2, 4, H, W, dtype=torch.float64), torch.randn(2, 4, H, W, dtype=torch.float64)
    v_pre = layer.vertical(v)
    a, b = (layer.horizontal(h) + layer.vertical_to_horizontal(v_pre)).chunk(2, dim=1)
    v_out, h_out = layer(v, h)
    assert torch.allclose(v_out, torch.tanh(v_pre[:, :4]) * torch.sigmoid(v_pre[:, 4:]))
    assert torch.allclose(h_out, h + layer.out(torch.tanh(a) * torch.sigmoid(b)))
    assert gate(torch.tensor([[0.5, -2.0]])).item() == pytest.approx(0.46211716 * 0.11920292)  # tanh(.5) sigmoid(-2)


def test_vertical_conv_is_a_conv_on_the_padded_input():
    torch.manual_seed(0)
    layer = VerticalConv2d(2, 3, 5).double()
    x = torch.randn(1, 2, H, W, dtype=torch.float64)
    expected = F.conv2d(F.pad(x, (2, 2, 2, 0)), layer.weight, layer.bias)  # (2+1) x 5 kernel, padded above
    assert layer.weight.shape == (3, 2, 3, 5) and torch.allclose(layer(x), expected)


def test_bad_arguments_name_themselves():
    with pytest.raises(
        InvalidArgumentError, match=r"`kernel_size` must be an odd positive int. Received: kernel_size=4"
    ):
        MaskedConv2d(1, 1, 4, "A")
    with pytest.raises(InvalidArgumentError, match=r"`mask_type` must be 'A' .* Received: mask_type='C'"):
        MaskedConv2d(1, 1, 3, "C")
    with pytest.raises(InvalidArgumentError, match="`kernel_size`"):
        VerticalConv2d(1, 1, 2)
    with pytest.raises(InvalidArgumentError, match=r"`in_channels` must be equal to channels=8"):
        GatedLayer(4, 8, 3)
