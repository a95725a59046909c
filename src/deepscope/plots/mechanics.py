"""Figures of the convolution mechanics: the conv -> ReLU -> pool pipeline, the window sliding
step by step (animated GIF), a stack of feature maps, and pooling's shift invariance.

Each function takes a result from ``deepscope.mechanics`` and returns a Figure (or, for the
steps, a list of frames) drawn on the Agg canvas without pyplot; ``save_figure`` writes PNGs
and :func:`save_gif` writes the frames as an animated GIF, both atomically. Values are written
in the cells of maps up to 16x16; larger maps are shown as images only (the numbers would not
fit), and the step animation refuses them (downscale first).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from deepscope import mechanics
from deepscope.atomic import atomic_write
from deepscope.errors import InvalidArgumentError, invalid
from deepscope.mechanics import ConvPipeline, ConvSteps, KernelStack, ShiftInvariance
from deepscope.mechanics.steps import check_conv_size
from deepscope.plots.training import new_figure, save_figure

__all__ = [
    "MAX_CELLS_WITH_NUMBERS",
    "MAX_SIDE",
    "write_conv_figures",
    "conv_pipeline_figure",
    "conv_steps_frames",
    "kernel_stack_figure",
    "save_gif",
    "shift_invariance_figure",
]

MAX_CELLS_WITH_NUMBERS = 16  # maps up to 16x16 get their values written in the cells
CHANGED_COLOR = "#c62828"
WINDOW_COLOR = "#ff9800"


# ----------------------------------------------------------------------------- helpers
def _fmt(value: float) -> str:
    """Integers as integers ('3', '-2'), anything else with 2 decimals ('0.56')."""
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.2f}"


def _small(array: np.ndarray) -> bool:
    return max(array.shape[-2:]) <= MAX_CELLS_WITH_NUMBERS


def _diverging_norm(array: np.ndarray) -> Normalize:
    """A colour scale symmetric around 0, so white means 0, red positive and blue negative."""
    limit = float(np.abs(array).max()) or 1.0
    return Normalize(-limit, limit)


def _show(
    ax: Axes, array: np.ndarray, title: str, cmap: str, norm: Normalize, numbers: bool, colorbar: bool = True
) -> None:
    """``array`` (h, w) as cells, optionally each with its value and a colour bar beside it."""
    image = ax.imshow(array, cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
    if numbers:
        _write_values(ax, array, image.cmap, norm)


def _write_values(ax: Axes, array: np.ndarray, cmap, norm: Normalize) -> list:
    h, w = array.shape
    size = 9 if max(h, w) <= 7 else 7 if max(h, w) <= 10 else 5
    texts = []
    for i in range(h):
        for j in range(w):
            texts.append(
                ax.text(
                    j,
                    i,
                    _fmt(array[i, j]),
                    ha="center",
                    va="center",
                    fontsize=size,
                    color=_ink(cmap, norm, array[i, j]),
                )
            )
    return texts


def _ink(cmap, norm: Normalize, value: float) -> str:
    """Black or white text, whichever reads better on the cell's colour."""
    r, g, b, _ = cmap(norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _grey_norm(image: np.ndarray) -> Normalize:
    return Normalize(min(0.0, float(image.min())), max(1.0, float(image.max())))


# ----------------------------------------------------------------------------- (a) pipeline
def conv_pipeline_figure(result: ConvPipeline, kernel_name: str | None = None) -> Figure:
    """Five panels, each with a colour bar: input, kernel, convolution output, output after
    ReLU, after max-pooling. Values are written in the cells of maps up to 16x16."""
    if not isinstance(result, ConvPipeline):
        raise invalid("result", "a ConvPipeline (deepscope.mechanics.conv_pipeline)", type(result).__name__)
    numbers = _small(result.image)
    fig = new_figure(19, 4.2)
    axes = fig.subplots(1, 5)
    h, w = result.image.shape
    kh, kw = result.kernel.shape
    oh, ow = result.output.shape
    _show(axes[0], result.image, f"input {h}x{w}", "gray", _grey_norm(result.image), numbers)
    _show(
        axes[1],
        result.kernel,
        f"kernel {kh}x{kw}" + (f" '{kernel_name}'" if kernel_name else ""),
        "RdBu_r",
        _diverging_norm(result.kernel),
        _small(result.kernel),
    )
    _show(
        axes[2],
        result.output,
        f"output {oh}x{ow} (padding={result.padding!r}, stride={result.stride})",
        "RdBu_r",
        _diverging_norm(result.output),
        numbers,
    )
    _show(
        axes[3],
        result.activated,
        "after ReLU: max(output, 0)",
        "magma",
        Normalize(0.0, float(result.activated.max()) or 1.0),
        numbers,
    )
    ph, pw = result.pooled.shape
    _show(
        axes[4],
        result.pooled,
        f"after {result.pool}x{result.pool} max-pool: {ph}x{pw}",
        "magma",
        Normalize(0.0, float(result.activated.max()) or 1.0),
        numbers,
    )
    limit = f"{MAX_CELLS_WITH_NUMBERS}x{MAX_CELLS_WITH_NUMBERS}"
    note = "" if numbers else f"  (input larger than {limit}: values not written)"
    fig.suptitle("convolution (cross-correlation) -> ReLU -> max-pooling" + note, fontsize=12)
    return fig


# ----------------------------------------------------------------------------- (b) steps
def conv_steps_frames(steps: ConvSteps) -> list[Image.Image]:
    """The kernel sliding over the (padded) image, one frame per output cell: the window
    outlined, its elementwise products with the kernel, and their sum written in the output
    cell. Only for images up to 16x16 (downscale larger ones, e.g. with avg_pool2d).

    Returns the frames as RGB PIL images (save them with :func:`save_gif`)."""
    if not isinstance(steps, ConvSteps):
        raise invalid("steps", "a ConvSteps (deepscope.mechanics.conv2d_steps)", type(steps).__name__)
    if not _small(steps.image):
        raise invalid(
            "steps.image",
            f"at most {MAX_CELLS_WITH_NUMBERS}x{MAX_CELLS_WITH_NUMBERS} pixels for a "
            "step-by-step animation (larger inputs get no per-cell numbers and no animation: "
            "downscale first, e.g. with avg_pool2d)",
            steps.image.shape,
        )
    if not _small(steps.output):
        raise invalid(
            "steps.output",
            f"at most {MAX_CELLS_WITH_NUMBERS}x{MAX_CELLS_WITH_NUMBERS} cells for a step-by-step animation (one "
            "frame per cell, a number in each: use less padding or a larger stride)",
            steps.output.shape,
        )
    kh, kw = steps.kernel.shape
    top, _, left, _ = steps.padding
    hp, wp = steps.padded.shape
    out_h, out_w = steps.output.shape
    fig = new_figure(15, 4.4)
    ax_in, ax_k, ax_prod, ax_out = fig.subplots(1, 4, gridspec_kw={"width_ratios": [3, 1.6, 1.6, 3]})

    # the static parts: input (padding outlined: those zeros are not part of the image), kernel
    _show(
        ax_in,
        steps.padded,
        f"input {steps.image.shape[0]}x{steps.image.shape[1]}"
        + (f", zero-padded to {hp}x{wp}" if (hp, wp) != steps.image.shape else ""),
        "gray",
        _grey_norm(steps.image),
        True,
        colorbar=False,
    )
    if (hp, wp) != steps.image.shape:
        ax_in.add_patch(
            Rectangle(
                (left - 0.5, top - 0.5),
                steps.image.shape[1],
                steps.image.shape[0],
                fill=False,
                edgecolor="#1f77b4",
                linewidth=1.5,
                linestyle="--",
            )
        )
    _show(ax_k, steps.kernel, "kernel", "RdBu_r", _diverging_norm(steps.kernel), True, colorbar=False)
    ax_prod.set_title("window x kernel", fontsize=10)
    out_norm, out_cmap = _diverging_norm(steps.output), colormaps["RdBu_r"]
    ax_out.set(xlim=(-0.5, out_w - 0.5), ylim=(out_h - 0.5, -0.5), xticks=[], yticks=[], aspect="equal")
    ax_out.set_title(f"output {out_h}x{out_w}", fontsize=10)
    fig.colorbar(ScalarMappable(out_norm, out_cmap), ax=ax_out, fraction=0.046, pad=0.03)

    # the moving parts (animated=True: left out of a full draw, drawn by hand per frame)
    window = ax_in.add_patch(
        Rectangle((-0.5, -0.5), kw, kh, fill=False, edgecolor=WINDOW_COLOR, linewidth=3, animated=True)
    )
    product_norm = _diverging_norm(np.stack([s.products for s in steps.steps]))
    products = ax_prod.imshow(
        steps.steps[0].products, cmap="RdBu_r", norm=product_norm, interpolation="nearest", animated=True
    )
    ax_prod.set(xticks=[], yticks=[])
    product_texts = _write_values(ax_prod, steps.steps[0].products, products.cmap, product_norm)
    cell = ax_out.add_patch(Rectangle((-0.5, -0.5), 1, 1, edgecolor="none", animated=True))
    cell_text = ax_out.text(0, 0, "", ha="center", va="center", fontsize=product_texts[0].get_fontsize(), animated=True)
    cursor = ax_out.add_patch(
        Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor=WINDOW_COLOR, linewidth=3, animated=True)
    )
    heading = fig.suptitle(f"step {len(steps.steps)}/{len(steps.steps)}: output", fontsize=12, animated=True)
    for text in product_texts:
        text.set_animated(True)

    # Blitting: draw the static figure once, then per frame restore it and draw only what moves.
    # An output cell never changes once computed, so it is drawn into the saved background and
    # stays for every later frame. About 10x faster than redrawing the figure per frame.
    canvas = fig.canvas
    canvas.draw()
    fig.set_layout_engine("none")
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for index, step in enumerate(steps.steps):
        canvas.restore_region(background)
        cell.set_xy((step.col - 0.5, step.row - 0.5))
        cell.set_facecolor(out_cmap(out_norm(step.value)))
        cell_text.set(x=step.col, y=step.row, text=_fmt(step.value), color=_ink(out_cmap, out_norm, step.value))
        ax_out.draw_artist(cell)
        ax_out.draw_artist(cell_text)
        background = canvas.copy_from_bbox(fig.bbox)  # the filled cells so far
        window.set_xy((step.left - 0.5, step.top - 0.5))
        ax_in.draw_artist(window)
        products.set_data(step.products)
        ax_prod.draw_artist(products)
        for text, value in zip(product_texts, step.products.ravel()):
            text.set(text=_fmt(value), color=_ink(products.cmap, product_norm, value))
            ax_prod.draw_artist(text)
        for spine in (*ax_prod.spines.values(), *ax_out.spines.values()):  # frames the cells drawn over them
            spine.axes.draw_artist(spine)
        cursor.set_xy((step.col - 0.5, step.row - 0.5))
        ax_out.draw_artist(cursor)
        heading.set_text(
            f"step {index + 1}/{len(steps.steps)}:  output[{step.row}, {step.col}] = "
            f"sum(window x kernel) = {_fmt(step.value)}"
        )
        fig.draw_artist(heading)
        frames.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy()))  # (H, W, 3)
    return frames


def save_gif(frames: Sequence[Image.Image], path: str | Path, duration_ms: int = 700) -> Path:
    """Write ``frames`` as a looping GIF, ``duration_ms`` per frame, atomically (temporary
    file, then rename). Returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise invalid("path", "a file name ending in .gif", str(path))
    if not frames:
        raise invalid("frames", "at least one image", frames)
    # One palette for every frame, taken from the first and last frames (the last shows every
    # output colour): 10x faster than Pillow's per-frame quantisation and a smaller file.
    both = Image.new("RGB", (frames[0].width, frames[0].height * 2))
    both.paste(frames[0].convert("RGB"), (0, 0))
    both.paste(frames[-1].convert("RGB"), (0, frames[0].height))
    palette = both.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    indexed = [f.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    atomic_write(
        path,
        lambda tmp: indexed[0].save(
            tmp, format="GIF", save_all=True, append_images=indexed[1:], duration=duration_ms, loop=0
        ),
    )
    return path


# ----------------------------------------------------------------------------- (c) stack
def kernel_stack_figure(result: KernelStack) -> Figure:
    """The input, the K kernels above the K feature maps they produce, and the maps drawn as
    one stack: the output feature map with K channels (K, H', W')."""
    if not isinstance(result, KernelStack):
        raise invalid("result", "a KernelStack (deepscope.mechanics.apply_kernels)", type(result).__name__)
    k = len(result.names)
    _, out_h, out_w = result.maps.shape
    fig = new_figure(3.0 + 1.9 * k + 4.0, 5.0)
    grid = fig.add_gridspec(2, k + 2, width_ratios=[1.6] + [1.0] * k + [2.2], height_ratios=[1, 1.3])
    ax_in = fig.add_subplot(grid[:, 0])
    _show(
        ax_in,
        result.image,
        f"input {result.image.shape[0]}x{result.image.shape[1]}",
        "gray",
        _grey_norm(result.image),
        False,
        colorbar=False,
    )
    for index, name in enumerate(result.names):
        ax_k = fig.add_subplot(grid[0, index + 1])
        _show(
            ax_k,
            result.kernels[index],
            name,
            "RdBu_r",
            _diverging_norm(result.kernels[index]),
            max(result.kernels.shape[1:]) <= 5,
            colorbar=False,
        )
        ax_m = fig.add_subplot(grid[1, index + 1])
        _show(
            ax_m,
            result.maps[index],
            f"channel {index}",
            "RdBu_r",
            _diverging_norm(result.maps[index]),
            False,
            colorbar=False,
        )

    ax_stack = fig.add_subplot(grid[:, k + 1])
    step = 0.18 * max(out_h, out_w)  # diagonal offset between channels
    for index in reversed(range(k)):  # back to front: channel 0 on top
        x0, y0 = index * step, index * step
        ax_stack.imshow(
            result.maps[index],
            cmap="RdBu_r",
            norm=_diverging_norm(result.maps[index]),
            extent=(x0, x0 + out_w, y0, y0 + out_h),
            interpolation="nearest",
            origin="upper",
        )
        ax_stack.add_patch(Rectangle((x0, y0), out_w, out_h, fill=False, edgecolor="black", linewidth=1))
    ax_stack.set_xlim(-0.5, (k - 1) * step + out_w + 0.5)
    ax_stack.set_ylim(-0.5, (k - 1) * step + out_h + 0.5)
    ax_stack.set_aspect("equal")
    ax_stack.axis("off")
    ax_stack.set_title(f"output feature map with {k} channels\n({k}, {out_h}, {out_w})", fontsize=10)
    fig.suptitle(
        f"{k} kernels applied at once: one conv layer with {k} filters "
        "(each map scaled to its own range: red > 0 > blue)",
        fontsize=12,
    )
    return fig


# ----------------------------------------------------------------------------- (d) shift
def _percent(fraction: float, what: str) -> str:
    return f"no non-zero {what}" if math.isnan(fraction) else f"{fraction:.0%} of non-zero {what} unchanged"


def shift_invariance_figure(result: ShiftInvariance, label: str = "image") -> Figure:
    """Top: the input (``label``) and its copies shifted right, each titled with the share of
    its non-zero values that the shift left unchanged; bottom: their pooled outputs with the
    same share after pooling, changed cells marked in red. The two shares side by side are
    the point: pooling keeps more of a small shift unchanged than the unpooled values do."""
    if not isinstance(result, ShiftInvariance):
        raise invalid(
            "result", "a ShiftInvariance (deepscope.mechanics.pooling_shift_invariance)", type(result).__name__
        )
    if result.image.ndim != 2:
        raise invalid("result.image", "an (H, W) image for this figure", result.image.shape)
    shifts = list(result.shifted)
    columns = 1 + len(shifts)
    fig = new_figure(3.6 * columns, 7.4)
    axes = fig.subplots(2, columns, squeeze=False)
    grey = _grey_norm(result.image)
    pooled_norm = Normalize(min(0.0, float(result.pooled.min())), max(float(result.pooled.max()), 1e-12))
    numbers = _small(result.pooled)
    pooled_name = f"{result.mode}-pooled {result.size}x{result.size}"
    _show(axes[0, 0], result.image, label, "gray", grey, False, colorbar=False)
    _show(axes[1, 0], result.pooled, pooled_name, "magma", pooled_norm, numbers, colorbar=False)
    for column, shift in enumerate(shifts, start=1):
        without = _percent(result.unchanged_without_pooling[shift], "values")
        _show(
            axes[0, column],
            result.shifted[shift],
            f"shifted right by {shift} px:\n{without}",
            "gray",
            grey,
            False,
            colorbar=False,
        )
        pooled = result.pooled_shifted[shift]
        _show(
            axes[1, column],
            pooled,
            f"{pooled_name}, shift {shift} px:\n{_percent(result.unchanged[shift], 'outputs')}",
            "magma",
            pooled_norm,
            numbers,
            colorbar=False,
        )
        changed = ~np.isclose(pooled, result.pooled, rtol=0.0, atol=1e-12)  # (H', W')
        if numbers:
            for i, j in zip(*np.nonzero(changed)):
                axes[1, column].add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=CHANGED_COLOR, linewidth=1.5)
                )
        else:  # too many cells for one outline each: tint the changed ones instead
            tint = np.zeros(changed.shape + (4,))
            tint[changed] = (0.78, 0.16, 0.16, 0.45)
            axes[1, column].imshow(tint, interpolation="nearest")
    fig.suptitle(
        f"{result.mode}-pooling {result.size}x{result.size} and a shift to the right: the share of non-zero values "
        "that stay the same\ntop: without pooling; bottom: with pooling (changed outputs in red)",
        fontsize=11,
    )
    return fig


MAX_SIDE = 512  # larger images are shrunk (average pooling) before the figures: the loops are numpy


def _check_conv_arguments(
    image_shape: tuple[int, int], kernel_shape: tuple[int, int], padding: int | str, stride: int, pool: int
) -> tuple[int, int]:
    """Bounds of `deepscope conv`, relative to the image and kernel, checked before anything
    is computed or written; returns the convolution's output size."""
    h, w = image_shape
    kh, kw = kernel_shape
    if kh > h or kw > w:
        raise invalid("kernel", f"no larger than the image ({h}x{w})", f"shape {tuple(kernel_shape)}")
    if not isinstance(padding, str):
        most = max(kh, kw) - 1  # 'full' convolution: every output still sees one image pixel
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or not 0 <= padding <= most:
            raise invalid(
                "padding",
                f"'valid', 'same' or an int in [0, {most}] for a {kh}x{kw} kernel (with more, the outer "
                "outputs see nothing but zeros)",
                padding,
            )
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or not 1 <= stride <= max(h, w):
        raise invalid("stride", f"an int in [1, {max(h, w)}] (the image is {h}x{w})", stride)
    out_h, out_w = check_conv_size(image_shape, kernel_shape, padding, stride)
    if isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or not 1 <= pool <= min(out_h, out_w):
        raise invalid("pool", f"no larger than the convolution output ({out_h}x{out_w})", pool)
    return out_h, out_w


def _steps_image(
    image: np.ndarray, kernel_shape: tuple[int, int], padding: int | str, stride: int
) -> tuple[np.ndarray, int]:
    """``image`` average-pooled by the smallest factor that leaves it at most 16x16 with an
    output of at most 16x16 cells (the animation writes a number in every cell), and the factor."""
    factor = max(1, math.ceil(max(image.shape) / MAX_CELLS_WITH_NUMBERS))
    while True:
        small = image if factor == 1 else mechanics.avg_pool2d(image, size=factor)
        if factor > 1 and (kernel_shape[0] > small.shape[0] or kernel_shape[1] > small.shape[1]):
            raise InvalidArgumentError(
                f"`--steps` animates at most {MAX_CELLS_WITH_NUMBERS}x{MAX_CELLS_WITH_NUMBERS} output cells, and no "
                f"shrunk copy of the {image.shape[0]}x{image.shape[1]} image gives so few while still holding the "
                f"{kernel_shape[0]}x{kernel_shape[1]} kernel. Use a smaller kernel, less padding or a larger stride."
            )
        out_h, out_w = check_conv_size(small.shape, kernel_shape, padding, stride)
        if max(out_h, out_w) <= MAX_CELLS_WITH_NUMBERS:
            return small, factor
        factor += 1


def write_conv_figures(
    image: np.ndarray,
    kernel: np.ndarray,
    kernel_name: str,
    out: Path,
    *,
    padding: int | str = 0,
    stride: int = 1,
    pool: int = 2,
    steps: bool = False,
    stack_kernel: bool = False,
    echo: Callable[[str], None] = lambda line: None,
) -> list[Path]:
    """Write the mechanics figures of ``image`` (H, W) into ``out`` (what ``deepscope conv``
    makes): conv -> ReLU -> pool, every named kernel as a feature-map stack (plus ``kernel``
    when ``stack_kernel``), pooling's shift invariance on the ReLU feature map (with and
    without pooling) and, with ``steps``, the sliding-window GIF (on a copy small enough for a
    number in every cell). Every argument is checked, and every result computed, before the
    first file is written. Returns the paths written."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or min(image.shape) < 1:
        raise invalid("image.shape", "(H, W)", image.shape)
    if max(image.shape) > MAX_SIDE:
        factor = math.ceil(max(image.shape) / MAX_SIDE)
        image = mechanics.avg_pool2d(image, size=factor)
        echo(f"Image shrunk by {factor} (average pooling) to {image.shape[0]}x{image.shape[1]} for speed.")
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2:
        raise invalid("kernel.shape", "(kh, kw)", kernel.shape)
    _check_conv_arguments(image.shape, kernel.shape, padding, stride, pool)
    small, factor = _steps_image(image, kernel.shape, padding, stride) if steps else (image, 1)

    pipeline = mechanics.conv_pipeline(image, kernel, padding=padding, stride=stride, pool=pool)
    stack = {k: v for k, v in mechanics.KERNELS.items() if k != "identity"}
    if stack_kernel and kernel.shape == (3, 3):
        stack[kernel_name] = kernel
    maps = mechanics.apply_kernels(image, stack, padding=padding, stride=stride)
    # pooling's shift invariance where a CNN pools: on the ReLU feature map (shifting the map is
    # shifting the input, convolution being shift-equivariant, up to the borders)
    shifts = tuple(s for s in (1, 4) if s < pipeline.activated.shape[1])
    shift = mechanics.pooling_shift_invariance(pipeline.activated, shifts=shifts, size=pool)
    found = mechanics.conv2d_steps(small, kernel, padding=padding, stride=stride) if steps else None

    paths = [
        save_figure(conv_pipeline_figure(pipeline, kernel_name), out / "conv-relu-pool.png"),
        save_figure(kernel_stack_figure(maps), out / "feature-maps.png"),
        save_figure(shift_invariance_figure(shift, "feature map: ReLU(conv)"), out / "pooling-shift.png"),
    ]
    for s_ in shifts:
        echo(
            f"Shift right by {s_} px: {_percent(shift.unchanged_without_pooling[s_], 'feature-map values')}; "
            f"after {pool}x{pool} max-pooling, {_percent(shift.unchanged[s_], 'outputs')}."
        )
    if found is not None:
        if factor > 1:
            echo(
                f"Image {image.shape[0]}x{image.shape[1]} is too large for a number in every cell: the step "
                f"animation uses a {small.shape[0]}x{small.shape[1]} copy (average pooling by {factor})."
            )
        paths.append(save_gif(conv_steps_frames(found), out / "steps.gif"))
    return paths
