"""The one input type of ``deepscope.inspect``, checked at the boundary: a tensor batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from deepscope.errors import invalid

__all__ = ["check_inputs", "image_shape", "model_device"]

_EXAMPLE = "such as data.test.tensors[0][:1000]"


def check_inputs(inputs: Any, *, images: bool = True, name: str = "inputs") -> torch.Tensor:
    """``inputs`` as it is, once checked: a non-empty ``torch.Tensor`` batch (N, *input_shape);
    with ``images`` a float batch of images (N, C, H, W). A Dataset, a TensorDataset, a tuple
    or one unbatched sample is refused with a message that says what to pass instead."""
    if not isinstance(inputs, torch.Tensor):
        raise invalid(name, f"a torch.Tensor batch (N, *input_shape), {_EXAMPLE}", type(inputs).__name__)
    shape = tuple(inputs.shape)
    if images and (inputs.ndim != 4 or not inputs.is_floating_point()):
        hint = " (one image: pass x[None])" if inputs.ndim == 3 else ""
        raise invalid(name, f"a float batch of images (N, C, H, W){hint}, {_EXAMPLE}", f"{inputs.dtype} {shape}")
    if inputs.ndim < 2:
        raise invalid(name, f"a batch (N, *input_shape), {_EXAMPLE}", f"{inputs.dtype} {shape}")
    if len(inputs) == 0:
        raise invalid(name, "a non-empty batch", f"0 samples of shape {shape[1:]}")
    return inputs


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def image_shape(model: nn.Module, in_shape: Sequence[int] | None) -> tuple[int, int, int]:
    """``in_shape`` (C, H, W) checked, or when None the input shape a zoo model records."""
    if in_shape is None:
        in_shape = getattr(model, "zoo_config", {}).get("in_shape")
        if in_shape is None:
            raise invalid("in_shape", "the input shape (C, H, W) (only zoo models record it)", None)
    shape = tuple(in_shape)
    if len(shape) != 3 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape):
        raise invalid("in_shape", "three positive ints (C, H, W)", in_shape)
    return tuple(int(s) for s in shape)
