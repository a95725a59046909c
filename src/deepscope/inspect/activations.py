"""Feature maps: every conv/pool layer's output for a batch of inputs, from one forward pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepscope.errors import invalid
from deepscope.inspect.inputs import check_inputs, model_device
from deepscope.inspect.layers import describe_layer, layer_outputs, spatial_layers

__all__ = ["FeatureMaps", "feature_maps"]


@dataclass
class FeatureMaps:
    """Layer outputs for a batch of N inputs. ``maps[name]`` is (N, C, H, W); ``labels[name]``
    describes the layer."""

    inputs: np.ndarray  # (N, C, H, W)
    maps: dict[str, np.ndarray]  # layer name -> (N, C_l, H_l, W_l)
    labels: dict[str, str]  # layer name -> "0: Conv2d 1->32, 3x3"

    @property
    def layers(self) -> list[str]:
        return list(self.maps)


@torch.no_grad()
def feature_maps(model: nn.Module, layers: Sequence[str] | None, inputs: torch.Tensor) -> FeatureMaps:
    """The outputs of ``layers`` (None: every conv and pooling layer) for ``inputs`` (N, C, H, W).

    One forward pass in eval mode with forward hooks; the pass stops after the last requested
    layer. Every map of every input is kept, so pass the few inputs you want to see
    (``data.test.tensors[0][:1]`` for one).
    """
    inputs = check_inputs(inputs)
    if isinstance(layers, str):
        raise invalid("layers", "a list of layer names (wrap one name in a list) or None", layers)
    names = spatial_layers(model) if layers is None else list(layers)
    if not names:
        raise invalid("layers", "at least one layer name (the model has no conv or pooling layer)", layers)
    was_training = model.training
    model.eval()
    try:
        outputs = layer_outputs(model, names, inputs.to(model_device(model)))  # name -> (N, C, H, W)
    finally:
        model.train(was_training)
    maps = {}
    for name, out in outputs.items():
        if out.ndim != 4:
            raise invalid("layers", "layers with (N, C, H, W) outputs", f"{name} with output shape {tuple(out.shape)}")
        maps[name] = out.float().cpu().numpy()  # (N, C, H, W)
    return FeatureMaps(
        inputs=inputs.detach().float().cpu().numpy(),
        maps=maps,
        labels={name: describe_layer(model, name) for name in names},
    )
