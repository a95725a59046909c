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


@pytest.mark.slow
def test_mnist_transfer_cnn_reaches_keras_figures_on_both_halves(mnist_dir, tmp_path):
    """Keras' mnist_transfer_cnn: 99.8% on digits 0-4, then 99.2% on 5-9 after transfer."""
    first = runs.train("mnist_transfer_cnn", f"mnist:{mnist_dir}?classes=0,1,2,3,4", runs_dir=tmp_path, progress=False)
    assert first.evaluate("test").accuracy >= 0.998
    second = runs.finetune(first.path, f"mnist:{mnist_dir}?classes=5,6,7,8,9", runs_dir=tmp_path, progress=False)
    assert second.evaluate("test").accuracy >= 0.992
