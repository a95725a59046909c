"""Figures of the descent lesson: gradient descent on a 1-D loss curve at several learning rates
(a still and a "skier" animation whose step arrow is -lr * slope), and optimizer trajectories
over the contours of 2-D loss surfaces (a still, the losses per step, and a race animation).

Everything here takes plain numpy arrays in small dataclasses (:class:`Walk1D`,
:class:`Path2D`, :class:`SurfaceRuns`) and a loss function that maps numpy arrays to numpy
arrays; the lesson computes the walks with torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.plots.training import new_figure

__all__ = [
    "Path2D",
    "SurfaceRuns",
    "Walk1D",
    "race_frames",
    "surface_losses_figure",
    "surfaces_figure",
    "walks_1d_figure",
    "walks_1d_frames",
]

COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b")
STEP_COLOR = "#c62828"
SKIER_COLOR = "#ff9800"


@dataclass(frozen=True)
class Walk1D:
    """Gradient descent on a 1-D loss: x_{t+1} = x_t - lr * slope_t."""

    label: str  # 'too small', 'good', ...
    lr: float
    xs: np.ndarray  # (T+1,) positions x_0 .. x_T
    losses: np.ndarray  # (T+1,) loss(x_t)
    slopes: np.ndarray  # (T+1,) the derivative at x_t
    diverged: bool


@dataclass(frozen=True)
class Path2D:
    """One optimizer's walk over a 2-D surface."""

    label: str  # 'SGD lr=0.04'
    path: np.ndarray  # (T+1, 2) the parameter (x, y) after each step
    losses: np.ndarray  # (T+1,)
    steps_to_tolerance: int | None  # first step from which the loss stays below the tolerance


@dataclass(frozen=True)
class SurfaceRuns:
    """Several optimizers from one start on one surface."""

    title: str
    surface: Callable[[np.ndarray, np.ndarray], np.ndarray]  # loss(X, Y) elementwise
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax of the drawing
    minimum: tuple[float, float]
    tolerance: float
    runs: tuple[Path2D, ...]


def _check_walks(walks: Sequence[Walk1D]) -> None:
    if not walks or not all(isinstance(w, Walk1D) for w in walks):
        raise invalid("walks", "a non-empty sequence of Walk1D", type(walks).__name__)
    if len({w.xs.shape for w in walks}) != 1:
        raise invalid("walks", "walks of one length", sorted({w.xs.shape for w in walks}))


def _limits(walk: Walk1D, minimum: float) -> tuple[float, float]:
    """x range of a panel: the whole walk and the minimum, with a margin."""
    xs = walk.xs[np.isfinite(walk.xs)]
    lo, hi = min(float(xs.min()), minimum), max(float(xs.max()), minimum)
    margin = 0.15 * (hi - lo) + 0.5
    return lo - margin, hi + margin


def _curve(ax: Axes, loss: Callable[[np.ndarray], np.ndarray], walk: Walk1D, minimum: float) -> None:
    lo, hi = _limits(walk, minimum)
    grid = np.linspace(lo, hi, 300)
    curve = loss(grid)
    ax.plot(grid, curve, color="#444444", lw=1.5)
    ax.axvline(minimum, color="#999999", lw=0.8, ls=":")
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.06 * float(curve.max()), 1.08 * float(curve.max()))
    ax.set_xlabel("x")
    verdict = "diverges" if walk.diverged else f"loss {walk.losses[-1]:.2g} after {len(walk.xs) - 1} steps"
    ax.set_title(f"{walk.label}: lr = {walk.lr:g}\n{verdict}", fontsize=10)


def walks_1d_figure(loss: Callable[[np.ndarray], np.ndarray], walks: Sequence[Walk1D], minimum: float) -> Figure:
    """Top: one panel per learning rate, the loss curve with every step's position (numbered
    dots joined in order). Bottom: the loss per step for all of them (log scale)."""
    _check_walks(walks)
    fig = new_figure(4.2 * len(walks), 7.5)
    grid = fig.add_gridspec(2, len(walks), height_ratios=[1.2, 1])
    for k, walk in enumerate(walks):
        ax = fig.add_subplot(grid[0, k])
        _curve(ax, loss, walk, minimum)
        color = COLORS[k % len(COLORS)]
        ax.plot(walk.xs, walk.losses, color=color, lw=0.8, alpha=0.6)
        ax.scatter(walk.xs, walk.losses, color=color, s=14, zorder=3)
        ax.scatter(walk.xs[:1], walk.losses[:1], color="black", s=30, zorder=4, label="start")
        ax.legend(fontsize=8, loc="upper center")
        if k == 0:
            ax.set_ylabel("loss")
    bottom = fig.add_subplot(grid[1, :])
    for k, walk in enumerate(walks):
        bottom.plot(
            np.maximum(walk.losses, 1e-300),
            marker="o",
            ms=3,
            color=COLORS[k % len(COLORS)],
            label=f"{walk.label} ({walk.lr:g})",
        )
    bottom.set_yscale("log")
    bottom.set_xlabel("step")
    bottom.set_ylabel("loss (log scale)")
    bottom.legend(fontsize=8, ncol=len(walks))
    bottom.grid(True, alpha=0.3)
    return fig


def walks_1d_frames(loss: Callable[[np.ndarray], np.ndarray], walks: Sequence[Walk1D], minimum: float) -> list[Figure]:
    """One frame per step: in each panel the skier (a dot) at x_t on the curve, the tangent
    (the slope), and the step about to be taken as an arrow of length -lr * slope."""
    _check_walks(walks)
    frames = []
    steps = len(walks[0].xs) - 1
    for t in range(steps + 1):
        fig = new_figure(4.2 * len(walks), 3.8, dpi=80)
        axes = fig.subplots(1, len(walks))
        for k, (ax, walk) in enumerate(zip(np.atleast_1d(axes), walks)):
            _curve(ax, loss, walk, minimum)
            ax.set_yticks([])  # fewer labels to lay out per frame (the still has the scale)
            ax.locator_params(axis="x", nbins=5)
            color = COLORS[k % len(COLORS)]
            ax.plot(walk.xs[: t + 1], walk.losses[: t + 1], color=color, lw=0.8, alpha=0.4)
            x, y, slope = float(walk.xs[t]), float(walk.losses[t]), float(walk.slopes[t])
            lo, hi = ax.get_xlim()
            half = 0.08 * (hi - lo)
            ax.plot([x - half, x + half], [y - slope * half, y + slope * half], color="#555555", lw=1)  # tangent
            ax.scatter([x], [y], color=SKIER_COLOR, s=90, zorder=4, edgecolors="black")
            if t < steps:
                step = -walk.lr * slope
                ax.annotate(
                    "",
                    xy=(x + step, y),
                    xytext=(x, y),
                    arrowprops={"arrowstyle": "-|>", "color": STEP_COLOR, "lw": 1.8},
                    zorder=5,
                )
                ax.text(
                    0.03,
                    0.97,
                    f"step {t}: slope {slope:.3g}\n-lr*slope = {step:.3g}",
                    transform=ax.transAxes,
                    va="top",
                    fontsize=8,
                    color=STEP_COLOR,
                )
            else:
                ax.text(0.03, 0.97, f"after {steps} steps", transform=ax.transAxes, va="top", fontsize=8)
        frames.append(fig)
    return frames


def _contours(ax: Axes, panel: SurfaceRuns, filled: bool = True) -> None:
    xmin, xmax, ymin, ymax = panel.extent
    X, Y = np.meshgrid(np.linspace(xmin, xmax, 200), np.linspace(ymin, ymax, 200))
    Z = panel.surface(X, Y)
    low = max(float(Z.min()), 1e-3 * float(Z.max()), 1e-12)
    levels = np.geomspace(low, float(Z.max()), 16)
    if filled:  # not in GIF frames: a shaded background would take the palette's colours from the paths
        norm = LogNorm(low, float(Z.max()))
        ax.contourf(X, Y, np.maximum(Z, low), levels=levels, cmap="Blues_r", norm=norm, alpha=0.45)
    ax.contour(X, Y, Z, levels=levels, colors="#777777", linewidths=0.5)
    ax.plot(*panel.minimum, marker="*", color="gold", ms=14, markeredgecolor="black", zorder=5)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _check_panels(panels: Sequence[SurfaceRuns]) -> None:
    if not panels or not all(isinstance(p, SurfaceRuns) for p in panels):
        raise invalid("panels", "a non-empty sequence of SurfaceRuns", type(panels).__name__)


def surfaces_figure(panels: Sequence[SurfaceRuns]) -> Figure:
    """One panel per surface: its contours (log-spaced levels), the minimum (star) and every
    optimizer's path from the common start."""
    _check_panels(panels)
    fig = new_figure(6.5 * len(panels), 5.6)
    for ax, panel in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels):
        _contours(ax, panel)
        for k, run in enumerate(panel.runs):
            ax.plot(
                run.path[:, 0], run.path[:, 1], color=COLORS[k % len(COLORS)], lw=1.3, marker="o", ms=2, label=run.label
            )
        ax.plot(*panel.runs[0].path[0], marker="o", color="black", ms=7, zorder=5)
        ax.set_title(panel.title, fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
    return fig


def surface_losses_figure(panels: Sequence[SurfaceRuns]) -> Figure:
    """One panel per surface: each optimizer's loss per step (log scale), the tolerance, and a
    mark where the loss goes below it for good."""
    _check_panels(panels)
    fig = new_figure(6.5 * len(panels), 4.2)
    for ax, panel in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels):
        for k, run in enumerate(panel.runs):
            color = COLORS[k % len(COLORS)]
            reached = run.steps_to_tolerance
            note = f"{reached} steps" if reached is not None else f"not within {len(run.losses) - 1}"
            ax.plot(np.maximum(run.losses, 1e-300), color=color, lw=1.3, label=f"{run.label}: {note}")
            if reached is not None:
                ax.plot([reached], [max(run.losses[reached], 1e-300)], marker="o", color=color, ms=6)
        ax.axhline(panel.tolerance, color="black", lw=0.8, ls="--", label=f"tolerance {panel.tolerance:g}")
        ax.set_yscale("log")
        ax.set_ylim(bottom=panel.tolerance * 1e-4)
        ax.set_xlabel("step")
        ax.set_ylabel("loss (log scale)")
        ax.set_title(panel.title, fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
    return fig


def race_frames(panel: SurfaceRuns, every: int = 5, last: int | None = None) -> list[Figure]:
    """The optimizers moving together over one surface: a frame every ``every`` steps up to
    step ``last`` (default: the end), each path drawn up to that step with its current loss in
    the legend."""
    _check_panels([panel])
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise invalid("every", "an int >= 1", every)
    steps = len(panel.runs[0].losses) - 1
    if last is not None:
        if isinstance(last, bool) or not isinstance(last, int) or not 0 <= last <= steps:
            raise invalid("last", f"an int in [0, {steps}] or None", last)
        steps = last
    frames = []
    for t in list(range(0, steps + 1, every)) + ([steps] if steps % every else []):
        fig = new_figure(8.4, 3.8, dpi=80)
        ax = fig.subplots()
        _contours(ax, panel, filled=False)
        for k, run in enumerate(panel.runs):
            color = COLORS[k % len(COLORS)]
            ax.plot(
                run.path[: t + 1, 0],
                run.path[: t + 1, 1],
                color=color,
                lw=1.5,
                label=f"{run.label}: {run.losses[t]:.1e}",
            )
            ax.plot(*run.path[t], marker="o", color=color, ms=7, markeredgecolor="black", zorder=6)
        ax.set_title(f"{panel.title}: step {t}", fontsize=10)
        fig.legend(fontsize=7, loc="outside right center", title="loss now", title_fontsize=7)
        frames.append(fig)
    return frames
