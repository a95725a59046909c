"""Capsules with dynamic routing (Sabour, Frosst & Hinton 2017, "Dynamic Routing Between
Capsules").

A capsule is a vector whose length says how likely an entity is present and whose direction
says how it looks. Each input capsule u_i predicts every output capsule j through its own
matrix (``u_hat[j, i] = W_ij u_i``, or one matrix per j shared by all i); the outputs are
squashed weighted sums of the predictions, and *routing by agreement* moves each input's
weight towards the outputs its predictions agree with. torch has no capsule layer; the
routing loop (a few iterations, 3 by default) is the algorithm itself, and everything inside
an iteration is one batched product over samples, inputs and outputs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepscope.errors import invalid

__all__ = ["Capsule", "squash"]


def squash(s: torch.Tensor, dim: int = -1, k: float = 1.0, eps: float = 1e-7) -> torch.Tensor:
    """Shrink vectors ``s`` (any shape, vectors along ``dim``) to lengths in [0, 1), keeping
    their directions: ``v = |s|^2 / (k + |s|^2) * s / |s|``.

    ``k = 1`` is the paper's squash (a length-1 vector becomes length 0.5); Keras'
    cifar10_cnn_capsule example uses ``k = 0.5``, which lengthens vectors of length above
    sqrt(0.5) more. ``eps`` keeps the gradient finite at s = 0."""
    squared = s.pow(2).sum(dim=dim, keepdim=True)  # |s|^2, (..., 1, ...)
    return s * (torch.sqrt(squared + eps) / (k + squared))  # = s/|s| * |s|^2/(k + |s|^2) as eps -> 0


class Capsule(nn.Module):
    """A layer of ``capsules`` output capsules of ``capsule_dim`` values, routed from input
    capsules u (N, I, in_dim) to outputs v (N, capsules, capsule_dim).

    ``shared=True`` (Keras' example): one transformation matrix per output capsule, shared by
    all inputs, so the layer takes any number of input capsules. ``shared=False`` (the paper):
    one matrix per (input, output) pair, for exactly ``in_capsules`` inputs.

    Routing, for ``routings`` iterations (logits b (N, J, I) start at 0):
    ``c = softmax_j(b)``; ``v_j = squash(sum_i c_ij u_hat_j|i)``; then the agreement
    ``a_ij = <u_hat_j|i, v_j>`` updates ``b += a`` (the paper), or with ``accumulate=False``
    replaces it, ``b = a`` (Keras' example, which reports the replacement learns better
    features). ``k`` is :func:`squash`'s constant. Gradients flow through every routing
    iteration, as in the paper's and Keras' implementations."""

    def __init__(
        self,
        in_dim: int,
        capsules: int,
        capsule_dim: int,
        *,
        routings: int = 3,
        shared: bool = True,
        in_capsules: int | None = None,
        accumulate: bool = True,
        k: float = 1.0,
    ):
        super().__init__()
        for name, value in (("in_dim", in_dim), ("capsules", capsules), ("capsule_dim", capsule_dim)):
            if not isinstance(value, int) or value < 1:
                raise invalid(name, "a positive int", value)
        if not isinstance(routings, int) or routings < 1:
            raise invalid("routings", "a positive int (iterations of routing by agreement)", routings)
        if not shared and (not isinstance(in_capsules, int) or in_capsules < 1):
            raise invalid("in_capsules", "a positive int when shared=False (one matrix per input capsule)", in_capsules)
        if not isinstance(k, (int, float)) or not k > 0:
            raise invalid("k", "a float > 0", k)
        self.capsules, self.capsule_dim, self.routings = capsules, capsule_dim, routings
        self.shared, self.in_capsules, self.accumulate, self.k = shared, in_capsules, accumulate, k
        rows = 1 if shared else in_capsules
        # Glorot-uniform per matrix, as Keras initialises the capsule kernel.
        bound = math.sqrt(6.0 / (in_dim + capsules * capsule_dim))
        self.weight = nn.Parameter(torch.empty(rows, in_dim, capsules * capsule_dim).uniform_(-bound, bound))

    def predictions(self, u: torch.Tensor) -> torch.Tensor:
        """Every input capsule's prediction of every output capsule: u (N, I, in_dim) ->
        u_hat (N, J, I, capsule_dim)."""
        if u.ndim != 3:
            raise invalid("u.shape", "(N, input capsules, in_dim)", tuple(u.shape))
        if not self.shared and u.shape[1] != self.in_capsules:
            raise invalid("u.shape[1]", f"{self.in_capsules} input capsules (shared=False)", u.shape[1])
        if self.shared:
            u_hat = u @ self.weight[0]  # (N, I, J*D)
        else:
            u_hat = torch.einsum("nik,ikm->nim", u, self.weight)  # (N, I, J*D)
        n, i = u.shape[:2]
        return u_hat.view(n, i, self.capsules, self.capsule_dim).transpose(1, 2)  # (N, J, I, D)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        u_hat = self.predictions(u)
        with torch.autocast(u.device.type, enabled=False):  # routing softmaxes and squashes in fp32
            u_hat = u_hat.to(torch.promote_types(u_hat.dtype, torch.float32))  # fp16/bf16 -> fp32
            b = u_hat.new_zeros(u_hat.shape[:3])  # (N, J, I) routing logits
            for iteration in range(self.routings):  # each iteration needs the previous outputs
                c = torch.softmax(b, dim=1)  # (N, J, I): each input's weights over the outputs sum to 1
                v = squash(torch.einsum("nji,njid->njd", c, u_hat), k=self.k)  # (N, J, D)
                if iteration < self.routings - 1:
                    agreement = torch.einsum("njd,njid->nji", v, u_hat)  # (N, J, I)
                    b = b + agreement if self.accumulate else agreement
        return v

    def extra_repr(self) -> str:
        inputs = "shared" if self.shared else f"in_capsules={self.in_capsules}"
        return (
            f"capsules={self.capsules}, capsule_dim={self.capsule_dim}, routings={self.routings}, {inputs}, "
            f"accumulate={self.accumulate}, k={self.k}"
        )
