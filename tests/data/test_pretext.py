"""The rotation pretext task: labels from the data itself, and pre-training then fine-tuning."""

from __future__ import annotations

import pytest
import torch

from deepscope import runs
from deepscope.data import from_arrays, load
from deepscope.data.pretext import rotations
from deepscope.errors import DataError


def test_each_image_is_turned_by_its_label(digits):
    turned = rotations(digits, seed=0)
    assert turned.classes == ["0", "90", "180", "270"] and turned.spec == f"rotations:{digits.spec}"
    x, k = turned.train.tensors
    original = digits.train.tensors[0]
    for i in range(40):
        assert torch.equal(x[i], torch.rot90(original[i], int(k[i]), dims=(1, 2)))
    counts = torch.bincount(k, minlength=4)
    assert int(counts.min()) > len(k) / 4 * 0.8  # the four turns about equally often
    assert len(turned.test) == len(digits.test)


def test_the_spec_reloads_and_non_square_images_are_refused(digits):
    data = load("rotations:digits", seed=2)
    again = load(data.spec, seed=2)
    assert torch.equal(data.train.tensors[1], again.train.tensors[1])
    wide = from_arrays(torch.rand(20, 1, 4, 6), torch.arange(20) % 2)
    with pytest.raises(DataError, match="turns square images"):
        rotations(wide)
    with pytest.raises(DataError, match="cannot wrap another rotations spec"):
        load("rotations:rotations:digits")


def test_pretrain_then_finetune_on_ten_labels_per_class(tmp_path):
    pre = runs.pretrain("lecture_cnn", "digits", epochs=8, runs_dir=tmp_path, progress=False)
    assert pre.best_value > 0.6  # telling the turns apart is learnable (chance: 0.25)
    tuned = runs.finetune(pre.path, "digits?per_class=10", epochs=10, runs_dir=tmp_path, progress=False)
    assert torch.equal(tuned.model.state_dict()["0.weight"], pre.model.state_dict()["0.weight"])  # frozen conv
    assert tuned.evaluate("val").accuracy > 0.3
