"""Convolution as a sequence of steps (one per output cell) and the conv -> ReLU -> pool
pipeline, as plain results that the figures in ``deepscope.plots.mechanics`` draw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from deepscope.errors import invalid
from deepscope.mechanics.checks import as_array, positive_int
from deepscope.mechanics.ops import (
    Padding,
    conv2d,
    conv_output_size,
    max_pool2d,
    pad2d,
    padding_amounts,
    relu,
)

__all__ = ["ConvPipeline", "ConvStep", "ConvSteps", "KernelStack", "apply_kernels", "conv2d_steps", "conv_pipeline"]


@dataclass(frozen=True)
class ConvStep:
    """One output cell: the window at (top, left) of the padded image times the kernel."""

    row: int  # output cell
    col: int
    top: int  # window's top-left corner in the padded image
    left: int
    window: np.ndarray  # (kh, kw) the pixels under the kernel
    products: np.ndarray  # (kh, kw) window * kernel, elementwise
    value: float  # products.sum(): the dot product written in the output cell


@dataclass(frozen=True)
class ConvSteps:
    """Every step of a single-channel convolution, in the order the window slides."""

    image: np.ndarray  # (H, W) as given
    padded: np.ndarray  # (H + top + bottom, W + left + right)
    padding: tuple[int, int, int, int]  # zeros added (top, bottom, left, right)
    kernel: np.ndarray  # (kh, kw)
    stride: int
    output: np.ndarray  # (H', W'): step.value at (step.row, step.col)
    steps: tuple[ConvStep, ...]  # H' * W' steps, row by row


def conv2d_steps(image: np.ndarray, kernel: np.ndarray, *, padding: Padding = 0, stride: int = 1) -> ConvSteps:
    """The convolution of an (H, W) image with a (kh, kw) kernel, one recorded step per output
    cell (row by row): the window, its elementwise products with the kernel and their sum.
    The output equals ``conv2d(image, kernel, padding=padding, stride=stride)``."""
    x = as_array(image, "image", (2,), "(H, W)")
    w = as_array(kernel, "kernel", (2,), "(kh, kw)")
    stride = positive_int(stride)
    amounts = padding_amounts(padding, w.shape, stride)
    padded = pad2d(x, amounts)  # (Hp, Wp)
    kh, kw = w.shape
    if kh > padded.shape[0] or kw > padded.shape[1]:
        raise invalid(
            "kernel", f"no larger than the padded image ({padded.shape[0]}x{padded.shape[1]})", f"shape {w.shape}"
        )
    out_h, out_w = conv_output_size(padded.shape[0], kh, stride), conv_output_size(padded.shape[1], kw, stride)
    output = np.empty((out_h, out_w))
    steps = []
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride, j * stride
            window = padded[top : top + kh, left : left + kw]  # (kh, kw)
            products = window * w  # (kh, kw)
            output[i, j] = products.sum()
            steps.append(ConvStep(i, j, top, left, window, products, float(output[i, j])))
    return ConvSteps(x, padded, amounts, w, stride, output, tuple(steps))


@dataclass(frozen=True)
class ConvPipeline:
    """image -> conv2d -> ReLU -> max-pool, every stage kept for drawing."""

    image: np.ndarray  # (H, W)
    kernel: np.ndarray  # (kh, kw)
    padding: Padding
    stride: int
    pool: int  # max-pool window (and stride); 1 = no pooling
    output: np.ndarray  # (H', W') conv2d(image, kernel)
    activated: np.ndarray  # (H', W') relu(output)
    pooled: np.ndarray  # (H' // pool, W' // pool)


def conv_pipeline(
    image: np.ndarray, kernel: np.ndarray, *, padding: Padding = 0, stride: int = 1, pool: int = 2
) -> ConvPipeline:
    """Run one (H, W) image through conv2d -> relu -> max_pool2d(pool) and keep every stage."""
    x = as_array(image, "image", (2,), "(H, W)")
    w = as_array(kernel, "kernel", (2,), "(kh, kw)")
    output = conv2d(x, w, padding=padding, stride=stride)  # (H', W')
    activated = relu(output)  # (H', W')
    pool = positive_int(pool, "pool")
    if pool > min(activated.shape):
        raise invalid(
            "pool", f"no larger than the convolution output ({activated.shape[0]}x{activated.shape[1]})", pool
        )
    pooled = max_pool2d(activated, size=pool)  # (H' // pool, W' // pool)
    return ConvPipeline(x, w, padding, stride, pool, output, activated, pooled)


@dataclass(frozen=True)
class KernelStack:
    """Several kernels applied to one image at once: a feature map with K channels."""

    image: np.ndarray  # (H, W)
    names: tuple[str, ...]  # K kernel names
    kernels: np.ndarray  # (K, kh, kw)
    maps: np.ndarray  # (K, H', W'): channel k = conv2d(image, kernels[k])


def apply_kernels(
    image: np.ndarray, kernels: Mapping[str, np.ndarray], *, padding: Padding = 0, stride: int = 1
) -> KernelStack:
    """Convolve an (H, W) image with K named (kh, kw) kernels of one size in a single conv2d
    call (kernel shape (K, 1, kh, kw)): the result is one output feature map with K channels."""
    x = as_array(image, "image", (2,), "(H, W)")
    if not isinstance(kernels, Mapping) or not kernels:
        raise invalid("kernels", "a non-empty mapping of name -> (kh, kw) kernel", type(kernels).__name__)
    arrays = [as_array(k, f"kernels[{name!r}]", (2,), "(kh, kw)") for name, k in kernels.items()]
    if len({a.shape for a in arrays}) != 1:
        raise invalid("kernels", "kernels of one shape", {name: a.shape for name, a in zip(kernels, arrays)})
    stack = np.stack(arrays)  # (K, kh, kw)
    maps = conv2d(x, stack[:, None], padding=padding, stride=stride)  # (K, H', W')
    return KernelStack(x, tuple(kernels), stack, maps)
