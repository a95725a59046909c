"""Capsules: squash's norm property, and the vectorised routing against a plain-loop
implementation of routing by agreement (Sabour et al. 2017, Procedure 1), values and gradients."""

from __future__ import annotations

import pytest
import torch

from deepscope.errors import InvalidArgumentError
from deepscope.nn import Capsule, squash


@pytest.mark.parametrize("k", [1.0, 0.5])
def test_squash_keeps_the_direction_and_maps_the_length_to_s2_over_k_plus_s2(k):
    s = (
        torch.randn(4, 6, 8, dtype=torch.float64)
        * torch.tensor([0.1, 1.0, 3.0, 10.0], dtype=torch.float64)[:, None, None]
    )
    v = squash(s, k=k)
    length, v_length = s.norm(dim=-1), v.norm(dim=-1)  # (4, 6)
    torch.testing.assert_close(v_length, length**2 / (k + length**2))
    cosine = (s * v).sum(-1) / (length * v_length)
    torch.testing.assert_close(cosine, torch.ones_like(cosine))
    assert bool((v_length < 1).all())


def test_squash_of_a_unit_vector_has_length_a_half_and_zero_stays_zero_with_a_finite_gradient():
    unit = torch.tensor([[0.6, 0.8]])
    assert float(squash(unit).norm()) == pytest.approx(0.5, abs=1e-6)
    zero = torch.zeros(1, 3, requires_grad=True)
    out = squash(zero)
    out.sum().backward()
    assert torch.equal(out.detach(), torch.zeros(1, 3)) and torch.isfinite(zero.grad).all()


def test_squash_works_along_any_dimension():
    s = torch.randn(2, 5, 3)
    torch.testing.assert_close(squash(s, dim=1), squash(s.transpose(1, 2)).transpose(1, 2))


def _reference_routing(u, weight, capsules, dim, routings, accumulate, k):
    """Routing by agreement written as the paper states it, one sample, input and output at a time."""
    n_samples, n_in, _ = u.shape
    outputs = []
    for n in range(n_samples):
        # u_hat[j][i] = u_i W_ij: input capsule i's prediction of output capsule j
        u_hat = [
            [u[n, i] @ weight[0 if len(weight) == 1 else i][:, j * dim : (j + 1) * dim] for i in range(n_in)]
            for j in range(capsules)
        ]
        b = [[torch.zeros((), dtype=u.dtype) for _ in range(n_in)] for _ in range(capsules)]
        for r in range(routings):
            c = [[None] * n_in for _ in range(capsules)]
            for i in range(n_in):  # c_i = softmax over the outputs j of b_ij
                total = sum(torch.exp(b[j][i]) for j in range(capsules))
                for j in range(capsules):
                    c[j][i] = torch.exp(b[j][i]) / total
            v = []
            for j in range(capsules):
                s = sum(c[j][i] * u_hat[j][i] for i in range(n_in))
                norm = torch.sqrt((s * s).sum())
                v.append(norm**2 / (k + norm**2) * s / norm)
            if r < routings - 1:
                for j in range(capsules):
                    for i in range(n_in):
                        agreement = (u_hat[j][i] * v[j]).sum()
                        b[j][i] = b[j][i] + agreement if accumulate else agreement
        outputs.append(torch.stack(v))
    return torch.stack(outputs)  # (N, J, D)


@pytest.mark.parametrize(
    "shared, accumulate, k, routings",
    [(True, True, 1.0, 3), (False, True, 1.0, 3), (True, False, 0.5, 3), (False, False, 0.5, 1), (True, True, 1.0, 5)],
)
def test_routing_matches_the_plain_loop_reference_in_values_and_gradients(shared, accumulate, k, routings):
    torch.manual_seed(0)
    n_in, in_dim, capsules, dim = 5, 4, 3, 6
    layer = Capsule(
        in_dim, capsules, dim, routings=routings, shared=shared, in_capsules=n_in, accumulate=accumulate, k=k
    ).double()
    u = torch.randn(2, n_in, in_dim, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(2, capsules, dim, dtype=torch.float64)  # a random linear read-out for the gradients

    out = layer(u)
    expected = _reference_routing(u, layer.weight, capsules, dim, routings, accumulate, k)
    # tolerances: squash's eps (1e-7 under |s|^2, Keras' epsilon) moves float64 results by ~1e-7
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)

    grads = torch.autograd.grad((out * weights).sum(), [u, layer.weight])
    expected_grads = torch.autograd.grad((expected * weights).sum(), [u, layer.weight])
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        assert float(want.abs().max()) > 1e-3  # the gradient is not trivially zero


def test_routing_moves_weight_towards_the_agreeing_outputs():
    """Three inputs predict output 0 identically and output 1 in scattered directions: after
    routing, output 0 is longer than after one uniform pass."""
    layer = Capsule(2, 2, 2, routings=1, shared=False, in_capsules=3).double()
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[:, 0, 0] = 1.0  # output 0 gets (u_0, 0) from every input: they agree
        layer.weight[0, 0, 2], layer.weight[1, 0, 3], layer.weight[2, 0, 2] = 1.0, 1.0, -1.0  # output 1: they disagree
    u = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]], dtype=torch.float64)
    one = layer(u).norm(dim=-1)[0]
    layer.routings = 3
    three = layer(u).norm(dim=-1)[0]
    assert one[0] > one[1] and three[0] > one[0] and three[1] < one[1]


def test_shared_weights_take_any_number_of_input_capsules():
    layer = Capsule(8, 10, 16)
    assert layer(torch.randn(2, 7, 8)).shape == (2, 10, 16)
    assert layer(torch.randn(2, 100, 8)).shape == (2, 10, 16)
    assert sum(p.numel() for p in layer.parameters()) == 8 * 10 * 16  # Keras: kernel (1, 8, 160), no bias


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"routings": 0}, "`routings` must be a positive int"),
        ({"shared": False}, "`in_capsules` must be a positive int when shared=False"),
        ({"k": 0.0}, "`k` must be a float > 0. Received: k=0.0"),
    ],
)
def test_capsule_rejects_bad_settings(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Capsule(4, 3, 2, **kwargs)


def test_capsule_rejects_inputs_of_the_wrong_shape():
    with pytest.raises(InvalidArgumentError, match=r"`u.shape` must be \(N, input capsules, in_dim\)"):
        Capsule(4, 3, 2)(torch.randn(2, 4))
    with pytest.raises(InvalidArgumentError, match=r"`u.shape\[1\]` must be 5 input capsules"):
        Capsule(4, 3, 2, shared=False, in_capsules=5)(torch.randn(2, 6, 4))
