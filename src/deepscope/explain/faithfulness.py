"""Faithfulness of an attribution: deletion and insertion curves (Petsiuk et al. 2018, RISE).

Deletion removes the most-attributed elements first and follows the target's probability:
a faithful map makes it fall fast (small area). Insertion starts from nothing and adds the
most-attributed elements first: the probability should rise fast (large area). Elements are
pixels for images (all channels together), (channel, step) pairs for series and tokens for
text; removed means zero for images and series and padding for text.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deepscope.errors import invalid
from deepscope.explain.attribution import Attribution, predict_probs
from deepscope.explain.features import PAD

__all__ = ["Faithfulness", "faithfulness"]


@dataclass(frozen=True)
class Faithfulness:
    """Curves for N inputs over ``fractions`` (S,) of the elements removed / inserted:
    ``deletion`` and ``insertion`` (N, S) are the target's probability; the areas (N,) are
    their means over the fractions (trapezoid rule on [0, 1])."""

    method: str
    fractions: torch.Tensor
    deletion: torch.Tensor
    insertion: torch.Tensor

    @property
    def deletion_area(self) -> torch.Tensor:
        return torch.trapezoid(self.deletion, self.fractions, dim=1)

    @property
    def insertion_area(self) -> torch.Tensor:
        return torch.trapezoid(self.insertion, self.fractions, dim=1)

    def summary(self) -> dict[str, float]:
        """Mean areas over the inputs: lower deletion and higher insertion are better."""
        return {
            "deletion_area": float(self.deletion_area.mean()),
            "insertion_area": float(self.insertion_area.mean()),
        }


def _scores(attribution: Attribution) -> tuple[torch.Tensor, torch.Tensor]:
    """(element scores (N, E), valid elements (N, E)) in the order the curves use."""
    values = attribution.values
    if attribution.kind == "image":
        scores = values.sum(dim=1).flatten(1)  # (N, H*W)
        return scores, torch.ones_like(scores, dtype=torch.bool)
    if attribution.kind == "series":
        scores = values.flatten(1)
        return scores, torch.ones_like(scores, dtype=torch.bool)
    return values, attribution.inputs != PAD


def _apply(inputs: torch.Tensor, kind: str, keep: torch.Tensor) -> torch.Tensor:
    """Inputs (N, ...) with the elements where ``keep`` (N, E) is False removed."""
    if kind == "text":
        return torch.where(keep, inputs, torch.full_like(inputs, PAD))
    if kind == "image":
        n, c, h, w = inputs.shape
        return inputs * keep.reshape(n, 1, h, w).to(inputs.dtype)
    return inputs * keep.reshape(inputs.shape).to(inputs.dtype)


def faithfulness(model: torch.nn.Module, attribution: Attribution, *, steps: int = 20) -> Faithfulness:
    """Deletion and insertion curves of ``attribution`` for ``model`` at ``steps + 1`` fractions."""
    if not isinstance(attribution, Attribution):
        raise invalid("attribution", "an Attribution from deepscope.explain.explain", type(attribution).__name__)
    if not isinstance(steps, int) or not 2 <= steps <= 1000:
        raise invalid("steps", "an int between 2 and 1000", steps)
    scores, valid = _scores(attribution)
    n, e = scores.shape
    order = torch.where(valid, scores, torch.full_like(scores, -torch.inf)).argsort(dim=1, descending=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(e).expand(n, e))  # (N, E) 0 = most attributed
    counts = valid.sum(dim=1, keepdim=True)  # (N, 1) elements that can be removed
    fractions = torch.linspace(0, 1, steps + 1)
    was_training = model.training
    model.eval()
    deletion, insertion = [], []
    try:
        for f in fractions:
            top = rank < torch.round(f * counts)  # (N, E) the most-attributed share f
            deleted = _apply(attribution.inputs, attribution.kind, ~top & valid if attribution.kind == "text" else ~top)
            inserted = _apply(attribution.inputs, attribution.kind, top)
            t = attribution.target[:, None]
            deletion.append(predict_probs(model, deleted).gather(1, t)[:, 0])
            insertion.append(predict_probs(model, inserted).gather(1, t)[:, 0])
    finally:
        model.train(was_training)
    return Faithfulness(
        method=attribution.method,
        fractions=fractions,
        deletion=torch.stack(deletion, dim=1),
        insertion=torch.stack(insertion, dim=1),
    )
