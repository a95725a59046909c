"""Figures of the training lessons: mini-batch size against examples seen and wall time, the
noise of a step's loss, and train/validation curves that turn (overfitting, early stopping).

Every function takes plain numbers (the dataclasses below hold numpy arrays) and returns a
Figure drawn on the Agg canvas without pyplot; ``save_figure`` writes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.plots.training import TRAIN_COLOR, VAL_COLOR, new_figure

__all__ = [
    "BatchCurve",
    "EpochCurves",
    "batch_loss_figure",
    "batch_noise_figure",
    "batch_time_figure",
    "early_stopping_frame",
    "overfit_figure",
    "validation_choice_figure",
]

BEST_COLOR = "#2e7d32"
STOP_COLOR = "#c62828"


@dataclass(frozen=True)
class BatchCurve:
    """One run of one batch size. ``step_examples``/``step_loss`` (S,): the examples seen after
    each step and that step's mini-batch loss; ``probe_examples``/``probe_seconds``/
    ``probe_loss`` (P,): at P chosen moments, the examples seen and update seconds so far and
    the whole training set's loss at the weights of that moment."""

    label: str
    step_examples: np.ndarray
    step_loss: np.ndarray
    probe_examples: np.ndarray
    probe_seconds: np.ndarray
    probe_loss: np.ndarray


@dataclass(frozen=True)
class EpochCurves:
    """One training run, per epoch (E,): train and validation loss and accuracy; the epoch of
    the best validation loss and the epoch where early stopping stops (None: it never did)."""

    label: str
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_accuracy: np.ndarray
    val_accuracy: np.ndarray
    best_epoch: int
    stop_epoch: int | None


def _check_curves(curves: Sequence[object], kind: type) -> None:
    if not curves or not all(isinstance(c, kind) for c in curves):
        raise invalid("curves", f"a non-empty list of {kind.__name__}", curves)


def _color(i: int) -> str:
    return f"C{i}"


def batch_loss_figure(curves: Sequence[BatchCurve]) -> Figure:
    """Loss against examples seen, one colour per batch size: each step's own mini-batch loss
    (thin, faint) and the whole training set's loss at the same weights (bold)."""
    _check_curves(curves, BatchCurve)
    fig = new_figure(8.0, 4.4)
    ax = fig.add_subplot()
    for i, c in enumerate(curves):
        step = max(1, len(c.step_loss) // 1500)  # at most ~1,500 faint points a curve
        ax.plot(c.step_examples[::step], c.step_loss[::step], color=_color(i), alpha=0.12, linewidth=0.5)
        ax.plot(
            c.probe_examples,
            c.probe_loss,
            color=_color(i),
            linewidth=2,
            marker="o" if len(c.probe_loss) <= 40 else None,
            markersize=3,
            label=c.label,
        )
    top = max(float(np.nanmax(c.probe_loss)) for c in curves)
    ax.set_ylim(0, 1.15 * top if math.isfinite(top) else None)
    ax.set_xlabel("training examples seen")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title("Loss per example seen (faint: each step's own batch; bold: the whole training set)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", title="batch size")
    return fig


def batch_time_figure(curves: Sequence[BatchCurve]) -> Figure:
    """The whole training set's loss against seconds spent in update steps (log scale), one
    line per batch size from its first step on: who gets low first by the clock."""
    _check_curves(curves, BatchCurve)
    fig = new_figure(8.0, 4.4)
    ax = fig.add_subplot()
    for i, c in enumerate(curves):
        after = c.probe_seconds > 0  # the start (0 s) has no place on a log axis
        seconds, loss = c.probe_seconds[after], c.probe_loss[after]
        if not len(seconds):
            continue
        ax.plot(
            seconds,
            loss,
            color=_color(i),
            linewidth=2,
            marker="o" if len(loss) <= 40 else None,
            markersize=3,
            label=c.label,
        )
        ax.plot(seconds[-1], c.probe_loss[-1], "o", color=_color(i))
        ax.annotate(
            f"{seconds[-1]:.2f} s",
            (seconds[-1], c.probe_loss[-1]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
    ax.set_xscale("log")
    ax.set_xlabel("seconds spent in update steps (log scale)")
    ax.set_ylabel("training-set loss")
    ax.set_title("The same examples by the clock: a big batch costs less per example")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", title="batch size")
    return fig


def batch_noise_figure(labels: Sequence[str], noise: Sequence[float], batch_sizes: Sequence[int]) -> Figure:
    """Bars: the standard deviation of a step's loss around the training-set loss at the same
    weights, per batch size; a dashed 1/sqrt(batch) line through the smallest batch's bar."""
    if not labels or not len(labels) == len(noise) == len(batch_sizes):
        raise invalid("labels/noise/batch_sizes", "lists of one equal, non-zero length", (labels, noise, batch_sizes))
    values = np.asarray(noise, dtype=float)
    fig = new_figure(6.5, 4.0)
    ax = fig.add_subplot()
    xs = np.arange(len(labels))
    ax.bar(xs, values, color=[_color(i) for i in range(len(labels))])
    smallest = int(np.argmin(batch_sizes))
    reference = values[smallest] * np.sqrt(batch_sizes[smallest] / np.asarray(batch_sizes, dtype=float))
    ax.plot(xs, reference, "k--", linewidth=1, marker="_", markersize=14, label="1/sqrt(batch size)")
    for x, v in zip(xs, values):
        ax.annotate(f"{v:.3g}", (x, v), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=9)
    ax.set_xticks(xs, labels)
    ax.set_xlabel("batch size")
    ax.set_ylabel("std of (step loss - training-set loss)")
    ax.set_title("Per-step loss noise")
    ax.legend(fontsize="small")
    return fig


def _epoch_axes(ax, epochs: np.ndarray, train: np.ndarray, val: np.ndarray, curves: EpochCurves) -> None:
    ax.plot(epochs, train, color=TRAIN_COLOR, label="train")
    ax.plot(epochs, val, color=VAL_COLOR, label="validation")
    ax.axvline(
        curves.best_epoch, color=BEST_COLOR, linestyle="--", linewidth=1, label=f"best val loss ({curves.best_epoch})"
    )
    if curves.stop_epoch is not None:
        ax.axvline(
            curves.stop_epoch, color=STOP_COLOR, linestyle=":", linewidth=1.2, label=f"stops ({curves.stop_epoch})"
        )
    ax.grid(alpha=0.3)


def _loss_limit(variants: Sequence[EpochCurves]) -> float:
    """The top of a loss axis that shows the turn of every validation curve: 2.5 times the
    largest best validation loss (the first epochs' losses run off the top)."""
    return 2.5 * max(float(v.val_loss[v.best_epoch - 1]) for v in variants)


def overfit_figure(variants: Sequence[EpochCurves], patience: int) -> Figure:
    """A column per variant: loss (top) and accuracy (bottom) per epoch, train and validation,
    the best validation loss's epoch (dashed) and where early stopping with ``patience``
    stops (dotted). Rows share their y axis, so the columns compare directly; the loss axis is
    cut at :func:`_loss_limit` so the validation curve's turn can be seen."""
    _check_curves(variants, EpochCurves)
    top_limit = _loss_limit(variants)
    fig = new_figure(4.2 * len(variants), 6.4)
    axes = fig.subplots(2, len(variants), squeeze=False, sharey="row")
    for column, v in enumerate(variants):
        epochs = np.arange(1, len(v.train_loss) + 1)
        top, bottom = axes[0][column], axes[1][column]
        _epoch_axes(top, epochs, v.train_loss, v.val_loss, v)
        top.set_title(v.label)
        top.set_ylim(0, top_limit)
        _epoch_axes(bottom, epochs, v.train_accuracy, v.val_accuracy, v)
        bottom.set_xlabel("epoch")
        top.legend(fontsize="x-small")
    axes[0][0].set_ylabel("loss")
    axes[1][0].set_ylabel("accuracy")
    fig.suptitle(f"Train vs validation; early stopping with patience {patience} stops at the dotted line")
    return fig


def validation_choice_figure(variants: Sequence[EpochCurves], chosen: str) -> Figure:
    """Every variant's validation loss per epoch on one axis, each best epoch marked; the
    variant ``chosen`` (the lowest validation loss) drawn bold."""
    _check_curves(variants, EpochCurves)
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    for i, v in enumerate(variants):
        epochs = np.arange(1, len(v.val_loss) + 1)
        bold = v.label == chosen
        ax.plot(
            epochs,
            v.val_loss,
            color=_color(i),
            linewidth=2.5 if bold else 1.2,
            label=v.label + (" (chosen)" if bold else ""),
        )
        best = v.val_loss[v.best_epoch - 1]
        ax.plot(v.best_epoch, best, "o", color=_color(i), markersize=7 if bold else 5)
        ax.annotate(
            f"{best:.3f}", (v.best_epoch, best), textcoords="offset points", xytext=(0, -12), ha="center", fontsize=8
        )
    ax.set_ylim(0, _loss_limit(variants))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    ax.set_title("Choose by validation: the lowest validation loss wins")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def early_stopping_frame(curves: EpochCurves, upto: int, patience: int, limits: tuple[float, float]) -> Figure:
    """One frame of the early-stopping animation: ``curves``' loss up to epoch ``upto``, the
    best validation epoch so far and how many epochs have passed without a better one; past
    ``curves.stop_epoch`` the stop is marked and the curves go on faintly (what training on
    would have done). ``limits`` fixes the loss axis, so every frame has the same axes."""
    if not 1 <= upto <= len(curves.val_loss):
        raise invalid("upto", f"an epoch in [1, {len(curves.val_loss)}]", upto)
    stop = curves.stop_epoch
    stopped = stop is not None and upto >= stop
    seen = stop if stopped else upto  # the epochs early stopping looked at
    epochs = np.arange(1, seen + 1)
    best = int(np.argmin(curves.val_loss[:seen])) + 1
    fig = new_figure(6.0, 3.6, dpi=80)
    ax = fig.add_subplot()
    ax.plot(epochs, curves.train_loss[:seen], color=TRAIN_COLOR, label="train")
    ax.plot(epochs, curves.val_loss[:seen], color=VAL_COLOR, label="validation")
    if stopped and upto > stop:
        later = np.arange(stop, upto + 1)
        ax.plot(later, curves.train_loss[stop - 1 : upto], color=TRAIN_COLOR, alpha=0.3)
        ax.plot(later, curves.val_loss[stop - 1 : upto], color=VAL_COLOR, alpha=0.3, label="had it trained on")
    ax.plot(best, curves.val_loss[best - 1], "o", color=BEST_COLOR, label=f"best so far (epoch {best})")
    ax.axvline(best, color=BEST_COLOR, linestyle="--", linewidth=1)
    if stopped:
        ax.axvline(stop, color=STOP_COLOR, linestyle=":", linewidth=1.2)
        title = f"{curves.label}: stopped at epoch {stop} ({patience} epochs without a better validation loss), keeps epoch {best}"
    else:
        title = f"{curves.label}: epoch {upto}, {upto - best} of {patience} epochs without a better validation loss"
    ax.set_xlim(0.5, len(curves.val_loss) + 0.5)
    ax.set_ylim(*limits)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=8, color=STOP_COLOR if stopped else "black")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small", loc="upper right")
    return fig
