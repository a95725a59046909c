"""pairs:SPEC -- balanced same/different image pairs for metric learning."""

from __future__ import annotations

import pytest
import torch

from deepscope import data as data_module
from deepscope.data.pairs import make_pairs
from deepscope.errors import DataError


def test_pairs_alternate_same_and_different_class_and_say_which():
    x = torch.arange(12.0).reshape(12, 1, 1, 1)  # image i holds the value i
    y = torch.tensor([0, 1, 2] * 4)
    pairs, same = make_pairs(x, y, torch.Generator().manual_seed(0))
    assert pairs.shape == (3 * 3 * 2, 2, 1, 1, 1)  # 3 classes x (4 - 1) anchors x (positive, negative)
    assert same.tolist() == [1.0, 0.0] * 9
    first, second = pairs[:, 0].flatten().long(), pairs[:, 1].flatten().long()
    assert torch.equal(y[first] == y[second], same.bool())  # targets say whether the classes match


def test_pairs_are_repeatable_for_a_seed_and_differ_across_seeds():
    x, y = torch.rand(40, 1, 2, 2), torch.arange(40) % 4
    a = make_pairs(x, y, torch.Generator().manual_seed(1))
    b = make_pairs(x, y, torch.Generator().manual_seed(1))
    c = make_pairs(x, y, torch.Generator().manual_seed(2))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


def test_pairs_spec_pairs_each_split_with_its_own_images():
    plain = data_module.load("digits")
    paired = data_module.load("pairs:digits")
    assert paired.task == "pairs" and paired.input_shape == (2, 1, 8, 8)
    assert paired.spec == "pairs:digits"
    test_images = {tuple(v.flatten().tolist()) for v in plain.test.tensors[0]}
    train_images = {tuple(v.flatten().tolist()) for v in plain.train.tensors[0]}
    for pair in paired.test.tensors[0][:50]:
        assert tuple(pair[0].flatten().tolist()) in test_images
        assert tuple(pair[1].flatten().tolist()) in test_images
    assert all(tuple(p[0].flatten().tolist()) in train_images for p in paired.train.tensors[0][:50])
    assert paired.test.tensors[1].mean() == 0.5  # balanced


def test_pairs_refuse_data_without_classes_and_nested_pairs():
    with pytest.raises(DataError, match="not another pairs"):
        data_module.load("pairs:pairs:digits")
    with pytest.raises(DataError, match="at least 2 classes"):
        make_pairs(torch.rand(4, 1, 2, 2), torch.zeros(4, dtype=torch.long), torch.Generator())


def test_a_pairs_spec_selects_the_wrapped_images_with_per_class_and_classes():
    paired = data_module.load("pairs:digits?per_class=20&classes=0,1,2")
    assert paired.info["pairs"]["classes"] == ["0", "1", "2"]
    # 20 images per class, 2 to validation: 3 classes x (18 - 1) anchors x (same, different)
    assert len(paired.train) == 3 * 17 * 2
    assert torch.equal(data_module.load(paired.spec).train.tensors[0], paired.train.tensors[0])  # a run reloads it
    with pytest.raises(DataError, match=r"The val split of 'digits': .* class \d has 1\."):
        data_module.load("pairs:digits?per_class=5")
