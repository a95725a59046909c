"""One contract run over everything registered: zoo entries and built-in datasets."""

from __future__ import annotations

import pytest
import torch

from deepscope import data as data_module
from deepscope import zoo
from deepscope.nn import summary


@pytest.mark.parametrize("name", zoo.MODELS.names())
def test_zoo_entry_builds_and_maps_its_declared_input_to_its_declared_output(name):
    meta = zoo.info(name)
    model = zoo.create(name, in_shape=meta.example_shape, num_classes=meta.example_classes, seed=0)
    assert isinstance(model, torch.nn.Module)
    assert model.zoo_config["name"] == name
    dtype = (
        torch.long
        if any(isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)) for m in model.modules())
        else torch.float32
    )
    x = (
        torch.zeros((3, *meta.example_shape), dtype=dtype)
        if dtype == torch.long
        else torch.rand(3, *meta.example_shape)
    )
    model.eval()
    with torch.no_grad():
        out = model(x)
    if meta.task == "classification":
        assert out.shape == (3, meta.example_classes)
    assert meta.reference and meta.recipe.epochs >= 1
    rows = summary(model, meta.example_shape).rows
    assert rows and sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())


# Sets that need a PATH or a download are covered by their loader tests (local files, 127.0.0.1).
OFFLINE = [e for e in data_module.DATASETS if not e.meta["needs_path"] and not e.meta.get("downloadable")]


@pytest.mark.parametrize("entry", OFFLINE, ids=lambda e: e.name)
def test_builtin_dataset_loads_to_one_spec(entry):
    try:
        data = data_module.load(entry.name)
    except Exception as error:  # a built-in set whose package is missing is a skip, not a pass
        if "not installed" in str(error):
            pytest.skip(str(error))
        raise
    assert data.kind == entry.meta["kind"]
    for split in ("train", "val", "test"):
        x, y = data.split(split).tensors
        assert len(x) == len(y) > 0
        assert tuple(x.shape[1:]) == data.input_shape
    if data.task == "classification":
        assert set(data.train.tensors[1].unique().tolist()) <= set(range(data.num_classes))
    assert data.describe()["spec"] == entry.name
