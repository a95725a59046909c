"""Pictures as pixels: feature maps and explanation overlays as RGB arrays and PNG data URIs.

The explorer answers each prediction in a few hundred milliseconds, and laying out and
rasterising a matplotlib figure of every feature map costs more than the model, the maps and
Grad-CAM together. These functions colour the same mosaics with the same colormaps as
:func:`~deepscope.plots.feature_maps_figure` and :func:`~deepscope.plots.attribution_figure`
(matplotlib's lookup tables, applied in numpy) and encode them with Pillow, leaving titles and
axes to the page that shows them. :func:`figure_png` / :func:`figure_data_uri` are the one
place a Figure becomes PNG bytes or a data URI (the explorer, the notebook display).
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.explain import Attribution
from deepscope.plots.explain import DIVERGING, _displayable, _symmetric
from deepscope.plots.inspect import _as_pictures, _cmap, _image_range, mosaic

__all__ = ["attribution_pixels", "colorize", "feature_map_pixels", "figure_data_uri", "figure_png", "png_data_uri"]

SEPARATOR_RGB = (159, 180, 204)  # the mosaic separators: plots.inspect.SEPARATOR


def colorize(image: np.ndarray, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """(H, W) values -> (H, W, 3) uint8 through colormap ``cmap`` on [vmin, vmax]; NaN (mosaic
    separators) in the separator colour."""
    image = np.asarray(image, dtype=np.float32)
    scaled = (image - vmin) / max(vmax - vmin, 1e-12)
    rgb = _cmap(cmap)(np.clip(np.nan_to_num(scaled, nan=0.0), 0, 1), bytes=True)[..., :3]
    rgb[~np.isfinite(image)] = SEPARATOR_RGB
    return rgb


def _maps_rgb(panel: np.ndarray) -> np.ndarray:
    """A mosaic of activations in the figure's colours: diverging around 0 when negative."""
    finite = panel[np.isfinite(panel)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if low < 0:
        bound = max(abs(low), abs(high), 1e-12)
        return colorize(panel, "RdBu_r", -bound, bound)
    return colorize(panel, "magma", 0.0, max(high, 1e-12))


def _upscale(rgb: np.ndarray, min_width: int) -> np.ndarray:
    """Nearest-neighbour enlargement by a whole factor until at least ``min_width`` wide."""
    factor = max(1, -(-min_width // max(1, rgb.shape[1])))
    return rgb.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else rgb


def feature_map_pixels(
    result, sample: int = 0, max_channels: int = 64, columns: int = 16, width: int = 640
) -> tuple[np.ndarray, list[str]]:
    """A ``FeatureMaps`` result as one picture -> ((H, W, 3) uint8, one caption per band).

    Bands from the top: the input, then per layer a mosaic of its first ``max_channels`` maps
    (one colour scale per layer), each enlarged to about ``width`` pixels and separated by a
    white rule."""
    count = len(result.inputs)
    if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or not 0 <= sample < count:
        raise invalid("sample", f"an index in [0, {count - 1}] of the inputs", sample)
    pictures, rgb = _as_pictures(np.asarray(result.inputs[sample], dtype=np.float32)[None])
    low, high = _image_range(pictures)
    shown = np.clip((pictures[0] - low) / max(high - low, 1e-12), 0, 1)
    bands = [_upscale((shown * 255).astype(np.uint8) if rgb else colorize(shown, "gray", 0, 1), min(width, 168))]
    captions = [f"input {tuple(result.inputs.shape[1:])}"]
    for name in result.layers:
        maps = np.asarray(result.maps[name][sample], dtype=np.float32)[:max_channels]  # (C, H, W)
        _, channels, height, w = result.maps[name].shape
        bands.append(_upscale(_maps_rgb(mosaic(maps, min(columns, len(maps)))), width))
        shown_count = f"first {max_channels} of {channels}" if channels > max_channels else f"{channels}"
        captions.append(f"{result.labels.get(name, name)}: {shown_count} maps of {height}x{w}")
    full = max(band.shape[1] for band in bands)
    rule = np.full((6, full, 3), 255, np.uint8)
    stacked = []
    for band in bands:
        padded = np.full((band.shape[0], full, 3), 255, np.uint8)
        padded[:, : band.shape[1]] = band
        stacked += [padded, rule]
    return np.concatenate(stacked[:-1]), captions


def attribution_pixels(attribution: Attribution, index: int = 0, width: int = 336) -> np.ndarray:
    """Image input ``index`` and its heatmap drawn over it, side by side -> (H, W, 3) uint8:
    the input, then the attribution in :data:`DIVERGING` colours (red for, blue against) at 60%
    over the grey input, as :func:`~deepscope.plots.attribution_figure` draws them."""
    if attribution.kind != "image":
        raise invalid("attribution", "an explanation of images", f"one of {attribution.kind} inputs")
    image = attribution.inputs[index].float().numpy()  # (C, H, W)
    shown = _displayable(image)
    grey = shown if shown.ndim == 2 else shown.mean(axis=-1)
    grey_rgb = np.repeat(grey[..., None], 3, axis=-1) * 255
    base = grey_rgb if shown.ndim == 2 else shown * 255
    heat = attribution.heatmap()[index].numpy()
    scale = _symmetric(heat)
    overlay = 0.4 * grey_rgb + 0.6 * colorize(heat, DIVERGING, -scale, scale)
    gap = np.full((grey.shape[0], max(1, grey.shape[1] // 14), 3), 255.0)
    pair = np.concatenate([base, gap, overlay], axis=1).round().clip(0, 255).astype(np.uint8)
    return _upscale(pair, width)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_data_uri(rgb: np.ndarray) -> str:
    """(H, W, 3) colour or (H, W) grey uint8 -> ``data:image/png;base64,...`` (Pillow's PNG encoder)."""
    from PIL import Image

    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or not (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 3)):
        raise invalid("rgb", "a (H, W, 3) uint8 array (or (H, W) grey)", f"{rgb.dtype} {rgb.shape}")
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB" if rgb.ndim == 3 else "L").save(buffer, format="PNG", compress_level=1)
    return _data_uri(buffer.getvalue())


def figure_png(fig: Figure) -> bytes:
    """A matplotlib Figure rendered as PNG bytes (at the figure's dpi)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def figure_data_uri(fig: Figure) -> str:
    """A matplotlib Figure as a ``data:image/png;base64,...`` URI (for HTML that stands alone)."""
    return _data_uri(figure_png(fig))
