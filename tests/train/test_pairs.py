"""The pairs task: contrastive loss, the verification threshold, evaluation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import deepscope as ds
from deepscope.data import Dataset
from deepscope.errors import DataError
from deepscope.train.pairs import THRESHOLD, Pairs, best_threshold, contrastive_loss
from deepscope.zoo.siamese import Siamese


def test_contrastive_loss_pulls_same_pairs_and_pushes_different_ones_to_the_margin():
    d = torch.tensor([0.5, 0.5, 2.0])
    same = torch.tensor([1.0, 0.0, 0.0])
    # same: 0.5^2; different at 0.5: (1 - 0.5)^2; different beyond the margin: 0
    assert float(contrastive_loss(d, same)) == pytest.approx((0.25 + 0.25 + 0.0) / 3)


def test_best_threshold_separates_separable_distances():
    d = torch.tensor([0.1, 0.2, 0.3, 0.9, 1.0])
    same = torch.tensor([True, True, True, False, False])
    t = best_threshold(d, same)
    assert 0.3 < t < 0.9 and t == pytest.approx(0.6)


class Identity(nn.Module):
    def forward(self, x):
        return x.flatten(1)


def _pairs_data(n: int = 40) -> Dataset:
    g = torch.Generator().manual_seed(0)
    a = torch.rand(n, 1, 2, 2, generator=g)
    same = torch.arange(n) % 2 == 0
    b = torch.where(same[:, None, None, None], a, 1 - a)  # the same image, or its negative
    x = torch.stack([a, b], dim=1)
    split = TensorDataset(x, same.float())
    return Dataset("toy-pairs", "image", (2, 1, 2, 2), split, split, split, task="pairs")


def test_pairs_evaluation_scores_a_known_distance():
    data = _pairs_data()
    model = Siamese(Identity())
    evaluation = ds.train.evaluate_data(model, data, "test")
    distance = model(data.test.tensors[0])
    expected = float(((distance < THRESHOLD) == (data.test.tensors[1] > 0.5)).float().mean())
    assert evaluation.task == "pairs" and evaluation.scores["accuracy"] == pytest.approx(expected)
    assert 0 <= evaluation.scores["roc_auc"] <= 1
    assert "accuracy_val_threshold" in evaluation.scores  # the threshold comes from the validation split
    assert evaluation.panels[0].data.shape == (16, 1, 2, 4)  # pairs drawn side by side
    saved = evaluation.to_dict()
    assert saved["task"] == "pairs" and saved["cards"][0] == ["verification accuracy", "accuracy"]


def test_pairs_task_refuses_data_that_are_not_pairs():
    with pytest.raises(DataError, match="pairs:digits"):
        Pairs().prepare(Siamese(Identity()), ds.data.load("digits"))


def test_siamese_learns_to_verify_digit_pairs(tmp_path):
    data = ds.data.load("pairs:digits")
    model = ds.zoo.create("mnist_siamese", data=data, seed=0)
    run = ds.fit(model, data, epochs=4, lr=3e-3, out=tmp_path / "run", progress=False)
    assert run.config["task"] == "pairs"
    assert run.history[-1]["val_accuracy"] > 0.85  # chance: 0.5
    evaluation = run.evaluate("test")
    assert evaluation.scores["accuracy"] > 0.85 and not math.isnan(evaluation.scores["roc_auc"])


def test_the_schema_knows_every_task():
    from typing import get_args

    from deepscope.data.spec import TASKS as DATA_TASKS
    from deepscope.train.schema import Config, DataConfig
    from deepscope.train.tasks import TASKS

    assert set(get_args(DataConfig.model_fields["task"].annotation)) == set(DATA_TASKS)
    trained = get_args(Config.model_fields["task"].annotation)[0]
    assert set(get_args(trained)) == set(TASKS)
