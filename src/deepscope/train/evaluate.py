"""Evaluation of a trained model on one split, by task: a classifier's accuracy, per-class
scores and confusion matrix; a regressor's MSE/MAE/RMSE (and MASE for forecasts) beside its
data's naive baseline; a sequence-to-sequence model's whole-answer and token accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset as TorchDataset

from deepscope.errors import InvalidArgumentError
from deepscope.train.devices import device_of
from deepscope.train.tasks import forecast_scores

if TYPE_CHECKING:
    from deepscope.data import Baseline, Dataset

__all__ = [
    "AnyEvaluation",
    "Evaluation",
    "RegressionEvaluation",
    "Panel",
    "Seq2SeqEvaluation",
    "TaskEvaluation",
    "evaluate",
    "evaluate_data",
    "evaluate_regression",
    "evaluate_seq2seq",
    "predict_outputs",
    "predict_proba",
    "primary_score",
]
MAX_MISTAKES = 20  # wrong answers a seq2seq evaluation keeps to show


@torch.inference_mode()
def predict_outputs(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """The model's raw outputs (N, ...) for inputs ``x`` (N, ...), in eval mode, batched."""
    was_training = model.training
    model.eval()
    device = device_of(model)
    try:  # batches go to the model's device, outputs come back to the CPU
        out = [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)


@torch.inference_mode()
def predict_proba(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class probabilities (N, K) for inputs ``x`` (N, ...), in eval mode, batched."""
    logits = predict_outputs(model, x, batch_size)
    return F.softmax(logits, dim=1) if len(logits) else logits


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
            "task": "classification",
            "split": self.split,
            "samples": int(len(self.y_true)),
            "accuracy": self.accuracy,
            "loss": self.loss,
            "macro_f1": self.macro_f1,
            "per_class": self.per_class,
            "confusion": self.confusion,
            "classes": self.classes,
        }

    def text(self) -> str:
        """The scores, per-class table and confusion matrix as aligned text."""
        lines = [
            f"accuracy {self.accuracy:.4f}   loss {self.loss:.4f}   macro F1 {self.macro_f1:.4f}",
            "",
            self.table(),
            "",
            "confusion matrix (rows: true class, columns: predicted)",
        ]
        width = max(4, *(len(str(v)) for row in self.confusion for v in row)) + 1
        lines.append(" " * 10 + "".join(f"{c[: width - 1]:>{width}}" for c in self.classes))
        lines += [
            f"{name[:9]:<10}" + "".join(f"{v:>{width}}" for v in row) for name, row in zip(self.classes, self.confusion)
        ]
        return "\n".join(lines)

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
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = {
        c: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, c in enumerate(classes)
    }
    return Evaluation(
        split=name,
        classes=list(classes),
        accuracy=float((y_true == y_pred).mean()) if len(y_true) else float("nan"),
        loss=loss,
        per_class=per_class,
        macro_f1=float(np.mean(f1)),
        confusion=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        y_true=y_true,
        y_pred=y_pred,
        probs=probs.numpy(),
    )


def primary_score(scores: dict[str, Any]) -> str:
    """The regression score that decides against a baseline: MASE for forecasts, else MSE (the loss)."""
    return "mase" if "mase" in scores else "mse"


@dataclass
class RegressionEvaluation:
    """Scores of a regressor on one split: MSE (the training loss), MAE, RMSE and, for
    forecasts, MASE; ``baseline`` holds the same scores of the data's naive forecast (named
    in ``baseline['name']``), the bar a learned model must clear. Arrays keep the inputs x
    (N, ...), targets, predictions and baseline predictions (N, ...)."""

    split: str
    scores: dict[str, float]
    baseline: dict[str, Any] | None
    x: np.ndarray = field(repr=False)
    y_true: np.ndarray = field(repr=False)
    y_pred: np.ndarray = field(repr=False)
    y_baseline: np.ndarray | None = field(repr=False, default=None)

    @property
    def loss(self) -> float:
        return self.scores["mse"]

    @property
    def primary(self) -> str:
        return primary_score(self.scores)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": "regression",
            "split": self.split,
            "samples": int(len(self.y_true)),
            "loss": self.loss,
            **self.scores,
            "baseline": self.baseline,
        }

    def text(self) -> str:
        """Model and baseline scores as an aligned table."""
        names = [k for k in ("mse", "mae", "rmse", "mase") if k in self.scores]
        lines = [
            f"{'':<22}" + "".join(f"{k.upper():>12}" for k in names),
            f"{'model':<22}" + "".join(f"{self.scores[k]:12.4f}" for k in names),
        ]
        if self.baseline is not None:
            lines.append(f"{self.baseline['name'][:22]:<22}" + "".join(f"{self.baseline[k]:12.4f}" for k in names))
            key = self.primary
            ratio = self.scores[key] / self.baseline[key] if self.baseline[key] else float("nan")
            lines += [
                "",
                f"model {key.upper()} is {ratio:.1%} of the {self.baseline['name']} baseline's "
                f"({'better' if ratio < 1 else 'not better'})",
            ]
        return "\n".join(lines)


@dataclass
class Seq2SeqEvaluation:
    """Scores of a sequence-to-sequence model on one split: ``accuracy`` counts whole answers
    (every token right), ``token_accuracy`` single tokens; ``mistakes`` lists up to
    MAX_MISTAKES wrong answers as {'index', 'target', 'predicted'} strings of ``classes``."""

    split: str
    classes: list[str]
    accuracy: float
    token_accuracy: float
    loss: float
    mistakes: list[dict[str, Any]]
    y_true: np.ndarray = field(repr=False)
    y_pred: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": "seq2seq",
            "split": self.split,
            "samples": int(len(self.y_true)),
            "accuracy": self.accuracy,
            "token_accuracy": self.token_accuracy,
            "loss": self.loss,
            "mistakes": self.mistakes,
        }

    def text(self) -> str:
        lines = [
            f"whole-answer accuracy {self.accuracy:.4f}   token accuracy {self.token_accuracy:.4f}   "
            f"loss {self.loss:.4f}"
        ]
        if self.mistakes:
            lines += ["", f"wrong answers (first {len(self.mistakes)}): target -> predicted"]
            lines += [f"  #{m['index']:<7} {m['target']!r} -> {m['predicted']!r}" for m in self.mistakes]
        return "\n".join(lines)


@dataclass
class Panel:
    """Something an evaluation shows, as data for ``deepscope.plots`` to draw: ``kind``
    'images' (``data`` (N, C, H, W) in [0, 1], drawn as a grid of ``columns``, with optional
    ``labels``) or 'scatter' (``data`` (N, 2) points coloured by integer ``labels`` named by
    ``classes``)."""

    name: str
    title: str
    caption: str
    kind: str
    data: np.ndarray = field(repr=False)
    labels: list[str] | np.ndarray | None = field(default=None, repr=False)
    columns: int = 8
    classes: list[str] | None = None


@dataclass
class TaskEvaluation:
    """Scores of a model whose task has no per-class table (reconstruction, generation,
    density, pairs, CTC): ``scores`` by name, ``cards`` the (label, score name) pairs the
    report shows first, ``lines`` notes for the text summary, ``panels`` what to draw."""

    task: str
    split: str
    samples: int
    loss: float
    scores: dict[str, float]
    cards: list[tuple[str, str]]
    lines: list[str] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list, repr=False)
    higher_is_better: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "split": self.split,
            "samples": self.samples,
            "loss": self.loss,
            **self.scores,
            "cards": [list(card) for card in self.cards],
            "notes": list(self.lines),
        }

    def text(self) -> str:
        width = max((len(label) for label, _ in self.cards), default=0)
        rows = [f"{label:<{width}}  {self.scores[key]:.4f}" for label, key in self.cards if key in self.scores]
        return "\n".join(rows + ([""] + self.lines if self.lines else []))


AnyEvaluation = Evaluation | RegressionEvaluation | Seq2SeqEvaluation | TaskEvaluation


def evaluate_regression(
    model: torch.nn.Module,
    split: TorchDataset,
    *,
    name: str = "test",
    baseline: Baseline | None = None,
    mase_scale: float | None = None,
    batch_size: int = 256,
) -> RegressionEvaluation:
    """Score a regressor on a (x, y) split, and ``baseline`` (if given) on the same targets."""
    x, y = split.tensors
    pred = predict_outputs(model, x, batch_size).reshape(y.shape)
    scores = forecast_scores(y, pred, scale=mase_scale)
    base_pred, base_scores = None, None
    if baseline is not None:
        base_pred = baseline.predict(x).reshape(y.shape)
        base_scores = {"name": baseline.name, **forecast_scores(y, base_pred, scale=mase_scale)}
    return RegressionEvaluation(
        split=name,
        scores=scores,
        baseline=base_scores,
        x=x.numpy(),
        y_true=y.numpy(),
        y_pred=pred.numpy(),
        y_baseline=None if base_pred is None else base_pred.numpy(),
    )


def _join(tokens: list[str]) -> str:
    return ("" if all(len(t) == 1 for t in tokens) else " ").join(tokens)


def evaluate_seq2seq(
    model: torch.nn.Module, split: TorchDataset, classes: list[str], *, name: str = "test", batch_size: int = 256
) -> Seq2SeqEvaluation:
    """Score a sequence model whose logits (N, T, V) predict token indices (N, T) of ``classes``."""
    x, y = split.tensors
    logits = predict_outputs(model, x, batch_size)  # (N, T, V)
    loss = float(F.cross_entropy(logits.flatten(0, 1), y.flatten())) if len(y) else float("nan")
    pred = logits.argmax(dim=-1)  # (N, T)
    right = pred == y
    whole = right.all(dim=1)
    mistakes = [
        {
            "index": int(i),
            "target": _join([classes[t] for t in y[i].tolist()]),
            "predicted": _join([classes[t] for t in pred[i].tolist()]),
        }
        for i in torch.nonzero(~whole).flatten()[:MAX_MISTAKES].tolist()
    ]
    return Seq2SeqEvaluation(
        split=name,
        classes=list(classes),
        accuracy=float(whole.float().mean()) if len(y) else float("nan"),
        token_accuracy=float(right.float().mean()) if len(y) else float("nan"),
        loss=loss,
        mistakes=mistakes,
        y_true=y.numpy(),
        y_pred=pred.numpy(),
    )


def evaluate_data(model: torch.nn.Module, data: Dataset, split: str = "test", batch_size: int = 256) -> AnyEvaluation:
    """Evaluate ``model`` on one split of ``data`` with the scores of its task (the model's own,
    see :func:`~deepscope.train.tasks.resolve_task`, else the data's)."""
    from deepscope.train.tasks import resolve_task

    part = data.split(split)
    task = resolve_task(model, data)
    if hasattr(task, "evaluate"):
        return task.evaluate(model, data, split, batch_size=batch_size)
    if data.task == "regression":
        return evaluate_regression(
            model,
            part,
            name=split,
            baseline=data.baseline,
            mase_scale=data.info.get("mase_scale"),
            batch_size=batch_size,
        )
    if data.task == "contrastive":
        raise InvalidArgumentError(
            f"{data.name!r} is contrastive pre-training data, which has no test score of its own: fine-tune the "
            "run on labelled data (deepscope finetune RUN --data SPEC) and evaluate that."
        )
    if data.classes is None:
        raise InvalidArgumentError(f"Evaluating a {data.task} model needs the data's classes; {data.name!r} has none.")
    if data.task == "seq2seq":
        return evaluate_seq2seq(model, part, data.classes, name=split, batch_size=batch_size)
    return evaluate(model, part, data.classes, name=split, batch_size=batch_size)
