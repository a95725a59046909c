"""Time-series perturbations for mini-batches (N, C, T), each series its own draw.

The five of Um et al. (2017) and Le Guennec et al. (2016) that keep a series' class: jitter,
scaling, magnitude warp, time warp and window slicing. None reverses or shuffles time. No
maintained PyTorch library implements them batched (tsaug works on numpy one array at a time),
so they are written here as one vectorised call per batch: smooth random curves are a few
random knots resampled with ``F.interpolate``, and warps resample through ``grid_sample``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["jitter", "magnitude_warp", "scaling", "time_warp", "window_slice"]


def _randn(shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(shape, generator=generator).to(like.device, like.dtype)


def jitter(x: torch.Tensor, generator: torch.Generator, sigma: float = 0.03) -> torch.Tensor:
    """Add Gaussian noise of ``sigma`` times each series' own standard deviation (N, C, T)."""
    scale = x.std(dim=(1, 2), keepdim=True).clamp_min(1e-8)  # (N, 1, 1): noise relative to the series
    return x + sigma * scale * _randn(tuple(x.shape), generator, x)


def scaling(x: torch.Tensor, generator: torch.Generator, sigma: float = 0.1) -> torch.Tensor:
    """Multiply each channel of each series by a factor drawn from N(1, sigma^2)."""
    n, c, _ = x.shape
    return x * (1 + sigma * _randn((n, c, 1), generator, x))


def _smooth_curve(n: int, c: int, t: int, knots: int, sigma: float, generator: torch.Generator, like) -> torch.Tensor:
    """(N, C, T) smooth random curves around 1: ``knots`` + 2 points from N(1, sigma^2)
    joined by a cubic (bicubic along one axis) interpolation."""
    points = 1 + sigma * _randn((n, c, 1, knots + 2), generator, like)  # (N, C, 1, K+2)
    return F.interpolate(points, size=(1, t), mode="bicubic", align_corners=True)[:, :, 0]  # (N, C, T)


def magnitude_warp(x: torch.Tensor, generator: torch.Generator, sigma: float = 0.2, knots: int = 4) -> torch.Tensor:
    """Multiply each series by a smooth random curve around 1 (one curve per channel)."""
    n, c, t = x.shape
    return x * _smooth_curve(n, c, t, knots, sigma, generator, x)


def _resample(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Read (N, C, T) at fractional time positions (N, T') in [0, T-1], linearly."""
    t = x.shape[-1]
    grid_x = positions / max(t - 1, 1) * 2 - 1  # (N, T') in [-1, 1]
    grid = torch.stack([grid_x, torch.zeros_like(grid_x)], dim=-1)[:, None]  # (N, 1, T', 2)
    return F.grid_sample(x[:, :, None], grid, mode="bilinear", padding_mode="border", align_corners=True)[:, :, 0]


def time_warp(x: torch.Tensor, generator: torch.Generator, sigma: float = 0.2, knots: int = 4) -> torch.Tensor:
    """Speed each series up and down smoothly: time advances at a random rate around 1
    (a smooth curve, clipped positive), rescaled so the series still starts and ends where it
    did. The same warp applies to every channel of a series."""
    n, _, t = x.shape
    speed = _smooth_curve(n, 1, t, knots, sigma, generator, x)[:, 0].clamp_min(0.1)  # (N, T)
    clock = torch.cumsum(speed, dim=1)
    clock = clock - clock[:, :1]
    positions = clock / clock[:, -1:].clamp_min(1e-8) * (t - 1)  # (N, T) from 0 to T-1, increasing
    return _resample(x, positions)


def window_slice(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.9) -> torch.Tensor:
    """Cut a random window of ``ratio`` of each series' length and stretch it back to T."""
    n, _, t = x.shape
    length = ratio * (t - 1)
    start = torch.rand(n, generator=generator).to(x.device, x.dtype) * (t - 1 - length)  # (N,)
    steps = torch.linspace(0, 1, t, device=x.device, dtype=x.dtype)  # (T,)
    return _resample(x, start[:, None] + steps[None, :] * length)
