"""Lesson ``autodiff``: the lecture's two-layer net, its gradients from automatic
differentiation checked entry by entry against finite differences, and the backward graph
with the gradient that flows through every node."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from deepscope import data as datasets
from deepscope import zoo
from deepscope.lessons.base import LessonPage, Table, register_lesson
from deepscope.mechanics.gradcheck import GradCheck, backward_graph, grad_check
from deepscope.plots import save_figure
from deepscope.plots.lessons_autodiff import eps_sweep_figure, grad_agreement_figure, save_backward_graph

__all__ = ["BATCH", "EPS", "HIDDEN", "SWEEP", "autodiff", "lesson_batch", "lesson_model"]

HIDDEN = 8  # 64 -> 8 -> 10: 610 parameters, every one of them checked
BATCH = 16  # digits samples the loss is averaged over
EPS = 1e-6  # the finite-difference step of the main check
TOLERANCE = 1e-6  # float64 autograd and finite differences agree to better than this
SWEEP = tuple(10.0**-k for k in range(1, 11))  # eps from 1e-1 to 1e-10
SWEEP_ENTRIES = 16  # entries per parameter in each sweep point (drawn with the seed)


def lesson_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``BATCH`` digits training samples chosen with ``seed``: x (B, 1, 8, 8), y (B,)."""
    digits = datasets.load("digits")
    x, y = digits.train.tensors[:2]
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:BATCH]
    return x[pick], y[pick]


def lesson_model(seed: int) -> torch.nn.Module:
    """The lecture's two-layer net on 8x8 digits: flatten -> dense(8) -> ReLU -> dense(10)."""
    return zoo.create("mlp", in_shape=(1, 8, 8), num_classes=10, hidden=HIDDEN, seed=seed)


@register_lesson(
    "autodiff",
    order=3,
    title="Automatic differentiation, checked against finite differences",
    summary="the two-layer net's backward graph; autograd vs finite differences for every parameter",
)
def autodiff(out: Path, *, seed: int, data: str | None, echo: Callable[[str], None]) -> LessonPage:
    x, y = lesson_batch(seed)
    model = lesson_model(seed)
    echo(f"grad check of the two-layer net on {BATCH} digits (float64, every entry)")
    check = grad_check(model, x, y, eps=EPS, max_entries_per_param=None)
    single = grad_check(model, x, y, eps=EPS, max_entries_per_param=None, dtype="float32")
    echo(f"finite-difference step sweep over {len(SWEEP)} values of eps")
    sweep = {
        dtype: [
            grad_check(
                model, x, y, eps=eps, max_entries_per_param=SWEEP_ENTRIES, dtype=dtype, seed=seed
            ).worst_rel_error
            for eps in SWEEP
        ]
        for dtype in ("float64", "float32")
    }
    echo("backward graph")
    graph = backward_graph(model, x, y)
    graph_path, engine = save_backward_graph(graph, out / "graph.png")
    agreement_path = save_figure(grad_agreement_figure(check, single, tolerance=TOLERANCE), out / "agreement.png")
    eps_path = save_figure(eps_sweep_figure(SWEEP, sweep), out / "eps.png")
    worst = check.worst
    best64 = min(range(len(SWEEP)), key=lambda i: sweep["float64"][i])
    ops = [node.label for node in graph.nodes if node.kind == "op"]
    numbers = {
        "model": f"mlp(hidden={HIDDEN}) on 8x8 digits",
        "parameters": sum(p.size for p in check.params),
        "entries_checked": check.checked,
        "batch": BATCH,
        "loss": check.loss,
        "eps": EPS,
        "worst_rel_error": check.worst_rel_error,
        "worst_param": worst.name,
        "passed": check.passed(TOLERANCE),
        "tolerance": TOLERANCE,
        "rel_error": {p.name: p.rel_error for p in check.params},
        "float32_worst_rel_error": single.worst_rel_error,
        "eps_sweep": {"eps": list(SWEEP), **sweep},
        "best_eps_float64": SWEEP[best64],
        "graph": {"engine": engine, "nodes": len(graph.nodes), "edges": len(graph.edges), "ops": ops},
    }
    paragraph = (
        f"Autograd computes every gradient of the loss in one backward pass through the graph that the forward "
        f"pass recorded. Here it is checked the slow way: for each of the {check.checked} weights of the "
        f"two-layer net (64 -> {HIDDEN} -> 10, cross-entropy on {BATCH} digits, float64), nudge the weight by "
        f"+-{EPS:g}, recompute the loss, and take the slope (L(w+eps) - L(w-eps)) / (2 eps). The worst relative "
        f"error, max|autograd - numeric| / max(|autograd|, |numeric|) per parameter, is "
        f"{check.worst_rel_error:.1e} ({worst.name}). The same check in float32 is off by "
        f"{single.worst_rel_error:.1e}: the loss's roundoff divided by a tiny eps swamps the slope, which is "
        f"why gradient checks run in float64 (and why eps can be neither too large nor too small, see the "
        f"sweep). The graph shows what backward walked: the ops autograd recorded, the parameters and the "
        f"input as leaves, and in red the size of the gradient sent back into each node. "
        f"deepscope.mechanics.grad_check(model, x, y) runs the same check on any small model."
    )
    table = Table(f"Autograd against finite differences (eps={EPS:g}, float64)", GradCheck.COLUMNS, check.rows())
    figures = [
        (graph_path, f"The backward graph of the two-layer net's loss (drawn with {engine})."),
        (
            agreement_path,
            "Every weight's gradient from autograd against its finite difference (left; on the diagonal "
            "when they agree), and each parameter's relative error in float64 and float32 (right).",
        ),
        (
            eps_path,
            f"Worst relative error against the finite-difference step ({SWEEP_ENTRIES} entries per parameter "
            "at each step).",
        ),
    ]
    return LessonPage(paragraph=paragraph, figures=figures, numbers=numbers, tables=[table])
