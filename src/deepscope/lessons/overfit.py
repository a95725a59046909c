"""Lesson: overfitting. A large network on a small training set, trained well past the point
where validation turns: plain, with dropout and with augmentation; early stopping marked
where it would stop, and the variant chosen by validation metrics alone.

Every run is the project's trainer (``deepscope.train.fit``, ``monitor='val_loss'``,
``keep='best'``); the test split is never touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from deepscope import zoo
from deepscope.data import Dataset, load
from deepscope.data.subset import subset
from deepscope.errors import invalid
from deepscope.lessons.base import LessonPage, Table, register_lesson, save_animation
from deepscope.plots import save_figure
from deepscope.plots.lessons_training import (
    EpochCurves,
    early_stopping_frame,
    overfit_figure,
    validation_choice_figure,
)
from deepscope.train import fit

__all__ = ["EPOCHS", "PATIENCE", "PER_CLASS", "VARIANTS", "stop_epoch"]

EPOCHS = 60
PATIENCE = 10  # early stopping: epochs without a better validation loss
PER_CLASS = 60  # images a class, half for training and half for validation
BATCH_SIZE = 32
LR = 1e-3
# name -> (the zoo's mnist_mlp dropout rate, augmentation policy)
VARIANTS: dict[str, tuple[float, str | None]] = {
    "plain": (0.0, None),
    "dropout 0.5": (0.5, None),
    "augmentation": (0.0, "auto"),
}


def stop_epoch(val_loss: Sequence[float], patience: int) -> int | None:
    """The epoch (1-based) at which ``fit(patience=patience, monitor='val_loss')`` stops: the
    first with ``patience`` epochs in a row without a lower validation loss than the best
    before (the trainer's own rule); None when it would train to the end."""
    best, bad = None, 0
    for epoch, value in enumerate(val_loss, start=1):
        if best is None or value < best:
            best, bad = value, 0
        else:
            bad += 1
        if bad >= patience:
            return epoch
    return None


def _data(spec: str, seed: int) -> tuple[Dataset, bool]:
    """A small training set and as large a validation set; whether it was cut to PER_CLASS."""
    data = load(spec, val_fraction=0.5, seed=seed)
    if data.kind != "image" or data.task != "classification" or not data.classes:
        raise invalid("data", "an image classification data spec such as 'digits' or 'mnist:PATH'", spec)
    cut = "per_class" not in data.info  # else the spec chose its own small set
    if cut:
        data = subset(data, {"per_class": str(PER_CLASS)}, val_fraction=0.5, seed=seed)
    if not len(data.val):
        raise invalid("data", "a spec that leaves validation images (half of the per_class images are)", spec)
    return data, cut


def _train(data: Dataset, name: str, seed: int, root: Path) -> tuple[EpochCurves, dict[str, Any]]:
    dropout, augment = VARIANTS[name]
    model = zoo.create("mnist_mlp", data=data, seed=seed, dropout=dropout)
    run = fit(
        model, data, out=root / name.replace(" ", "-"), progress=False, device="cpu",
        epochs=EPOCHS, batch_size=BATCH_SIZE, optimizer="adam", lr=LR, weight_decay=0.0, schedule="constant",
        monitor="val_loss", keep="best", patience=None, augment=augment, seed=seed,
    )  # fmt: skip
    h = run.history
    column = {key: np.array([row[key] for row in h]) for key in ("loss", "val_loss", "accuracy", "val_accuracy")}
    best = run.best_epoch
    curves = EpochCurves(
        label=name,
        train_loss=column["loss"],
        val_loss=column["val_loss"],
        train_accuracy=column["accuracy"],
        val_accuracy=column["val_accuracy"],
        best_epoch=best,
        stop_epoch=stop_epoch(column["val_loss"], PATIENCE),
    )
    stop = curves.stop_epoch
    numbers = {
        "dropout": dropout,
        "augment": run.config["augment"],
        "parameters": run.config["parameters"],
        "best_epoch": best,
        "best_val_loss": float(column["val_loss"][best - 1]),
        "val_accuracy_at_best": float(column["val_accuracy"][best - 1]),
        "best_val_accuracy": float(column["val_accuracy"].max()),
        "early_stop_epoch": stop,
        # the weights fit(patience=PATIENCE) would keep: the best epoch up to its stop
        "early_stop_keeps": int(np.argmin(column["val_loss"][:stop])) + 1 if stop else best,
        "final_train_loss": float(column["loss"][-1]),
        "final_val_loss": float(column["val_loss"][-1]),
        "final_loss_gap": float(column["val_loss"][-1] - column["loss"][-1]),
        "final_accuracy_gap": float(column["accuracy"][-1] - column["val_accuracy"][-1]),
        "val_loss_rise": float(column["val_loss"][-1] - column["val_loss"].min()),
        "train_loss_at_best": float(column["loss"][best - 1]),
    }
    return curves, numbers


def _animation(curves: EpochCurves, path: Path) -> Path:
    """The plain run's loss curves epoch by epoch, with the best epoch so far and the patience
    count, up to a few epochs past the stop."""
    last = min(len(curves.val_loss), (curves.stop_epoch or len(curves.val_loss)) + 12)
    limits = (0.0, 2.5 * float(curves.val_loss[curves.best_epoch - 1]))
    epochs = sorted({*range(2, last + 1, 4), curves.best_epoch, curves.stop_epoch or last, last})
    frames = [early_stopping_frame(curves, e, PATIENCE, limits) for e in epochs]
    return save_animation(frames, path, duration_ms=400)


def _regularised(per_variant: dict[str, dict[str, Any]]) -> str:
    """What dropout and augmentation did, measured against the plain run: a sentence."""
    plain = per_variant["plain"]
    parts = []
    for name, n in per_variant.items():
        if name == "plain":
            continue
        gap = "narrower" if n["final_loss_gap"] < plain["final_loss_gap"] else "no narrower"
        turn = "later" if n["best_epoch"] > plain["best_epoch"] else "no later"
        parts.append(
            f"with {name} the final train/validation loss gap is {gap} ({n['final_loss_gap']:.3f} against "
            f"{plain['final_loss_gap']:.3f}) and the turn comes {turn} (epoch {n['best_epoch']})"
        )
    return "Measured: " + "; ".join(parts) + "."


@register_lesson(
    "overfit",
    order=5,
    title="Overfitting: let validation choose",
    summary="a large MLP on 300 images: train vs validation, early stopping, dropout and augmentation",
    takes_data=True,
    data_default="digits",
)
def lesson(out: Path, *, seed: int, data: str | None, echo: Callable[[str], None]) -> LessonPage:
    """Train mnist_mlp plain, with dropout and with augmentation; choose by validation."""
    dataset, cut = _data(data or "digits", seed)
    curves: list[EpochCurves] = []
    per_variant: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="deepscope-overfit-") as tmp:
        for name in VARIANTS:
            echo(f"{name}: {EPOCHS} epochs on {len(dataset.train)} images")
            c, numbers = _train(dataset, name, seed, Path(tmp))
            curves.append(c)
            per_variant[name] = numbers
            echo(
                f"  best val loss {numbers['best_val_loss']:.4f} at epoch {numbers['best_epoch']}, "
                f"val accuracy there {numbers['val_accuracy_at_best']:.3f}"
            )
    chosen = min(per_variant, key=lambda name: per_variant[name]["best_val_loss"])
    plain = curves[0]
    figures = [
        (save_figure(overfit_figure(curves, PATIENCE), out / "curves.png"),
         f"Train (blue) and validation (orange) loss and accuracy per epoch. Dashed: the epoch of the lowest "
         f"validation loss, whose weights the run keeps; dotted: where early stopping with patience {PATIENCE} "
         "stops. Training loss is measured on the training batches as trained: with dropout active, on "
         "augmented images."),
        (save_figure(validation_choice_figure(curves, chosen), out / "choice.png"),
         f"Validation loss of the three variants; the lowest wins: {chosen}."),
        (_animation(plain, out / "early_stopping.gif"),
         f"Early stopping, epoch by epoch ({plain.label}): the best validation loss so far, and the epochs "
         f"since; after {PATIENCE} without a better one, training stops and keeps the best epoch's weights."),
    ]  # fmt: skip
    p = per_variant["plain"]
    paragraph = (
        f"The Keras mnist_mlp ({p['parameters']:,} parameters: two dense layers of 512) trained on "
        f"{len(dataset.train)} images and validated on {len(dataset.val)} others, for {EPOCHS} epochs of Adam. "
        f"Training loss keeps falling (to {p['final_train_loss']:.2g}) while validation loss "
        + (
            f"turns at epoch {p['best_epoch']} and climbs again (from {p['best_val_loss']:.3f} to "
            f"{p['final_val_loss']:.3f}): the network memorises its training set. "
            if p["best_epoch"] < EPOCHS
            else "still falls at the last epoch: this data did not overfit within the epochs given. "
        )
        + f"Early stopping watches the validation loss and stops after {PATIENCE} epochs without improvement, "
        "keeping the best epoch. Dropout (half of the hidden units dropped at random while training) and "
        "augmentation (the images shifted at random) make memorising harder. "
        + _regularised(per_variant)
        + f" Which variant to keep is decided by validation metrics alone: here {chosen}, with the lowest "
        "validation loss. The test split is not touched; it stays for one final, honest estimate."
        + (f" The data was cut to {PER_CLASS} images a class, half for validation." if cut else "")
    )
    rows = [
        [name, n["best_epoch"], n["early_stop_epoch"] or "-", n["early_stop_keeps"], n["best_val_loss"], n["val_accuracy_at_best"],
         n["final_train_loss"], n["final_val_loss"], n["final_accuracy_gap"]]
        for name, n in per_variant.items()
    ]  # fmt: skip
    table = Table(
        f"{EPOCHS} epochs, chosen by validation loss: {chosen}",
        ["variant", "best epoch", "early stop", "it keeps epoch", "best val loss", "val accuracy there", "final train loss",
         "final val loss", "final accuracy gap"],
        rows,
    )  # fmt: skip
    numbers = {
        "train_images": len(dataset.train),
        "val_images": len(dataset.val),
        "per_class": dataset.info.get("per_class"),
        "cut_to_per_class": cut,
        "epochs": EPOCHS,
        "patience": PATIENCE,
        "variants": per_variant,
        "chosen_by_validation": chosen,
        "chosen_by": "lowest validation loss at the best epoch",
    }
    return LessonPage(paragraph=paragraph, figures=figures, numbers=numbers, tables=[table])
