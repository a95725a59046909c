"""grad_check: autograd agrees with finite differences in float64 on real small models, and a
wrong gradient (a bad backward formula, a detached path) is caught; backward_graph records
the ops, the leaves and the gradients autograd sends through them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from deepscope import zoo
from deepscope.errors import InvalidArgumentError
from deepscope.mechanics import GradCheck, grad_check
from deepscope.mechanics.gradcheck import backward_graph, relative_error


def _mlp() -> nn.Module:
    return zoo.create("mlp", in_shape=(1, 8, 8), num_classes=10, hidden=8, seed=0)


def _batch(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


class TinyConv(nn.Module):
    """conv -> batch norm -> ReLU -> max-pool -> dropout -> dense: (N, 1, 6, 6) -> (N, 3)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)  # (N, 2, 4, 4)
        self.norm = nn.BatchNorm2d(2)
        self.drop = nn.Dropout(0.5)  # must be off during the check
        self.head = nn.Linear(2 * 2 * 2, 3)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.norm(self.conv(x))), 2)  # (N, 2, 2, 2)
        return self.head(self.drop(x.flatten(1)))


class WrongTanh(torch.autograd.Function):
    """tanh whose backward forgets to square: 1 - y instead of 1 - y**2."""

    @staticmethod
    def forward(ctx, x):
        y = torch.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y)


class WrongNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.last = nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, x):
        return self.last(WrongTanh.apply(self.first(x)))


class DetachedNet(nn.Module):
    """A shortcut whose output is detached: autograd sees no gradient for ``side``, the loss
    does depend on it."""

    def __init__(self):
        super().__init__()
        self.main, self.side = nn.Linear(4, 3), nn.Linear(4, 3)

    def forward(self, x):
        return self.main(x) + self.side(x).detach()


def test_two_layer_net_agrees_with_finite_differences_in_float64():
    model = _mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    check = grad_check(model, *_batch(), max_entries_per_param=None)
    assert isinstance(check, GradCheck)
    assert check.worst_rel_error < 1e-6
    assert check.checked == sum(p.numel() for p in model.parameters()) == 610 and not check.sampled
    assert [p.name for p in check.params] == ["1.weight", "1.bias", "3.weight", "3.bias"]
    assert all(p.max_grad > 1e-3 for p in check.params)  # real gradients, not zeros agreeing with zeros
    # the user's model is untouched: dtype, mode and weights
    assert model.training and next(model.parameters()).dtype == torch.float32
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_tiny_conv_net_agrees_in_eval_mode_with_sampled_entries():
    model = TinyConv()
    x = torch.randn(5, 1, 6, 6, generator=torch.Generator().manual_seed(2))
    model.train()(x)  # non-trivial running statistics for the batch norm
    y = torch.tensor([0, 1, 2, 1, 0])
    check = grad_check(model, x, y, max_entries_per_param=10)
    assert check.worst_rel_error < 1e-6
    assert check.sampled
    by_name = {p.name: p for p in check.params}
    assert by_name["conv.weight"].checked == 10 and by_name["conv.weight"].size == 18
    assert by_name["conv.bias"].checked == 2  # fewer entries than the cap: all of them


def test_a_wrong_backward_formula_is_caught():
    model = WrongNet()
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(3))
    y = torch.randint(0, 3, (8,), generator=torch.Generator().manual_seed(4))
    check = grad_check(model, x, y)
    errors = {p.name: p.rel_error for p in check.params}
    assert errors["first.weight"] > 1e-2 and errors["first.bias"] > 1e-2  # behind the bad op
    assert errors["last.weight"] < 1e-6 and errors["last.bias"] < 1e-6  # after it: correct
    assert not check.passed() and check.worst.name.startswith("first.")


def test_a_detached_path_is_caught():
    model = DetachedNet()
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(5))
    y = torch.randint(0, 3, (8,), generator=torch.Generator().manual_seed(6))
    check = grad_check(model, x, y)
    errors = {p.name: p.rel_error for p in check.params}
    assert errors["side.weight"] == pytest.approx(1.0) and errors["side.bias"] == pytest.approx(1.0)
    assert errors["main.weight"] < 1e-6 and errors["main.bias"] < 1e-6
    side = next(p for p in check.params if p.name == "side.weight")
    assert np.all(side.autograd == 0) and np.abs(side.numeric).max() > 1e-3


def test_float32_finite_differences_are_swamped_by_roundoff():
    check = grad_check(_mlp(), *_batch(), dtype="float32")
    assert check.dtype == "float32" and check.worst_rel_error > 1e-2


def test_custom_loss_function_for_regression():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x, y = torch.randn(7, 3), torch.randn(7, 2)
    check = grad_check(model, x, y, loss_fn=nn.functional.mse_loss)
    assert check.worst_rel_error < 1e-6
    with torch.no_grad():
        expected = float(nn.functional.mse_loss(model.double()(x.double()), y.double()))
    assert check.loss == pytest.approx(expected)


def test_sampled_entries_depend_on_the_seed_only():
    model, (x, y) = _mlp(), _batch()
    a = grad_check(model, x, y, max_entries_per_param=5, seed=1)
    b = grad_check(model, x, y, max_entries_per_param=5, seed=1)
    c = grad_check(model, x, y, max_entries_per_param=5, seed=2)
    assert [p.index.tolist() for p in a.params] == [p.index.tolist() for p in b.params]
    assert a.params[0].index.tolist() != c.params[0].index.tolist()
    assert all(p.checked == 5 for p in a.params)


def test_rows_follow_the_columns():
    check = grad_check(_mlp(), *_batch(), max_entries_per_param=4)
    rows = check.rows()
    assert len(rows) == 4 and all(len(row) == len(GradCheck.COLUMNS) for row in rows)
    assert rows[0][:3] == ("1.weight", "8x64", "4/512")
    assert rows[0][5] == check.params[0].rel_error


def test_relative_error_is_measured_against_the_gradient_scale():
    # a zero gradient that finite differences see as roundoff does not count as a 100% error
    assert relative_error(np.array([0.0, 2.0]), np.array([1e-10, 2.0])) == pytest.approx(5e-11)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([1.0, -1.0]), np.array([1.0, 1.0])) == pytest.approx(2.0)
    assert relative_error(np.array([]), np.array([])) == 0.0


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x):
        return self.lin(x) + torch.rand(3)  # random in eval mode too


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x, y: grad_check("mlp", x, y), "`model` must be a torch.nn.Module. Received: model='str'"),
        (lambda x, y: grad_check(nn.Linear(4, 3), x.numpy(), y), "`x` must be a torch.Tensor"),
        (lambda x, y: grad_check(nn.Linear(4, 3), x, y[:3]), "`y.shape` must be a batch matching x.shape=(6, 4)"),
        (lambda x, y: grad_check(nn.Linear(4, 3), x, y, eps=0), "`eps` must be a float in (0, 1). Received: eps=0"),
        (lambda x, y: grad_check(nn.Linear(4, 3), x, y, dtype="float16"), "`dtype` must be one of"),
        (lambda x, y: grad_check(nn.Linear(4, 3), x, y, max_entries_per_param=0), "`max_entries_per_param` must be"),
        (lambda x, y: grad_check(nn.Linear(4, 3), x, y, loss_fn="mse"), "`loss_fn` must be a function"),
        (
            lambda x, y: grad_check(nn.Linear(4, 3), x, y, loss_fn=lambda out, t: out.sum(1)),
            "`loss_fn` must be a function (output, y) -> scalar tensor. Received: loss_fn=(6,)",
        ),
        (lambda x, y: grad_check(nn.ReLU(), x, y), "`model` must be a module with parameters that require grad"),
        (lambda x, y: grad_check(Noisy(), x, y), "`model` must be a module whose forward pass is deterministic"),
    ],
)
def test_bad_arguments_are_named(call, message):
    x, y = torch.randn(6, 4), torch.randint(0, 3, (6,))
    with pytest.raises(InvalidArgumentError) as error:
        call(x, y)
    assert message in str(error.value)


def test_backward_graph_of_the_two_layer_net():
    model, (x, y) = _mlp(), _batch()
    graph = backward_graph(model, x, y)
    ops = [n.label for n in graph.nodes if n.kind == "op"]
    assert ops[0] == "NllLossBackward0" and graph.nodes[0].grad_norm == pytest.approx(1.0)  # dL/dL
    assert sorted(ops) == sorted(
        ["NllLossBackward0", "LogSoftmaxBackward0", "AddmmBackward0", "AddmmBackward0", "ReluBackward0"]
        + ["ViewBackward0", "TBackward0", "TBackward0"]
    )
    leaves = {n.label: n for n in graph.nodes if n.kind != "op"}
    assert set(leaves) == {"x", "1.weight", "1.bias", "3.weight", "3.bias"} and leaves["x"].kind == "input"
    # the leaves carry autograd's gradients
    double = _mlp().double()
    loss = nn.functional.cross_entropy(double(x.double()), y)
    for name, grad in zip(
        [n for n, _ in double.named_parameters()], torch.autograd.grad(loss, list(double.parameters()))
    ):
        assert leaves[name].grad_norm == pytest.approx(float(grad.norm()))
        assert leaves[name].shape == tuple(grad.shape)
    assert graph.loss == pytest.approx(loss.item())
    # every edge runs forward: from a node into the op that consumes it; every node but the loss feeds one
    assert {src for src, _ in graph.edges} == set(range(1, len(graph.nodes)))
    assert all(graph.nodes[dst].kind == "op" for _, dst in graph.edges)
    # an op's gradient is the one flowing into its output: ReLU's output (N, 8)
    relu = next(n for n in graph.nodes if n.label == "ReluBackward0")
    assert relu.shape == (6, 8) and relu.grad_norm > 0


def test_backward_graph_writes_small_gradients_out_and_caps_its_size():
    model = nn.Linear(2, 1)
    x, y = torch.randn(3, 2), torch.randn(3, 1)
    graph = backward_graph(model, x, y, loss_fn=nn.functional.mse_loss)
    bias = next(n for n in graph.nodes if n.label == "bias")
    assert bias.grad is not None and len(bias.grad) == 1
    assert bias.grad[0] == pytest.approx(bias.grad_norm, abs=1e-12) or bias.grad[0] == pytest.approx(-bias.grad_norm)
    deep = nn.Sequential(*[nn.Linear(2, 2) for _ in range(30)])
    with pytest.raises(InvalidArgumentError, match="max_nodes"):
        backward_graph(deep, x, torch.randn(3, 2), loss_fn=nn.functional.mse_loss, max_nodes=20)
