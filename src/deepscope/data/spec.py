"""The one dataset spec every loader returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope.errors import DataError, InvalidArgumentError, invalid

__all__ = ["KINDS", "TASKS", "Baseline", "Dataset", "split_train_val", "check_labels"]

KINDS = ("image", "series", "text", "sequence")
TASKS = ("classification", "regression", "seq2seq")


@dataclass(frozen=True)
class Baseline:
    """The naive forecast a learned regressor must beat, named: ``predict`` maps inputs
    (N, *input_shape) to predictions shaped like the targets, without training."""

    name: str
    predict: Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Dataset:
    """A dataset resolved to train/val/test splits of in-memory tensors.

    ``input_shape`` is one sample's shape, channels first: (C, H, W) for images, (C, T) for
    series, (T,) for token sequences. ``classes`` names the classes of a classification task.
    ``val`` is carved from train with a fixed seed (stratified); ``test`` is only for the
    final evaluation, never for choices. ``spec`` is the string that reloads it.
    ``files`` maps file names to JSON-able contents that every run trained on this data must
    carry (a text vocabulary: ``{'vocab.json': ...}``); the trainer writes them into the run
    folder beside config.json. ``baseline`` (regression data) is the naive forecast that
    evaluation scores beside the model: seasonal naive for series, copy-the-last-frame for videos.
    """

    name: str
    kind: str
    input_shape: tuple[int, ...]
    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    classes: list[str] | None = None
    task: str = "classification"
    spec: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict, repr=False)
    baseline: Baseline | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise invalid("kind", f"one of {KINDS}", self.kind)
        if self.task not in TASKS:
            raise invalid("task", f"one of {TASKS}", self.task)
        self.input_shape = tuple(int(s) for s in self.input_shape)
        for split_name in ("train", "val", "test"):
            split = getattr(self, split_name)
            shape = tuple(split.tensors[0].shape[1:])
            if len(split) and shape != self.input_shape:
                raise DataError(
                    f"The {split_name} split of {self.name!r} has samples of shape {shape}, "
                    f"but the dataset declares input_shape={self.input_shape}."
                )
            if self.task == "classification" and self.classes is not None:
                check_labels(split.tensors[1], len(self.classes), where=f"{self.name} {split_name}")

    @property
    def num_classes(self) -> int:
        if self.classes is None:
            raise InvalidArgumentError(f"Dataset {self.name!r} has no classes (task={self.task!r}).")
        return len(self.classes)

    def split(self, name: str) -> TensorDataset:
        """The split called ``name`` ('train', 'val' or 'test')."""
        if name not in ("train", "val", "test"):
            raise invalid("split", "one of 'train', 'val', 'test'", name)
        return getattr(self, name)

    def describe(self) -> dict[str, Any]:
        """A JSON-able description: what run folders store to reload and check the data."""
        return {
            "name": self.name,
            "spec": self.spec,
            "kind": self.kind,
            "task": self.task,
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            "sizes": {s: len(self.split(s)) for s in ("train", "val", "test")},
            **({"info": self.info} if self.info else {}),
        }

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(self.split(s))}" for s in ("train", "val", "test"))
        classes = f", classes={len(self.classes)}" if self.classes else ""
        return f"Dataset({self.name!r}, kind={self.kind!r}, input_shape={self.input_shape}{classes}, {sizes})"


def check_labels(y: torch.Tensor, num_classes: int, where: str) -> None:
    """Fail clearly when class labels fall outside ``[0, num_classes)``."""
    if y.numel() == 0:
        return
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_classes:
        bad = y[(y < 0) | (y >= num_classes)]
        raise DataError(
            f"Labels in {where} must be integers in [0, {num_classes - 1}]. "
            f"Received: {bad.numel()} label(s) out of range, e.g. {int(bad[0])}."
        )


def split_train_val(
    x: torch.Tensor, y: torch.Tensor, *, val_fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> tuple[TensorDataset, TensorDataset]:
    """Carve a seeded (stratified) validation split out of training tensors."""
    from sklearn.model_selection import train_test_split

    if not 0.0 <= val_fraction < 1.0:
        raise invalid("val_fraction", "a float in [0, 1)", val_fraction)
    if val_fraction == 0.0:
        return TensorDataset(x, y), TensorDataset(x[:0], y[:0])
    index = np.arange(len(x))
    labels = y.numpy() if stratify and y.ndim == 1 else None
    try:
        train_idx, val_idx = train_test_split(index, test_size=val_fraction, random_state=seed, stratify=labels)
    except ValueError:  # a class too small to stratify: fall back to a plain seeded split
        train_idx, val_idx = train_test_split(index, test_size=val_fraction, random_state=seed)
    train_idx, val_idx = np.sort(train_idx), np.sort(val_idx)
    return TensorDataset(x[train_idx], y[train_idx]), TensorDataset(x[val_idx], y[val_idx])
