"""Figures of models that make images rather than labels: image grids (reconstructions,
samples, a latent manifold) and 2-D latent maps coloured by class."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.plots.training import new_figure

__all__ = ["image_grid_figure", "latent_map_figure", "panel_figure"]

MAX_GRID = 400  # images one grid draws (a 20 x 20 manifold); more are refused, not silently cut


def image_grid_figure(
    images: np.ndarray, columns: int = 8, labels: Sequence[str] | None = None, title: str = ""
) -> Figure:
    """``images`` (N, C, H, W) in [0, 1] (C = 1 grey, 3 RGB) as a grid ``columns`` wide, each
    under its label when given; images touch (no gaps) when unlabelled, as a manifold is read."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or not len(images):
        raise invalid("images", "an array (N, C, H, W) with C 1 or 3 and N >= 1", images.shape)
    if len(images) > MAX_GRID:
        raise invalid("images", f"at most {MAX_GRID} images", len(images))
    if labels is not None and len(labels) != len(images):
        raise invalid("labels", f"one label per image ({len(images)})", len(labels))
    n, c, h, w = images.shape
    columns = max(1, min(int(columns), n))
    rows = math.ceil(n / columns)
    scale = (0.9 if labels is not None else min(0.6, 9 / columns)) * max(1.0, w / h) ** 0.5  # a cell's width (in)
    cell = scale * h / w + (0.25 if labels is not None else 0)  # a cell's height: the image, then its label
    fig = new_figure(columns * scale + 0.2, rows * cell + (0.4 if title else 0.1))
    if labels is None:  # one mosaic: one image per cell, no axes between them
        mosaic = np.zeros((rows * h, columns * w, c), dtype=np.float32)
        for i, image in enumerate(images):
            r, k = divmod(i, columns)
            mosaic[r * h : (r + 1) * h, k * w : (k + 1) * w] = image.transpose(1, 2, 0)
        ax = fig.add_subplot(1, 1, 1)
        ax.imshow(mosaic[..., 0] if c == 1 else mosaic, cmap="gray" if c == 1 else None, vmin=0, vmax=1)
        ax.set_axis_off()
    else:
        for i, image in enumerate(images):
            ax = fig.add_subplot(rows, columns, i + 1)
            shown = image[0] if c == 1 else image.transpose(1, 2, 0)
            ax.imshow(np.clip(shown, 0, 1), cmap="gray" if c == 1 else None, vmin=0, vmax=1)
            ax.set_title(str(labels[i]), fontsize=7)
            ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def latent_map_figure(
    points: np.ndarray, labels: np.ndarray | None = None, classes: Sequence[str] | None = None, title: str = ""
) -> Figure:
    """2-D latent codes ``points`` (N, 2) as a scatter coloured by integer ``labels`` (N,)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise invalid("points", "an array (N, 2)", points.shape)
    fig = new_figure(5.6, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.6)
    else:
        labels = np.asarray(labels)
        scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, s=3, alpha=0.7, cmap="tab10")
        names = list(classes) if classes is not None else [str(k) for k in np.unique(labels)]
        handles = [
            ax.scatter([], [], color=scatter.cmap(scatter.norm(k)), s=12, label=names[k] if k < len(names) else str(k))
            for k in np.unique(labels).astype(int)
        ]
        ax.legend(handles=handles, fontsize=7, markerscale=1.2, loc="best", frameon=False)
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def panel_figure(panel: Any) -> Figure:
    """The figure of one :class:`deepscope.train.Panel` ('images' or 'scatter')."""
    if panel.kind == "images":
        labels = None if panel.labels is None else [str(label) for label in panel.labels]
        return image_grid_figure(panel.data, panel.columns, labels, panel.title)
    if panel.kind == "scatter":
        return latent_map_figure(panel.data, panel.labels, panel.classes, panel.title)
    raise invalid("panel.kind", "'images' or 'scatter'", panel.kind)
