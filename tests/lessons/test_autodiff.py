"""The autodiff lesson: autograd agrees with finite differences to 1e-6 in float64 for every
weight of the two-layer net, float32 does not, the step sweep has its V, and the backward
graph is drawn (with matplotlib when Graphviz is absent)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from deepscope import lessons
from deepscope.errors import InvalidArgumentError
from deepscope.lessons import autodiff as lesson
from deepscope.mechanics.gradcheck import BackwardGraph, GraphNode, backward_graph, grad_check
from deepscope.plots import lessons_autodiff as draw


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return lessons.run("autodiff", tmp_path_factory.mktemp("autodiff"), seed=0)


def test_every_weight_agrees_with_finite_differences_in_float64(result):
    numbers = result.numbers
    assert numbers["parameters"] == numbers["entries_checked"] == 64 * 8 + 8 + 8 * 10 + 10
    assert numbers["worst_rel_error"] < 1e-6 and numbers["passed"] is True
    assert max(numbers["rel_error"].values()) == numbers["worst_rel_error"]
    assert numbers["float32_worst_rel_error"] > 1e-2  # why gradient checks run in float64
    table = result.tables[0]
    assert [row[0] for row in table.rows] == ["1.weight", "1.bias", "3.weight", "3.bias"]
    assert max(row[-1] for row in table.rows) == numbers["worst_rel_error"]


def test_the_step_sweep_has_truncation_on_one_side_and_roundoff_on_the_other(result):
    sweep = result.numbers["eps_sweep"]
    eps, f64, f32 = np.array(sweep["eps"]), np.array(sweep["float64"]), np.array(sweep["float32"])
    best = int(np.argmin(f64))
    assert f64[best] < 1e-8 and 1e-6 <= eps[best] <= 1e-3
    assert f64[0] > 1e3 * f64[best] and f64[-1] > 1e3 * f64[best]  # too large and too small a step both hurt
    assert f32.min() > 1e3 * f64[best]


def test_the_page_has_the_graph_the_table_and_the_numbers(result):
    names = {p.name for p in result.files}
    assert names == {"graph.png", "agreement.png", "eps.png", "numbers.json", "lesson.html"}
    saved = json.loads((result.out / "numbers.json").read_text())
    assert saved["worst_rel_error"] == result.numbers["worst_rel_error"]
    assert saved["graph"]["engine"] in ("matplotlib", "graphviz")
    assert {"AddmmBackward0", "ReluBackward0", "NllLossBackward0"} <= set(saved["graph"]["ops"])
    page = result.page.read_text()
    assert "relative error" in page and "<td>1.weight</td>" in page


def test_the_batch_and_the_model_follow_the_seed():
    x0, y0 = lesson.lesson_batch(0)
    x1, _ = lesson.lesson_batch(1)
    assert x0.shape == (lesson.BATCH, 1, 8, 8) and y0.shape == (lesson.BATCH,)
    assert torch.equal(x0, lesson.lesson_batch(0)[0]) and not torch.equal(x0, x1)
    a, b = lesson.lesson_model(0), lesson.lesson_model(0)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_data_is_refused():
    with pytest.raises(InvalidArgumentError, match="`data` must be None"):
        lessons.run("autodiff", "unused", data="digits")


def _small_graph() -> BackwardGraph:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    return backward_graph(model, torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1]))


def test_layout_puts_every_edge_left_to_right_and_no_two_nodes_together():
    graph = _small_graph()
    xy = draw.graph_layout(graph)
    assert all(xy[src, 0] < xy[dst, 0] for src, dst in graph.edges)
    assert len({(round(a, 6), round(b, 6)) for a, b in xy}) == len(graph.nodes)
    assert xy[0, 0] == xy[:, 0].max()  # the loss is rightmost


def test_matplotlib_draws_the_graph_when_graphviz_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(draw, "_graphviz_available", lambda: False)
    path, engine = draw.save_backward_graph(_small_graph(), tmp_path / "g.png")
    assert engine == "matplotlib" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InvalidArgumentError, match="graphviz package or its dot program is missing"):
        draw.save_backward_graph(_small_graph(), tmp_path / "h.png", engine="graphviz")
    with pytest.raises(InvalidArgumentError, match="`path` must be a file name ending in .png"):
        draw.save_backward_graph(_small_graph(), tmp_path / "g.svg")


def test_dot_source_names_every_node_and_edge():
    graph = _small_graph()
    dot = draw.backward_graph_dot(graph)
    assert dot.startswith("digraph backward {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == len(graph.edges)
    for node in graph.nodes:
        assert node.label in dot
    assert "dL/dL = 1" in dot and "|grad| = " in dot


def test_a_graph_too_large_to_draw_is_refused():
    node = GraphNode("AddBackward0", "op", (1,), 1.0, None)
    graph = BackwardGraph(tuple([node] * (draw.MAX_DRAWN_NODES + 1)), (), 0.0)
    with pytest.raises(InvalidArgumentError, match="at most 60 nodes"):
        draw.backward_graph_figure(graph)


def test_agreement_figure_takes_grad_checks_only():
    check = grad_check(nn.Linear(3, 2), torch.randn(4, 3), torch.tensor([0, 1, 1, 0]))
    fig = draw.grad_agreement_figure(check, check)
    assert len(fig.axes) == 2
    with pytest.raises(InvalidArgumentError, match="`check` must be a GradCheck"):
        draw.grad_agreement_figure({"worst": 0.0})
    with pytest.raises(InvalidArgumentError, match="one per eps"):
        draw.eps_sweep_figure([1e-2, 1e-3], {"float64": [1.0]})


def test_the_lesson_checks_a_users_own_classifier(tmp_path):
    from deepscope import lessons, zoo

    model = zoo.create("lecture_cnn", in_shape=(1, 8, 8), num_classes=10, seed=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = lessons.run("autodiff", tmp_path, data="digits", model=model)
    assert result.numbers["model"] == "Sequential on 16 samples of digits" and result.numbers["data"] == "digits"
    assert result.numbers["worst_rel_error"] < 1e-6  # float64, up to 256 entries of each parameter
    assert result.numbers["entries_checked"] < sum(p.numel() for p in model.parameters())  # sampled
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the user's model is untouched
    assert "--run RUN (a Sequential reading digits)" in result.page.read_text()
    with pytest.raises(InvalidArgumentError, match="`run` must be a classification run"):
        lessons.run("autodiff", tmp_path / "x", data="series:Airline", model=model)
    with pytest.raises(InvalidArgumentError, match=r"`model` must be None: the descent lesson uses its own model"):
        lessons.run("descent", tmp_path / "y", data="digits", model=model)
