from __future__ import annotations

import pytest
import torch

from deepscope.errors import InvalidArgumentError, UnknownNameError
from deepscope.train.optim import OPTIMIZERS, make_optimizer, make_schedule


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_named_optimizer_reduces_a_quadratic(name):
    w = torch.nn.Parameter(torch.tensor([3.0, -2.0]))
    # Adadelta's lr scales an adaptive step that starts tiny (Zeiler 2012), hence the larger value.
    opt = make_optimizer(name, [w], lr=20.0 if name == "adadelta" else 0.05)
    start = float((w.detach() ** 2).sum())
    for _ in range(100):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert float((w.detach() ** 2).sum()) < 0.5 * start


def test_onecycle_warms_up_then_anneals():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = make_optimizer("sgd", [w], lr=0.1)
    sched = make_schedule("onecycle", opt, lr=0.1, epochs=2, steps_per_epoch=10)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    peak = lrs.index(max(lrs))
    assert 3 <= peak <= 6 and max(lrs) == pytest.approx(0.1, rel=1e-3) and lrs[-1] < 1e-3


def test_unknown_schedule_and_bad_lr():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = make_optimizer("sgd", [w], lr=0.1)
    with pytest.raises(UnknownNameError, match="Did you mean 'cosine'"):
        make_schedule("cosin", opt, lr=0.1, epochs=1, steps_per_epoch=1)
    with pytest.raises(InvalidArgumentError, match=r"`lr` must be a positive number. Received: lr=-1"):
        make_optimizer("adam", [w], lr=-1)
