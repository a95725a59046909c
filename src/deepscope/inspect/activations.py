"""Feature maps: every conv/pool layer's output for one input, from one forward pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepscope.errors import invalid
from deepscope.inspect.inputs import check_image, model_device
from deepscope.inspect.layers import describe_layer, layer_outputs, spatial_layers

__all__ = ["FeatureMaps", "feature_maps"]


@dataclass
class FeatureMaps:
    """Layer outputs for one input. ``maps[name]`` is (C, H, W); ``labels[name]`` describes the layer."""

    input: np.ndarray  # (C, H, W)
    maps: dict[str, np.ndarray]  # layer name -> (C_l, H_l, W_l)
    labels: dict[str, str]  # layer name -> "0: Conv2d 1->32, 3x3"

    @property
    def layers(self) -> list[str]:
        return list(self.maps)


@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor, layers: Sequence[str] | None = None) -> FeatureMaps:
    """The outputs of ``layers`` (default: every conv and pooling layer) for one input ``x`` (C, H, W).

    One forward pass in eval mode with forward hooks; the pass stops after the last requested layer.
    """
    x = check_image(x)
    names = spatial_layers(model) if layers is None else list(layers)
    if not names:
        raise invalid("layers", "at least one layer name (the model has no conv or pooling layer)", layers)
    was_training = model.training
    model.eval()
    try:
        outputs = layer_outputs(model, x.unsqueeze(0).to(model_device(model)), names)  # name -> (1, C, H, W)
    finally:
        model.train(was_training)
    maps = {}
    for name, out in outputs.items():
        if out.ndim != 4:
            raise invalid("layers", "layers with (N, C, H, W) outputs", f"{name} with output shape {tuple(out.shape)}")
        maps[name] = out[0].float().cpu().numpy()  # (C, H, W)
    return FeatureMaps(
        input=x.detach().float().cpu().numpy(), maps=maps, labels={name: describe_layer(model, name) for name in names}
    )
