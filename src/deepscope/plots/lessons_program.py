"""Figures of the 'program' lesson: a network as a fitted function.

Softmax regression's weight vectors drawn as image templates, and a two-layer net's decision
regions on 2-D points with each hidden unit's line. Every function takes plain arrays (or a
:class:`Regions` of them) and returns a Figure drawn on the Agg canvas without pyplot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.plots.training import new_figure

__all__ = ["MAX_TEMPLATES", "Regions", "capacity_figure", "regions_frame", "templates_figure"]

MAX_TEMPLATES = 20  # classes drawn as templates; more would not be legible
CLASS_COLORS = ("#1f77b4", "#d62728")  # class 0 blue, class 1 red
REGION_CMAP = "RdBu_r"  # P(class 1): blue 0 .. white 0.5 .. red 1
LINE_COLOR = "#333333"
PROB_LEVELS = np.linspace(0.0, 1.0, 11)  # colour bands of P(class 1), 0.1 wide


# ----------------------------------------------------------------------------- templates
def _template_rgb(weights: np.ndarray) -> np.ndarray:
    """(C, H, W) colour weights as an (H, W, 3) picture, rescaled to [0, 1] (CS231n's view)."""
    low, high = float(weights.min()), float(weights.max())
    return np.transpose((weights - low) / (high - low or 1.0), (1, 2, 0))


def templates_figure(
    weights: np.ndarray,
    classes: Sequence[str],
    means: np.ndarray | None = None,
    accuracy: float | None = None,
) -> Figure:
    """A linear classifier's weight vectors as pictures: weights (K, C, H, W), one template
    per class. Grey images (C = 1) and any C other than 3 use a diverging colour scale shared
    by all templates, saturating at the 99th percentile of |w| (red: ink there votes for the
    class, blue: ink there votes against);
    colour images (C = 3) are drawn as RGB, each rescaled to [0, 1]. ``means`` (K, C, H, W):
    each class's average training image, drawn in a second row. At most
    :data:`MAX_TEMPLATES` classes are drawn."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4 or len(w) < 1:
        raise invalid("weights", "an array (K, C, H, W) of K >= 1 templates", getattr(w, "shape", w))
    if len(classes) != len(w):
        raise invalid("classes", f"{len(w)} class names (one per template)", len(classes))
    if means is not None and np.shape(means) != w.shape:
        raise invalid("means", f"an array of shape {w.shape} like weights", np.shape(means))
    shown = min(len(w), MAX_TEMPLATES)
    columns = min(shown, 10)
    blocks = math.ceil(shown / columns)
    rows = blocks * (2 if means is not None else 1)
    fig = new_figure(1.25 * columns + 1.2, 1.45 * rows + 0.6)
    axes = np.atleast_2d(fig.subplots(rows, columns, squeeze=False))
    colour = w.shape[1] == 3
    grey = w.mean(axis=1)  # (K, H, W): the channels' mean when C is neither 1 nor 3
    # the 99th percentile of |w|, not the max: a few rarely inked border pixels can take large
    # weights (Adam moves every weight alike) and would wash out the rest; beyond it colours saturate
    limit = float(np.percentile(np.abs(grey[:shown]), 99)) or float(np.abs(grey[:shown]).max()) or 1.0
    norm = Normalize(-limit, limit)
    image = None
    for index in range(rows * columns):
        block, column = divmod(index, columns)
        k = (block // (2 if means is not None else 1)) * columns + column
        is_mean_row = means is not None and block % 2 == 1
        ax = axes[block, column]
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= shown:
            ax.set_axis_off()
            continue
        if is_mean_row:
            mean = np.asarray(means[k], dtype=np.float64)
            if colour:
                ax.imshow(np.clip(np.transpose(mean, (1, 2, 0)), 0, 1), interpolation="nearest")
            else:
                ax.imshow(mean.mean(axis=0), cmap="gray_r", interpolation="nearest")
            ax.set_title(f"mean {classes[k]}"[:14], fontsize=9)
            continue
        if colour:
            ax.imshow(_template_rgb(w[k]), interpolation="nearest")
        else:
            image = ax.imshow(grey[k], cmap="RdBu_r", norm=norm, interpolation="nearest")
        ax.set_title(f"template {classes[k]}"[:16], fontsize=9)
    if image is not None:
        fig.colorbar(image, ax=axes[:, -1].tolist(), fraction=0.5, aspect=25, label="weight", extend="both")
    score = f", validation accuracy {accuracy:.3f}" if accuracy is not None else ""
    more = f" (first {shown} of {len(w)} classes)" if shown < len(w) else ""
    fig.suptitle(f"softmax regression: one template per class{score}{more}", fontsize=11)
    return fig


# ----------------------------------------------------------------------------- regions
@dataclass(frozen=True)
class Regions:
    """A two-class net on 2-D points at one moment, ready to draw.

    ``grid_x`` (G,), ``grid_y`` (G,): the grid's coordinates; ``prob`` (G, G): P(class 1) at
    each grid point (row i is grid_y[i]); ``points`` (N, 2) and ``labels`` (N,): the training
    points; ``weights`` (h, 2) and ``biases`` (h,): the hidden layer, whose unit j switches
    along the line weights[j]·x + biases[j] = 0; ``title``: what the panel says.
    """

    grid_x: np.ndarray
    grid_y: np.ndarray
    prob: np.ndarray
    points: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    biases: np.ndarray
    title: str = ""


def _unit_lines(ax: Axes, weights: np.ndarray, biases: np.ndarray, x0: float, x1: float, y0: float, y1: float) -> None:
    """Each hidden unit's line w·x + b = 0, clipped to the panel (dashed)."""
    for (a, c), b in zip(weights, biases):
        if abs(c) >= abs(a):  # y = -(a x + b) / c
            xs = np.array([x0, x1])
            ys = -(a * xs + b) / c
        elif a != 0:  # x = -(c y + b) / a
            ys = np.array([y0, y1])
            xs = -(c * ys + b) / a
        else:
            continue  # a dead unit: w = 0 has no line
        ax.plot(xs, ys, color=LINE_COLOR, linewidth=0.9, linestyle="--", alpha=0.8)


def _draw_regions(ax: Axes, regions: Regions, lines: bool, point_size: float) -> None:
    gx, gy = np.asarray(regions.grid_x), np.asarray(regions.grid_y)
    x0, x1, y0, y1 = float(gx[0]), float(gx[-1]), float(gy[0]), float(gy[-1])
    # bands of P(class 1) rather than a smooth shade: as legible, and a GIF stores flat colours cheaply
    ax.contourf(gx, gy, regions.prob, levels=PROB_LEVELS, cmap=REGION_CMAP, norm=Normalize(0.0, 1.0), alpha=0.55)
    ax.contour(gx, gy, regions.prob, levels=[0.5], colors="black", linewidths=1.4)
    labels = np.asarray(regions.labels)
    for k, color in enumerate(CLASS_COLORS):
        chosen = regions.points[labels == k]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=point_size, c=color, edgecolors="white", linewidths=0.3)
    if lines:
        _unit_lines(ax, np.asarray(regions.weights), np.asarray(regions.biases), x0, x1, y0, y1)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xticks=[], yticks=[])
    ax.set_title(regions.title, fontsize=9)


def regions_frame(regions: Regions, heading: str = "") -> Figure:
    """One moment of training: the decision regions (colour: P(class 1), black: the 0.5
    boundary), the training points and every hidden unit's line. Frames of one animation
    share a size."""
    if not isinstance(regions, Regions):
        raise invalid("regions", "a Regions", type(regions).__name__)
    fig = new_figure(5.6, 5.4)
    _draw_regions(fig.add_subplot(), regions, lines=True, point_size=12)
    if heading:
        fig.suptitle(heading, fontsize=11)
    return fig


def capacity_figure(
    panels: Sequence[Sequence[Regions]],
    row_names: Sequence[str],
    column_names: Sequence[str],
    max_lines: int = 8,
) -> Figure:
    """A grid of final decision regions: rows = datasets, columns = nets (e.g. 1, 2, 8 and 64
    hidden units). Hidden units' lines are drawn in panels with at most ``max_lines`` units."""
    if not panels or any(len(row) != len(column_names) for row in panels) or len(panels) != len(row_names):
        raise invalid("panels", f"{len(row_names)} rows of {len(column_names)} Regions", [len(r) for r in panels])
    rows, columns = len(panels), len(column_names)
    fig = new_figure(2.9 * columns + 0.4, 2.8 * rows + 0.5)
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, row in enumerate(panels):
        for j, regions in enumerate(row):
            ax = axes[i, j]
            _draw_regions(ax, regions, lines=len(regions.weights) <= max_lines, point_size=5)
            if j == 0:
                ax.set_ylabel(row_names[i], fontsize=11)
            if i == 0:
                ax.set_title(f"{column_names[j]}\n{regions.title}", fontsize=9)
    fig.suptitle("the same two-layer net with more hidden units: final decision regions (dashed: unit lines)")
    return fig
