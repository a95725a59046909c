"""Convolutions that see only the pixels before the current one, in raster order (row by
row, left to right): the building blocks of PixelCNN.

- :class:`MaskedConv2d` is the masked convolution of the original PixelCNN (van den Oord,
  Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent Neural Networks"). Stacked, such layers
  have a *blind spot*: the pixels up and to the right of (i, j) beyond the kernel's reach
  never reach output (i, j), however deep the stack.
- :class:`GatedLayer` is one layer of the gated PixelCNN (van den Oord et al. 2016,
  "Conditional Image Generation with PixelCNN Decoders", Figure 2), which removes the blind
  spot by splitting the receptive field into a *vertical stack* (every pixel in the rows
  above) and a *horizontal stack* (the pixels to the left in the current row).

The two stacks are written as *shifted* convolutions (the way PixelCNN++ writes them) rather
than masked ones: a kernel that only covers the allowed half of the neighbourhood, on an input
padded above (vertical) or on the left (horizontal), so no multiplication is spent on a
masked-out zero weight. :class:`VerticalConv2d` and :class:`HorizontalConv2d` are those two
convolutions.

Channels: every mask and shift here is spatial -- the channels at one position are seen or
hidden together. The colour ordering of PixelCNN (R before G before B within a pixel) is not
implemented: a model of C channels built from these layers predicts the channels of a pixel
independently of each other, given the pixels before it (exact for one channel, e.g. binary
MNIST).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import invalid

__all__ = ["MASK_TYPES", "GatedLayer", "HorizontalConv2d", "MaskedConv2d", "VerticalConv2d", "gate"]

MASK_TYPES = ("A", "B")


def _check_kernel(kernel_size: int) -> int:
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise invalid("kernel_size", "an odd positive int", kernel_size)
    return kernel_size


def _check_mask_type(mask_type: str) -> str:
    if mask_type not in MASK_TYPES:
        raise invalid("mask_type", "'A' (the centre pixel hidden: first layer) or 'B' (the centre seen)", mask_type)
    return mask_type


class MaskedConv2d(nn.Conv2d):
    """A k x k 'same' convolution whose weights are multiplied by a fixed raster mask, so
    output (i, j) sees only the rows above i and, in row i, the columns left of j.

    Mask type 'A' also hides the centre pixel (i, j): the first layer, which reads the image
    and must not see the pixel it predicts. Type 'B' lets the centre through: later layers,
    whose centre holds features of the pixels before (i, j). (N, C_in, H, W) -> (N, C_out, H, W).
    The mask is spatial (see the module's note on channels)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str, *, bias: bool = True):
        kernel_size, mask_type = _check_kernel(kernel_size), _check_mask_type(mask_type)
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias)
        self.mask_type = mask_type
        centre = kernel_size // 2
        mask = torch.ones(kernel_size, kernel_size)
        mask[centre, centre + (mask_type == "B") :] = 0  # the centre row: right of the centre (and it, for A)
        mask[centre + 1 :] = 0  # every row below the centre
        self.register_buffer("mask", mask, persistent=False)  # (k, k), rebuilt from the arguments

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)  # (N, C_out, H, W)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mask_type={self.mask_type!r}"


class VerticalConv2d(nn.Conv2d):
    """The vertical stack's convolution: output (i, j) sees rows i - k//2 .. i and columns
    j - k//2 .. j + k//2 -- a (k//2 + 1) x k kernel over the input padded k//2 rows above and
    k//2 columns on each side. ``shift=True`` (the first layer, which reads the image) first
    moves the input down one row, so output (i, j) sees rows i - k//2 - 1 .. i - 1 only.
    (N, C_in, H, W) -> (N, C_out, H, W).

    In a gated stack whose first layer is shifted, the vertical features at row i depend on
    image rows above i only, so they can feed the horizontal stack at the same position."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, shift: bool = False):
        half = _check_kernel(kernel_size) // 2
        super().__init__(in_channels, out_channels, (half + 1, kernel_size))
        self.half, self.shift = half, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shift:
            x = F.pad(x, (0, 0, 1, 0))[:, :, :-1]  # (N, C, H, W): row i now holds row i - 1, row 0 zeros
        x = F.pad(x, (self.half, self.half, self.half, 0))  # (N, C, H + k//2, W + 2 * (k//2))
        return super().forward(x)  # (N, C_out, H, W)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, shift={self.shift}"


class HorizontalConv2d(nn.Conv2d):
    """The horizontal stack's convolution: output (i, j) sees columns j - k//2 .. j of row i
    -- a 1 x (k//2 + 1) kernel over the input padded k//2 columns on the left. ``shift=True``
    (the first layer) first moves the input right one column, so output (i, j) sees columns
    j - k//2 - 1 .. j - 1 only. (N, C_in, H, W) -> (N, C_out, H, W)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, shift: bool = False):
        half = _check_kernel(kernel_size) // 2
        super().__init__(in_channels, out_channels, (1, half + 1))
        self.half, self.shift = half, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shift:
            x = F.pad(x, (1, 0))[..., :-1]  # (N, C, H, W): column j now holds column j - 1, column 0 zeros
        x = F.pad(x, (self.half, 0))  # (N, C, H, W + k//2)
        return super().forward(x)  # (N, C_out, H, W)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, shift={self.shift}"


def gate(x: torch.Tensor) -> torch.Tensor:
    """The gated activation tanh(a) * sigmoid(b) of the two halves a, b of ``x``'s channels:
    (N, 2p, H, W) -> (N, p, H, W)."""
    a, b = x.chunk(2, dim=1)  # each (N, p, H, W)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated PixelCNN layer (van den Oord et al. 2016, Figure 2): ``(v, h) -> (v', h')``,
    each (N, C, H, W) in, (N, p, H, W) out, p = ``channels``.

    - vertical stack: ``v' = gate(V * v)``, V a :class:`VerticalConv2d` to 2p channels;
    - horizontal stack: ``h' = h + W_o * gate(H * h + W_vh * (V * v))``: H a
      :class:`HorizontalConv2d` to 2p channels, W_vh the 1x1 vertical-to-horizontal
      connection (it reads the vertical stack's pre-activations, as in the paper), W_o a 1x1
      convolution, and the residual ``h +`` (the horizontal stack only).

    ``first=True`` is the first layer, which reads the image (v = h = x): its convolutions are
    shifted (the equivalent of mask 'A'), so no output sees pixel (i, j) itself, and it has no
    residual (its input has the image's channels). Causality: if the vertical input at row i
    depends on image rows above i only, and the horizontal input at (i, j) on pixels before
    (i, j), the outputs do too -- the first layer establishes both."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int, *, first: bool = False):
        super().__init__()
        if not first and in_channels != channels:
            raise invalid(
                "in_channels", f"equal to channels={channels} (the residual adds them) unless first", in_channels
            )
        self.first = first
        self.vertical = VerticalConv2d(in_channels, 2 * channels, kernel_size, shift=first)
        self.horizontal = HorizontalConv2d(in_channels, 2 * channels, kernel_size, shift=first)
        self.vertical_to_horizontal = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_next, from_vertical = self.vertical_step(v)
        return v_next, self.horizontal_step(h, from_vertical)

    def vertical_step(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The vertical stack's output (N, p, H, W) and its contribution to the horizontal
        stack, ``W_vh * (V * v)`` (N, 2p, H, W); both at row i read image rows above i only."""
        v_pre = self.vertical(v)  # (N, 2p, H, W)
        return gate(v_pre), self.vertical_to_horizontal(v_pre)

    def horizontal_step(self, h: torch.Tensor, from_vertical: torch.Tensor) -> torch.Tensor:
        """The horizontal stack's output (N, p, H, W) from its input ``h`` and the vertical
        stack's contribution ``from_vertical`` (N, 2p, H, W) (any H: one row, when sampling)."""
        h_out = self.out(gate(self.horizontal(h) + from_vertical))  # (N, p, H, W)
        return h_out if self.first else h + h_out
