"""Lesson ``autodiff``: the lecture's two-layer net, its gradients from automatic
differentiation checked entry by entry against finite differences, and the backward graph
with the gradient that flows through every node."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from deepscope import data as datasets
from deepscope import zoo
from deepscope.errors import invalid
from deepscope.lessons.base import LessonPage, Table, register_lesson
from deepscope.mechanics.gradcheck import GradCheck, backward_graph, grad_check
from deepscope.plots import save_figure
from deepscope.plots.lessons_autodiff import eps_sweep_figure, grad_agreement_figure, save_backward_graph

__all__ = ["BATCH", "EPS", "HIDDEN", "SWEEP", "USER_ENTRIES", "autodiff", "lesson_batch", "lesson_model", "user_batch"]

HIDDEN = 8  # 64 -> 8 -> 10: 610 parameters, every one of them checked
BATCH = 16  # digits samples the loss is averaged over
EPS = 1e-6  # the finite-difference step of the main check
TOLERANCE = 1e-6  # float64 autograd and finite differences agree to better than this
SWEEP = tuple(10.0**-k for k in range(1, 11))  # eps from 1e-1 to 1e-10
SWEEP_ENTRIES = 16  # entries per parameter in each sweep point (drawn with the seed)
USER_ENTRIES = 256  # a user's model (--run): entries checked per parameter, drawn with the seed


def lesson_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``BATCH`` digits training samples chosen with ``seed``: x (B, 1, 8, 8), y (B,)."""
    digits = datasets.load("digits")
    x, y = digits.train.tensors[:2]
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:BATCH]
    return x[pick], y[pick]


def lesson_model(seed: int) -> torch.nn.Module:
    """The lecture's two-layer net on 8x8 digits: flatten -> dense(8) -> ReLU -> dense(10)."""
    return zoo.create("mlp", in_shape=(1, 8, 8), num_classes=10, hidden=HIDDEN, seed=seed)


def user_batch(model: torch.nn.Module, spec: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``BATCH`` validation samples (else training samples) of the classification data
    ``spec`` that a user's ``model`` reads, chosen with ``seed``: x (B, ...), y (B,)."""
    data = datasets.load(spec, seed=seed)
    if data.task != "classification" or not data.classes:
        raise invalid("run", "a classification run (the check differentiates the cross-entropy of its logits)", spec)
    split = data.val if len(data.val) else data.train
    x, y = split.tensors[:2]
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:BATCH]
    return x[pick], y[pick]


@register_lesson(
    "autodiff",
    order=3,
    title="Automatic differentiation, checked against finite differences",
    summary="the two-layer net's backward graph; autograd vs finite differences for every parameter "
    "(--run RUN: your own classifier's)",
    takes_model=True,
)
def autodiff(
    out: Path,
    *,
    seed: int,
    data: str | None,
    echo: Callable[[str], None],
    model: torch.nn.Module | None = None,
) -> LessonPage:
    """The lecture's two-layer net, every weight checked; or ``model``, a user's trained
    classifier reading ``data``, with up to USER_ENTRIES entries of each parameter checked."""
    own = model is not None
    if own:
        if not isinstance(model, torch.nn.Module):
            raise invalid("model", "a torch.nn.Module", type(model).__name__)
        x, y = user_batch(model, data, seed)
        entries, subject = USER_ENTRIES, f"{type(model).__name__} on {BATCH} samples of {data}"
    else:
        x, y = lesson_batch(seed)
        model = lesson_model(seed)
        entries, subject = None, f"the two-layer net on {BATCH} digits"
    echo(
        f"grad check of {subject} (float64, {'every entry' if entries is None else f'<= {entries} entries a parameter'})"
    )
    check = grad_check(model, x, y, eps=EPS, max_entries_per_param=entries, seed=seed)
    single = grad_check(model, x, y, eps=EPS, max_entries_per_param=entries, dtype="float32", seed=seed)
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
        "model": subject if own else f"mlp(hidden={HIDDEN}) on 8x8 digits",
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
    what = (
        f"checked of {subject} (cross-entropy, float64; up to {USER_ENTRIES} entries of each parameter, "
        "drawn with the seed)"
        if own
        else f"of the two-layer net (64 -> {HIDDEN} -> 10, cross-entropy on {BATCH} digits, float64)"
    )
    paragraph = (
        f"Autograd computes every gradient of the loss in one backward pass through the graph that the forward "
        f"pass recorded. Here it is checked the slow way: for each of the {check.checked} weights {what}, "
        f"nudge the weight by +-{EPS:g}, recompute the loss, and take the slope (L(w+eps) - L(w-eps)) / (2 eps). "
        f"The worst relative error, max|autograd - numeric| / max(|autograd|, |numeric|) per parameter, is "
        f"{check.worst_rel_error:.1e} ({worst.name}). The same check in float32 is off by "
        f"{single.worst_rel_error:.1e}: the loss's roundoff divided by a tiny eps swamps the slope, which is "
        f"why gradient checks run in float64 (and why eps can be neither too large nor too small, see the "
        f"sweep). The graph shows what backward walked: the ops autograd recorded, the parameters and the "
        f"input as leaves, and in red the size of the gradient sent back into each node. "
        f"deepscope.mechanics.grad_check(model, x, y) runs the same check on any small model."
    )
    table = Table(f"Autograd against finite differences (eps={EPS:g}, float64)", GradCheck.COLUMNS, check.rows())
    figures = [
        (
            graph_path,
            f"The backward graph of {'the model' if own else 'the two-layer net'}'s loss (drawn with {engine}).",
        ),
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
