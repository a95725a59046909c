"""Feature caching: the frozen phase trained on the backbone's features, computed once."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepscope import limits
from deepscope.data import load
from deepscope.errors import DataError, InvalidArgumentError
from deepscope.recipe import Recipe
from deepscope.train import fit
from deepscope.train.features import extract_features, head_of


def _bn_net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, 16),
        nn.ReLU(),
        nn.Linear(16, 10),
    )


def test_features_are_what_the_head_receives(digits):
    net = _bn_net().train()
    cached = extract_features(net, digits.val, batch_size=50)
    x, y = digits.val.tensors
    assert cached.tensors[0].shape == (len(x), 32) and torch.equal(cached.tensors[1], y)
    assert net.training  # the model's mode comes back
    with torch.no_grad():
        assert torch.allclose(head_of(net.eval())(cached.tensors[0]), net(x), atol=1e-5)


def test_cached_frozen_phase_equals_the_uncached_one(digits, tmp_path):
    recipe = Recipe(epochs=3, freeze_epochs=2, lr_mult=10.0, batch_size=32, seed=1)
    plain = fit(_bn_net(), digits, recipe, runs_dir=tmp_path, progress=False)
    cached = fit(_bn_net(), digits, recipe.with_overrides(cache_features=True), runs_dir=tmp_path, progress=False)
    for a, b in zip(plain.history, cached.history):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
        assert a["accuracy"] == pytest.approx(b["accuracy"], abs=1e-9)
    for (name, a), b in zip(plain.model.state_dict().items(), cached.model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-4), name
    assert cached.config["recipe"]["cache_features"] is True


def test_cache_features_refusals(digits, tmp_path):
    with pytest.raises(InvalidArgumentError, match="`cache_features` must be used with freeze_epochs >= 1"):
        Recipe(cache_features=True)

    class Scaled(nn.Module):  # the output is not the head applied to its input
        def __init__(self):
            super().__init__()
            self.body, self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, 8)), nn.Linear(8, 10)

        def forward(self, x):
            return 2 * self.head(self.body(x))

    recipe = Recipe(epochs=1, freeze_epochs=1, cache_features=True)
    with pytest.raises(InvalidArgumentError, match="computes something else after the backbone"):
        fit(Scaled(), digits, recipe, runs_dir=tmp_path, progress=False)
    with limits.override(memory=1000), pytest.raises(DataError, match="feature cache of 1293 samples"):
        extract_features(_bn_net(), load("digits").train)
