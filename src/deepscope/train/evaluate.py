"""Evaluation of a classifier on one split: accuracy, per-class scores, confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset as TorchDataset

__all__ = ["Evaluation", "evaluate", "predict_proba"]


@torch.inference_mode()
def predict_proba(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class probabilities (N, K) for inputs ``x`` (N, ...), in eval mode, batched."""
    was_training = model.training
    model.eval()
    try:
        out = [F.softmax(model(x[i : i + batch_size]), dim=1) for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)


@dataclass
class Evaluation:
    """Scores of a classifier on one split. ``confusion[i][j]`` counts true class i predicted as j."""

    split: str
    classes: list[str]
    accuracy: float
    loss: float
    per_class: dict[str, dict[str, float]]
    macro_f1: float
    confusion: list[list[int]]
    y_true: np.ndarray = field(repr=False)
    y_pred: np.ndarray = field(repr=False)
    probs: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split, "samples": int(len(self.y_true)), "accuracy": self.accuracy, "loss": self.loss,
            "macro_f1": self.macro_f1, "per_class": self.per_class, "confusion": self.confusion,
            "classes": self.classes,
        }

    def table(self) -> str:
        """Per-class precision/recall/F1 as aligned text."""
        width = max(8, *(len(c) for c in self.classes))
        lines = [f"{'class':<{width}}  precision  recall     f1  support"]
        for name in self.classes:
            s = self.per_class[name]
            lines.append(
                f"{name:<{width}}  {s['precision']:9.4f}  {s['recall']:6.4f}  {s['f1']:5.4f}  {int(s['support']):7d}"
            )
        return "\n".join(lines)


def evaluate(
    model: torch.nn.Module, split: TorchDataset, classes: list[str], *, name: str = "test", batch_size: int = 256
) -> Evaluation:
    """Score ``model`` on a (x, y) split with scikit-learn's metrics."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    x, y = split.tensors
    probs = predict_proba(model, x, batch_size)
    loss = float(F.nll_loss(probs.clamp_min(1e-12).log(), y)) if len(y) else float("nan")
    y_true, y_pred = y.numpy(), probs.argmax(dim=1).numpy()
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_class = {
        c: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
        for i, c in enumerate(classes)
    }
    return Evaluation(
        split=name, classes=list(classes), accuracy=float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
        loss=loss, per_class=per_class, macro_f1=float(np.mean(f1)),
        confusion=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        y_true=y_true, y_pred=y_pred, probs=probs.numpy(),
    )
