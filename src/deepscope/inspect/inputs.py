"""Turn what the user passes as "data" into tensors, with clear errors at the boundary."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset

from deepscope.errors import invalid

__all__ = ["as_images", "check_image", "model_device"]

_EXPECTED = "a deepscope Dataset (its test split is used), a TensorDataset (x, y) or a tensor (N, C, H, W)"


def as_images(data: Any, name: str = "data") -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(x, y)`` from ``data``: x (N, C, H, W) float, y (N,) labels or None for a bare tensor."""
    if isinstance(data, torch.Tensor):
        x, y = data, None
    elif isinstance(data, TensorDataset):
        x, y = data.tensors[0], (data.tensors[1] if len(data.tensors) > 1 else None)
    elif isinstance(getattr(data, "test", None), TensorDataset):  # a deepscope Dataset
        x, y = data.test.tensors[0], data.test.tensors[1]
    else:
        raise invalid(name, _EXPECTED, type(data).__name__)
    if x.ndim != 4 or not x.is_floating_point():
        raise invalid(
            name, f"{_EXPECTED}, holding float images (N, C, H, W)", f"{x.dtype} tensor of shape {tuple(x.shape)}"
        )
    if len(x) == 0:
        raise invalid(name, "a non-empty set of images", f"0 images of shape {tuple(x.shape[1:])}")
    return x, y


def check_image(x: Any, name: str = "x") -> torch.Tensor:
    """One image (C, H, W) as a float tensor."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise invalid(name, "one float image tensor (C, H, W)", shape)
    return x


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")
