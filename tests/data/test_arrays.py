"""from_arrays at its boundary: labels are never truncated, odd arrays are refused, sizes capped."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope import limits
from deepscope.data import from_arrays
from deepscope.errors import DataError, InvalidArgumentError

X = np.zeros((10, 1, 2, 2), np.float32)


def test_fractional_labels_are_refused_not_truncated():
    with pytest.raises(
        DataError, match=r"`y_train` must hold whole-number class labels\. Received: 1 value\(s\) such as 1\.5"
    ):
        from_arrays(X, [0, 1] * 4 + [0, 1.5])
    with pytest.raises(
        DataError, match=r"`y_test` must hold whole-number class labels\. Received: 1 value\(s\) such as nan"
    ):
        from_arrays(X, [0, 1] * 5, X, [0, 1] * 4 + [0, float("nan")])


def test_whole_float_labels_are_accepted():
    data = from_arrays(X, np.array([0.0, 1.0] * 5), test_fraction=0.2, val_fraction=0.0)
    assert data.classes == ["0", "1"] and sorted(data.train.tensors[1].tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]


@pytest.mark.parametrize("labels", [[2**70] * 10, ["a"] * 10], ids=["ints past int64", "strings"])
def test_labels_that_are_not_numbers_are_refused(labels):
    with pytest.raises(InvalidArgumentError, match=r"`y_train` must be a numeric numpy array or tensor\. Received:"):
        from_arrays(X, labels)


def test_inputs_past_the_memory_cap_are_refused_before_converting():
    with limits.override(memory="100"), pytest.raises(DataError, match=r"`x_train` would need 160 bytes of memory"):
        from_arrays(X, [0, 1] * 5)


def test_an_empty_dataset_is_refused():
    with pytest.raises(DataError, match=r"must hold at least one sample\. Received: 0\."):
        from_arrays(np.zeros((0, 1, 2, 2)), np.zeros(0, np.int64))
