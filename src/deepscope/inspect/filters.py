"""The learned weights of a first layer (or any conv layer), ready to draw as an image grid:
conv kernels, or the rows of a dense layer that reads the flattened image, each reshaped to
the image (the "templates" of softmax regression)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from deepscope.errors import invalid
from deepscope.inspect.inputs import image_shape
from deepscope.inspect.layers import conv_layers, describe_layer, get_layer

__all__ = ["Filters", "filters", "input_dense_layer"]

REDUCTIONS = ("auto", "none", "mean")


@dataclass
class Filters:
    """Weights of one layer as pictures. ``kernels`` is (K, C, kh, kw): C is the layer's input
    channels (``reduce="none"``) or 1 (averaged over input channels, ``reduce="mean"``). For a
    dense layer on the flattened image, row k of the weight is kernel k, reshaped to (C, H, W)."""

    layer: str
    label: str
    kernels: np.ndarray  # (K, C, kh, kw)
    reduce: str  # "none" or "mean"
    in_channels: int  # the layer's input channels before any averaging


def input_dense_layer(model: nn.Module) -> str | None:
    """The name of the model's first layer with parameters when it is an ``nn.Linear`` (a
    dense layer that reads the flattened input, as in softmax regression and MLPs), else None."""
    for name, module in model.named_modules():
        if name and not list(module.children()) and any(True for _ in module.parameters(recurse=False)):
            return name if isinstance(module, nn.Linear) else None
    return None


def filters(
    model: nn.Module, layer: str | None = None, *, reduce: str = "auto", in_shape: Sequence[int] | None = None
) -> Filters:
    """Weights of ``layer`` as (K, C, kh, kw) pictures. None: the first conv layer, or for a
    model without one its first dense layer (:func:`input_dense_layer`).

    An ``nn.Conv2d`` gives its kernels. An ``nn.Linear`` that reads the flattened image gives
    its K weight rows reshaped to the image ``in_shape`` (C, H, W) (default: the shape a zoo
    model records): what each hidden unit (or, in softmax regression, each class) looks for.
    ``reduce``: ``"none"`` keeps one slice per input channel, ``"mean"`` averages over the
    input channels (one picture per filter, the usual view of a deep layer), ``"auto"`` keeps
    them for a layer that sees 1 or 3 channels (grey or RGB images) and averages otherwise.
    """
    if reduce not in REDUCTIONS:
        raise invalid("reduce", f"one of {REDUCTIONS}", reduce)
    if layer is None:
        names = conv_layers(model) or [n for n in [input_dense_layer(model)] if n]
        if not names:
            raise invalid(
                "model",
                "a model with an nn.Conv2d layer or a first nn.Linear layer on the input",
                type(model).__name__,
            )
        layer = names[0]
    module = get_layer(model, layer)
    label = describe_layer(model, layer)
    if isinstance(module, nn.Conv2d):
        weight = module.weight.detach().float().cpu().numpy()  # (K, C/groups, kh, kw)
    elif isinstance(module, nn.Linear):
        shape = image_shape(model, in_shape)
        if module.in_features != math.prod(shape):
            raise invalid(
                "layer",
                f"an nn.Linear layer that reads the flattened input ({math.prod(shape)} = {shape} features)",
                f"{layer} with {module.in_features} input features",
            )
        weight = module.weight.detach().float().cpu().numpy().reshape(-1, *shape)  # (K, C, H, W)
        label = f"{label} (weight rows as {'x'.join(map(str, shape))} images)"
    else:
        raise invalid(
            "layer",
            f"the name of an nn.Conv2d layer (one of {conv_layers(model)}) or of an nn.Linear on the input",
            f"{layer} ({type(module).__name__})",
        )
    if reduce == "auto":
        reduce = "none" if weight.shape[1] in (1, 3) else "mean"
    kernels = weight.mean(axis=1, keepdims=True) if reduce == "mean" else weight  # (K, 1 | C, kh, kw)
    return Filters(layer=layer, label=label, kernels=kernels, reduce=reduce, in_channels=int(weight.shape[1]))
