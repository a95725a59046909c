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


# ----------------------------------------------------------------------------- tiny and odd splits
def test_split_keeps_scikit_learns_split_for_ordinary_data():
    from sklearn.model_selection import train_test_split

    y = torch.tensor([0] * 30 + [1] * 15 + [2] * 5)
    x = torch.arange(50, dtype=torch.float32)[:, None]
    _, val = split_train_val(x, y, val_fraction=0.1, seed=7)
    _, expected = train_test_split(np.arange(50), test_size=0.1, random_state=7, stratify=y.numpy())
    assert val.tensors[0][:, 0].long().tolist() == sorted(expected.tolist())


def test_split_is_a_function_of_n_labels_fraction_and_seed():
    y = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1, 2, 0, 1])
    first = split_train_val(torch.arange(11)[:, None], y, val_fraction=0.3, seed=-5)
    again = split_train_val(torch.arange(11)[:, None] * 10, y.clone(), val_fraction=0.3, seed=-5)
    assert (first[1].tensors[0] * 10).tolist() == again[1].tensors[0].tolist()  # same indices, other inputs
    other = split_train_val(torch.arange(11)[:, None], y, val_fraction=0.3, seed=6)
    assert first[1].tensors[0].tolist() != other[1].tensors[0].tolist()


def test_one_sample_per_class_falls_back_to_a_plain_seeded_split():
    x, y = torch.arange(4, dtype=torch.float32)[:, None], torch.tensor([0, 1, 2, 3])
    train, val = split_train_val(x, y, val_fraction=0.5, seed=0)
    assert (len(train), len(val)) == (2, 2)
    assert sorted(train.tensors[1].tolist() + val.tensors[1].tolist()) == [0, 1, 2, 3]


@pytest.mark.parametrize(("n", "fraction"), [(1, 0.1), (2, 0.9999), (5, 0.81), (0, 0.5)])
def test_a_split_that_leaves_no_training_sample_is_refused(n, fraction):
    x, y = torch.zeros(n, 2), torch.zeros(n, dtype=torch.long)
    with pytest.raises(DataError, match=rf"leave at least one training sample. Received: val_fraction={fraction}"):
        split_train_val(x, y, val_fraction=fraction)


def test_val_fraction_zero_gives_every_sample_to_train_even_a_single_one():
    train, val = split_train_val(torch.zeros(1, 3), torch.zeros(1, dtype=torch.long), val_fraction=0)
    assert (len(train), len(val)) == (1, 0) and val.tensors[0].shape == (0, 3)


@pytest.mark.parametrize("fraction", [float("nan"), float("inf"), -0.1, 1.0, True, "0.1", None])
def test_val_fraction_must_be_a_finite_float_below_one(fraction):
    with pytest.raises(InvalidArgumentError, match="`val_fraction` must be a float in"):
        split_train_val(torch.zeros(4, 1), torch.zeros(4, dtype=torch.long), val_fraction=fraction)
    with pytest.raises(InvalidArgumentError, match="`val_fraction` must be a float in"):
        data_module.load("digits", val_fraction=fraction)  # refused before any loading


def test_seed_must_be_an_int():
    with pytest.raises(InvalidArgumentError, match="`seed` must be an int. Received: seed=1.5"):
        split_train_val(torch.zeros(4, 1), torch.zeros(4, dtype=torch.long), seed=1.5)


def test_mismatched_inputs_and_labels_are_refused():
    with pytest.raises(DataError, match="same length. Received: 4 inputs and 3 labels"):
        split_train_val(torch.zeros(4, 1), torch.zeros(3, dtype=torch.long))


# ----------------------------------------------------------------------------- silently wrong data
def _dataset(x_train, y_train, task="classification", classes=("a", "b")):
    from torch.utils.data import TensorDataset

    from deepscope.data import Dataset

    empty = TensorDataset(x_train[:0], y_train[:0])
    return Dataset(
        "toy",
        "series",
        tuple(x_train.shape[1:]),
        TensorDataset(x_train, y_train),
        empty,
        empty,
        classes=list(classes) if classes else None,
        task=task,
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_inputs_are_refused_naming_split_and_sample(bad):
    x = torch.zeros(5, 1, 4)
    x[3, 0, 2] = bad
    with pytest.raises(DataError, match=rf"Inputs of the train split of 'toy' must be finite numbers. Received: {bad}"):
        _dataset(x, torch.tensor([0, 1, 0, 1, 0]))
    with pytest.raises(DataError, match="in sample 3"):
        _dataset(x, torch.tensor([0, 1, 0, 1, 0]))


def test_large_finite_inputs_whose_sum_overflows_are_accepted():
    x = torch.full((4, 1, 8), 3e38)  # the sum overflows float32; every value is finite
    assert len(_dataset(x, torch.tensor([0, 1, 0, 1])).train) == 4


def test_classification_labels_must_be_integers():
    x = torch.zeros(3, 1, 2)
    with pytest.raises(DataError, match=r"must be integer class indices. Received: 0.5 in sample 1"):
        _dataset(x, torch.tensor([0.0, 0.5, 1.0]))
    with pytest.raises(DataError, match=r"must be integer class indices. Received: nan in sample 2"):
        _dataset(x, torch.tensor([0.0, 1.0, float("nan")]))
    with pytest.raises(DataError, match=r"must be an integer tensor of class indices. Received: dtype=torch.float32"):
        _dataset(x, torch.tensor([0.0, 1.0, 1.0]))


def test_regression_targets_must_be_finite():
    x, y = torch.zeros(3, 1, 2), torch.tensor([[1.0], [float("inf")], [2.0]])
    with pytest.raises(DataError, match=r"Targets of the train split of 'toy' must be finite numbers.*sample 1"):
        _dataset(x, y, task="regression", classes=None)
