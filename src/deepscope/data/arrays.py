"""Datasets from numpy arrays or tensors handed over in Python."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.data.spec import Dataset, split_train_val
from deepscope.errors import DataError, invalid

__all__ = ["from_arrays"]


def _as_tensor(name: str, value: Any, dtype: torch.dtype) -> torch.Tensor:
    """``value`` as a tensor of ``dtype`` (float32 inputs or int64 labels), its size checked
    against the memory cap first; labels that are not whole numbers are refused, not truncated."""
    if not isinstance(value, torch.Tensor):
        try:
            value = np.asarray(value)
        except (TypeError, ValueError, OverflowError) as error:
            raise invalid(name, "a numpy array or tensor", type(value).__name__) from error
        if value.dtype.kind not in "biuf":  # objects (e.g. 2**70), strings, dates
            raise invalid(name, "a numeric numpy array or tensor", f"{value.dtype} array")
    tensor = torch.as_tensor(value).detach()
    limits.check_allocation(tensor.numel() * (4 if dtype == torch.float32 else 8), f"`{name}`")
    if dtype == torch.long and tensor.is_floating_point():
        fractional = ~torch.isfinite(tensor) | (tensor != tensor.round())
        if bool(fractional.any()):
            raise DataError(
                f"`{name}` must hold whole-number class labels. "
                f"Received: {int(fractional.sum())} value(s) such as {float(tensor[fractional][0])!r}."
            )
    return tensor.to(dtype)


def from_arrays(
    x_train: Any,
    y_train: Any,
    x_test: Any = None,
    y_test: Any = None,
    *,
    kind: str = "image",
    classes: Sequence[str] | None = None,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    seed: int = 0,
    name: str = "arrays",
) -> Dataset:
    """Wrap arrays as a Dataset. ``x`` is (N, C, H, W) / (N, C, T) / (N, T) (an (N, H, W)
    image array gets a channel axis); ``y`` holds integer class labels. Without a test set,
    ``test_fraction`` of train is held out with ``seed`` (stratified)."""
    x = _as_tensor("x_train", x_train, torch.float32)
    y = _as_tensor("y_train", y_train, torch.long)
    if kind == "image" and x.ndim == 3:
        x = x.unsqueeze(1)
    if len(x) != len(y):
        raise DataError(f"x_train and y_train must have the same length. Received: {len(x)} and {len(y)}.")
    if len(x) == 0:
        raise DataError("x_train and y_train must hold at least one sample. Received: 0.")
    if x_test is None:
        rest, test = split_train_val(x, y, val_fraction=test_fraction, seed=seed + 7919)
        x, y = rest.tensors
    else:
        xt = _as_tensor("x_test", x_test, torch.float32)
        yt = _as_tensor("y_test", y_test, torch.long)
        if kind == "image" and xt.ndim == 3:
            xt = xt.unsqueeze(1)
        test = TensorDataset(xt, yt)
    train, val = split_train_val(x, y, val_fraction=val_fraction, seed=seed)
    if classes is None:
        classes = [str(c) for c in range(int(y.max()) + 1)]
    return Dataset(
        name=name, kind=kind, input_shape=tuple(x.shape[1:]), train=train, val=val, test=test, classes=list(classes)
    )
