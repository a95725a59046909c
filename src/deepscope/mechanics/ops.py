"""The layer operations written the way they are taught: each output is an explicit dot
product of a window and a kernel, computed in a loop over output positions.

These are reference implementations for small inputs (teaching, figures, tests): they favour
readability over speed and are checked against ``torch.nn.functional`` in the tests. Models
train with torch; nothing here is used for training. numpy only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from deepscope.errors import invalid
from deepscope.mechanics.checks import as_array, positive_int

__all__ = [
    "Padding",
    "avg_pool2d",
    "conv2d",
    "conv_output_size",
    "dense",
    "max_pool2d",
    "pad2d",
    "padding_amounts",
    "relu",
    "simple_rnn",
    "softmax",
]

Padding = int | Literal["valid", "same"]


def padding_amounts(padding: Padding, kernel_size: tuple[int, int], stride: int = 1) -> tuple[int, int, int, int]:
    """Zeros added (top, bottom, left, right) for ``padding`` with a (kh, kw) kernel.

    ``'valid'`` is 0. ``'same'`` (stride 1 only) keeps the output size: it adds ``k - 1`` zeros
    per axis, ``(k - 1) // 2`` before and the rest after, so an even kernel gets the extra row
    at the bottom and the extra column on the right, exactly as PyTorch (``padding='same'``)
    and Keras/TensorFlow do.
    """
    kh, kw = kernel_size
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if stride != 1:
                raise invalid("padding", "an int or 'valid' when stride > 1 ('same' needs stride=1)", padding)
            return (kh - 1) // 2, kh - 1 - (kh - 1) // 2, (kw - 1) // 2, kw - 1 - (kw - 1) // 2
    elif isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        p = int(padding)
        return p, p, p, p
    raise invalid("padding", "an int >= 0, 'valid' or 'same'", padding)


def pad2d(x: np.ndarray, amounts: tuple[int, int, int, int]) -> np.ndarray:
    """Zero-pad the last two axes of ``x`` by (top, bottom, left, right)."""
    top, bottom, left, right = amounts
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths)


def conv_output_size(size: int, kernel: int, stride: int = 1) -> int:
    """Positions a window of ``kernel`` fits in ``size`` (already padded) moving by ``stride``."""
    return (size - kernel) // stride + 1


# ----------------------------------------------------------------------------- convolution
def conv2d(image: np.ndarray, kernel: np.ndarray, *, padding: Padding = 0, stride: int = 1) -> np.ndarray:
    """Slide ``kernel`` over ``image``; each output is the dot product of a window and the kernel.

    This is cross-correlation (the kernel is not flipped), which is what every deep-learning
    library calls convolution (``torch.nn.functional.conv2d``, Keras ``Conv2D``).

    Shapes:
      image (H, W)    with kernel (kh, kw)        -> (H', W')
      image (C, H, W) with kernel (C, kh, kw)     -> (H', W')     one kernel spanning all channels
      image (C, H, W) with kernel (K, C, kh, kw)  -> (K, H', W')  K kernels: a K-channel feature map
      (an (H, W) image counts as C = 1)
    with ``H' = (H + pad_top + pad_bottom - kh) // stride + 1`` (same for W').

    ``padding``: an int (zeros on every side), ``'valid'`` (none) or ``'same'`` (output size =
    input size; stride 1 only; see :func:`padding_amounts` for even kernels).
    """
    x = as_array(image, "image", (2, 3), "(H, W) or (C, H, W)")
    w = as_array(kernel, "kernel", (2, 3, 4), "(kh, kw), (C, kh, kw) or (K, C, kh, kw)")
    stride = positive_int(stride)
    x3 = x if x.ndim == 3 else x[None]  # (C, H, W)
    w4 = w if w.ndim == 4 else (w[None] if w.ndim == 3 else w[None, None])  # (K, C, kh, kw)
    if w4.shape[1] != x3.shape[0]:
        raise invalid(
            "kernel",
            f"{x3.shape[0]} input channel(s) to match image of shape {x.shape} "
            f"(kernel shape (C, kh, kw) or (K, C, kh, kw) with C = {x3.shape[0]})",
            w.shape,
        )
    n_kernels, _, kh, kw = w4.shape
    if kh < 1 or kw < 1:
        raise invalid("kernel.shape", "at least 1x1", w.shape)

    padded = pad2d(x3, padding_amounts(padding, (kh, kw), stride))  # (C, Hp, Wp)
    _, hp, wp = padded.shape
    if kh > hp or kw > wp:
        raise invalid(
            "kernel",
            f"no larger than the padded image ({hp}x{wp}; image {x.shape}, padding={padding!r})",
            f"shape {w.shape}",
        )
    out_h, out_w = conv_output_size(hp, kh, stride), conv_output_size(wp, kw, stride)

    flat_kernels = w4.reshape(n_kernels, -1)  # (K, C*kh*kw): one row per kernel
    out = np.empty((n_kernels, out_h, out_w))  # (K, H', W')
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, i * stride : i * stride + kh, j * stride : j * stride + kw]  # (C, kh, kw)
            out[:, i, j] = flat_kernels @ window.ravel()  # K dot products, one per kernel
    return out if w.ndim == 4 else out[0]


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0) elementwise; any shape."""
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


# ----------------------------------------------------------------------------- pooling
def _pool2d(x: np.ndarray, size: int, stride: int | None, reduce: str) -> np.ndarray:
    a = as_array(x, "x", (2, 3), "(H, W) or (C, H, W)")
    size = positive_int(size, "size")
    stride = size if stride is None else positive_int(stride)
    h, w = a.shape[-2:]
    if size > h or size > w:
        raise invalid("size", f"no larger than the input ({h}x{w})", size)
    # floor: a trailing row/column that does not fill a window is dropped (Keras/PyTorch default)
    out_h, out_w = conv_output_size(h, size, stride), conv_output_size(w, size, stride)
    out = np.empty(a.shape[:-2] + (out_h, out_w))  # (H', W') or (C, H', W')
    for i in range(out_h):
        for j in range(out_w):
            window = a[..., i * stride : i * stride + size, j * stride : j * stride + size]  # (..., size, size)
            out[..., i, j] = window.max(axis=(-2, -1)) if reduce == "max" else window.mean(axis=(-2, -1))
    return out


def max_pool2d(x: np.ndarray, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Largest value of each ``size`` x ``size`` window; (H, W) -> (H', W') or (C, H, W) -> (C, H', W').

    ``stride`` defaults to ``size`` (non-overlapping windows); trailing rows/columns that do not
    fill a window are dropped, as in Keras and PyTorch: ``H' = (H - size) // stride + 1``.
    """
    return _pool2d(x, size, stride, "max")


def avg_pool2d(x: np.ndarray, size: int = 2, stride: int | None = None) -> np.ndarray:
    """Mean of each ``size`` x ``size`` window; shapes and windows as :func:`max_pool2d`."""
    return _pool2d(x, size, stride, "mean")


# ----------------------------------------------------------------------------- dense + softmax
def dense(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x·W + b``: x (n_in,) or (N, n_in), W (n_in, n_out), b (n_out,) -> (n_out,) or (N, n_out).

    Each output unit is the dot product of the input with one column of ``W`` (Keras' layout;
    ``torch.nn.Linear`` stores the transpose).
    """
    xa = as_array(x, "x", (1, 2), "(n_in,) or (N, n_in)")
    wa = as_array(W, "W", (2,), "(n_in, n_out)")
    ba = as_array(b, "b", (1,), "(n_out,)")
    if wa.shape[0] != xa.shape[-1]:
        raise invalid("W", f"shape ({xa.shape[-1]}, n_out) to match x of shape {xa.shape}", wa.shape)
    if ba.shape[0] != wa.shape[1]:
        raise invalid("b", f"shape ({wa.shape[1]},) to match W of shape {wa.shape}", ba.shape)
    return xa @ wa + ba


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(z) / sum(exp(z)) along ``axis``; subtracting the max first keeps exp from overflowing
    (the result is unchanged because softmax(z) = softmax(z - c))."""
    za = np.asarray(z, dtype=np.float64)
    shifted = za - za.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


# ----------------------------------------------------------------------------- recurrence
_ACTIVATIONS = {"tanh": np.tanh, "relu": relu, "linear": lambda v: v}


def simple_rnn(
    inputs: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    b: np.ndarray,
    activation: str = "tanh",
    initial_state: np.ndarray | None = None,
) -> np.ndarray:
    """A simple RNN: a dense layer applied in a for loop, fed its own previous output.

    ``state = activation(x_t·W + state·U + b)`` for t = 0..T-1, starting from zeros.
    inputs (T, n_in) or (N, T, n_in); W (n_in, units); U (units, units); b (units,);
    activation 'tanh', 'relu' or 'linear'. Returns every step's output: (T, units) or (N, T, units).
    """
    xa = as_array(inputs, "inputs", (2, 3), "(T, n_in) or (N, T, n_in)")
    wa = as_array(W, "W", (2,), "(n_in, units)")
    units = wa.shape[1]
    ua = as_array(U, "U", (2,), "(units, units)")
    ba = as_array(b, "b", (1,), "(units,)")
    if wa.shape[0] != xa.shape[-1]:
        raise invalid("W", f"shape ({xa.shape[-1]}, units) to match inputs of shape {xa.shape}", wa.shape)
    if ua.shape != (units, units):
        raise invalid("U", f"shape ({units}, {units}) to match W of shape {wa.shape}", ua.shape)
    if ba.shape != (units,):
        raise invalid("b", f"shape ({units},) to match W of shape {wa.shape}", ba.shape)
    if activation not in _ACTIVATIONS:
        raise invalid("activation", "'tanh', 'relu' or 'linear'", activation)
    f = _ACTIVATIONS[activation]

    batch = xa if xa.ndim == 3 else xa[None]  # (N, T, n_in)
    n, steps, _ = batch.shape
    state = np.zeros((n, units))  # (N, units)
    if initial_state is not None:
        start = as_array(initial_state, "initial_state", (1, 2), "(units,) or (N, units)")
        if start.shape not in ((units,), (n, units)):
            raise invalid("initial_state", f"shape ({units},) or ({n}, {units})", start.shape)
        state = state + start
    outputs = np.empty((n, steps, units))  # (N, T, units)
    for t in range(steps):
        state = f(batch[:, t] @ wa + state @ ua + ba)  # (N, units)
        outputs[:, t] = state
    return outputs if xa.ndim == 3 else outputs[0]
