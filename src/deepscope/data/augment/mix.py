"""MixUp and CutMix: mix pairs of images *and their labels* within a batch.

torchvision's ``v2.MixUp`` / ``v2.CutMix`` already work on whole batches (one mixing weight
per batch, pairs made by rolling the batch, as in the papers' reference code), so they are used
as they are. Their randomness comes from the global RNG; it is drawn inside ``fork_rng``
seeded from the trainer's generator, so a resumed run mixes the same pairs and the caller's
global RNG is untouched.
"""

from __future__ import annotations

import torch

__all__ = ["mix_batch"]


def mix_batch(
    x: torch.Tensor, y: torch.Tensor, generator: torch.Generator, name: str, alpha: float, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, H, W) and integer labels (N,) -> mixed images and soft labels (N, K)."""
    from torchvision.transforms import v2

    kind = v2.MixUp if name == "mixup" else v2.CutMix
    mixer = kind(alpha=alpha, num_classes=num_classes)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):  # the draws happen on the CPU
        torch.manual_seed(seed)
        mixed, soft = mixer(x, y)
    return mixed, soft
