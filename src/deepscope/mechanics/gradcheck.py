"""Automatic differentiation checked against finite differences, parameter by parameter, and
the backward graph of one loss with the gradient that flows through every node.

:func:`grad_check` works on any small ``torch.nn.Module`` and a batch ``(x, y)``: it computes
the loss's gradient with autograd and, entry by entry, with central finite differences
``(L(w + eps) - L(w - eps)) / (2 eps)``, and reports the largest disagreement per parameter.
:func:`backward_graph` walks ``loss.grad_fn`` and records the op nodes (``AddmmBackward0``,
``ReluBackward0``, ...), the leaves (parameters and the input) and the gradient norms autograd
sends through each; ``deepscope.plots.lessons_autodiff`` draws it.

torch is imported inside the functions, so importing ``deepscope.mechanics`` stays numpy-only.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from deepscope.errors import invalid

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "DTYPES",
    "BackwardGraph",
    "GraphNode",
    "GradCheck",
    "ParamGradCheck",
    "backward_graph",
    "grad_check",
    "relative_error",
]

DTYPES = ("float64", "float32")
MAX_GRAPH_NODES = 200  # a graph larger than this would not fit a figure
TINY = 1e-30  # relative_error's floor: two all-zero gradients agree exactly (0 / TINY = 0)


def relative_error(autograd: np.ndarray, numeric: np.ndarray) -> float:
    """max|a - f| / max(max|a|, max|f|): the worst entry's error in units of the parameter's
    largest gradient entry (0 when both are all zero).

    Per parameter rather than per entry: an entry whose true gradient is 0 (a dead ReLU unit, a
    pixel that is 0 in every sample) gets an exact 0 from autograd but roundoff (~1e-10 in
    float64) from finite differences, and an entrywise |a - f| / max(|a|, |f|) would call that
    a 100% error. A wrong formula for any entry still shows: its error is measured against the
    gradient's scale, not hidden by it."""
    a, f = np.asarray(autograd, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.size == 0:
        return 0.0
    scale = max(float(np.abs(a).max()), float(np.abs(f).max()), TINY)
    return float(np.abs(a - f).max()) / scale


@dataclass(frozen=True)
class ParamGradCheck:
    """One parameter: autograd and finite differences on the entries checked."""

    name: str  # as in model.named_parameters()
    shape: tuple[int, ...]
    size: int  # entries in the parameter
    index: np.ndarray  # (checked,) flat indices of the entries checked, ascending
    autograd: np.ndarray  # (checked,) dL/dw from autograd
    numeric: np.ndarray  # (checked,) the central finite difference

    @property
    def checked(self) -> int:
        return int(self.index.size)

    @property
    def max_grad(self) -> float:
        """Largest |autograd| entry checked."""
        return float(np.abs(self.autograd).max()) if self.checked else 0.0

    @property
    def max_abs_error(self) -> float:
        return float(np.abs(self.autograd - self.numeric).max()) if self.checked else 0.0

    @property
    def rel_error(self) -> float:
        """:func:`relative_error` of the entries checked."""
        return relative_error(self.autograd, self.numeric)


@dataclass(frozen=True)
class GradCheck:
    """Autograd against finite differences for every parameter of a model, on one batch."""

    params: tuple[ParamGradCheck, ...]
    loss: float  # the loss at the unperturbed weights
    eps: float  # finite-difference step
    dtype: str  # 'float64' or 'float32': the precision the check ran in
    sampled: bool  # True when some parameter had more entries than max_entries_per_param

    COLUMNS = ("parameter", "shape", "entries checked", "max |autograd|", "max |autograd - numeric|", "relative error")

    @property
    def worst(self) -> ParamGradCheck:
        """The parameter with the largest relative error."""
        return max(self.params, key=lambda p: p.rel_error)

    @property
    def worst_rel_error(self) -> float:
        return self.worst.rel_error

    @property
    def checked(self) -> int:
        """Entries checked, all parameters together."""
        return sum(p.checked for p in self.params)

    def rows(self) -> list[tuple[Any, ...]]:
        """One row per parameter, in :attr:`COLUMNS` order."""
        return [
            (
                p.name,
                "x".join(map(str, p.shape)) or "scalar",
                f"{p.checked}/{p.size}",
                p.max_grad,
                p.max_abs_error,
                p.rel_error,
            )
            for p in self.params
        ]

    def passed(self, tolerance: float = 1e-6) -> bool:
        return self.worst_rel_error < tolerance


def grad_check(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    eps: float = 1e-6,
    max_entries_per_param: int | None = 256,
    dtype: str = "float64",
    seed: int = 0,
) -> GradCheck:
    """Check ``model``'s autograd gradients of ``loss_fn(model(x), y)`` (default: cross-entropy
    on logits) against central finite differences, for every parameter that requires grad.

    Runs on a copy of the model in ``dtype`` (float64 by default: in float32 the roundoff of the
    loss, ~1e-7 relative, divided by ``eps`` swamps the difference) in eval mode (dropout off);
    ``model`` itself is left untouched. Floating ``x`` and ``y`` are cast to ``dtype``. A
    parameter with more than ``max_entries_per_param`` entries (None: no cap) is checked on that
    many entries drawn with ``seed``, and the result says so (``sampled``). Each entry costs two
    forward passes. The forward pass must be deterministic in eval mode. Each parameter's error
    is :func:`relative_error` (the worst entry against the parameter's largest gradient); a
    ReLU input within ``eps`` of its kink could make one entry disagree honestly, which in
    float64 with eps=1e-6 is rare.

    Not ``torch.autograd.gradcheck``: that checks a function of its *inputs* and answers pass or
    fail, while this checks the loss's gradient with respect to each *parameter* and reports the
    size of the disagreement per parameter (the table a gradient check is read from)."""
    import torch

    model, x, y, loss_fn = _checked_call(model, x, y, loss_fn, dtype)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1 or not math.isfinite(eps):
        raise invalid("eps", "a float in (0, 1)", eps)
    if max_entries_per_param is not None and (
        isinstance(max_entries_per_param, bool)
        or not isinstance(max_entries_per_param, int)
        or max_entries_per_param < 1
    ):
        raise invalid("max_entries_per_param", "an int >= 1 or None", max_entries_per_param)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]

    def loss_now() -> torch.Tensor:
        loss = loss_fn(model(x), y)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise invalid("loss_fn", "a function (output, y) -> scalar tensor", shape)
        return loss.reshape(())

    loss = loss_now()
    grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)  # None: p does not reach the loss
    generator = torch.Generator().manual_seed(seed)
    results, sampled = [], False
    with torch.no_grad():
        base = loss.detach().item()
        if float(loss_now()) != base:
            raise invalid("model", "a module whose forward pass is deterministic in eval mode", type(model).__name__)
        for (name, p), grad in zip(named, grads):
            index = _entries(p.numel(), max_entries_per_param, generator)
            sampled = sampled or index.size < p.numel()
            flat_grad = torch.zeros(p.numel(), dtype=p.dtype) if grad is None else grad.detach().reshape(-1).cpu()
            numeric = np.array([_central_difference(p, int(k), eps, loss_now) for k in index])
            results.append(
                ParamGradCheck(
                    name, tuple(p.shape), p.numel(), index, flat_grad[torch.from_numpy(index)].double().numpy(), numeric
                )
            )
    return GradCheck(tuple(results), base, float(eps), dtype, sampled)


def _entries(size: int, cap: int | None, generator: torch.Generator) -> np.ndarray:
    """All flat indices, or ``cap`` of them drawn without replacement (ascending)."""
    import torch

    if cap is None or size <= cap:
        return np.arange(size)
    return np.sort(torch.randperm(size, generator=generator)[:cap].numpy())


def _central_difference(p: torch.Tensor, k: int, eps: float, loss_now: Callable[[], torch.Tensor]) -> float:
    """(L(p_k + eps) - L(p_k - eps)) / (2 eps), with entry k (flat) of ``p`` restored after."""
    where = tuple(int(i) for i in np.unravel_index(k, tuple(p.shape)))
    original = p[where].item()
    try:
        p[where] = original + eps
        up = float(loss_now())
        p[where] = original - eps
        down = float(loss_now())
    finally:
        p[where] = original
    return (up - down) / (2 * eps)


def _checked_call(model: Any, x: Any, y: Any, loss_fn: Any, dtype: str):
    """Validate the arguments; a ``dtype`` copy of the model in eval mode, x and y cast and moved
    to its device, and the loss function."""
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        raise invalid("model", "a torch.nn.Module", type(model).__name__)
    if not isinstance(x, torch.Tensor):
        raise invalid("x", "a torch.Tensor (a batch of inputs)", type(x).__name__)
    if not isinstance(y, torch.Tensor):
        raise invalid("y", "a torch.Tensor (the batch's targets)", type(y).__name__)
    if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise invalid("y.shape", f"a batch matching x.shape={tuple(x.shape)} in its first dimension", tuple(y.shape))
    if loss_fn is not None and not callable(loss_fn):
        raise invalid("loss_fn", "a function (output, y) -> scalar tensor, or None (cross-entropy)", loss_fn)
    if dtype not in DTYPES:
        raise invalid("dtype", f"one of {list(DTYPES)}", dtype)
    if not any(p.requires_grad for p in model.parameters()):
        raise invalid("model", "a module with parameters that require grad", type(model).__name__)
    torch_dtype = getattr(torch, dtype)
    checked = copy.deepcopy(model).to(torch_dtype).eval()  # the user's model keeps its dtype and mode
    device = next(checked.parameters()).device
    x = x.detach().to(device, torch_dtype if x.is_floating_point() else x.dtype)
    y = y.detach().to(device, torch_dtype if y.is_floating_point() else y.dtype)
    return checked, x, y, loss_fn or nn.functional.cross_entropy


@dataclass(frozen=True)
class GraphNode:
    """One node of the backward graph: an op (its ``grad_fn`` name), or a leaf tensor."""

    label: str  # 'AddmmBackward0', a parameter name, or 'x'
    kind: str  # 'op', 'param' or 'input'
    shape: tuple[int, ...]  # the op's output shape / the leaf's shape
    grad_norm: float  # ||dL/d(output)|| for an op, ||dL/d(leaf)|| for a leaf
    grad: tuple[float, ...] | None  # the gradient's entries when it has at most 4, else None


@dataclass(frozen=True)
class BackwardGraph:
    """The graph autograd recorded for one loss: ``nodes[0]`` is the loss's ``grad_fn``; an
    edge (i, j) says that node i's output feeds node j in the forward pass (so the gradient
    flows from j back to i)."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[tuple[int, int], ...]
    loss: float


def backward_graph(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    dtype: str = "float64",
    max_nodes: int = MAX_GRAPH_NODES,
) -> BackwardGraph:
    """Run ``loss_fn(model(x), y)`` once (on a ``dtype`` copy of the model in eval mode, x made a
    leaf that requires grad) and walk ``loss.grad_fn``: every op node with the norm of the
    gradient autograd sends into it (read by a hook on the node), every parameter and the input
    as leaves with their gradients. More than ``max_nodes`` nodes raises an error."""
    import torch

    model, x, y, loss_fn = _checked_call(model, x, y, loss_fn, dtype)
    if x.is_floating_point():
        x.requires_grad_(True)
    names = {id(p): name for name, p in model.named_parameters()}
    names[id(x)] = "x"
    loss = loss_fn(model(x), y)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1 or loss.grad_fn is None:
        raise invalid("loss_fn", "a function (output, y) -> scalar tensor that depends on the parameters", loss_fn)
    order, edges, leaves = _walk(loss.grad_fn, max_nodes)
    seen: dict[int, tuple[tuple[int, ...], float]] = {}

    def remember(node: Any) -> Callable:
        def hook(grad_inputs: tuple, grad_outputs: tuple) -> None:
            outs = [g for g in grad_outputs if g is not None]
            norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in outs))
            seen[id(node)] = (tuple(outs[0].shape) if outs else (), norm)

        return hook

    handles = [node.register_hook(remember(node)) for node in order if id(node) not in leaves]
    try:
        tensors = [leaves[id(node)] for node in order if id(node) in leaves]
        grads = dict(zip(map(id, tensors), torch.autograd.grad(loss, tensors, allow_unused=True)))
    finally:
        for handle in handles:
            handle.remove()
    nodes = []
    for node in order:
        if id(node) in leaves:
            tensor = leaves[id(node)]
            grad = grads[id(tensor)]
            grad = torch.zeros_like(tensor) if grad is None else grad
            label = names.get(id(tensor), "tensor")
            values = tuple(float(v) for v in grad.reshape(-1)) if grad.numel() <= 4 else None
            kind = "input" if tensor is x else "param"
            nodes.append(GraphNode(label, kind, tuple(tensor.shape), float(grad.double().norm()), values))
        else:
            shape, norm = seen.get(id(node), ((), 0.0))
            nodes.append(GraphNode(node.name(), "op", shape, norm, None))
    return BackwardGraph(tuple(nodes), tuple(edges), loss.detach().item())


def _walk(root: Any, max_nodes: int) -> tuple[list, list[tuple[int, int]], dict[int, Any]]:
    """Nodes reachable from ``root`` through ``next_functions`` (depth first, root first), the
    forward edges (input node index, consumer node index) and the leaf tensor of every
    AccumulateGrad node (by node id)."""
    order: list = []
    index: dict[int, int] = {}
    leaves: dict[int, Any] = {}
    edges: list[tuple[int, int]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in index:
            continue
        if len(order) == max_nodes:
            raise invalid("max_nodes", f"at least the graph's size (more than {max_nodes} nodes)", max_nodes)
        index[id(node)] = len(order)
        order.append(node)
        if hasattr(node, "variable"):  # AccumulateGrad: the leaf tensor it accumulates into
            leaves[id(node)] = node.variable
        stack.extend(child for child, _ in reversed(node.next_functions) if child is not None)
    for node in order:
        for child, _ in node.next_functions:
            if child is not None:
                edges.append((index[id(child)], index[id(node)]))
    return order, sorted(set(edges)), leaves
