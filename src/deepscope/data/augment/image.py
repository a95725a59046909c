"""Image perturbations for whole mini-batches (N, C, H, W) of floats in [0, 1], each sample
with its own random parameters.

torchvision's v2 transforms draw one set of parameters per call, so a batch passed to
``v2.RandomAffine`` gets one rotation for every image; per-sample draws are what augmentation
needs. The geometric ops here are therefore one batched ``affine_grid``/``grid_sample`` (or one
gather) with a matrix per sample, and the photometric ones are the same blends torchvision's
``adjust_brightness``/``adjust_contrast``/``adjust_saturation`` compute, with a factor per
sample: one vectorised call per batch, on whatever device the batch lives, no Python loop per
sample. The policies that are inherently per-image (RandAugment, TrivialAugment) call
torchvision's own transforms on each image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "random_affine",
    "random_color",
    "random_erase",
    "random_flip",
    "random_resized_crop",
    "random_shift",
    "torchvision_policy",
]


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def random_shift(x: torch.Tensor, generator: torch.Generator, max_shift: int) -> torch.Tensor:
    """Translate each image of (N, C, H, W) by its own random whole-pixel offset in
    [-max_shift, max_shift] (zero fill) -- Keras' width/height_shift_range, or torchvision's
    RandomCrop with zero padding. One gather for the batch."""
    n, c, h, w = x.shape
    p = max_shift
    padded = F.pad(x, (p, p, p, p))  # (N, C, H+2p, W+2p)
    dy = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device)
    ar_h, ar_w = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    rows = (dy[:, None] + ar_h)[:, None, :, None]  # (N, 1, H, 1)
    cols = (dx[:, None] + ar_w)[:, None, None, :]  # (N, 1, 1, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    return padded[batch, torch.arange(c, device=x.device)[None, :, None, None], rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5, dim: int = -1) -> torch.Tensor:
    """Mirror each image of (N, C, H, W) with probability ``p``: left-right (``dim=-1``) or
    upside-down (``dim=-2``)."""
    flip = (torch.rand(len(x), generator=generator) < p).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(dim), x)


def _warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample (N, C, H, W) through per-sample affine maps theta (N, 2, 3) that send output
    coordinates to input coordinates (normalised to [-1, 1]); outside the image is 0."""
    theta = theta.to(device=x.device, dtype=x.dtype if x.is_floating_point() else torch.float32)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_affine(
    x: torch.Tensor,
    generator: torch.Generator,
    *,
    degrees: float = 0.0,
    translate: float = 0.0,
    scale: float = 0.0,
) -> torch.Tensor:
    """Rotate by up to ``degrees``, translate by up to ``translate`` of each side and zoom by a
    factor in [1 - scale, 1 + scale], every image of (N, C, H, W) its own draw (bilinear,
    zero fill), as torchvision's RandomAffine does for one image."""
    n, _, h, w = x.shape
    angle = torch.deg2rad(_uniform(n, -degrees, degrees, generator))
    zoom = _uniform(n, 1.0 - scale, 1.0 + scale, generator)
    tx = _uniform(n, -translate, translate, generator) * 2  # normalised coordinates span 2
    ty = _uniform(n, -translate, translate, generator) * 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # The inverse rotation in pixel space, written in normalised coordinates: D R^-1 D^-1 with
    # D = diag(2/W, 2/H), so non-square images rotate without shearing.
    theta = torch.stack(
        [torch.stack([cos, sin * h / w, tx], dim=1), torch.stack([-sin * w / h, cos, ty], dim=1)], dim=1
    )  # (N, 2, 3)
    return _warp(x, theta)


def random_resized_crop(
    x: torch.Tensor, generator: torch.Generator, *, min_area: float = 0.35, ratio: tuple[float, float] = (3 / 4, 4 / 3)
) -> torch.Tensor:
    """Cut a random box covering ``min_area``..1 of each image, of aspect ratio in ``ratio``,
    and stretch it back to (H, W) -- torchvision's RandomResizedCrop per sample."""
    n = len(x)
    area = _uniform(n, min_area, 1.0, generator)
    log_ratio = _uniform(n, math.log(ratio[0]), math.log(ratio[1]), generator)
    aspect = torch.exp(log_ratio)
    box_w = torch.sqrt(area * aspect).clamp(max=1.0)  # fractions of the width / height
    box_h = torch.sqrt(area / aspect).clamp(max=1.0)
    cx = (_uniform(n, 0.0, 1.0, generator) * (1 - box_w) + box_w / 2) * 2 - 1  # box centre, normalised
    cy = (_uniform(n, 0.0, 1.0, generator) * (1 - box_h) + box_h / 2) * 2 - 1
    zeros = torch.zeros(n)
    theta = torch.stack([torch.stack([box_w, zeros, cx], 1), torch.stack([zeros, box_h, cy], 1)], 1)  # (N, 2, 3)
    return _warp(x, theta)


def random_color(x: torch.Tensor, generator: torch.Generator, strength: float = 0.4) -> torch.Tensor:
    """Brightness, contrast and (for RGB) saturation, each scaled by a factor in
    [1 - strength, 1 + strength] drawn per image -- the blends of torchvision's ColorJitter."""
    n, c = x.shape[:2]
    shape = (n, 1, 1, 1)

    def factor() -> torch.Tensor:
        return _uniform(n, max(0.0, 1 - strength), 1 + strength, generator).to(x.device, x.dtype).view(shape)

    brightness, contrast, saturation = factor(), factor(), factor()
    x = x * brightness
    grey = _grey(x)  # (N, 1, H, W)
    mean = grey.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast + mean
    if c == 3:
        grey = _grey(x)
        x = (x - grey) * saturation + grey
    return x.clamp(0.0, 1.0)


def _grey(x: torch.Tensor) -> torch.Tensor:
    """Luma of (N, C, H, W): ITU-R 601 weights for RGB, the mean otherwise. (N, 1, H, W)."""
    if x.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x * weights).sum(dim=1, keepdim=True)
    return x.mean(dim=1, keepdim=True)


def random_erase(
    x: torch.Tensor,
    generator: torch.Generator,
    p: float = 0.5,
    area: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
) -> torch.Tensor:
    """Blank (to 0) one random rectangle in a fraction ``p`` of the images of (N, C, H, W);
    the rectangle covers ``area`` of the image with aspect ratio in ``ratio`` -- torchvision's
    RandomErasing (value 0) per sample, as one mask."""
    n, _, h, w = x.shape
    chosen = torch.rand(n, generator=generator) < p
    fraction = _uniform(n, *area, generator)
    aspect = torch.exp(_uniform(n, math.log(ratio[0]), math.log(ratio[1]), generator))
    eh = (torch.sqrt(fraction * aspect) * h).round().clamp(1, h)
    ew = (torch.sqrt(fraction / aspect) * w).round().clamp(1, w)
    top = (torch.rand(n, generator=generator) * (h - eh + 1)).floor()
    left = (torch.rand(n, generator=generator) * (w - ew + 1)).floor()
    rows = torch.arange(h)[None, :]  # (1, H)
    cols = torch.arange(w)[None, :]
    inside_rows = (rows >= top[:, None]) & (rows < (top + eh)[:, None])  # (N, H)
    inside_cols = (cols >= left[:, None]) & (cols < (left + ew)[:, None])  # (N, W)
    mask = inside_rows[:, :, None] & inside_cols[:, None, :] & chosen[:, None, None]  # (N, H, W)
    return x.masked_fill(mask[:, None].to(x.device), 0.0)


def torchvision_policy(x: torch.Tensor, generator: torch.Generator, name: str, magnitude: float) -> torch.Tensor:
    """torchvision's RandAugment (2 ops at ``magnitude`` of 30) or TrivialAugmentWide on each
    image of (N, C, H, W) in [0, 1]: per image, because these policies pick different ops for
    different images. torchvision's randomness comes from the global RNG, so it is drawn
    inside ``fork_rng`` seeded from ``generator``: the same generator state gives the same batch,
    and the caller's global RNG is left as it was."""
    from torchvision.transforms import v2

    if name == "randaugment":
        transform = v2.RandAugment(num_ops=2, magnitude=int(round(magnitude)))
    else:
        transform = v2.TrivialAugmentWide()
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    images = (x.clamp(0, 1) * 255).round().to(torch.uint8)  # the policies' integer ops want uint8
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        out = torch.stack([transform(image) for image in images])
    return out.to(x.dtype) / 255.0
