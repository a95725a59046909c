"""Interpreting a classifier's predictions on a split: the class pairs it confuses most, the
examples it is most confidently wrong about (top losses), per-class metrics and calibration
(reliability diagram and expected calibration error), as fastai's ``ClassificationInterpretation``
and scikit-learn's ``calibration_curve`` give them.

Built from labels and probabilities, so it works for any model: ``interpret(y_true, probs,
classes)``; ``deepscope interpret RUN`` passes a run's evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from deepscope.errors import invalid

__all__ = ["Calibration", "ConfusedPair", "Interpretation", "interpret"]


@dataclass(frozen=True)
class ConfusedPair:
    true: str
    predicted: str
    count: int
    share: float  # of the true class's samples


@dataclass(frozen=True)
class Calibration:
    """Equal-width confidence bins over [0, 1]: per bin the mean confidence (max probability),
    the accuracy and the sample count (empty bins: NaN). ``ece`` is the expected calibration
    error, sum over bins of count/N * |accuracy - confidence| (Guo et al. 2017)."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    counts: np.ndarray
    ece: float


@dataclass(frozen=True)
class Interpretation:
    """Labels (N,), probabilities (N, K) and class names of one split."""

    classes: list[str]
    y_true: np.ndarray = field(repr=False)
    probs: np.ndarray = field(repr=False)
    bins: int = 10

    @property
    def y_pred(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def losses(self) -> np.ndarray:
        """Cross-entropy of each sample, -log p(true class), (N,)."""
        p = self.probs[np.arange(len(self.y_true)), self.y_true]
        return -np.log(np.clip(p, 1e-12, 1.0))

    @property
    def accuracy(self) -> float:
        return float((self.y_pred == self.y_true).mean())

    def confusion(self) -> np.ndarray:
        """(K, K) counts, row = true class, column = predicted."""
        from sklearn.metrics import confusion_matrix

        return confusion_matrix(self.y_true, self.y_pred, labels=np.arange(len(self.classes)))

    def confused_pairs(self, k: int = 5, min_count: int = 1) -> list[ConfusedPair]:
        """The ``k`` (true, predicted) pairs with the most mistakes, most first (ties by name)."""
        matrix = self.confusion()
        support = matrix.sum(axis=1)
        pairs = [
            ConfusedPair(self.classes[i], self.classes[j], int(matrix[i, j]), float(matrix[i, j] / max(support[i], 1)))
            for i in range(len(self.classes))
            for j in range(len(self.classes))
            if i != j and matrix[i, j] >= min_count
        ]
        return sorted(pairs, key=lambda p: (-p.count, p.true, p.predicted))[:k]

    def top_losses(self, k: int = 9) -> np.ndarray:
        """Indices of the ``k`` samples with the highest loss, highest first (ties: lower index)."""
        order = np.lexsort((np.arange(len(self.y_true)), -self.losses))
        return order[:k]

    def per_class(self) -> dict[str, dict[str, float]]:
        """Precision, recall, F1 and support per class (scikit-learn)."""
        from sklearn.metrics import precision_recall_fscore_support

        p, r, f, s = precision_recall_fscore_support(
            self.y_true, self.y_pred, labels=np.arange(len(self.classes)), zero_division=0
        )
        return {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, c in enumerate(self.classes)
        }

    def calibration(self) -> Calibration:
        confidence = self.probs.max(axis=1)
        correct = (self.y_pred == self.y_true).astype(np.float64)
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, self.bins - 1)
        counts = np.bincount(which, minlength=self.bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            conf = np.bincount(which, weights=confidence, minlength=self.bins) / counts
            acc = np.bincount(which, weights=correct, minlength=self.bins) / counts
        filled = counts > 0
        ece = float((counts[filled] / counts.sum() * np.abs(acc[filled] - conf[filled])).sum())
        return Calibration(edges, conf, acc, counts, ece)

    def text(self, k: int = 5) -> str:
        """A plain summary: accuracy, ECE, the most confused pairs."""
        lines = [f"accuracy {self.accuracy:.4f} on {len(self.y_true):,} samples; ECE {self.calibration().ece:.4f}"]
        pairs = self.confused_pairs(k)
        if pairs:
            lines.append("most confused (true -> predicted):")
            lines += [f"  {p.true} -> {p.predicted}: {p.count} ({100 * p.share:.1f}% of {p.true})" for p in pairs]
        else:
            lines.append("no mistakes")
        return "\n".join(lines)


def interpret(y_true: Sequence[int] | np.ndarray, probs: np.ndarray, classes: Sequence[str], *, bins: int = 10):
    """An :class:`Interpretation` of labels ``y_true`` (N,) and probabilities ``probs`` (N, K)."""
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=np.float64)
    classes = [str(c) for c in classes]
    if p.ndim != 2 or len(p) == 0 or p.shape[1] != len(classes):
        raise invalid("probs", f"a non-empty (N, {len(classes)}) array, one column per class", p.shape)
    if y.shape != (len(p),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= len(classes):
        raise invalid("y_true", f"{len(p)} integer labels in 0..{len(classes) - 1}", f"{y.dtype} {y.shape}")
    if not np.isfinite(p).all():
        raise invalid("probs", "finite probabilities", "an array with NaN or infinity")
    if not isinstance(bins, int) or not 1 <= bins <= 1000:
        raise invalid("bins", "an int between 1 and 1000", bins)
    return Interpretation(classes, y.astype(np.int64), p, bins)
