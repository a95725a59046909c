"""Figures of a training run: learning curves, confusion matrix, a grid of predictions.

Every function takes plain results (a history list, a confusion matrix, arrays) and returns a
``matplotlib.figure.Figure`` drawn on the Agg canvas. Figures are built without pyplot, so
nothing here touches matplotlib's global figure list or backend, nothing ever opens a window,
and a figure is freed as soon as it is dropped. In a notebook a returned figure displays
itself; elsewhere :func:`save_figure` writes it as PNG.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from deepscope.atomic import atomic_write
from deepscope.errors import invalid

__all__ = [
    "compare_figure",
    "learning_curve_figure",
    "lr_find_figure",
    "confusion_matrix_figure",
    "learning_curves",
    "new_figure",
    "prediction_grid",
    "prediction_order",
    "save_figure",
]

MISTAKE_COLOR = "#c62828"
CORRECT_COLOR = "#2e7d32"
TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
_NOT_METRICS = {"epoch", "loss", "lr", "time", "samples_per_s"}


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """An empty figure (inches) attached to the Agg canvas, independent of pyplot."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int | None = None) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically (a temporary file beside it, then a rename,
    so a reader never sees half an image) and close it. Returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise invalid("path", "a file name ending in .png", str(path))
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi or fig.dpi))
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:  # a figure made with pyplot elsewhere: release it from pyplot's list
            pyplot.close(fig)
    return path


def learning_curves(
    history: Sequence[Mapping[str, Any]], metric: str | None = None, best_epoch: int | None = None
) -> Figure:
    """Two panels per epoch: loss, and ``metric`` (default: the first metric in the history,
    e.g. accuracy), each for train and (when recorded) validation. ``history`` is the list of
    per-epoch dicts that ``fit`` records (``epoch``, ``loss``, ``accuracy``, ``val_loss``, ...).
    ``best_epoch`` draws a dashed line where the kept weights come from."""
    if not isinstance(history, Sequence) or not history or not all(isinstance(r, Mapping) for r in history):
        raise invalid("history", "a non-empty list of per-epoch dicts (run.history)", history)
    keys = list(history[0])
    if "loss" not in keys:
        raise invalid("history", "per-epoch dicts with a 'loss' entry", keys)
    if metric is None:
        metric = next((k for k in keys if k not in _NOT_METRICS and not k.startswith("val_")), None)
    elif metric not in keys:
        raise invalid("metric", f"one of the history's entries {keys}", metric)
    epochs = [int(r.get("epoch", i + 1)) for i, r in enumerate(history)]
    names = ["loss"] + ([metric] if metric else [])
    fig = new_figure(5.0 * len(names), 3.6)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        for key, label, color in ((name, "train", TRAIN_COLOR), (f"val_{name}", "validation", VAL_COLOR)):
            values = [float(r.get(key, math.nan)) for r in history]
            if all(math.isnan(v) for v in values):
                continue
            ax.plot(epochs, values, marker="o", markersize=3, color=color, label=label)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"best epoch ({best_epoch})")
        ax.set_title(name.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize="small")
    return fig


def confusion_matrix_figure(
    confusion: Sequence[Sequence[int]] | np.ndarray, classes: Sequence[str], normalize: str | None = "true"
) -> Figure:
    """Confusion matrix (rows: true class, columns: predicted) with the counts written in the
    cells. ``normalize`` picks what the colours show: 'true' (share of each true class, i.e.
    recall; the default), 'pred' (share of each prediction), 'all', or None (raw counts).

    Drawn by hand rather than with sklearn's ConfusionMatrixDisplay because that writes the
    numbers it colours, and we colour by share but write counts."""
    counts = np.asarray(confusion)
    k = len(classes)
    if counts.ndim != 2 or counts.shape != (k, k):
        raise invalid("confusion", f"a {k}x{k} matrix (one row and column per class)", f"shape {counts.shape}")
    counts = counts.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "true":
            shade, label = counts / counts.sum(axis=1, keepdims=True), "share of true class"
        elif normalize == "pred":
            shade, label = counts / counts.sum(axis=0, keepdims=True), "share of predicted class"
        elif normalize == "all":
            shade, label = counts / counts.sum(), "share of all samples"
        elif normalize is None:
            shade, label = counts.astype(float), "count"
        else:
            raise invalid("normalize", "'true', 'pred', 'all' or None", normalize)
    shade = np.nan_to_num(shade)
    size = min(14.0, max(4.5, 0.45 * k + 2.0))
    fig = new_figure(size + 1.0, size)
    ax = fig.subplots()
    # A square-root colour scale, so that a cell holding a few mistakes is visibly tinted.
    norm = PowerNorm(0.5, vmin=0, vmax=1 if normalize else max(1, int(counts.max())))
    image = ax.imshow(shade, cmap="Blues", norm=norm)
    fig.colorbar(image, ax=ax, shrink=0.8, label=label)
    ticks = np.arange(k)
    names = [_short(c, 10) for c in classes]
    ax.set_xticks(ticks, names, rotation=90 if k > 10 or max(map(len, names), default=0) > 3 else 0)
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = int(counts.sum())
    correct = int(np.trace(counts))
    ax.set_title(f"Confusion matrix: {correct} of {total} correct")
    if k <= 30:  # beyond that the numbers no longer fit in the cells
        for i in range(k):
            for j in range(k):
                if counts[i, j] or i == j:
                    dark = norm(shade[i, j]) > 0.6
                    ax.text(
                        j,
                        i,
                        str(counts[i, j]),
                        ha="center",
                        va="center",
                        fontsize=9 if k <= 12 else 7,
                        color="white" if dark else "black",
                    )
    return fig


def prediction_order(
    y_true: np.ndarray, y_pred: np.ndarray, confidence: np.ndarray, mistakes_first: bool = True
) -> np.ndarray:
    """Indices into the samples: mistakes first, most confident mistake first, then the
    correct ones in their original order (``mistakes_first=False``: original order)."""
    index = np.arange(len(y_true))
    if not mistakes_first:
        return index
    wrong = y_true != y_pred
    mistakes = index[wrong][np.argsort(-confidence[wrong], kind="stable")]
    return np.concatenate([mistakes, index[~wrong]])


def prediction_grid(
    images: Any,
    y_true: Any,
    y_pred: Any,
    probs: Any,
    classes: Sequence[str],
    *,
    mistakes_first: bool = True,
    n: int = 32,
    columns: int = 8,
) -> Figure:
    """A grid of up to ``n`` images (N, C, H, W), each titled with the predicted class and its
    probability over the true class; mistakes come first (most confident first) with red
    titles. ``probs`` is (N, K) class probabilities or (N,) the predicted class's probability.
    Images may be tensors or arrays; each is scaled to the value range of the images shown."""
    x = _numpy(images)
    y_true, y_pred, probs = _numpy(y_true).astype(int), _numpy(y_pred).astype(int), _numpy(probs)
    if x.ndim != 4:
        raise invalid("images", "an array of shape (N, C, H, W)", f"shape {x.shape}")
    count = len(x)
    if len(y_true) != count or len(y_pred) != count or len(probs) != count:
        raise invalid(
            "y_true/y_pred/probs",
            f"one entry per image ({count})",
            f"lengths {len(y_true)}, {len(y_pred)}, {len(probs)}",
        )
    if not isinstance(n, int) or n < 1:
        raise invalid("n", "a positive int", n)
    k = len(classes)
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if count and (labels.min() < 0 or labels.max() >= k):
            raise invalid(name, f"class indices in [0, {k - 1}]", labels[(labels < 0) | (labels >= k)][:5].tolist())
    confidence = probs[np.arange(count), y_pred] if probs.ndim == 2 else probs
    order = prediction_order(y_true, y_pred, confidence, mistakes_first)[:n]
    shown = x[order]  # (n, C, H, W)
    low, high = float(shown.min()) if len(shown) else 0.0, float(shown.max()) if len(shown) else 1.0
    if low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0  # already in [0, 1]: keep true blacks and whites
    columns = max(1, min(columns, len(order)))
    rows = max(1, math.ceil(len(order) / columns))
    fig = new_figure(1.35 * columns, 1.55 * rows + 0.4)
    axes = fig.subplots(rows, columns, squeeze=False)
    wrong_total = int((y_true != y_pred).sum())
    fig.suptitle(
        f"Test predictions, mistakes first: {wrong_total} of {count} wrong"
        if mistakes_first
        else f"Test predictions: {wrong_total} of {count} wrong",
        fontsize=10,
    )
    for slot, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if slot >= len(order):
            continue
        i = order[slot]
        image = (shown[slot] - low) / max(high - low, 1e-12)  # (C, H, W) in [0, 1]
        if image.shape[0] == 3:
            ax.imshow(np.clip(image.transpose(1, 2, 0), 0, 1), interpolation="nearest")  # (H, W, 3)
        else:  # grey, or a channel stack shown by its first channel
            ax.imshow(image[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")  # (H, W)
        wrong = y_true[i] != y_pred[i]
        ax.set_title(
            f"{_short(classes[y_pred[i]], 10)} ({confidence[i]:.2f})\ntrue {_short(classes[y_true[i]], 10)}",
            fontsize=8,
            color=MISTAKE_COLOR if wrong else CORRECT_COLOR,
            fontweight="bold" if wrong else "normal",
        )
    return fig


def _numpy(values: Any) -> np.ndarray:
    """A tensor (any device, with or without grad) or array-like as a numpy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _short(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with '$' escaped so matplotlib never reads a
    class name as mathtext (an unbalanced formula would fail to draw)."""
    text = str(text)
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def lr_find_figure(result: Any) -> Figure:
    """The learning-rate range test: smoothed loss against learning rate (log scale), with the
    suggested rate (steepest descent) and a decade below the minimum marked."""
    fig = new_figure(6.0, 3.6)
    ax = fig.add_subplot()
    ax.plot(result.lrs, result.losses, color="C0")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss (smoothed)")
    for lr, label, color in ((result.steepest, "steepest", "C3"), (result.minimum, "minimum / 10", "C2")):
        ax.axvline(lr, color=color, linestyle="--", linewidth=1)
        ax.annotate(f"{label}: {lr:.2g}", (lr, max(result.losses)), color=color, fontsize=8, rotation=90, va="top")
    ax.set_title(f"learning-rate range test: suggested {result.suggestion:.2g}", fontsize=10)
    return fig


def compare_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Runs side by side: their best validation value and (when scored) test value of the
    same metric, one bar pair per run, with parameter counts and training time in the labels."""
    if not rows:
        raise invalid("rows", "at least one run", rows)
    fig = new_figure(max(4.0, 1.3 * len(rows) + 1.5), 3.8)
    ax = fig.add_subplot()
    xs = np.arange(len(rows))
    val = [r.get("val") if r.get("val") is not None else np.nan for r in rows]
    test = [r.get("test") if r.get("test") is not None else np.nan for r in rows]
    ax.bar(xs - 0.2, val, width=0.4, label="validation (best epoch)", color="C0")
    ax.bar(xs + 0.2, test, width=0.4, label="test", color="C1")
    ax.set_xticks(
        xs,
        [f"{r['name']}\n{r['parameters']:,} params\n{r['seconds']:.0f} s" for r in rows],
        fontsize=7,
    )
    finite = [v for v in val + test if np.isfinite(v)]
    if finite and rows[0].get("metric", "").endswith("accuracy"):
        ax.set_ylim(max(0.0, min(finite) - 0.05), min(1.0, max(finite) + 0.02))
    ax.set_ylabel(rows[0].get("metric", "score"))
    ax.legend(fontsize=8)
    return fig


def learning_curve_figure(rows: Sequence[Mapping[str, Any]], title: str = "") -> Figure:
    """Test accuracy against labelled examples per class (log scale), one line per method:
    the mean over seeds, with the min-max range of the seeds shaded. ``rows`` are what
    ``deepscope.runs.learning_curve`` returns."""
    if not rows:
        raise invalid("rows", "at least one run", rows)
    fig = new_figure(6.0, 4.0)
    ax = fig.add_subplot()
    for i, method in enumerate(dict.fromkeys(r["method"] for r in rows)):
        sizes = sorted({r["size"] for r in rows if r["method"] == method})
        tests = [[r["test"] for r in rows if r["method"] == method and r["size"] == n] for n in sizes]
        means = [float(np.mean(t)) for t in tests]
        ax.plot(sizes, means, marker="o", label=method, color=f"C{i}")
        ax.fill_between(sizes, [min(t) for t in tests], [max(t) for t in tests], color=f"C{i}", alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("labelled training examples per class")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
