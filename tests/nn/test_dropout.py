"""deepscope.nn.Dropout: nn.Dropout's semantics with a cheaper CPU mask."""

from __future__ import annotations

import pytest
import torch

from deepscope.errors import InvalidArgumentError
from deepscope.nn import Dropout


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_drops_at_the_rate_and_keeps_the_mean(p):
    torch.manual_seed(0)
    x = torch.ones(400, 500)
    y = Dropout(p).train()(x)
    dropped = (y == 0).float().mean().item()
    assert abs(dropped - p) < 0.005  # 200,000 draws: the standard error is ~0.001
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / (1 - p)))
    assert abs(y.mean().item() - 1.0) < 0.01


def test_masks_differ_between_elements_and_calls_and_follow_the_seed():
    layer = Dropout(0.5).train()
    x = torch.ones(64, 33)  # not a multiple of 4 elements per row: the tail is used too
    torch.manual_seed(1)
    a, b = layer(x), layer(x)
    torch.manual_seed(1)
    assert torch.equal(layer(x), a) and not torch.equal(a, b)
    assert 0.3 < (a[:, -1] == 0).float().mean() < 0.7  # the last column is masked too


def test_eval_mode_is_the_identity_and_gradients_flow_through_kept_elements():
    layer = Dropout(0.3)
    x = torch.randn(10, 7, requires_grad=True)
    assert layer.eval()(x) is x
    y = layer.train()(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(grad, (y != 0).float() / 0.7)


def test_a_rate_outside_0_1_is_refused():
    with pytest.raises(InvalidArgumentError, match=r"`p` must be a dropout rate in \[0, 1\)"):
        Dropout(1.0)
