"""Interpretable features for the perturbation methods (LIME, KernelSHAP): which input
elements switch on and off together.

A feature mask is an int64 tensor shaped like ONE input without the batch dimension, whose
values are feature ids ``0 .. n-1``; ``-1`` marks elements that are never perturbed (text
padding). Superpixels come from scikit-image (SLIC by default, as the ``lime`` package's
users usually pick for small images; quickshift, the ``lime`` package's default, on request).
"""

from __future__ import annotations

import numpy as np
import torch

from deepscope.errors import invalid

__all__ = ["SEGMENTATIONS", "feature_mask", "segment_fill", "series_segments", "superpixels", "token_features"]

SEGMENTATIONS = ("slic", "quickshift", "grid")
PAD = 0  # the tokenizer's padding id


def superpixels(image: torch.Tensor, *, n_segments: int | None = None, segmentation: str = "slic") -> torch.Tensor:
    """Superpixels of one image (C, H, W) -> int64 ids (H, W), numbered from 0.

    The image is min-max scaled to [0, 1] first, so normalised inputs segment like raw ones.
    ``n_segments`` defaults to one superpixel per 16 pixels, between 8 and 100. ``"grid"`` cuts
    square patches of about ``H * W / n_segments`` pixels; SLIC and quickshift fall back to it
    when they find fewer than a quarter of ``n_segments`` regions (noise-like images, where
    SLIC's connectivity step merges everything into one region)."""
    from skimage.segmentation import quickshift, slic  # scikit-image: heavy, imported on use

    if segmentation not in SEGMENTATIONS:
        raise invalid("segmentation", f"one of {', '.join(SEGMENTATIONS)}", segmentation)
    c, h, w = image.shape
    if n_segments is None:
        n_segments = max(8, min(100, (h * w) // 16))
    if not isinstance(n_segments, int) or not 2 <= n_segments <= h * w:
        raise invalid("n_segments", f"an int between 2 and the number of pixels ({h * w})", n_segments)
    img = image.detach().to(torch.float64).cpu().numpy()
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    hwc = np.moveaxis(img, 0, -1)  # (H, W, C)
    if segmentation == "grid":
        return _grid(h, w, n_segments)
    if segmentation == "quickshift":  # needs three channels
        rgb = np.repeat(hwc, 3, axis=-1) if c == 1 else hwc[..., :3]
        kernel = max(1.0, min(h, w) / 56)  # the lime package's 4 on 224-pixel photos
        labels = quickshift(rgb, kernel_size=kernel, max_dist=kernel * 50, ratio=0.2, rng=0)
    elif c == 1:  # grey: intensities in [0, 1], so compactness on that scale
        labels = slic(hwc[..., 0], n_segments=n_segments, compactness=0.1, channel_axis=None, start_label=0)
    else:  # colour: SLIC works in Lab, where 10 is the usual compactness
        labels = slic(hwc[..., :3], n_segments=n_segments, compactness=10.0, start_label=0)
    found, ids = np.unique(labels, return_inverse=True)  # renumber 0..n-1 without gaps
    if len(found) < max(2, n_segments // 4):
        return _grid(h, w, n_segments)
    return torch.from_numpy(ids.reshape(h, w).astype(np.int64))


def _grid(h: int, w: int, n_segments: int) -> torch.Tensor:
    """Square patches of side ~sqrt(H * W / n_segments) -> ids (H, W)."""
    side = max(1, round((h * w / n_segments) ** 0.5))
    cols = -(-w // side)
    rows = torch.arange(h)[:, None] // side
    return (rows * cols + torch.arange(w)[None, :] // side).to(torch.int64)


def series_segments(shape: tuple[int, ...], *, n_segments: int | None = None) -> torch.Tensor:
    """Equal time windows per channel for one series (C, L) -> ids (C, L): channel c, window k
    is feature ``c * n + k`` (each channel's windows switch on and off on their own)."""
    c, length = shape
    if n_segments is None:
        n_segments = max(1, min(10, length))
    if not isinstance(n_segments, int) or not 1 <= n_segments <= length:
        raise invalid("n_segments", f"an int between 1 and the series length ({length})", n_segments)
    window = torch.arange(length) * n_segments // length  # (L,) 0..n-1
    return (torch.arange(c)[:, None] * n_segments + window[None, :]).to(torch.int64)


def token_features(ids: torch.Tensor) -> torch.Tensor:
    """One feature per real token of one text (L,) -> ids (L,), padding -1."""
    real = ids != PAD
    out = torch.full(ids.shape, -1, dtype=torch.int64)
    out[real] = torch.arange(int(real.sum()))
    return out


def feature_mask(
    sample: torch.Tensor, kind: str, *, n_segments: int | None = None, segmentation: str = "slic"
) -> torch.Tensor:
    """The feature mask of one sample of ``kind`` ('image' | 'series' | 'text')."""
    if kind == "image":
        return superpixels(sample, n_segments=n_segments, segmentation=segmentation)[None].expand(sample.shape)
    if kind == "series":
        return series_segments(tuple(sample.shape), n_segments=n_segments)
    return token_features(sample)


def segment_fill(sample: torch.Tensor, mask: torch.Tensor, kind: str) -> torch.Tensor:
    """What a switched-off feature becomes: its mean value per channel for images and series
    (the ``lime`` package's ``hide_color=None``), padding for text. Shaped like ``sample``."""
    if kind == "text":
        return torch.full_like(sample, PAD)
    flat = sample.reshape(sample.shape[0], -1).to(torch.float64)  # (C, P)
    ids = mask.reshape(mask.shape[0], -1).clamp_min(0)  # (C, P)
    n = int(ids.max()) + 1
    sums = torch.zeros(flat.shape[0], n, dtype=torch.float64).scatter_add_(1, ids, flat)
    counts = torch.zeros(flat.shape[0], n, dtype=torch.float64).scatter_add_(1, ids, torch.ones_like(flat))
    means = sums / counts.clamp_min(1)
    return torch.gather(means, 1, ids).reshape(sample.shape).to(sample.dtype)
