"""Published figures on real MNIST with each zoo entry's default recipe (slow: minutes each)."""

from __future__ import annotations

import pytest

from deepscope import data as data_module
from deepscope import runs, zoo


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return data_module.load(f"mnist:{mnist_dir}")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, threshold, max_epochs",
    [("mnist_cnn", 0.9925, 4), ("mnist_mlp", 0.984, 8), ("softmax_regression", 0.92, 5)],
)
def test_default_recipe_reaches_the_published_figure(mnist, tmp_path, name, threshold, max_epochs):
    recipe = zoo.info(name).recipe
    assert recipe.epochs <= max_epochs
    model = zoo.create(name, data=mnist, seed=0)
    run = runs.fit(model, mnist, runs_dir=tmp_path, progress=False)
    assert run.evaluate("test").accuracy >= threshold
