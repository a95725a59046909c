"""Token-sequence perturbations for mini-batches of token ids (N, T), padding id 0.

Word dropout (Iyyer et al. 2015: drop words at random while training) replaces tokens by the
out-of-vocabulary id, so lengths and padding stay put; random swap is EDA's (Wei & Zou 2019):
exchange the places of two words of the review, a few times. Padding is never touched, so
'pre' and 'post' padded data behave alike.
"""

from __future__ import annotations

import torch

__all__ = ["token_dropout", "token_swap"]

PAD, OOV = 0, 1  # deepscope.data.tokenizer's ids, repeated so this module stays import-light


def token_dropout(x: torch.Tensor, generator: torch.Generator, p: float = 0.1) -> torch.Tensor:
    """Replace each non-padding token of (N, T) by the out-of-vocabulary id with probability p."""
    drop = (torch.rand(tuple(x.shape), generator=generator) < p).to(x.device) & (x != PAD)
    return x.masked_fill(drop, OOV)


def token_swap(x: torch.Tensor, generator: torch.Generator, p: float = 0.1) -> torch.Tensor:
    """Swap two random words of each sequence of (N, T), round(p * length) times (at least
    once for a sequence of two or more words)."""
    n, t = x.shape
    words = x != PAD  # (N, T)
    length = words.sum(dim=1).cpu()  # (N,)
    start = torch.where(length > 0, words.int().argmax(dim=1).cpu(), torch.zeros_like(length))  # first word
    swaps = torch.where(length >= 2, (p * length).round().clamp_min(1), torch.zeros_like(length)).long()
    out = x.clone()
    rows = torch.arange(n, device=x.device)
    for round_ in range(int(swaps.max()) if n else 0):  # a few rounds, each vectorised over the batch
        i = start + (torch.rand(n, generator=generator) * length).long().clamp(max=(length - 1).clamp_min(0))
        j = start + (torch.rand(n, generator=generator) * length).long().clamp(max=(length - 1).clamp_min(0))
        active = (swaps > round_).to(x.device)
        i, j = i.to(x.device), j.to(x.device)
        a, b = out[rows, i], out[rows, j]
        out[rows, i] = torch.where(active, b, a)
        out[rows, j] = torch.where(active, a, out[rows, j])
    return out
