"""The learned kernels of a conv layer, ready to draw as an image grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from deepscope.errors import invalid
from deepscope.inspect.layers import conv_layers, describe_layer, get_layer

__all__ = ["Filters", "filters"]

REDUCTIONS = ("auto", "none", "mean")


@dataclass
class Filters:
    """Kernels of one conv layer. ``kernels`` is (K, C, kh, kw): C is the layer's input channels
    (``reduce="none"``) or 1 (averaged over input channels, ``reduce="mean"``)."""

    layer: str
    label: str
    kernels: np.ndarray  # (K, C, kh, kw)
    reduce: str  # "none" or "mean"
    in_channels: int  # the layer's input channels before any averaging


def filters(model: nn.Module, layer: str | None = None, *, reduce: str = "auto") -> Filters:
    """Kernels of conv ``layer`` (default: the first conv layer) as (K, C, kh, kw).

    ``reduce``: ``"none"`` keeps one kernel slice per input channel, ``"mean"`` averages over the
    input channels (one (kh, kw) picture per filter, the usual view of a deep layer), ``"auto"``
    keeps them for a layer that sees 1 or 3 channels (grey or RGB images) and averages otherwise.
    """
    if reduce not in REDUCTIONS:
        raise invalid("reduce", f"one of {REDUCTIONS}", reduce)
    if layer is None:
        names = conv_layers(model)
        if not names:
            raise invalid("model", "a model with at least one nn.Conv2d layer", type(model).__name__)
        layer = names[0]
    module = get_layer(model, layer)
    if not isinstance(module, nn.Conv2d):
        raise invalid(
            "layer",
            f"the name of an nn.Conv2d layer (one of {conv_layers(model)})",
            f"{layer} ({type(module).__name__})",
        )
    weight = module.weight.detach().float().cpu().numpy()  # (K, C/groups, kh, kw)
    if reduce == "auto":
        reduce = "none" if weight.shape[1] in (1, 3) else "mean"
    kernels = weight.mean(axis=1, keepdims=True) if reduce == "mean" else weight  # (K, 1 | C, kh, kw)
    return Filters(
        layer=layer,
        label=describe_layer(model, layer),
        kernels=kernels,
        reduce=reduce,
        in_channels=int(weight.shape[1]),
    )
