"""Data-aware augmentation applied to whole mini-batches.

torchvision's v2 transforms draw one set of random parameters per call, so applied to a
batch every sample would get the same shift; a per-sample shift is one gather here, which
keeps augmentation vectorised (no per-sample Python loop on the hot path).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from deepscope.errors import UnknownNameError

__all__ = ["AUGMENTS", "make_augment", "random_flip", "random_shift"]

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
AUGMENTS = ("none", "auto", "shift", "shift-flip")


def random_shift(x: torch.Tensor, generator: torch.Generator, max_shift: int) -> torch.Tensor:
    """Translate each image of (N, C, H, W) by its own random offset in [-max_shift, max_shift]
    (zero fill), as Keras' width/height_shift_range."""
    n, c, h, w = x.shape
    p = max_shift
    padded = F.pad(x, (p, p, p, p))  # (N, C, H+2p, W+2p)
    dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]  # (N, 1, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]  # (N, 1, 1, W)
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror a random half of the images of (N, C, H, W) left-right."""
    flip = torch.rand(len(x), generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def make_augment(name: str | None, kind: str) -> Augment | None:
    """The batch augmentation called ``name`` for data of ``kind``. 'auto' picks what suits
    the data: small shifts (8% of the side) for images — digits stay digits, unlike flips."""
    if name is None or name == "none":
        return None
    if name not in AUGMENTS:
        raise UnknownNameError("augmentation", name, AUGMENTS)
    if kind != "image":
        if name == "auto":
            return None
        raise UnknownNameError(f"augmentation for {kind} data", name, ("none", "auto"))

    def shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return random_shift(x, generator, max(1, round(0.08 * min(x.shape[-2:]))))

    if name in ("auto", "shift"):
        return shift
    return lambda x, generator: random_flip(shift(x, generator), generator)
