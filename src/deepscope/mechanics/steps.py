"""Convolution as a sequence of steps (one per output cell) and the conv -> ReLU -> pool
pipeline, as plain results that the figures in ``deepscope.plots.mechanics`` draw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from deepscope import limits
from deepscope.errors import InvalidArgumentError, invalid
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

__all__ = [
    "MAX_MULTIPLY_ADDS",
    "MAX_OUTPUT_CELLS",
    "ConvPipeline",
    "ConvStep",
    "ConvSteps",
    "KernelStack",
    "apply_kernels",
    "check_conv_size",
    "conv2d_steps",
    "conv_pipeline",
]

# The reference loops below run in Python, one dot product per output cell: about a second per
# 250,000 cells. These caps stop a typo (padding=5000) before it runs for minutes or allocates
# gigabytes; every op checks them before computing anything.
MAX_OUTPUT_CELLS = 1 << 20  # output cells per kernel (1024x1024)
MAX_MULTIPLY_ADDS = 1 << 28  # output cells x kernel size x kernels (~270 million)


def check_conv_size(
    image_shape: tuple[int, ...], kernel_shape: tuple[int, int], padding: Padding, stride: int, kernels: int = 1
) -> tuple[int, int]:
    """The (H', W') output of a convolution of an image (..., H, W) with (kh, kw) kernels, or
    InvalidArgumentError before anything is computed when the kernel does not fit the padded
    image or the output is larger than the caps (``MAX_OUTPUT_CELLS``, ``MAX_MULTIPLY_ADDS``)."""
    kh, kw = kernel_shape
    top, bottom, left, right = padding_amounts(padding, (kh, kw), stride)
    hp, wp = image_shape[-2] + top + bottom, image_shape[-1] + left + right
    if kh > hp or kw > wp:
        raise invalid("kernel", f"no larger than the padded image ({hp}x{wp})", f"shape {tuple(kernel_shape)}")
    out_h, out_w = conv_output_size(hp, kh, stride), conv_output_size(wp, kw, stride)
    cells, work = out_h * out_w, out_h * out_w * kh * kw * kernels
    if cells > MAX_OUTPUT_CELLS or work > MAX_MULTIPLY_ADDS:
        raise InvalidArgumentError(
            f"The convolution output would be {out_h}x{out_w} ({cells:,} cells, {work:,} multiply-adds with "
            f"{kernels} {kh}x{kw} kernel(s)); these reference loops take at most {MAX_OUTPUT_CELLS:,} cells and "
            f"{MAX_MULTIPLY_ADDS:,} multiply-adds. Use less `padding` (received padding={padding!r}), a larger "
            f"`stride` (received stride={stride}), a smaller kernel or a smaller image."
        )
    return out_h, out_w


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
    out_h, out_w = check_conv_size(x.shape, w.shape, padding, stride)
    kh, kw = w.shape
    # each step keeps its window and products (2 * kh * kw floats) plus ~400 bytes of bookkeeping
    limits.check_allocation(out_h * out_w * (16 * kh * kw + 400), "The step-by-step record", error=InvalidArgumentError)
    amounts = padding_amounts(padding, w.shape, stride)
    padded = pad2d(x, amounts)  # (Hp, Wp)
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
    out_h, out_w = check_conv_size(x.shape, w.shape, padding, positive_int(stride))
    pool = positive_int(pool, "pool")
    if pool > min(out_h, out_w):
        raise invalid("pool", f"no larger than the convolution output ({out_h}x{out_w})", pool)
    output = conv2d(x, w, padding=padding, stride=stride)  # (H', W')
    activated = relu(output)  # (H', W')
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
    check_conv_size(x.shape, stack.shape[1:], padding, positive_int(stride), kernels=len(stack))
    maps = conv2d(x, stack[:, None], padding=padding, stride=stride)  # (K, H', W')
    return KernelStack(x, tuple(kernels), stack, maps)
