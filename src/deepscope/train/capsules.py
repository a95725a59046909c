"""The margin task of capsule networks (Sabour, Frosst & Hinton 2017, eq. 4).

A capsule network outputs one *length* per class (N, K), in [0, 1), rather than logits: a
class is present when its capsule is long. The margin loss asks the true class's length to
reach ``m_plus`` and every other length to stay below ``m_minus``, the absent classes
down-weighted by ``lam``:

    L = sum_k  T_k max(0, m_plus - ||v_k||)^2 + lam (1 - T_k) max(0, ||v_k|| - m_minus)^2

summed over classes and averaged over samples, with m_plus = 0.9, m_minus = 0.1 and
lam = 0.5 -- the paper's values, which Keras' cifar10_cnn_capsule example also uses (its
``margin_loss`` writes ``1 - margin`` = 0.9 and ``margin`` = 0.1). Accuracy is the argmax of
the lengths. The model declares the task (``model.task = 'margin'``); the data must be
labelled classification data. Evaluation needs nothing of its own: the classification
evaluation takes a softmax of the outputs, whose argmax is the argmax of the lengths, so
accuracy, per-class scores and the confusion matrix are right (its ``loss`` is then the
cross-entropy of that softmax, not the margin loss).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import DataError
from deepscope.train.tasks import Task

if TYPE_CHECKING:
    from deepscope.data import Dataset

__all__ = ["Margin", "margin_loss"]


def margin_loss(
    lengths: torch.Tensor,
    target: torch.Tensor,
    *,
    m_plus: float = 0.9,
    m_minus: float = 0.1,
    lam: float = 0.5,
) -> torch.Tensor:
    """Per-sample margin loss (N,) of capsule ``lengths`` (N, K) against class indices (N,)
    or class weights (N, K) (one-hot, or the soft labels of MixUp/CutMix)."""
    if target.ndim == 1:
        target = F.one_hot(target, lengths.shape[1])  # (N, K)
    target = target.to(lengths.dtype)
    present = target * F.relu(m_plus - lengths).pow(2)  # (N, K)
    absent = lam * (1 - target) * F.relu(lengths - m_minus).pow(2)  # (N, K)
    return (present + absent).sum(dim=1)


class Margin(Task):
    """Classification by capsule lengths (N, K): the margin loss; reports accuracy."""

    name = "margin"
    higher_is_better = {"loss": False, "accuracy": True}
    model_task = True

    def prepare(self, model: nn.Module, data: Dataset) -> None:
        if data.task != "classification" or data.classes is None:
            raise DataError(
                f"The margin task (capsule networks) needs labelled classification data. Received: {data.name!r}, "
                f"{data.task} data" + (" without classes" if data.classes is None else "") + "."
            )

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return margin_loss(output.float(), target).mean()

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"accuracy": (output.argmax(dim=1) == target).sum()}
