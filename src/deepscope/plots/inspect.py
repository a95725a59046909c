"""Figures of what a trained CNN learned: filters, feature maps, top patches, maximised
inputs and embedding maps. Each function takes a result of ``deepscope.inspect`` and returns a
``matplotlib.figure.Figure`` (Agg canvas, no pyplot).

Grids of many small images are tiled into one mosaic and drawn with one ``imshow`` per panel,
so a figure with hundreds of maps still draws in well under a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.plots.training import new_figure

__all__ = [
    "embedding_figure",
    "feature_maps_figure",
    "filters_figure",
    "maximized_figure",
    "mosaic",
    "top_patches_figure",
]

CLASS_COLORS = "tab10"
SEPARATOR = "#9fb4cc"  # between image tiles, distinct from black and white pixels


def mosaic(tiles: np.ndarray, columns: int, pad: int = 1, pad_value: float = np.nan) -> np.ndarray:
    """Tile ``tiles`` (n, h, w) or (n, h, w, 3) into one (rows*(h+pad)-pad, columns*(w+pad)-pad[, 3])
    image, row by row, separated by ``pad`` pixels of ``pad_value`` (NaN draws as the
    background colour). Written in numpy: torchvision's make_grid does this for tensors only
    and always returns 3 channels."""
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim not in (3, 4) or len(tiles) == 0:
        raise invalid("tiles", "a non-empty array (n, h, w) or (n, h, w, 3)", f"shape {tiles.shape}")
    n, h, w = tiles.shape[:3]
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad, *tiles.shape[3:]), pad_value, np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = tile
    return out


def _cmap(name: str, bad: str = "white") -> Any:
    """Colormap ``name`` with NaN (mosaic separators) drawn in ``bad``."""
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad=bad)


def _as_pictures(images: np.ndarray) -> tuple[np.ndarray, bool]:
    """(n, C, H, W) images -> (n, H, W, 3) for RGB or (n, H, W) otherwise (channel mean)."""
    if images.shape[1] == 3:
        return np.clip(images.transpose(0, 2, 3, 1), 0, 1), True
    return images.mean(axis=1), False


def _image_range(images: np.ndarray) -> tuple[float, float]:
    low, high = float(np.nanmin(images)), float(np.nanmax(images))
    return (0.0, 1.0) if low >= 0.0 and high <= 1.0 else (low, max(high, low + 1e-12))


def _show_maps(fig: Figure, ax: Any, image: np.ndarray, title: str) -> None:
    """Draw one mosaic of activations: diverging colours around 0 when it has negative values."""
    finite = image[np.isfinite(image)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low < 0:
        bound = max(abs(low), abs(high), 1e-12)
        shown = ax.imshow(image, cmap=_cmap("RdBu_r"), vmin=-bound, vmax=bound, interpolation="nearest")
    else:
        shown = ax.imshow(image, cmap=_cmap("magma"), vmin=0, vmax=max(high, 1e-12), interpolation="nearest")
    fig.colorbar(shown, ax=ax, shrink=0.8, pad=0.01)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()


def filters_figure(result: Any, columns: int = 8) -> Figure:
    """The kernels of a conv layer as a grid (a ``Filters`` result). One picture per filter:
    RGB for 3-channel kernels (grey = 0), otherwise one grey-level kernel in diverging colours
    (red positive, blue negative) or, for a multi-channel layer with ``reduce="none"``, one row
    per filter with a kernel per input channel."""
    kernels = np.asarray(result.kernels)  # (K, C, kh, kw)
    k, c = kernels.shape[:2]
    note = {"mean": " (mean over input channels)"}.get(result.reduce, "")
    if c == 3:
        bound = max(float(np.abs(kernels).max()), 1e-12)
        image = mosaic((kernels / bound * 0.5 + 0.5).transpose(0, 2, 3, 1), columns, pad_value=1.0)  # (.., .., 3)
    elif c == 1:
        image = mosaic(kernels[:, 0], columns)
    else:
        image = mosaic(kernels.reshape(k * c, *kernels.shape[2:]), c)  # rows: filters, columns: input channels
        note = f" (rows: {k} filters, columns: {c} input channels)"
    aspect = image.shape[0] / image.shape[1]
    fig = new_figure(7.0, float(np.clip(6.0 * aspect + 1.0, 2.0, 18.0)))
    ax = fig.subplots()
    title = f"Filters of layer {result.label}{note}"
    if c == 3:
        ax.imshow(image, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(title + ", grey = 0", fontsize=9)
    else:
        _show_maps(fig, ax, image, title)
    return fig


def feature_maps_figure(result: Any, sample: int = 0, max_channels: int = 64, columns: int = 16) -> Figure:
    """Input ``sample`` of a ``FeatureMaps`` result and, per layer, a grid of its (up to
    ``max_channels``) feature maps on one colour scale per layer."""
    count = len(result.inputs)
    if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or not 0 <= sample < count:
        raise invalid("sample", f"an index in [0, {count - 1}] of the inputs", sample)
    names = result.layers
    panels = []
    for name in names:
        maps = np.asarray(result.maps[name][sample])[:max_channels]  # (C, H, W)
        panels.append(mosaic(maps, min(columns, len(maps))))
    pictures, rgb = _as_pictures(np.asarray(result.inputs[sample])[None])
    heights = [1.6] + [7.0 * p.shape[0] / p.shape[1] + 0.5 for p in panels]  # inches at 8 in wide
    fig = new_figure(8.0, min(sum(heights) + 0.3, 30.0))
    axes = fig.subplots(len(names) + 1, 1, height_ratios=heights, squeeze=False)[:, 0]
    low, high = _image_range(pictures)
    axes[0].imshow(pictures[0], cmap=None if rgb else "gray", vmin=low, vmax=high, interpolation="nearest")
    axes[0].set_title(f"input {tuple(result.inputs.shape[1:])}", fontsize=9)
    axes[0].set_axis_off()
    for ax, name, panel in zip(axes[1:], names, panels):
        _, channels, height, width = result.maps[name].shape
        shown = f"first {max_channels} of {channels}" if channels > max_channels else f"{channels}"
        _show_maps(fig, ax, panel, f"{result.labels.get(name, name)}: {shown} maps of {height}x{width}")
    return fig


def top_patches_figure(result: Any, channels: Sequence[int] | None = None, columns: int = 8) -> Figure:
    """For each channel of a ``TopPatches`` result (default: all), its k strongest dataset
    patches as a small grid (strongest top-left), channels numbered."""
    chosen = list(range(result.channels)) if channels is None else [int(c) for c in channels]
    bad = [c for c in chosen if not 0 <= c < result.channels]
    if bad or not chosen:
        raise invalid("channels", f"channel indices in [0, {result.channels - 1}]", bad or chosen)
    patches = np.asarray(result.patches)[chosen]  # (n, k, C_in, s_h, s_w)
    n, k = patches.shape[:2]
    pictures, rgb = _as_pictures(patches.reshape(n * k, *patches.shape[2:]))  # (n*k, s_h, s_w[, 3])
    low, high = _image_range(pictures)
    pictures = (pictures - low) / (high - low)
    separator = 1.0 if rgb else np.nan  # NaN draws in SEPARATOR
    inner = math.ceil(math.sqrt(k))
    cells = np.stack([mosaic(pictures[i * k : (i + 1) * k], inner, pad_value=separator) for i in range(n)])
    gap = max(3, cells.shape[2] // 4)  # between channels
    image = mosaic(cells, columns, pad=gap, pad_value=separator)
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    fig = new_figure(min(14.0, 1.3 * columns + 0.5), min(20.0, 1.45 * rows + 0.9))
    ax = fig.subplots()
    ax.imshow(image, cmap=None if rgb else _cmap("gray", SEPARATOR), vmin=0, vmax=1, interpolation="nearest")
    for i, c in enumerate(chosen):
        r, q = divmod(i, columns)
        ax.text(
            q * (cells.shape[2] + gap) - 0.5,
            r * (cells.shape[1] + gap) - 0.5,
            f"{c}",
            fontsize=6,
            va="top",
            ha="left",
            color="white",
            bbox={"boxstyle": "square,pad=0.1", "fc": "#34495e", "lw": 0},
        )
    ax.set_axis_off()
    ax.set_title(
        f"Top {k} patches per channel of layer {result.label} over {result.num_images:,} images\n"
        f"(receptive field {result.rf_size[0]}x{result.rf_size[1]} pixels, strongest top-left)",
        fontsize=9,
    )
    return fig


def maximized_figure(results: Sequence[Any], columns: int = 8, crop: bool = True) -> Figure:
    """The inputs found by activation maximisation (``Maximized`` results), each titled with
    its channel, the objective reached and, when known, the data's maximum of the same statistic.
    With ``crop`` (and a known ``box``), only what the centre unit sees is drawn."""
    if not results:
        raise invalid("results", "a non-empty list of Maximized results", results)
    inputs = np.stack([np.asarray(r.input) for r in results])  # (n, C, H, W)
    box = results[0].box
    cropped = crop and box is not None and all(r.box == box for r in results)
    if cropped:
        top, left, bottom, right = box
        inputs = inputs[:, :, top:bottom, left:right]  # (n, C, s_h, s_w)
    pictures, rgb = _as_pictures(inputs)
    columns = min(columns, len(results))
    rows = math.ceil(len(results) / columns)
    fig = new_figure(1.5 * columns + 0.3, 1.65 * rows + 0.7)
    axes = fig.subplots(rows, columns, squeeze=False)
    beaten = [r.exceeds_data for r in results if r.exceeds_data is not None]
    title = f"Inputs maximising the {results[0].objective} activation of each channel of layer {results[0].layer}"
    if cropped:
        title += f" (the {box[2] - box[0]}x{box[3] - box[1]} pixels its centre unit sees)"
    if beaten:
        title += f"\n{sum(beaten)} of {len(beaten)} beat every image of the data (value vs data max)"
    fig.suptitle(title, fontsize=9)
    for slot, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if slot >= len(results):
            continue
        r = results[slot]
        ax.imshow(pictures[slot], cmap=None if rgb else "gray", vmin=0, vmax=1, interpolation="nearest")
        text = f"ch {r.channel}: {r.activation:.2f}" + (f"\ndata {r.data_max:.2f}" if r.data_max is not None else "")
        ax.set_title(text, fontsize=7, color="#2e7d32" if r.exceeds_data else "black")
    return fig


def embedding_figure(result: Any, thumbnails: int = 80) -> Figure:
    """The 2-D t-SNE map of an ``Embedding`` result, coloured by class, with up to
    ``thumbnails`` sample images placed at spread-out points (one per cell of a grid) when the
    inputs are images."""
    from matplotlib import colormaps
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    coords = np.asarray(result.coords)
    fig = new_figure(8.5, 7.5)
    ax = fig.subplots()
    labels = result.labels
    if labels is None:
        ax.scatter(coords[:, 0], coords[:, 1], s=6, color="#555555")
    else:
        palette = colormaps[CLASS_COLORS if labels.max() < 10 else "tab20"]
        for value in np.unique(labels):
            mask = labels == value
            name = result.classes[value] if result.classes and value < len(result.classes) else str(value)
            ax.scatter(coords[mask, 0], coords[mask, 1], s=8, color=palette(int(value) % palette.N), label=name)
        ax.legend(fontsize="small", markerscale=2, loc="best", title="class")
    if thumbnails and result.inputs is not None and np.ndim(result.inputs) == 4:  # images
        pictures, rgb = _as_pictures(np.asarray(result.inputs))
        low, high = _image_range(pictures)
        zoom = 24.0 / max(pictures.shape[1], pictures.shape[2])
        for i in _spread(coords, thumbnails):
            box = OffsetImage(
                (pictures[i] - low) / (high - low), cmap=None if rgb else "gray_r", zoom=zoom, interpolation="nearest"
            )
            ax.add_artist(AnnotationBbox(box, coords[i], frameon=False, pad=0.0, zorder=1))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(
        f"t-SNE of layer {result.layer} ({result.features} features, PCA to {result.pca_dims}) "
        f"for {len(coords)} samples",
        fontsize=9,
    )
    return fig


def _spread(coords: np.ndarray, count: int) -> list[int]:
    """Up to ``count`` indices of points spread over the map: the point nearest the centre
    of each occupied cell of a sqrt(count) x sqrt(count) grid."""
    side = max(1, int(math.sqrt(count)))
    low, high = coords.min(axis=0), coords.max(axis=0)
    cell = (coords - low) / np.maximum(high - low, 1e-12) * side  # (n, 2) in [0, side]
    cells = np.minimum(cell.astype(int), side - 1)
    chosen = {}
    for i, (key, frac) in enumerate(zip(map(tuple, cells), cell - cells - 0.5)):
        distance = float((frac**2).sum())
        if key not in chosen or distance < chosen[key][0]:
            chosen[key] = (distance, i)
    return [i for _, i in sorted(chosen.values(), key=lambda t: t[1])][:count]
