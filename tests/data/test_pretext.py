"""Pretext tasks (rotation, SimCLR): labels from the data itself, and pre-training then fine-tuning."""

from __future__ import annotations

import pytest
import torch

from deepscope import runs
from deepscope.data import from_arrays, load
from deepscope.data.augment import resolve_policy
from deepscope.data.pretext import contrastive, rotations
from deepscope.errors import DataError, InvalidArgumentError
from deepscope.train.tasks import Contrastive


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


# --- SimCLR: the contrastive task ---------------------------------------------------------------


def test_nt_xent_matches_its_definition():
    torch.manual_seed(0)
    z = torch.randn(6, 5)  # 3 pairs of views: rows (0, 1), (2, 3), (4, 5)
    task = Contrastive()
    unit = torch.nn.functional.normalize(z, dim=1)
    similarity = unit @ unit.T / task.temperature
    terms = []
    for i in range(6):
        others = [k for k in range(6) if k != i]
        terms.append(-similarity[i, i ^ 1] + torch.logsumexp(similarity[i, others], dim=0))
    assert torch.allclose(task.loss(z, torch.zeros(6)), torch.stack(terms).mean(), atol=1e-6)
    # Identical views, orthogonal pairs: every row finds its partner; a 7th, unpaired row is ignored.
    paired = torch.eye(3).repeat_interleave(2, dim=0)
    assert int(task.batch_sums(torch.cat([paired, torch.ones(1, 3)]), torch.zeros(7))["accuracy"]) == 6
    assert int(task.batch_sums(paired[[0, 2, 1, 3, 4, 5]], torch.zeros(6))["accuracy"]) == 2


def test_views_come_in_consecutive_pairs_and_differ(digits):
    data = contrastive(digits, seed=0)
    policy = resolve_policy("auto", data)
    assert policy.views == 2 and str(policy) == "crop=0.4+rotate=15+erase=0.5"
    x = digits.train.tensors[0][:8]
    views, y = policy(x, torch.arange(8), torch.Generator().manual_seed(3))
    again, _ = policy(x, torch.arange(8), torch.Generator().manual_seed(3))
    assert views.shape == (16, *x.shape[1:]) and torch.equal(views, again)
    assert torch.equal(y, torch.arange(8).repeat_interleave(2))
    assert not torch.equal(views[0::2], views[1::2])  # two independent draws
    with pytest.raises(InvalidArgumentError, match="two views of a sample must differ"):
        resolve_policy("none", data)
    with pytest.raises(InvalidArgumentError, match="mixup/cutmix only on classification"):
        resolve_policy("shift+mixup", data)


def test_simclr_data_has_fixed_view_pairs_and_no_labels(digits):
    data = load("simclr:digits", seed=1)
    assert data.task == "contrastive" and data.classes is None and data.spec == "simclr:digits"
    assert data.info["projection_dim"] == 128 and len(data.train) == len(digits.train)
    x, pair = data.val.tensors
    assert len(x) == 2 * len(digits.val) and torch.equal(pair, torch.arange(len(digits.val)).repeat_interleave(2))
    assert torch.equal(x, load(data.spec, seed=1).val.tensors[0])  # the same pairs every time
    with pytest.raises(DataError, match="cannot wrap another pretext"):
        load("simclr:rotations:digits")


def test_simclr_pretrain_then_finetune(tmp_path):
    pre = runs.pretrain("lecture_cnn", "digits", task="simclr", epochs=6, runs_dir=tmp_path, progress=False)
    batch = pre.config["recipe"]["batch_size"]
    assert pre.config["augment"]["views"] == 2 and pre.config["data"]["task"] == "contrastive"
    assert pre.best_value > 5 / (batch - 1)  # a view finds its partner far above chance
    assert runs.open_run(pre.path).model.state_dict()["0.weight"].shape == pre.model.state_dict()["0.weight"].shape
    with pytest.raises(InvalidArgumentError, match="no test score of its own"):
        pre.evaluate("test")
    tuned = runs.finetune(pre.path, "digits?per_class=10", epochs=8, runs_dir=tmp_path, progress=False)
    assert torch.equal(tuned.model.state_dict()["0.weight"], pre.model.state_dict()["0.weight"])  # frozen conv
    assert tuned.evaluate("test").accuracy > 0.3
    with pytest.raises(InvalidArgumentError, match="`batch_size` must be an even number"):
        runs.pretrain("lecture_cnn", "digits", task="simclr", epochs=1, batch_size=63, runs_dir=tmp_path)


def test_the_preview_of_contrastive_data_shows_views_of_each_sample(digits):
    from deepscope.data.augment import preview

    shown = preview(contrastive(digits), "auto", n=4, versions=3)
    assert shown.originals.shape == (4, 1, 8, 8) and shown.augmented.shape == (3, 4, 1, 8, 8)
    single = resolve_policy("crop=0.4+rotate=15+erase=0.5", digits)  # the same ops, one view
    first, _ = single(shown.originals.clone(), torch.zeros(4), torch.Generator().manual_seed(1))
    assert torch.equal(shown.augmented[0], first)  # version 1 of sample i is a view of sample i
