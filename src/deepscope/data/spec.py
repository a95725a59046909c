"""The one dataset spec every loader returns."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope.errors import DataError, InvalidArgumentError, invalid

__all__ = [
    "KINDS",
    "TASKS",
    "Baseline",
    "Dataset",
    "check_finite",
    "check_labels",
    "check_seed",
    "check_val_fraction",
    "split_train_val",
]

KINDS = ("image", "series", "text", "sequence")
TASKS = ("classification", "regression", "seq2seq", "contrastive", "pairs", "ctc")


@dataclass(frozen=True)
class Baseline:
    """The naive forecast a learned regressor must beat, named: ``predict`` maps inputs
    (N, *input_shape) to predictions shaped like the targets, without training."""

    name: str
    predict: Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Dataset:
    """A dataset resolved to train/val/test splits: in-memory tensors (TensorDataset), or
    for an image folder larger than memory, :class:`~deepscope.data.stream.ImageFiles`
    decoded on demand (whose ``tensors`` index like tensors).

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
            streamed = not isinstance(split, TensorDataset)  # decoded on demand: checked as it is read
            shape = tuple(split.tensors[0].shape[1:])
            if len(split) and shape != self.input_shape:
                raise DataError(
                    f"The {split_name} split of {self.name!r} has samples of shape {shape}, "
                    f"but the dataset declares input_shape={self.input_shape}."
                )
            where = f"the {split_name} split of {self.name!r}"
            if not streamed:  # decoded images (uint8 / 255) are always finite
                check_finite(split.tensors[0], f"Inputs of {where}")
            if len(split.tensors) < 2:
                continue
            y = split.tensors[1]
            if self.task == "classification":
                _check_integer_labels(y, f"Labels of {where}")
                if self.classes is not None:
                    check_labels(y, len(self.classes), where=f"{self.name} {split_name}")
            else:
                check_finite(y, f"Targets of {where}")

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


def check_finite(t: torch.Tensor, what: str) -> None:
    """Refuse NaN/inf anywhere in a float tensor (N, ...), naming the first sample that holds one.

    One pass and no copy in the common case: NaN and inf survive a sum, so a finite sum
    proves every value finite; only a non-finite sum (or an overflowing one) is looked at
    sample by sample, in chunks."""
    if not (t.is_floating_point() or t.is_complex()) or t.numel() == 0:
        return
    if bool(torch.isfinite(t.sum())):
        return
    flat = t.reshape(len(t), -1) if t.ndim else t.reshape(1, 1)  # (N, features)
    chunk = max(1, (1 << 22) // max(1, flat.shape[1]))
    for start in range(0, len(flat), chunk):
        bad = ~torch.isfinite(flat[start : start + chunk]).all(dim=1)  # (chunk,)
        if bool(bad.any()):
            i = start + int(bad.nonzero()[0, 0])
            row = flat[i]
            value = row[~torch.isfinite(row)][0].item()
            raise DataError(
                f"{what} must be finite numbers. Received: {value} in sample {i}. "
                f"Clean the data (or drop that sample) before loading."
            )
    # the sum only overflowed: every value is finite


def _check_integer_labels(y: torch.Tensor, what: str) -> None:
    """Class labels must be an integer tensor: a float one is refused, naming the first
    sample whose label is not a whole finite number (or the dtype, if every value is whole)."""
    if not (y.is_floating_point() or y.is_complex()):
        return
    if y.is_floating_point() and y.numel():
        flat = y.reshape(len(y), -1) if y.ndim else y.reshape(1, 1)  # (N, labels per sample)
        bad = ~torch.isfinite(flat) | (flat != flat.round())
        if bool(bad.any()):
            i = int(bad.any(dim=1).nonzero()[0, 0])
            raise DataError(
                f"{what} must be integer class indices. Received: {flat[i][bad[i]][0].item()} in sample {i}."
            )
    raise DataError(f"{what} must be an integer tensor of class indices. Received: dtype={y.dtype}.")


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


def check_val_fraction(value: Any, arg: str = "val_fraction") -> float:
    """``value`` as a float in [0, 1): finite, not a bool, not 1 or more."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(arg, "a float in [0, 1)", value)
    fraction = float(value)
    if not 0.0 <= fraction < 1.0:  # NaN fails too
        raise invalid(arg, "a float in [0, 1)", value)
    return fraction


def check_seed(value: Any, arg: str = "seed") -> int:
    """``value`` as an int (a bool or a float is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid(arg, "an int", value)
    return int(value)


def split_train_val(
    x: torch.Tensor, y: torch.Tensor, *, val_fraction: float = 0.1, seed: int = 0, stratify: bool = True
) -> tuple[TensorDataset, TensorDataset]:
    """Carve a seeded (stratified) validation split out of training tensors x (N, ...), y (N, ...).

    The result depends only on (N, the labels, ``val_fraction``, ``seed``) and the installed
    scikit-learn, so a run folder that stores ``val_fraction`` and ``seed`` recomputes the
    same split (both index lists come back sorted, in the original order):

    - ``n_val = ceil(val_fraction * N)`` samples go to validation, scikit-learn's rule, so
      any ``val_fraction > 0`` gives at least one; ``val_fraction == 0`` gives every sample
      to train and an empty val split.
    - Stratified (each class in proportion) when ``stratify`` and ``y`` holds 1-D integer
      labels and the split allows it: every class has 2+ samples and both splits can hold one
      of each class. Otherwise a plain seeded shuffle split.
    - If ``n_val`` would leave no training sample (one sample, or ``val_fraction=0.9999``),
      a :class:`DataError` says so: use more data or ``val_fraction=0``.

    ``seed`` is any int (taken modulo 2**32)."""
    fraction = check_val_fraction(val_fraction)
    seed = check_seed(seed) % 2**32
    n = len(x)
    if len(y) != n:
        raise DataError(f"Inputs and labels must have the same length. Received: {n} inputs and {len(y)} labels.")
    if fraction == 0.0:
        return TensorDataset(x, y), TensorDataset(x[:0], y[:0])
    n_val = math.ceil(fraction * n)
    if n - n_val < 1:
        raise DataError(
            f"`val_fraction` must leave at least one training sample. Received: val_fraction={val_fraction!r} "
            f"for {n} sample(s) ({n_val} for validation, {n - n_val} for training). Use more data, or "
            f"val_fraction=0 (`--val-fraction 0`) for no validation split."
        )
    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    labels = _stratify_labels(y, n_val, n - n_val) if stratify else None
    try:
        train_idx, val_idx = train_test_split(index, test_size=n_val, random_state=seed, stratify=labels)
    except ValueError:  # never expected (the conditions are checked above); a plain split is still seeded
        train_idx, val_idx = train_test_split(index, test_size=n_val, random_state=seed)
    train_idx, val_idx = np.sort(train_idx), np.sort(val_idx)
    return TensorDataset(x[train_idx], y[train_idx]), TensorDataset(x[val_idx], y[val_idx])


def _stratify_labels(y: torch.Tensor, n_val: int, n_train: int) -> np.ndarray | None:
    """The labels to stratify on, or None when a stratified split cannot be made: labels
    that are not 1-D integers, a class with a single sample, or fewer val/train places than
    classes (scikit-learn's own conditions, checked here so the choice is explicit)."""
    if y.ndim != 1 or y.is_floating_point() or y.is_complex():
        return None
    labels = y.detach().cpu().numpy()
    _, counts = np.unique(labels, return_counts=True)
    if counts.min() < 2 or n_val < len(counts) or n_train < len(counts):
        return None
    return labels
