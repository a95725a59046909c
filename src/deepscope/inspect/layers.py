"""Find layers by module name and read their outputs with forward hooks.

Layers are addressed by the names ``model.named_modules()`` gives them: ``"0"``, ``"2"`` in
an ``nn.Sequential``, ``"features.3"`` or ``"layer1.0.conv1"`` in nested models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from deepscope.errors import UnknownNameError, invalid

__all__ = [
    "CONV_TYPES",
    "POOL_TYPES",
    "conv_layers",
    "describe_layer",
    "get_layer",
    "layer_outputs",
    "reading",
    "spatial_layers",
]

CONV_TYPES = (nn.Conv2d,)
POOL_TYPES = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.LPPool2d)


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule of ``model`` called ``name``; an unknown name suggests the closest ones."""
    if not isinstance(model, nn.Module):
        raise invalid("model", "a torch.nn.Module", type(model).__name__)
    if not isinstance(name, str):
        raise invalid("layer", "a module name (str) from model.named_modules()", name)
    modules = dict(model.named_modules())
    modules.pop("", None)
    if name not in modules:
        raise UnknownNameError("layer", name, [f"{n}" for n in modules])
    return modules[name]


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the model's ``nn.Conv2d`` layers, in definition order."""
    return [n for n, m in model.named_modules() if n and isinstance(m, CONV_TYPES)]


def spatial_layers(model: nn.Module) -> list[str]:
    """Names of the model's conv and pooling layers (those with (C, H, W) outputs)."""
    return [n for n, m in model.named_modules() if n and isinstance(m, CONV_TYPES + POOL_TYPES)]


def describe_layer(model: nn.Module, name: str) -> str:
    """A short label such as ``"0: Conv2d 1->32, 3x3"`` or ``"4: MaxPool2d 2"``."""
    module = get_layer(model, name)
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        stride = f", stride {module.stride[0]}" if module.stride != (1, 1) else ""
        return f"{name}: Conv2d {module.in_channels}->{module.out_channels}, {kh}x{kw}{stride}"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return f"{name}: {type(module).__name__} {module.kernel_size}"
    if isinstance(module, nn.Linear):
        return f"{name}: Linear {module.in_features}->{module.out_features}"
    return f"{name}: {type(module).__name__}"


class _Stop(Exception):
    """Raised by the last hook to skip the rest of the forward pass."""


@contextmanager
def reading(
    model: nn.Module, layers: Sequence[str], *, stop: bool = True
) -> Iterator[Callable[[torch.Tensor], dict[str, torch.Tensor]]]:
    """Register forward hooks on ``layers`` once and yield ``read(x)``, which runs one forward
    pass on the batch ``x`` and returns the layers' outputs; the hooks go when the block ends.
    Use it for many passes (one per batch or per optimisation step); see :func:`layer_outputs`."""
    modules = {name: get_layer(model, name) for name in layers}
    captured: dict[str, torch.Tensor] = {}

    def hook_for(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: object, output: object) -> None:
            if not isinstance(output, torch.Tensor):
                raise invalid("layer", "a layer whose output is one tensor", f"{name} ({type(output).__name__})")
            if name not in captured:  # a module called twice keeps its first call
                captured[name] = output.clone()  # (N, C, H, W) for conv/pool layers
            if stop and len(captured) == len(modules):
                raise _Stop

        return hook

    def read(x: torch.Tensor) -> dict[str, torch.Tensor]:
        captured.clear()
        try:
            model(x)
        except _Stop:
            pass
        missing = [name for name in modules if name not in captured]
        if missing:
            raise invalid("layers", "layers that the forward pass runs", missing)
        return {name: captured[name] for name in layers}

    handles = [module.register_forward_hook(hook_for(name)) for name, module in modules.items()]
    try:
        yield read
    finally:
        for handle in handles:
            handle.remove()


def layer_outputs(
    model: nn.Module, layers: Sequence[str], inputs: torch.Tensor, *, stop: bool = True
) -> dict[str, torch.Tensor]:
    """The outputs of ``layers`` for the batch ``inputs`` (N, ...), from ONE forward pass with hooks.

    With ``stop=True`` the pass ends as soon as every requested layer has run, so the layers
    after them cost nothing. Outputs are cloned, so an in-place op after a layer (``ReLU(inplace=True)``)
    cannot change them (the clone keeps the autograd graph). Runs under the caller's grad mode
    and the model's current train/eval mode.
    """
    with reading(model, layers, stop=stop) as read:
        return read(inputs)
