"""Figures of regression results: a forecast against the series' history and a naive
baseline, and predicted video frames beside the true ones."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from deepscope.errors import invalid
from deepscope.plots.training import new_figure

__all__ = ["forecast_figure", "next_frames_figure"]


def forecast_figure(
    history: np.ndarray, truth: np.ndarray, forecasts: Mapping[str, np.ndarray], *, title: str = ""
) -> Figure:
    """The series before the forecast period, ``history`` (H,), drawn at steps -H..-1; then the
    true values ``truth`` (T,) at steps 0..T-1 and each named forecast (T,) over them, e.g.
    {'model': ..., 'seasonal naive': ...}. The first forecast is drawn boldest."""
    history, truth = np.asarray(history, dtype=float).ravel(), np.asarray(truth, dtype=float).ravel()
    if truth.size == 0:
        raise invalid("truth", "a non-empty series of the forecast period", truth.shape)
    for name, values in forecasts.items():
        if np.asarray(values).ravel().shape != truth.shape:
            raise invalid(f"forecasts[{name!r}]", f"{truth.size} values, one per true value", np.asarray(values).shape)
    fig = new_figure(9, 3.6)
    ax = fig.add_subplot()
    steps = np.arange(truth.size)
    ax.plot(np.arange(-history.size, 0), history, color="0.45", lw=1.4, label="history")
    ax.plot(steps, truth, color="black", lw=1.8, label="truth")
    styles = [
        dict(color="tab:blue", lw=2.0),
        dict(color="tab:orange", lw=1.4, ls="--"),
        dict(color="tab:green", lw=1.2, ls=":"),
    ]
    for i, (name, values) in enumerate(forecasts.items()):
        ax.plot(steps, np.asarray(values, dtype=float).ravel(), label=name, **styles[i % len(styles)])
    ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("step (0 = first forecast step)")
    ax.set_ylabel("value")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(alpha=0.25)
    return fig


def next_frames_figure(inputs: np.ndarray, truth: np.ndarray, rows: Mapping[str, np.ndarray]) -> Figure:
    """One video: its input frames ``inputs`` (T, C, H, W) on top, the true next frames
    ``truth`` (T, C, H, W) below, then a row per named prediction (T, C, H, W), e.g.
    {'model': ..., 'copy the last frame': ...}. Column t shows frame t and what comes after it."""
    inputs, truth = np.asarray(inputs), np.asarray(truth)
    if inputs.ndim != 4 or truth.shape != inputs.shape:
        raise invalid("inputs, truth", "two videos of the same shape (T, C, H, W)", (inputs.shape, truth.shape))
    named = {"input frame t": inputs, "true frame t+1": truth, **{k: np.asarray(v) for k, v in rows.items()}}
    steps = inputs.shape[0]
    fig = new_figure(1.1 * steps + 1.2, 1.15 * len(named))
    axes = fig.subplots(len(named), steps, squeeze=False)
    for r, (name, video) in enumerate(named.items()):
        if video.shape != inputs.shape:
            raise invalid(f"rows[{name!r}]", f"a video shaped {inputs.shape}", video.shape)
        for t in range(steps):
            ax = axes[r, t]
            frame = video[t].transpose(1, 2, 0)  # (H, W, C)
            ax.imshow(frame[..., 0] if frame.shape[-1] == 1 else np.clip(frame, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t={t}", fontsize=8)
        axes[r, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    return fig
