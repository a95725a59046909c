"""Tampered run folders: every command's way in (open, resume) validates config.json,
state.json, metrics.json and the checkpoint tensors, and ends in RunError naming the file."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepscope import runs, zoo
from deepscope.errors import RunError
from deepscope.train.files import load_tensors, save_tensors


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    return runs.fit(model, digits, epochs=2, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)


def _copy(trained, tmp_path, name="copy"):
    copy = tmp_path / name
    shutil.copytree(trained.path, copy)
    return copy


def _edit_json(path, edit):
    obj = json.loads(path.read_text())
    obj = edit(obj)
    path.write_text(json.dumps(obj))


CONFIG_EDITS = {
    "in_shape of the wrong type": lambda c: {**c, "model": {**c["model"], "in_shape": "1,8,8"}},
    "huge in_shape": lambda c: {**c, "model": {**c["model"], "in_shape": [3, 100000, 100000]}},
    "negative num_classes": lambda c: {**c, "model": {**c["model"], "num_classes": -3}},
    "recipe lr as a string": lambda c: {**c, "recipe": {**c["recipe"], "lr": "0.1"}},
    "recipe with an unknown field": lambda c: {**c, "recipe": {**c["recipe"], "lrr": 0.1}},
    "data kind unknown": lambda c: {**c, "data": {**c["data"], "kind": "audio"}},
    "config as a list": lambda c: [c],
    "format as a bool": lambda c: {**c, "format": True},
    "unknown zoo model": lambda c: {**c, "model": {**c["model"], "name": "no_such_model"}},
}


@pytest.mark.parametrize("edit", CONFIG_EDITS.values(), ids=CONFIG_EDITS.keys())
def test_tampered_config_is_refused_on_open_and_resume(trained, tmp_path, edit):
    copy = _copy(trained, tmp_path)
    _edit_json(copy / "config.json", edit)
    with pytest.raises(RunError, match="config.json|damaged|lacks"):
        runs.open_run(copy, load_data=False)
    with pytest.raises(RunError):
        runs.resume(copy, progress=False)


STATE_EDITS = {
    "state as a list": lambda s: [],
    "negative epoch": lambda s: {**s, "epoch": -1},
    "history of the wrong length": lambda s: {**s, "history": s["history"][:1]},
    "best epoch past the end": lambda s: {**s, "best_epoch": 99},
    "optimizer missing": lambda s: {k: v for k, v in s.items() if k != "optimizer"},
    "param groups of the wrong type": lambda s: {**s, "optimizer": {**s["optimizer"], "param_groups": {}}},
}


@pytest.mark.parametrize("edit", STATE_EDITS.values(), ids=STATE_EDITS.keys())
def test_tampered_state_is_refused(trained, tmp_path, edit):
    copy = _copy(trained, tmp_path)
    _edit_json(copy / "last" / "state.json", edit)
    with pytest.raises(RunError, match="state.json"):
        runs.open_run(copy, load_data=False)


def _resume_longer(copy):
    """Resume with the recipe's epochs raised, so the checkpoint really is loaded."""
    _edit_json(copy / "config.json", lambda c: {**c, "recipe": {**c["recipe"], "epochs": 3}})
    return runs.resume(copy, progress=False)


def test_wrong_rng_state_is_refused(trained, tmp_path):
    copy = _copy(trained, tmp_path)
    save_tensors(copy / "last" / "rng.safetensors", {"torch": torch.zeros(7, dtype=torch.uint8)})
    with pytest.raises(RunError, match="RNG state"):
        _resume_longer(copy)


def test_optimizer_tensors_of_the_wrong_shape_are_refused(trained, tmp_path):
    copy = _copy(trained, tmp_path)
    tensors = load_tensors(copy / "last" / "optimizer.safetensors")
    name = next(k for k, v in tensors.items() if v.ndim)
    tensors[name] = torch.zeros(3, 3)
    save_tensors(copy / "last" / "optimizer.safetensors", tensors)
    with pytest.raises(RunError, match="must have the shape of parameter"):
        _resume_longer(copy)


@pytest.mark.parametrize("content", ["[1, 2]", '{"test": [1]}', '{"banana": {}}'])
def test_tampered_metrics_are_refused(trained, tmp_path, content):
    copy = _copy(trained, tmp_path)
    (copy / "metrics.json").write_text(content)
    opened = runs.open_run(copy)
    with pytest.raises(RunError, match="metrics.json"):
        opened.evaluate("test")


def test_a_fifo_as_weights_is_refused_without_blocking(trained, tmp_path):
    import os

    copy = _copy(trained, tmp_path)
    (copy / "model.safetensors").unlink()
    os.mkfifo(copy / "model.safetensors")
    with pytest.raises(RunError, match="must be a regular file. Received: a named pipe"):
        runs.open_run(copy, load_data=False)


# JSON values a tampering hand might write anywhere
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(obj, prefix=()):
    """Every (path, value) inside a JSON object, for picking what to replace."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _replace(obj, path, value):
    if not path:
        return value
    obj = json.loads(json.dumps(obj))
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


@pytest.mark.parametrize("file", ["config.json", "last/state.json"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_tampered_json_value_opens_or_fails_with_run_error(trained, tmp_path_factory, hostile, file, data):
    original = json.loads((trained.path / file).read_text())
    paths = list(_paths(original))
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(json_values, label="value")
    copy = tmp_path_factory.mktemp("fuzz") / "run"
    shutil.copytree(trained.path, copy)
    (copy / file).write_text(json.dumps(_replace(original, path, value)))

    def open_and_evaluate():  # config.json: reload the data it names; state.json: reuse the loaded data
        run = runs.open_run(copy) if file == "config.json" else runs.open_run(copy, data=trained.data)
        run.evaluate("val")

    hostile("run_folder_json", open_and_evaluate)


def test_class_names_must_match_the_model_outputs(trained, tmp_path):
    copy = _copy(trained, tmp_path)
    _edit_json(copy / "config.json", lambda c: {**c, "data": {**c["data"], "classes": ["a", "b"]}})
    with pytest.raises(RunError, match="names 2 classes but the model has 10 outputs"):
        runs.open_run(copy, load_data=False)


def test_a_file_as_run_folder_is_named(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunError, match="must be a folder. Received: a file"):
        runs.open_run(tmp_path / "f")
