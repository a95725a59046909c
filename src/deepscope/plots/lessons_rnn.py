"""Figures of the 'rnn' lesson: a SimpleRNN as a for loop over the steps of one sequence.

:func:`rnn_step_frame` draws one turn of the loop (input row, previous state, the three terms,
their sum and its tanh); :func:`rnn_states_figure` draws every state at once with the
prediction read from the last. Both take plain numpy arrays and return a Figure drawn on the
Agg canvas without pyplot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from deepscope.errors import invalid
from deepscope.plots.training import CORRECT_COLOR, MISTAKE_COLOR, new_figure

__all__ = ["RnnStep", "rnn_states_figure", "rnn_step_frame"]

STEP_COLOR = "#ff9800"
STATE_NORM = Normalize(-1.0, 1.0)  # tanh states lie in (-1, 1)


@dataclass(frozen=True)
class RnnStep:
    """One turn of the loop ``h_t = tanh(x_t·W + h_{t-1}·U + b)``: ``t``, the input row ``x``
    (n_in,), and (units,) each: the previous state ``h_prev``, ``input_term`` x_t·W,
    ``recurrent_term`` h_{t-1}·U, ``bias`` b, their sum ``pre`` and the new state ``h``."""

    t: int
    x: np.ndarray
    h_prev: np.ndarray
    input_term: np.ndarray
    recurrent_term: np.ndarray
    bias: np.ndarray
    pre: np.ndarray
    h: np.ndarray


def _strips(ax: Axes, rows: Sequence[tuple[np.ndarray, str, Normalize]]) -> None:
    """Rows of (units,) values as coloured cells, each row on its own colour scale, every cell
    with its value and every row labelled on the left (one image: far faster than an axes per row)."""
    cmap = colormaps["RdBu_r"]
    values = np.stack([np.asarray(v, dtype=np.float64) for v, _, _ in rows])  # (rows, units)
    colours = np.stack([cmap(norm(v)) for v, _, norm in rows])  # (rows, units, 4)
    ax.imshow(colours, interpolation="nearest", aspect="auto")
    for k in range(1, len(rows)):
        ax.axhline(k - 0.5, color="white", linewidth=4)
    ax.set_xticks([])
    ax.set_yticks(range(len(rows)), [label for _, label, _ in rows], fontsize=9)
    ax.tick_params(length=0)
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            r, g, b, _ = colours[i, j]
            ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6.5, color=ink)


def _sequence(ax: Axes, inputs: np.ndarray, t: int | None, title: str) -> None:
    """The input sequence (T, n_in) as an image, one row per step; row ``t`` outlined and
    the rows not yet read faded."""
    steps, width = inputs.shape
    ax.imshow(inputs, cmap="gray_r", interpolation="nearest", vmin=min(0.0, float(inputs.min())))
    if t is not None:
        ax.add_patch(Rectangle((-0.5, t - 0.5), width, 1, fill=False, edgecolor=STEP_COLOR, linewidth=2.5))
        if t + 1 < steps:
            ax.add_patch(Rectangle((-0.5, t + 0.5), width, steps - t - 1, color="white", alpha=0.7, linewidth=0))
    ax.set_xticks([])
    ax.set_yticks(range(steps), [f"t={k}" for k in range(steps)], fontsize=8)
    ax.set_title(title, fontsize=10)


def _states(ax: Axes, states: np.ndarray, shown: int, title: str) -> None:
    """States (T, units), rows after ``shown`` left blank; one row per step."""
    grid = np.full(states.shape, np.nan)
    grid[:shown] = states[:shown]
    ax.imshow(grid, cmap="RdBu_r", norm=STATE_NORM, interpolation="nearest", aspect="auto")
    ax.set_xticks(range(states.shape[1]), [str(j) for j in range(states.shape[1])], fontsize=7)
    ax.set_yticks(range(states.shape[0]), [f"h_{k}" for k in range(states.shape[0])], fontsize=8)
    ax.set_xlabel("state unit", fontsize=9)
    ax.set_title(title, fontsize=10)


def rnn_step_frame(inputs: np.ndarray, step: RnnStep, states: np.ndarray, term_limit: float) -> Figure:
    """One frame of the loop at step ``step.t``: the input sequence (T, n_in) with the row
    being read outlined; the previous state, the input term x_t·W, the recurrent term
    h_{t-1}·U, the bias, their sum and tanh of it, one strip each (the terms on a colour scale
    of ±``term_limit`` shared by every frame, the states on ±1); and the states (T, units)
    computed so far. Frames of one sequence share a size."""
    if not isinstance(step, RnnStep):
        raise invalid("step", "an RnnStep", type(step).__name__)
    x = np.asarray(inputs, dtype=np.float64)
    h = np.asarray(states, dtype=np.float64)
    if x.ndim != 2 or h.ndim != 2 or len(x) != len(h):
        raise invalid("states", f"an array (T={len(x)}, units) beside inputs of shape {x.shape}", h.shape)
    if not 0 <= step.t < len(x):
        raise invalid("step.t", f"a step in [0, {len(x)})", step.t)
    fig = new_figure(14, 4.6)
    outer = fig.add_gridspec(1, 3, width_ratios=[1, 3.2, 2])
    _sequence(fig.add_subplot(outer[0]), x, step.t, f"input: row t={step.t} is x_{step.t}")
    terms = Normalize(-term_limit, term_limit)
    t = step.t
    rows = [
        (step.h_prev, f"h_{t - 1}" if t else "h_-1 = 0", STATE_NORM),
        (step.input_term, f"x_{t}·W", terms),
        (step.recurrent_term, f"h_{t - 1}·U" if t else "h_-1·U = 0", terms),
        (step.bias, "b", terms),
        (step.pre, "sum", terms),
        (step.h, f"h_{t} = tanh(sum)", STATE_NORM),
    ]
    _strips(fig.add_subplot(outer[1]), rows)
    _states(fig.add_subplot(outer[2]), h, t + 1, "states so far: " + (f"h_0 .. h_{t}" if t else "h_0"))
    fig.suptitle(f"step {t + 1}/{len(x)}:  h_{t} = tanh(x_{t}·W + h_{t - 1}·U + b)", fontsize=12)
    return fig


def rnn_states_figure(
    inputs: np.ndarray,
    states: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    label: int,
    max_difference: float | None = None,
) -> Figure:
    """The whole loop at once: the input sequence (T, n_in), every state (T, units) on the
    tanh scale, and the class probabilities (K,) the dense head reads from the last state.
    ``label`` is the true class (its bar is outlined); ``max_difference`` (the numpy loop
    against torch) goes in the title."""
    x = np.asarray(inputs, dtype=np.float64)
    h = np.asarray(states, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if x.ndim != 2 or h.ndim != 2 or len(x) != len(h):
        raise invalid("states", f"an array (T={len(x)}, units) beside inputs of shape {x.shape}", h.shape)
    if p.ndim != 1 or len(p) != len(classes):
        raise invalid("probs", f"{len(classes)} class probabilities", p.shape)
    if not 0 <= label < len(classes):
        raise invalid("label", f"a class index in [0, {len(classes)})", label)
    fig = new_figure(13, 4.2)
    ax_in, ax_h, ax_p = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 2.4, 1.6]})
    _sequence(ax_in, x, None, f"input: {len(x)} steps of {x.shape[1]}")
    _states(ax_h, h, len(h), f"states h_t ({h.shape[1]} units, tanh scale)")
    fig.colorbar(ax_h.images[0], ax=ax_h, fraction=0.046, pad=0.02)
    predicted = int(p.argmax())
    colors = [CORRECT_COLOR if k == label else "#9e9e9e" for k in range(len(p))]
    if predicted != label:
        colors[predicted] = MISTAKE_COLOR
    bars = ax_p.bar(range(len(p)), p, color=colors)
    bars[label].set_edgecolor("black")
    ax_p.set_xticks(range(len(p)), list(classes), fontsize=8)
    ax_p.set_ylim(0, 1)
    ax_p.set_title(f"softmax(h_{len(h) - 1}·V + c): predicts {classes[predicted]} (true {classes[label]})", fontsize=10)
    note = f";  numpy loop vs torch: max |difference| {max_difference:.1e}" if max_difference is not None else ""
    fig.suptitle(f"the SimpleRNN as a for loop: one state per step, the last one classifies{note}", fontsize=12)
    return fig
