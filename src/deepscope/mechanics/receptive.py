"""Receptive fields: which input pixels one unit of a conv/pool layer can see.

Computed from the layers' configuration alone (no forward pass, no torch import): layers are
read by duck typing — their class name and their ``kernel_size``, ``stride``, ``padding`` and
``dilation`` attributes — so any sequential CNN built from ``Conv2d`` / ``MaxPool2d`` /
``AvgPool2d`` and elementwise layers works, whatever library object holds it.

For each layer, with the previous layer's ``size`` (RF side), ``jump`` (input pixels between
neighbouring units) and ``offset`` (input pixel where unit 0's field starts), and a kernel k
with stride s, padding p (before) and dilation d::

    k_eff  = d * (k - 1) + 1
    size   = size + (k_eff - 1) * jump
    offset = offset - p * jump
    jump   = jump * s

Unit (i, j) then sees input rows ``offset + i * jump`` .. ``offset + i * jump + size - 1``
(a negative start means the field reaches into the zero padding).

Boxes, here and everywhere in deepscope (``TopPatches.boxes``, ``Maximized.box``), are
``(top, left, bottom, right)`` in input pixels, half-open (``bottom`` and ``right`` are one
past the last row and column), so ``image[..., top:bottom, left:right]`` is the box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deepscope.errors import UnknownNameError, invalid

__all__ = ["ReceptiveField", "receptive_field"]

_CONVS = {"Conv2d", "LazyConv2d"}
_POOLS = {"MaxPool2d", "AvgPool2d", "LPPool2d"}
# layers that act on each position separately (or only mix channels): they keep the field
_POINTWISE = {
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "SELU",
    "CELU",
    "GELU",
    "SiLU",
    "Mish",
    "Sigmoid",
    "Tanh",
    "Hardtanh",
    "Hardswish",
    "Hardsigmoid",
    "Softplus",
    "Identity",
    "Dropout",
    "Dropout2d",
    "AlphaDropout",
    "BatchNorm2d",
    "LazyBatchNorm2d",
    "InstanceNorm2d",
    "LocalResponseNorm",
}


@dataclass(frozen=True)
class ReceptiveField:
    """The field of one unit of ``layer`` in input pixels, per axis as (rows, cols).

    size:   side of the square (or rectangle) of input pixels a unit sees
    jump:   input pixels between neighbouring units (the product of the strides so far)
    offset: input row/col where unit (0, 0)'s field starts (negative: it reaches into padding)
    """

    layer: str
    size: tuple[int, int]
    jump: tuple[int, int]
    offset: tuple[int, int]

    def bounds(self, row: int, col: int, image_shape: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
        """The box (top, left, bottom, right) of input pixels seen by unit (row, col), half-open
        (``image[top:bottom, left:right]``); clipped to ``image_shape`` (H, W) when given (the
        part outside is zero padding), unclipped otherwise."""
        top = self.offset[0] + row * self.jump[0]
        left = self.offset[1] + col * self.jump[1]
        bottom, right = top + self.size[0], left + self.size[1]
        if image_shape is not None:
            h, w = image_shape
            top, left, bottom, right = max(top, 0), max(left, 0), min(bottom, h), min(right, w)
        return top, left, bottom, right

    def __str__(self) -> str:
        return (
            f"layer {self.layer!r}: receptive field {self.size[0]}x{self.size[1]}, "
            f"jump {self.jump[0]}x{self.jump[1]}, unit (0, 0) starts at {self.offset}"
        )


def _pair(value: Any, name: str, layer: str) -> tuple[int, int]:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    raise invalid(f"{layer}.{name}", "an int or a pair of ints", value)


def _padding_before(padding: Any, kernel: tuple[int, int], dilation: tuple[int, int], layer: str) -> tuple[int, int]:
    if padding == "valid":
        return 0, 0
    if padding == "same":  # PyTorch pads d*(k-1) in total, the smaller half first
        return tuple((d * (k - 1)) // 2 for k, d in zip(kernel, dilation))  # type: ignore[return-value]
    return _pair(padding, "padding", layer)


def _leaf_layers(model_or_layers: Any) -> list[tuple[str, Any]]:
    """(name, layer) for every leaf layer in execution order (names as in named_modules())."""
    if hasattr(model_or_layers, "named_modules"):
        return [
            (name, m) for name, m in model_or_layers.named_modules() if name and not any(True for _ in m.children())
        ]
    if isinstance(model_or_layers, Sequence) and not isinstance(model_or_layers, (str, bytes)):
        return [(str(i), m) for i, m in enumerate(model_or_layers)]
    raise invalid(
        "model_or_layers", "a torch module (e.g. nn.Sequential) or a list of layers", type(model_or_layers).__name__
    )


def receptive_field(model_or_layers: Any, layer: str) -> ReceptiveField:
    """Receptive field of one unit of ``layer`` (its module name, as in ``model.named_modules()``,
    e.g. ``'2'`` or ``'features.3'``; for a plain list of layers, its index as a string).

    Assumes the layers run in the order they are registered (a sequential CNN such as every
    CNN in ``deepscope.zoo``). Conv2d, MaxPool2d, AvgPool2d and LPPool2d change the field
    (kernel_size, stride, padding incl. 'same'/'valid', dilation); activations, dropout and
    batch norm keep it. Any other layer before ``layer`` is an error.
    """
    leaves = _leaf_layers(model_or_layers)
    names = [name for name, _ in leaves]
    if layer not in names:
        raise UnknownNameError("layer", str(layer), names)

    size, jump, offset = [1, 1], [1, 1], [0, 0]
    for name, module in leaves:
        kind = type(module).__name__
        if kind in _CONVS or kind in _POOLS:
            kernel = _pair(module.kernel_size, "kernel_size", name)
            stride = _pair(getattr(module, "stride", None) or kernel, "stride", name)  # pools: None -> kernel
            dilation = _pair(getattr(module, "dilation", 1), "dilation", name)
            pad = _padding_before(getattr(module, "padding", 0), kernel, dilation, name)
            for axis in range(2):
                effective = dilation[axis] * (kernel[axis] - 1) + 1
                size[axis] += (effective - 1) * jump[axis]
                offset[axis] -= pad[axis] * jump[axis]
                jump[axis] *= stride[axis]
        elif kind not in _POINTWISE:
            raise invalid(
                "layer",
                f"reachable through conv, pool and elementwise layers only; layer {name!r} "
                f"({kind}) comes before it and has no spatial receptive field rule",
                layer,
            )
        if name == layer:
            return ReceptiveField(
                layer=layer, size=(size[0], size[1]), jump=(jump[0], jump[1]), offset=(offset[0], offset[1])
            )
    raise AssertionError("unreachable: layer is in names")  # pragma: no cover
