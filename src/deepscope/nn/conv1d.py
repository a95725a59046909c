"""1-D convolution helpers for series (N, C, T): causal convolution, the conv-BN-ReLU block of
FCN/ResNet, global average pooling over time, and the channels <-> time swap RNNs need."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import invalid

__all__ = ["CausalConv1d", "ConvBlock1d", "GlobalAvgPool1d", "InceptionModule1d", "ResidualBlock1d", "TimeFirst"]


class CausalConv1d(nn.Conv1d):
    """A Conv1d whose output at step t sees only inputs t - (k-1)·dilation .. t (zeros are
    added on the left only), so the filter size sets exactly how far back it looks and no
    future step leaks in. (N, C_in, T) -> (N, C_out, T)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, dilation: int = 1, bias: bool = True):
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise invalid("kernel_size", "a positive int", kernel_size)
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation, bias=bias)
        self.left = (kernel_size - 1) * dilation

    @property
    def receptive_field(self) -> int:
        """How many steps (the current one included) one output sees."""
        return self.left + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left, 0)))  # (N, C_out, T)


class ConvBlock1d(nn.Sequential):
    """Conv1d ('same' padding) -> BatchNorm1d -> ReLU, the block of Wang et al. 2017's FCN
    and ResNet. (N, C_in, T) -> (N, C_out, T). ``relu=False`` leaves the ReLU out (the last
    conv of a residual block, before the addition)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, relu: bool = True):
        # 'same' padding written out: (k-1)//2 zeros before, the rest after, as torch's and
        # Keras' 'same' (torch's own padding='same' copies the input for even kernels).
        layers: list[nn.Module] = [
            nn.ZeroPad1d(((kernel_size - 1) // 2, kernel_size // 2)),
            nn.Conv1d(in_channels, out_channels, kernel_size, bias=False),
            nn.BatchNorm1d(out_channels),
        ]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class GlobalAvgPool1d(nn.Module):
    """Mean over time: (N, C, T) -> (N, C). Makes a classifier independent of series length."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1)


class TimeFirst(nn.Module):
    """(N, C, T) -> (N, T, C): series are stored channels-first, recurrent layers read one
    time step (a vector of C channels) at a time."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


class ResidualBlock1d(nn.Module):
    """Wang et al. 2017's ResNet block: three ConvBlock1d (kernels 8, 5, 3), the last without
    ReLU, plus a shortcut (a 1x1 conv + BN when the channel count changes), then ReLU.
    (N, C_in, T) -> (N, C_out, T)."""

    def __init__(self, in_channels: int, out_channels: int, kernels: tuple[int, ...] = (8, 5, 3)):
        super().__init__()
        chans = [in_channels] + [out_channels] * len(kernels)
        self.body = nn.Sequential(
            *(ConvBlock1d(chans[i], chans[i + 1], k, relu=i < len(kernels) - 1) for i, k in enumerate(kernels))
        )
        self.shortcut = (
            nn.Sequential(nn.Conv1d(in_channels, out_channels, 1, bias=False), nn.BatchNorm1d(out_channels))
            if in_channels != out_channels
            else nn.BatchNorm1d(out_channels)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))  # (N, C_out, T)


class InceptionModule1d(nn.Module):
    """InceptionTime's module (Ismail Fawaz et al. 2020): a 1x1 bottleneck, then parallel
    convolutions with long, medium and short filters (``kernels``) beside a max-pool + 1x1
    branch, concatenated, BN, ReLU. (N, C_in, T) -> (N, 4*filters, T)."""

    def __init__(
        self, in_channels: int, filters: int = 32, kernels: tuple[int, ...] = (39, 19, 9), bottleneck: int = 32
    ):
        super().__init__()
        self.bottleneck = nn.Conv1d(in_channels, bottleneck, 1, bias=False) if in_channels > 1 else nn.Identity()
        width = bottleneck if in_channels > 1 else in_channels
        self.convs = nn.ModuleList(nn.Conv1d(width, filters, k, padding="same", bias=False) for k in kernels)
        self.pool = nn.Sequential(nn.MaxPool1d(3, stride=1, padding=1), nn.Conv1d(in_channels, filters, 1, bias=False))
        self.out = nn.Sequential(nn.BatchNorm1d(filters * (len(kernels) + 1)), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.bottleneck(x)  # (N, bottleneck, T)
        branches = [conv(z) for conv in self.convs] + [self.pool(x)]  # each (N, filters, T)
        return self.out(torch.cat(branches, dim=1))  # (N, 4*filters, T)
