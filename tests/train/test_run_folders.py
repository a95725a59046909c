"""Opening run folders: rebuild from config + safetensors, refuse damaged or newer ones."""

from __future__ import annotations

import json

import pytest
import torch

from deepscope import runs, zoo
from deepscope.errors import RunError


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    return runs.fit(model, digits, epochs=2, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)


def test_open_run_rebuilds_the_same_model_and_scores(trained):
    opened = runs.open_run(trained.path)
    x = trained.data.test.tensors[0][:5]
    assert torch.allclose(opened.model(x), trained.model.eval()(x))
    result = opened.evaluate("test")
    assert result.accuracy == pytest.approx(trained.evaluate("test").accuracy)
    metrics = json.loads((trained.path / "metrics.json").read_text())
    assert sum(map(sum, metrics["test"]["confusion"])) == len(trained.data.test)
    assert set(metrics["test"]["per_class"]) == set(trained.data.classes)


def test_run_from_a_newer_version_is_refused(trained, tmp_path):
    copy = tmp_path / "newer"
    copy.mkdir()
    config = json.loads((trained.path / "config.json").read_text())
    config["format"] = 99
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError, match="written by a newer deepscope"):
        runs.open_run(copy)


@pytest.mark.parametrize("content, message", [("{not json", "damaged"), ("{}", "no 'format' version")])
def test_damaged_config_is_refused(tmp_path, content, message):
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(RunError, match=message):
        runs.open_run(tmp_path)


def test_damaged_weights_are_refused(trained, tmp_path):
    copy = tmp_path / "damaged"
    copy.mkdir()
    (copy / "config.json").write_bytes((trained.path / "config.json").read_bytes())
    (copy / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(RunError, match="damaged"):
        runs.open_run(copy)


def test_missing_run_folder(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        runs.open_run(tmp_path / "nope")
