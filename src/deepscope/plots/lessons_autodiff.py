"""Figures of the autodiff lesson: the backward graph with the gradient written on every node,
autograd against finite differences per parameter, and the finite-difference error against the
step size.

The graph is drawn with Graphviz when the ``graphviz`` package imports and its ``dot`` program
is on the PATH (:func:`backward_graph_dot` writes the DOT source), else with matplotlib in
layers: the input on the left, the loss on the right (:func:`backward_graph_figure`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from deepscope.atomic import atomic_write
from deepscope.errors import invalid
from deepscope.mechanics.gradcheck import BackwardGraph, GradCheck, GraphNode
from deepscope.plots.training import new_figure, save_figure

__all__ = [
    "MAX_DRAWN_NODES",
    "backward_graph_dot",
    "backward_graph_figure",
    "eps_sweep_figure",
    "grad_agreement_figure",
    "graph_layout",
    "save_backward_graph",
]

MAX_DRAWN_NODES = 60  # beyond this the boxes overlap; draw a smaller model
FILL = {"op": "#fff3c4", "param": "#cfe3f7", "input": "#e6e6e6", "loss": "#ffcc99"}
GRAD_COLOR = "#c62828"


def _check_graph(graph: BackwardGraph) -> None:
    if not isinstance(graph, BackwardGraph):
        raise invalid("graph", "a BackwardGraph (deepscope.mechanics.gradcheck.backward_graph)", type(graph).__name__)
    if len(graph.nodes) > MAX_DRAWN_NODES:
        raise invalid("graph", f"a graph of at most {MAX_DRAWN_NODES} nodes (draw a smaller model)", len(graph.nodes))


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")" if shape else "scalar"


def _grad_text(node: GraphNode, root: bool) -> str:
    if root:
        return "dL/dL = 1"
    if node.grad is not None:
        return "grad = [" + ", ".join(f"{v:.3g}" for v in node.grad) + "]"
    return f"|grad| = {node.grad_norm:.3g}"


def _kind(graph: BackwardGraph, i: int) -> str:
    return "loss" if i == 0 else graph.nodes[i].kind


def graph_layout(graph: BackwardGraph) -> np.ndarray:
    """(n, 2) positions: column = the loss's distance minus the longest path from the loss to
    the node (so every edge points right, the loss is rightmost); within a column, nodes sorted
    by the mean height of the nodes they feed (fewer crossings), one unit apart."""
    n = len(graph.nodes)
    depth = np.zeros(n, dtype=int)
    consumers: dict[int, list[int]] = {i: [] for i in range(n)}
    for src, dst in graph.edges:
        consumers[src].append(dst)
    for _ in range(n):  # longest path from the root (a DAG: at most n relaxations)
        changed = False
        for src, dst in graph.edges:
            if depth[src] < depth[dst] + 1:
                depth[src], changed = depth[dst] + 1, True
        if not changed:
            break
    xy = np.zeros((n, 2))
    for d in range(int(depth.max()) + 1):
        column = [i for i in range(n) if depth[i] == d]
        wish = [np.mean([xy[c, 1] for c in consumers[i]]) if consumers[i] else 0.0 for i in column]
        ordered = [i for _, i in sorted(zip(wish, column), reverse=True)]  # highest wish on top
        centre = float(np.mean(wish))
        for rank, i in enumerate(ordered):
            xy[i] = (depth.max() - d, centre + (len(ordered) - 1) / 2 - rank)
    return xy


def backward_graph_figure(graph: BackwardGraph, title: str = "") -> Figure:
    """The backward graph in layers: boxes for the ops (their ``grad_fn`` names and output
    shapes), the parameters and the input; arrows in the forward direction; in red, the size of
    the gradient autograd sends back into each node (the values when a gradient has at most 4
    entries)."""
    _check_graph(graph)
    xy = graph_layout(graph)
    columns = int(xy[:, 0].max()) + 1
    rows = max(int(np.sum(xy[:, 0] == c)) for c in range(columns))
    fig = new_figure(max(6.0, 2.3 * columns), max(3.5, 1.35 * rows + 1.2))
    ax = fig.subplots()
    boxes = []
    for i, node in enumerate(graph.nodes):
        kind = _kind(graph, i)
        name = f"loss = {graph.loss:.4g}\n{node.label}" if i == 0 else node.label
        text = ax.text(
            xy[i, 0],
            xy[i, 1],
            f"{name}\n{_shape(node.shape)}",
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.4", "fc": FILL[kind], "ec": "#555555"},
            zorder=3,
        )
        ax.text(
            xy[i, 0], xy[i, 1] - 0.24, _grad_text(node, i == 0), ha="center", va="top", fontsize=8, color=GRAD_COLOR
        )
        boxes.append(text)
    for src, dst in graph.edges:
        ax.annotate(
            "",
            xy=tuple(xy[dst]),
            xytext=tuple(xy[src]),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#666666",
                "patchA": boxes[src].get_bbox_patch(),
                "patchB": boxes[dst].get_bbox_patch(),
                "shrinkA": 4,
                "shrinkB": 4,
                "connectionstyle": "arc3,rad=0.0",
            },
            zorder=2,
        )
    ax.set_xlim(-0.7, columns - 0.3)
    ax.set_ylim(xy[:, 1].min() - 0.8, xy[:, 1].max() + 0.6)
    ax.axis("off")
    ax.set_title(
        title or "Forward pass left to right; in red, the gradient autograd sends back into each node", fontsize=10
    )
    return fig


def backward_graph_dot(graph: BackwardGraph) -> str:
    """The graph as Graphviz DOT source (left to right, same colours and labels as the
    matplotlib drawing)."""
    _check_graph(graph)

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    lines = [
        "digraph backward {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
    ]
    for i, node in enumerate(graph.nodes):
        name = f"loss = {graph.loss:.4g}\n{node.label}" if i == 0 else node.label
        label = f"{name}\n{_shape(node.shape)}\n{_grad_text(node, i == 0)}"
        lines.append(f"  n{i} [label={quote(label)}, fillcolor={quote(FILL[_kind(graph, i)])}];")
    lines.extend(f"  n{src} -> n{dst};" for src, dst in graph.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def save_backward_graph(graph: BackwardGraph, path: str | Path, *, engine: str = "auto") -> tuple[Path, str]:
    """Write the graph to PNG ``path``: with Graphviz (``engine='auto'`` when the ``graphviz``
    package imports and ``dot`` is on the PATH, or ``'graphviz'``), else with matplotlib.
    Returns the path and the engine used."""
    if engine not in ("auto", "graphviz", "matplotlib"):
        raise invalid("engine", "'auto', 'graphviz' or 'matplotlib'", engine)
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise invalid("path", "a file name ending in .png", str(path))
    if engine == "auto":
        engine = "graphviz" if _graphviz_available() else "matplotlib"
    if engine == "graphviz":
        if not _graphviz_available():
            raise invalid(
                "engine", "'auto' or 'matplotlib' (the graphviz package or its dot program is missing)", engine
            )
        import graphviz

        png = graphviz.Source(backward_graph_dot(graph)).pipe(format="png")
        atomic_write(path, lambda tmp: tmp.write_bytes(png))
        return path, engine
    return save_figure(backward_graph_figure(graph), path), engine


def _graphviz_available() -> bool:
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def grad_agreement_figure(check: GradCheck, compare: GradCheck | None = None, tolerance: float = 1e-6) -> Figure:
    """Left: every entry checked, autograd (x) against the finite difference (y), one colour
    per parameter, on the diagonal when they agree. Right: each parameter's relative error
    (log scale) against ``tolerance``, beside ``compare``'s (e.g. the same check in float32)."""
    if not isinstance(check, GradCheck) or (compare is not None and not isinstance(compare, GradCheck)):
        raise invalid("check", "a GradCheck (deepscope.mechanics.grad_check)", type(check).__name__)
    fig = new_figure(12, 4.6)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.3])
    for p in check.params:
        left.scatter(p.autograd, p.numeric, s=9, alpha=0.7, label=p.name)
    values = np.concatenate([np.concatenate([p.autograd, p.numeric]) for p in check.params])
    lo, hi = float(values.min()), float(values.max())
    left.plot([lo, hi], [lo, hi], color="#333333", lw=0.8, ls="--", zorder=0, label="agreement")
    left.set_xlabel("autograd dL/dw")
    left.set_ylabel(f"finite difference, eps={check.eps:g}")
    left.set_title(f"{check.checked} entries, {check.dtype}", fontsize=10)
    left.legend(fontsize=7, loc="upper left")
    runs = [check] + ([compare] if compare is not None else [])
    width = 0.8 / len(runs)
    positions = np.arange(len(check.params))
    for k, run in enumerate(runs):
        errors = np.array([max(p.rel_error, 1e-18) for p in run.params])  # log scale: 0 drawn at 1e-18
        right.bar(positions + (k - (len(runs) - 1) / 2) * width, errors, width, label=f"{run.dtype}, eps={run.eps:g}")
    right.axhline(tolerance, color=GRAD_COLOR, lw=1, ls="--", label=f"tolerance {tolerance:g}")
    right.set_yscale("log")
    top = max(max(p.rel_error for p in run.params) for run in runs)
    right.set_ylim(top=max(top, tolerance) * 1e3)  # room for the legend above the bars
    right.set_xticks(positions, [p.name for p in check.params], rotation=30 if len(positions) > 4 else 0, fontsize=8)
    right.set_ylabel("relative error max|a - f| / max(|a|, |f|)")
    right.set_title("Relative error per parameter", fontsize=10)
    right.legend(fontsize=8)
    return fig


def eps_sweep_figure(eps: Sequence[float], errors: Mapping[str, Sequence[float]]) -> Figure:
    """The worst relative error of the finite differences against their step ``eps``, one line
    per precision (``errors``: name -> one error per eps): too large a step and the curvature
    (truncation, ~eps**2) spoils the slope, too small and the loss's roundoff (~1/eps) does."""
    steps = np.asarray(eps, dtype=float)
    if steps.ndim != 1 or steps.size < 2 or np.any(steps <= 0):
        raise invalid("eps", "at least two positive step sizes", eps)
    fig = new_figure(7.5, 4.6)
    ax = fig.subplots()
    for name, values in errors.items():
        values = np.asarray(values, dtype=float)
        if values.shape != steps.shape:
            raise invalid(f"errors[{name!r}]", f"{steps.size} errors (one per eps)", values.shape)
        ax.plot(steps, np.maximum(values, 1e-18), marker="o", label=name)
        best = int(np.argmin(values))
        ax.annotate(
            f"best {values[best]:.1e}\nat eps={steps[best]:g}",
            (steps[best], values[best]),
            textcoords="offset points",
            xytext=(0, -28),
            ha="center",
            fontsize=8,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    lowest = min(max(float(np.min(values)), 1e-18) for values in errors.values())
    ax.set_ylim(bottom=lowest / 100)  # room for the 'best' labels under the curves
    ax.invert_xaxis()
    ax.set_xlabel("finite-difference step eps (smaller to the right)")
    ax.set_ylabel("worst relative error")
    ax.set_title("Truncation error falls with eps, roundoff grows as 1/eps", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
