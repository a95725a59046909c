"""``binarized:SPEC``: grey images turned binary once, with the seed (or a threshold)."""

from __future__ import annotations

import pytest
import torch

from deepscope.data import from_arrays, load
from deepscope.data.binarize import _split_options, binarize
from deepscope.errors import DataError, InvalidArgumentError


def test_each_pixel_is_a_bernoulli_draw_of_its_grey_level(digits):
    data = binarize(digits, seed=0)
    grey, binary = digits.train.tensors[0], data.train.tensors[0]
    assert binary.shape == grey.shape and binary.dtype == torch.float32
    assert set(binary.unique().tolist()) == {0.0, 1.0}
    assert bool((binary[grey == 0] == 0).all()) and bool((binary[grey == 1] == 1).all())
    middle = (grey > 0.4) & (grey < 0.6)
    assert 0.45 < float(binary[middle].mean()) < 0.55  # about half of the mid-grey pixels are ink
    assert abs(float(binary.mean()) - float(grey.mean())) < 0.005  # the draw keeps the mean grey level
    assert torch.equal(data.train.tensors[1], digits.train.tensors[1]) and data.classes == digits.classes
    assert data.info["binarized"] == {"binarization": "stochastic", "seed": 0, "inner": "digits"}


def test_the_same_seed_gives_the_same_images_and_the_spec_reloads_them():
    data = load("binarized:digits", seed=3)
    assert data.spec == "binarized:digits" and data.name == "digits-binarized"
    again, other = load(data.spec, seed=3), load(data.spec, seed=4)
    for split in ("train", "val", "test"):
        assert torch.equal(data.split(split).tensors[0], again.split(split).tensors[0])
    assert not torch.equal(data.test.tensors[0], other.test.tensors[0])  # a new seed, new draws
    assert len(data.test) == len(other.test)


def test_threshold_sets_ink_above_it(digits):
    data = load("binarized:digits?threshold=0.5")
    for split in ("train", "val", "test"):
        grey = digits.split(split).tensors[0]
        assert torch.equal(data.split(split).tensors[0], (grey > 0.5).float())
    assert data.spec == "binarized:digits?threshold=0.5"
    assert torch.equal(load(data.spec).train.tensors[0], data.train.tensors[0])
    assert data.info["binarized"]["threshold"] == 0.5


def test_the_wrapped_spec_keeps_its_own_settings():
    assert _split_options("images:/d?stream=no&threshold=0.25") == ("images:/d?stream=no", 0.25)
    assert _split_options("mnist:/d?threshold=0") == ("mnist:/d", 0.0)
    assert _split_options("mnist:/d") == ("mnist:/d", None)


@pytest.mark.parametrize(
    "spec, error, message",
    [
        ("binarized:digits?threshold=1.5", InvalidArgumentError, r"`threshold` must be a float in \[0, 1\). Received"),
        ("binarized:digits?threshold=x", InvalidArgumentError, "`threshold` must be a float"),
        ("binarized:digits?threshold=nan", InvalidArgumentError, "`threshold` must be a float"),
        ("binarized:digits?threshold=.5&threshold=.6", InvalidArgumentError, "given twice"),
        ("binarized:digits?thresold=0.5", InvalidArgumentError, "Did you mean 'threshold'"),
        ("binarized:binarized:digits", DataError, "cannot wrap another binarized spec"),
        ("binarized:", DataError, "needs a path"),
    ],
)
def test_bad_specs_fail_with_a_clear_message(spec, error, message):
    with pytest.raises(error, match=message):
        load(spec)


def test_non_image_and_out_of_range_data_are_refused():
    series = from_arrays(torch.rand(20, 1, 30), torch.arange(20) % 2, kind="series")
    with pytest.raises(DataError, match="is series data"):
        binarize(series)
    bright = from_arrays(torch.rand(20, 1, 4, 4) * 2, torch.arange(20) % 2)
    with pytest.raises(DataError, match=r"probabilities in \[0, 1\]; the train split of 'arrays' has values in \[0"):
        binarize(bright)
    with pytest.raises(InvalidArgumentError, match="`threshold` must be a float in"):
        binarize(from_arrays(torch.rand(20, 1, 4, 4), torch.arange(20) % 2), threshold=1)
