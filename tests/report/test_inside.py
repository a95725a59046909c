"""The report's "Inside the network" for models without convolutions: what applies is decided
from the model first (before the data is loaded), and only "nothing applies" is an error."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepscope import runs, zoo
from deepscope.errors import InvalidArgumentError
from deepscope.report import inside_the_network, write_report
from deepscope.report.inside import inside_plan
from deepscope.train import Run


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory, digits):
    """A small MLP (64 -> 80 -> 10) trained 1 epoch on the 8x8 digits."""
    path = tmp_path_factory.mktemp("inside") / "mlp"
    runs.fit(zoo.create("mlp", data=digits, hidden=80, seed=0), digits, epochs=1, out=path, progress=False)
    return path


def _run(tmp_path, model, data, config_data) -> Run:
    """A Run over a bare folder (config.json is all add_report_section needs)."""
    (tmp_path / "config.json").write_text("{}")
    return Run(path=tmp_path, model=model, data=data, config={"data": config_data})


def test_an_mlp_run_shows_its_first_layer_templates_and_embedding_map(mlp_run):
    run = runs.open_run(mlp_run)
    plan = inside_plan(run)
    assert plan.convs == [] and plan.hidden == "2"
    assert plan.templates.layer == "1" and plan.templates.kernels.shape == (80, 1, 8, 8)
    weight = run.model[1].weight.detach().numpy()  # (80, 64): row k is hidden unit k's template
    np.testing.assert_array_equal(plan.templates.kernels[7, 0], weight[7].reshape(8, 8))

    paths = inside_the_network(run, embedding=40)
    assert [p.name for p in paths] == ["inspect_filters.png", "inspect_embedding.png"]
    assert all(p.stat().st_size > 3000 for p in paths)
    sections = json.loads((mlp_run / "figures" / "sections.json").read_text())
    (inside,) = [s for s in sections if s["title"] == "Inside the network"]
    assert "the first 64 of 80 rows, each drawn as an image" in inside["figures"][0]["caption"]
    assert "40 test samples, coloured by class" in inside["figures"][1]["caption"]
    assert "no convolutions" in inside["text"]
    assert "Inside the network" in write_report(run).read_text(encoding="utf-8")


def test_the_model_is_checked_before_the_data_is_needed(mlp_run):
    run = runs.open_run(mlp_run, load_data=False)
    assert inside_plan(run, embedding=0).templates is not None  # decided without data
    with pytest.raises(InvalidArgumentError, match=r"`layers` must be None: the model has no conv or pooling layer"):
        inside_the_network(run, layers=["1"])
    with pytest.raises(InvalidArgumentError, match="`x` must be None: feature maps need a model with conv layers"):
        inside_the_network(run, torch.zeros(1, 8, 8))
    with pytest.raises(InvalidArgumentError, match="`run` must be a run opened with its data"):
        inside_the_network(run)


def test_softmax_regression_shows_templates_but_no_embedding_of_raw_pixels(tmp_path, digits):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    run = _run(tmp_path, model, digits, digits.describe())
    plan = inside_plan(run)
    assert plan.hidden is None and plan.templates.kernels.shape == (10, 1, 8, 8)  # one template per class
    assert [p.name for p in inside_the_network(run)] == ["inspect_filters.png"]


def test_nothing_applies_fails_before_any_data_is_loaded(tmp_path):
    model = zoo.create("lstm_classifier", in_shape=(12, 26), num_classes=9, seed=0)  # its LSTM returns a tuple
    run = _run(tmp_path, model, None, {"spec": "no_such_data", "input_shape": [12, 26]})
    with pytest.raises(
        InvalidArgumentError, match=r"Nothing to draw inside run .*no nn.Conv2d layer on images, no first nn.Linear"
    ):
        inside_the_network(run)
    assert not (tmp_path / "figures").exists()


def test_a_series_cnn_gets_its_embedding_map_only(tmp_path):
    """fcn has Conv1d layers (no 2-D feature maps) but a pooled hidden layer before its head."""
    model = zoo.create("fcn", in_shape=(1, 30), num_classes=2, filters=(4, 4, 4), seed=0)
    run = _run(tmp_path, model, None, {"input_shape": [1, 30]})
    plan = inside_plan(run)
    assert plan.convs == [] and plan.templates is None and plan.hidden == "3"
    with pytest.raises(InvalidArgumentError, match="embedding map is off"):
        inside_plan(run, embedding=0)


def test_a_cnn_run_keeps_its_conv_figures(tmp_path, digits):
    model = zoo.create("lecture_cnn", data=digits, seed=0)
    run = _run(tmp_path, model, digits, digits.describe())
    plan = inside_plan(run)
    assert plan.convs == ["0"] and plan.templates is None and plan.hidden == "5"
    with pytest.raises(InvalidArgumentError, match=r"`x` must be one image tensor of the run's input shape"):
        inside_plan(run, torch.zeros(8, 8))
