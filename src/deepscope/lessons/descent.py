"""Lesson ``descent``: gradient descent as a skier on a 1-D loss curve at a learning rate that
is too small, good, large and too large; then SGD, momentum, RMSprop and Adam (torch's own
optimizers) on a curved 2-D valley and on a badly scaled bowl where plain SGD zig-zags.

The surfaces are toy functions of one 2-element tensor, not models on data, so their loops
are written here; every gradient comes from autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepscope.lessons.base import LessonPage, Table, register_lesson, save_animation
from deepscope.plots import save_figure
from deepscope.plots.lessons_descent import (
    Path2D,
    SurfaceRuns,
    Walk1D,
    race_frames,
    surface_losses_figure,
    surfaces_figure,
    walks_1d_figure,
    walks_1d_frames,
)

__all__ = [
    "CONDITION",
    "RATES_1D",
    "descent",
    "optimizer_run",
    "steps_to_tolerance",
    "surface_runs",
    "walk_1d",
    "zigzags",
]

# ----------------------------------------------------------------------------- 1-D
MINIMUM_1D = 1.0  # loss_1d(x) = (x - 1)^2: minimum 0 at x = 1, curvature 2 everywhere
START_1D = -2.0
STEPS_1D = 12
# x_{t+1} - 1 = (1 - 2 lr)(x_t - 1): lr < 0.5 creeps, lr = 0.5 lands in one step, 0.5 < lr < 1
# overshoots with shrinking swings, lr > 1 = 2 / curvature overshoots further every step.
RATES_1D = (("too small", 0.01), ("good", 0.3), ("large", 0.85), ("too large", 1.05))


def loss_1d(x: Any) -> Any:
    """(x - 1)^2 of a float, numpy array or tensor."""
    return (x - MINIMUM_1D) ** 2


def walk_1d(lr: float, label: str = "", steps: int = STEPS_1D, start: float = START_1D) -> Walk1D:
    """``steps`` steps of x <- x - lr * dL/dx on :func:`loss_1d` from ``start`` (float64,
    slopes from autograd). Diverged: the distance to the minimum grew at every step and the
    final loss is above the first (or not finite)."""
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    xs, losses, slopes = [], [], []
    for t in range(steps + 1):
        loss = loss_1d(x)
        (slope,) = torch.autograd.grad(loss, x)
        xs.append(x.item())
        losses.append(loss.item())
        slopes.append(slope.item())
        if t < steps:
            with torch.no_grad():
                x -= lr * slope
    xs_, losses_ = np.array(xs), np.array(losses)
    distance = np.abs(xs_ - MINIMUM_1D)
    diverged = bool(not np.isfinite(losses_[-1]) or (np.all(np.diff(distance) > 0) and losses_[-1] > losses_[0]))
    return Walk1D(label, lr, xs_, losses_, np.array(slopes), diverged)


# ----------------------------------------------------------------------------- 2-D
CONDITION = 50.0  # the bowl's curvatures are 1 (x) and 50 (y)
TOLERANCE = 1e-3
STEPS_2D = 200
RACE_EVERY = 10  # steps between the race animation's frames
OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "SGD": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "RMSprop": (torch.optim.RMSprop, {}),
    "Adam": (torch.optim.Adam, {}),
}


def valley(x: Any, y: Any) -> Any:
    """A curved valley (Rosenbrock's, with 5 for 100): minimum 0 at (1, 1)."""
    return (1 - x) ** 2 + 5 * (y - x**2) ** 2


def bowl(x: Any, y: Any) -> Any:
    """A badly scaled bowl, (x^2 + 50 y^2) / 2: minimum 0 at (0, 0), condition number 50."""
    return 0.5 * (x**2 + CONDITION * y**2)


# (title, surface, start, minimum, drawing extent, learning rate per optimizer). The rates were
# picked by hand for a legible picture; plain SGD on the bowl gets its best constant rate,
# 2 / (1 + 50), which shrinks both coordinates' errors by 49/51 per step (y's with a sign flip).
SURFACES = (
    ("curved valley", valley, (-1.5, 1.5), (1.0, 1.0), (-2.0, 2.0, -0.6, 3.2), (0.03, 0.01, 0.05, 0.2)),
    (
        f"badly scaled bowl (condition {CONDITION:g})",
        bowl,
        (-4.0, 1.0),
        (0.0, 0.0),
        (-4.6, 1.2, -1.5, 1.5),
        (2 / (1 + CONDITION), 0.01, 0.05, 0.2),
    ),
)


def steps_to_tolerance(losses: np.ndarray, tolerance: float = TOLERANCE) -> int | None:
    """The first step from which the loss stays below ``tolerance`` to the end, or None."""
    above = np.flatnonzero(~(losses < tolerance))
    if not above.size:
        return 0
    return None if above[-1] == len(losses) - 1 else int(above[-1]) + 1


def zigzags(path: np.ndarray, minimum: tuple[float, float], until: int | None = None) -> int:
    """How often the y coordinate (the steep one on the bowl) crosses the minimum's, over the
    first ``until`` steps (default all): one crossing per step is a zig-zag."""
    y = path[: None if until is None else until + 1, 1] - minimum[1]
    return int(np.sum(y[1:] * y[:-1] < 0))


def optimizer_run(
    name: str, lr: float, surface: Callable[[Any, Any], Any], start: tuple[float, float], steps: int = STEPS_2D
) -> tuple[np.ndarray, np.ndarray]:
    """Torch optimizer ``name`` (a key of OPTIMIZERS) at rate ``lr`` on ``surface`` from
    ``start``: the path (steps+1, 2) and the loss at each point (steps+1,)."""
    cls, options = OPTIMIZERS[name]
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = cls([p], lr=lr, **options)
    path = [p.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        surface(p[0], p[1]).backward()
        optimizer.step()
        path.append(p.detach().clone())
    points = torch.stack(path).numpy()  # (steps+1, 2)
    return points, surface(points[:, 0], points[:, 1])


def surface_runs(index: int, steps: int = STEPS_2D) -> SurfaceRuns:
    """Every optimizer on ``SURFACES[index]``, from its start."""
    title, surface, start, minimum, extent, rates = SURFACES[index]
    runs = []
    for name, lr in zip(OPTIMIZERS, rates):
        path, losses = optimizer_run(name, lr, surface, start, steps)
        runs.append(Path2D(f"{name} lr={lr:.3g}", path, losses, steps_to_tolerance(losses)))
    return SurfaceRuns(title, surface, extent, minimum, TOLERANCE, tuple(runs))


@register_lesson(
    "descent",
    order=1,
    title="Gradient descent: learning rates and optimizers",
    summary="a skier on a loss curve at four learning rates; SGD, momentum, RMSprop and Adam on 2-D surfaces",
)
def descent(out: Path, *, seed: int, data: str | None, echo: Callable[[str], None]) -> LessonPage:
    echo(f"1-D: {len(RATES_1D)} learning rates, {STEPS_1D} steps each")
    walks = [walk_1d(lr, label) for label, lr in RATES_1D]
    still = save_figure(walks_1d_figure(loss_1d, walks, MINIMUM_1D), out / "descent_1d.png")
    skier = save_animation(walks_1d_frames(loss_1d, walks, MINIMUM_1D), out / "descent_1d.gif", duration_ms=500)
    echo(f"2-D: {len(OPTIMIZERS)} optimizers on {len(SURFACES)} surfaces, {STEPS_2D} steps each")
    panels = [surface_runs(i) for i in range(len(SURFACES))]
    paths = save_figure(surfaces_figure(panels), out / "surfaces.png")
    losses = save_figure(surface_losses_figure(panels), out / "surface_losses.png")
    finish = max((run.steps_to_tolerance or STEPS_2D) for run in panels[1].runs)
    race = save_animation(
        race_frames(panels[1], every=RACE_EVERY, last=min(STEPS_2D, finish + RACE_EVERY)), out / "race.gif", 300
    )

    one_d = {
        walk.label: {
            "lr": walk.lr,
            "factor_per_step": 1 - 2 * walk.lr,  # x - 1 is multiplied by this at every step
            "final_x": float(walk.xs[-1]),
            "final_loss": float(walk.losses[-1]),
            "diverged": walk.diverged,
        }
        for walk in walks
    }
    two_d = {}
    for key, panel, surface in zip(("valley", "bowl"), panels, SURFACES):
        two_d[key] = {
            name: {
                "lr": lr,
                "steps_to_tolerance": run.steps_to_tolerance,
                "final_loss": float(run.losses[-1]),
            }
            for name, lr, run in zip(OPTIMIZERS, surface[-1], panel.runs)
        }
    for run, name in zip(panels[1].runs, OPTIMIZERS):  # the bowl's steep coordinate is y
        two_d["bowl"][name]["y_crossings"] = zigzags(run.path, panels[1].minimum, run.steps_to_tolerance)
    numbers = {
        "loss_1d": "(x - 1)^2",
        "start_1d": START_1D,
        "steps_1d": STEPS_1D,
        "critical_lr": 1.0,  # 2 / curvature: above it every step overshoots further
        "initial_loss_1d": float(walks[0].losses[0]),
        "rates_1d": one_d,
        "tolerance_2d": TOLERANCE,
        "steps_2d": STEPS_2D,
        "condition_number": CONDITION,
        "surfaces": two_d,
    }
    bowl_runs = two_d["bowl"]
    sgd = bowl_runs["SGD"]
    paragraph = (
        f"Gradient descent moves x against the slope: x <- x - lr * dL/dx. On the curve L(x) = (x - 1)^2 "
        f"(curvature 2) from x = {START_1D:g}, {STEPS_1D} steps at lr = {RATES_1D[0][1]:g} barely move "
        f"(loss {one_d['too small']['final_loss']:.2f} of {walks[0].losses[0]:.0f}); lr = {RATES_1D[1][1]:g} "
        f"reaches the minimum (loss {one_d['good']['final_loss']:.1e}); lr = {RATES_1D[2][1]:g} overshoots back "
        f"and forth but still converges; lr = {RATES_1D[3][1]:g}, above 2 / curvature = 1, overshoots further at "
        f"every step and diverges (loss {one_d['too large']['final_loss']:.0f}). The animation shows each step "
        f"as an arrow of length -lr * slope. On 2-D surfaces torch's own SGD, momentum (0.9), RMSprop and Adam "
        f"start together. On the bowl whose y curvature is {CONDITION:g} times its x curvature, SGD even at its "
        f"best constant rate crosses the valley floor at every step (zig-zag: {sgd['y_crossings']} crossings) and "
        f"needs {sgd['steps_to_tolerance']} steps to bring the loss below {TOLERANCE:g} for good; momentum needs "
        f"{bowl_runs['momentum']['steps_to_tolerance']}, RMSprop {bowl_runs['RMSprop']['steps_to_tolerance']} and "
        f"Adam {bowl_runs['Adam']['steps_to_tolerance']} (the last two rescale each coordinate, which suits a "
        f"bowl whose axes are the coordinates). The rates are the ones in the legends, picked by hand."
    )
    rows_1d = [
        (w.label, w.lr, 1 - 2 * w.lr, float(w.xs[-1]), float(w.losses[-1]), "yes" if w.diverged else "no")
        for w in walks
    ]
    rows_2d = [
        (key, name, run["lr"], _steps(run["steps_to_tolerance"]), run["final_loss"], run.get("y_crossings", "-"))
        for key, runs in two_d.items()
        for name, run in runs.items()
    ]
    tables = [
        Table(
            f"1-D: L(x) = (x - 1)^2 from x = {START_1D:g}, {STEPS_1D} steps",
            ("learning rate", "lr", "factor on x - 1 per step", "final x", "final loss", "diverged"),
            rows_1d,
        ),
        Table(
            f"2-D: {STEPS_2D} steps from a common start, tolerance {TOLERANCE:g}",
            ("surface", "optimizer", "lr", "steps to tolerance", "final loss", "zig-zags (bowl: y crossings)"),
            rows_2d,
        ),
    ]
    figures = [
        (still, "Four learning rates from the same start: the positions after each step, and the loss per step."),
        (skier, "The skier: at each step the tangent gives the slope, the red arrow is the step -lr * slope."),
        (paths, "SGD, momentum, RMSprop and Adam on a curved valley and on a badly scaled bowl (star: minimum)."),
        (losses, "Loss per step on each surface; dots mark where the loss goes below the tolerance for good."),
        (race, f"The optimizers racing on the badly scaled bowl (a frame every {RACE_EVERY} steps)."),
    ]
    return LessonPage(paragraph=paragraph, figures=figures, numbers=numbers, tables=tables)


def _steps(value: int | None) -> str:
    return f"not within {STEPS_2D}" if value is None else str(value)
