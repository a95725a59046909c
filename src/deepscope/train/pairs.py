"""The ``pairs`` task (metric learning, Keras' mnist_siamese): a network maps each image of a
pair to an embedding and outputs their Euclidean distance (N,); the contrastive loss of
Hadsell, Chopra & LeCun (2006) pulls same-class pairs together and pushes different-class
pairs at least ``margin`` apart:

    loss = mean( y * d^2 + (1 - y) * max(margin - d, 0)^2 )     y = 1 for same-class pairs

A pair is called "same" when its distance is below ``THRESHOLD`` = margin / 2 (Keras' rule,
whose example reports 97.2% test accuracy with it); evaluation also reports the ROC AUC, which
needs no threshold, and the accuracy at the threshold that is best on the validation pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from deepscope.errors import DataError
from deepscope.train.evaluate import Panel, TaskEvaluation, predict_outputs
from deepscope.train.tasks import Task

if TYPE_CHECKING:
    from deepscope.data import Dataset

__all__ = ["MARGIN", "THRESHOLD", "Pairs", "contrastive_loss"]

MARGIN = 1.0
THRESHOLD = MARGIN / 2
SHOWN = 16  # pairs drawn in the report


def contrastive_loss(distance: torch.Tensor, same: torch.Tensor, margin: float = MARGIN) -> torch.Tensor:
    """Hadsell et al.'s contrastive loss of distances (N,) against targets (N,) (1: same)."""
    same = same.float()
    return (same * distance.pow(2) + (1 - same) * (margin - distance).clamp_min(0).pow(2)).mean()


class Pairs(Task):
    """Distances (N,) of image pairs against same (1) / different (0) targets; ``accuracy``
    counts pairs on the right side of ``THRESHOLD``."""

    name = "pairs"
    higher_is_better = {"loss": False, "accuracy": True}

    def prepare(self, model: nn.Module, data: Dataset) -> None:
        if data.task != "pairs":
            raise DataError(f"The pairs task reads pairs of images; load them as 'pairs:{data.spec}'.")

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return contrastive_loss(output.float(), target)

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"accuracy": ((output < THRESHOLD) == (target > 0.5)).sum()}

    def evaluate(self, model: nn.Module, data: Dataset, split: str = "test", batch_size: int = 256) -> TaskEvaluation:
        """Verification accuracy at Keras' threshold and at the validation split's best
        threshold, ROC AUC, the mean distances of same and different pairs; a panel of
        pairs with their distances, mistakes first."""
        from sklearn.metrics import roc_auc_score

        x, y = data.split(split).tensors[:2]
        if not len(x):
            raise DataError(f"The {split} split of {data.name!r} holds no pairs.")
        distance = predict_outputs(model, x, batch_size).float().flatten()  # (N,)
        same = y > 0.5
        scores = {
            "accuracy": float(((distance < THRESHOLD) == same).float().mean()),
            "loss": float(contrastive_loss(distance, y)),
            "roc_auc": float(roc_auc_score(same.numpy(), -distance.numpy()))
            if 0 < same.sum() < len(same)
            else float("nan"),
            "distance_same": float(distance[same].mean()) if same.any() else float("nan"),
            "distance_different": float(distance[~same].mean()) if (~same).any() else float("nan"),
        }
        cards = [("verification accuracy", "accuracy"), ("ROC AUC", "roc_auc"), ("contrastive loss", "loss")]
        lines = [f"accuracy {scores['accuracy']:.4f} calling pairs closer than {THRESHOLD} the same class"]
        if split != "val" and len(data.val):  # a threshold chosen on validation pairs, never on these
            val_x, val_y = data.val.tensors[:2]
            chosen = best_threshold(predict_outputs(model, val_x, batch_size).float().flatten(), val_y > 0.5)
            scores |= {
                "threshold_val": chosen,
                "accuracy_val_threshold": float(((distance < chosen) == same).float().mean()),
            }
            cards.append(("accuracy at the validation threshold", "accuracy_val_threshold"))
            lines.append(
                f"accuracy {scores['accuracy_val_threshold']:.4f} at {chosen:.3f}, the validation pairs' best threshold"
            )
        wrong = torch.nonzero((distance < THRESHOLD) != same).flatten()
        order = torch.cat([wrong, torch.nonzero((distance < THRESHOLD) == same).flatten()])[:SHOWN]
        shown = torch.cat([x[order, 0], x[order, 1]], dim=-1)  # (n, C, H, 2W): the two images side by side
        labels = [
            f"{'same' if same[i] else 'diff'} d={float(distance[i]):.2f}" + (" ✗" if i in set(wrong.tolist()) else "")
            for i in order.tolist()
        ]
        panel = Panel(
            "pairs",
            "Test pairs",
            f"Pairs with their true relation and distance (same below {THRESHOLD}); mistakes first, marked ✗.",
            "images",
            shown.clamp(0, 1).numpy(),
            labels=labels,
            columns=4,
        )
        return TaskEvaluation(
            task=self.name,
            split=split,
            samples=len(x),
            loss=scores["loss"],
            scores=scores,
            cards=cards,
            lines=lines,
            panels=[panel],
            higher_is_better={"accuracy": True, "roc_auc": True},
        )


def best_threshold(distance: torch.Tensor, same: torch.Tensor) -> float:
    """The distance threshold (pairs closer than it are "same") that gets the most pairs
    right; candidates are the midpoints between sorted distances."""
    order = torch.argsort(distance)
    d, s = distance[order].double(), same[order].double()
    # threshold just above the k-th smallest distance: the k closest pairs are called "same"
    right = (
        torch.cat([torch.zeros(1, dtype=d.dtype), s.cumsum(0)])
        + (1 - s).sum()
        - torch.cat([torch.zeros(1, dtype=d.dtype), (1 - s).cumsum(0)])
    )  # (N+1,): same pairs below + different pairs above
    k = int(right.argmax())
    if k == 0:
        return float(d[0]) - 1e-6
    if k == len(d):
        return float(d[-1]) + 1e-6
    return float((d[k - 1] + d[k]) / 2)
