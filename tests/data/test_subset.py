"""`classes=` and `per_class=` in any classification data spec."""

from __future__ import annotations

import pytest
import torch

from deepscope.data import load
from deepscope.errors import DataError, InvalidArgumentError


def test_classes_keep_and_renumber_in_the_order_given(digits):
    data = load("digits?classes=7,3")
    assert data.classes == ["7", "3"]
    for split in ("train", "val", "test"):
        x, y = data.split(split).tensors
        full_x, full_y = digits.split(split).tensors
        assert set(y.tolist()) == {0, 1}
        assert len(y) == int(((full_y == 7) | (full_y == 3)).sum())  # every sample of the two classes
    assert torch.equal(
        data.train.tensors[0][data.train.tensors[1] == 0], digits.train.tensors[0][digits.train.tensors[1] == 7]
    )


def test_per_class_draws_the_labelled_pool_then_carves_validation():
    data = load("digits?per_class=10", val_fraction=0.2, seed=3)
    y = torch.cat([data.train.tensors[1], data.val.tensors[1]])
    assert torch.equal(torch.bincount(y), torch.full((10,), 10))  # 10 labelled images per class in all
    assert len(data.val) == 20 and len(data.test) == len(load("digits").test)  # the test split is whole
    again = load(data.spec, val_fraction=0.2, seed=3)
    assert torch.equal(again.train.tensors[0], data.train.tensors[0])  # the spec reloads the same subset
    other = load("digits?per_class=10", val_fraction=0.2, seed=4)
    assert not torch.equal(other.train.tensors[0], data.train.tensors[0])
    both = load("digits?classes=0,1&per_class=5", val_fraction=0)
    assert both.classes == ["0", "1"] and torch.equal(torch.bincount(both.train.tensors[1]), torch.tensor([5, 5]))


def test_settings_only_specs_and_loader_settings_mix():
    data = load("addition:digits=1&n=40")
    assert data.task == "seq2seq"
    with pytest.raises(InvalidArgumentError, match="apply to classification data"):
        load("addition:digits=1&n=40&per_class=3")


@pytest.mark.parametrize(
    "spec, error, message",
    [
        ("digits?classes=7,tree", InvalidArgumentError, r"Received: 'tree'\. .*Classes: 0, 1, 2"),
        ("digits?classes=7", InvalidArgumentError, "at least two classes"),
        ("digits?classes=7,7", InvalidArgumentError, "each class once"),
        ("digits?per_class=0", InvalidArgumentError, "`per_class` must be a positive int"),
        ("digits?per_class=x", InvalidArgumentError, "`per_class` must be a positive int"),
        ("digits?per_class=500", DataError, "needs 500 training samples of class '0'"),
        ("digits?per_class=3&per_class=4", InvalidArgumentError, "given once"),
    ],
)
def test_bad_subset_settings_are_named(spec, error, message):
    with pytest.raises(error, match=message):
        load(spec)


def test_test_per_class_is_a_fixed_draw(digits):
    data = load("digits?test_per_class=5", seed=1)
    other = load("digits?test_per_class=5", seed=2)
    assert torch.bincount(data.test.tensors[1]).tolist() == [5] * 10
    assert torch.equal(data.test.tensors[0], other.test.tensors[0])  # the same test samples for every seed
    with pytest.raises(InvalidArgumentError, match="`test_per_class` must be a positive int"):
        load("digits?test_per_class=0")
