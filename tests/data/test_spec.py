"""The dataset spec, splits, arrays and the `load` boundary."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepscope import data as data_module
from deepscope.data import from_arrays, split_train_val
from deepscope.errors import DataError, InvalidArgumentError, UnknownNameError


def test_digits_spec_and_fixed_test_split(digits):
    assert digits.kind == "image" and digits.input_shape == (1, 8, 8) and digits.num_classes == 10
    assert len(digits.train) + len(digits.val) + len(digits.test) == 1797
    x = digits.train.tensors[0]
    assert x.dtype == torch.float32 and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    # The test split never depends on the seed of the validation split.
    other = data_module.load("digits", seed=5, val_fraction=0.2)
    assert torch.equal(other.test.tensors[0], digits.test.tensors[0])
    assert len(other.val) > len(digits.val)


def test_validation_split_is_seeded_and_stratified():
    y = torch.tensor([0] * 80 + [1] * 20)
    x = torch.arange(100, dtype=torch.float32)[:, None]
    train_a, val_a = split_train_val(x, y, val_fraction=0.1, seed=3)
    train_b, val_b = split_train_val(x, y, val_fraction=0.1, seed=3)
    assert torch.equal(val_a.tensors[0], val_b.tensors[0])
    assert val_a.tensors[1].tolist().count(1) == 2  # 10% of each class
    assert len(set(train_a.tensors[0].flatten().tolist()) & set(val_a.tensors[0].flatten().tolist())) == 0


def test_from_arrays_wraps_numpy_and_adds_a_channel_axis():
    rng = np.random.default_rng(0)
    data = from_arrays(rng.random((50, 6, 6)), np.arange(50) % 5, classes=list("abcde"))
    assert data.input_shape == (1, 6, 6) and data.classes == list("abcde")
    assert len(data.train) + len(data.val) + len(data.test) == 50


def test_labels_out_of_range_are_named():
    x = np.zeros((10, 1, 4, 4), dtype=np.float32)
    y = np.array([0, 1, 2, 3, 4, 0, 1, 2, 3, 7])
    with pytest.raises(
        DataError, match=r"Labels in arrays (train|val|test) must be integers in \[0, 4\]. Received: 1 label"
    ):
        from_arrays(x, y, x, y, classes=list("abcde"))


def test_mismatched_lengths_are_refused():
    with pytest.raises(DataError, match="same length. Received: 4 and 3"):
        from_arrays(np.zeros((4, 2, 2)), np.zeros(3))


def test_load_boundary_errors():
    with pytest.raises(UnknownNameError, match="Did you mean 'digits'"):
        data_module.load("digit")
    with pytest.raises(InvalidArgumentError, match="`data` must be a data spec string"):
        data_module.load("")
    with pytest.raises(
        InvalidArgumentError, match=r"`val_fraction` must be a float in \[0, 1\). Received: val_fraction=1.5"
    ):
        data_module.load("digits", val_fraction=1.5)
    with pytest.raises(DataError, match="takes no path"):
        data_module.load("digits:/tmp")


def test_relative_paths_are_recorded_absolute(mnist_dir, tmp_path, monkeypatch):
    import os

    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(mnist_dir, tmp_path)
    data = data_module.load(f"mnist:{relative}")
    assert data.spec == f"mnist:{mnist_dir.resolve()}"
