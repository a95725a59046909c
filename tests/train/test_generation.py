"""The generation task: each network steps in its own update, the global RNG makes a step
repeatable, validation leaves it alone, and one epoch on real MNIST writes the history
columns, the quality scores and the sample grids."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import TensorDataset

import deepscope as ds
from deepscope.data import Dataset
from deepscope.errors import DataError, InvalidArgumentError
from deepscope.train import resolve_task
from deepscope.train.quality import SampleQuality, read_sample_grid


def _toy(classes: int = 2, n: int = 6, low: float = 0.0) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = low + torch.rand(n, 1, 28, 28, generator=g) * (1 - low)
    split = TensorDataset(x, torch.arange(n) % classes)
    return Dataset("toy", "image", (1, 28, 28), split, split, split, classes=[str(k) for k in range(classes)])


def _acgan(classes: int = 2):
    return ds.zoo.create("mnist_acgan", in_shape=(1, 28, 28), num_classes=classes, seed=0, width=4, d_width=4)


def test_each_update_steps_its_own_network_and_the_columns_are_per_sample():
    model, data = _acgan(), _toy()
    task = resolve_task(model, data)
    stepped = []

    def update(loss, params):
        params = list(params)
        loss.backward(inputs=params)
        stepped.append({id(p) for p in params})

    x, y = data.train.tensors
    values, loss = task.train_step(model, x, y, update)
    assert stepped == [
        {id(p) for p in model.discriminator.parameters()},
        {id(p) for p in model.generator.parameters()},
    ]
    assert values.shape == (6, 5) and task.columns == ["d_loss", "g_loss", "d_real", "d_fake", "class_accuracy"]
    sums = task.batch_sums(values, y)
    assert math.isclose(float(sums["d_loss"] + sums["g_loss"]) / 6, float(loss), rel_tol=1e-5)
    assert 0 <= float(sums["d_real"]) <= 6 and float(sums["class_accuracy"]) in {float(k) for k in range(7)}


def test_a_step_is_repeatable_under_the_global_seed_and_validation_leaves_it_alone():
    data = _toy()
    x, y = data.train.tensors
    results = []
    for _ in range(2):
        model = _acgan()
        task = resolve_task(model, data)
        torch.manual_seed(3)
        ds.train.train_step(task, model, x, y, torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999)))
        results.append(model.state_dict())
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])
    model.eval()
    state = torch.get_rng_state()
    with torch.no_grad():
        first, again = task.eval_step(model, x, y), task.eval_step(model, x, y)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])  # fixed fakes


def test_prepare_checks_the_model_and_the_data():
    with pytest.raises(DataError, match="The GAN generates 2 classes; 'toy' has 3"):
        resolve_task(_acgan(2), _toy(classes=3))
    with pytest.raises(DataError, match=r"reads pixels as probabilities in \[0, 1\]"):
        resolve_task(_acgan(2), _toy(low=-1.0))
    model = ds.zoo.create("softmax_regression", in_shape=(1, 28, 28), num_classes=2)
    model.task = "generation"
    with pytest.raises(InvalidArgumentError, match="The generation task trains GANs"):
        resolve_task(model, _toy())
    dcgan = ds.zoo.create("dcgan", in_shape=(1, 28, 28), num_classes=2, seed=0, width=4)
    task = resolve_task(dcgan, _toy())  # an unconditional GAN: no class head, no class column
    assert task.columns == ["d_loss", "g_loss", "d_real", "d_fake"] and "class_accuracy" not in task.higher_is_better


@pytest.fixture(scope="module")
def small_mnist(mnist_dir):
    return ds.data.load(f"mnist:{mnist_dir}?per_class=20&test_per_class=10")


def test_one_epoch_of_mnist_acgan_writes_history_scores_and_grids(tmp_path, small_mnist):
    data = small_mnist
    gan = ds.zoo.create("mnist_acgan", data=data, seed=0, width=8, d_width=8)
    judge = ds.zoo.create("mnist_cnn", data=data, seed=0)  # untrained: this test is about the plumbing
    run = ds.fit(
        gan, data, epochs=1, out=tmp_path / "run", progress=False, callbacks=[SampleQuality(judge, data.val.tensors[0])]
    )
    row = run.history[0]
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "class_accuracy", "val_d_loss", "val_class_accuracy"):
        assert math.isfinite(row[key]), key
    assert row["frechet"] >= 0 and 0 <= row["classifier_score"] <= 1
    header = (run.path / "history.csv").read_text().splitlines()[0].split(",")
    assert {"d_loss", "g_loss", "d_real", "d_fake", "class_accuracy"} <= set(header)
    images, labels, meta = read_sample_grid(run.path / "samples" / "epoch_001.safetensors")
    assert images.shape == (100, 1, 28, 28) and labels.tolist() == torch.arange(10).repeat_interleave(10).tolist()
    assert meta["columns"] == "10" and 0 <= float(images.min()) and float(images.max()) <= 1
    result = run.evaluate("test")  # the judge came with the callback
    assert result.cards[0] == ("classifier score", "classifier_score")
    assert {"frechet", "classifier_score", "judge_accuracy", "d_real"} <= set(result.scores)
    assert [p.name for p in result.panels] == ["samples", "interpolations"]
    assert result.panels[0].data.shape == (100, 1, 28, 28) and result.panels[0].labels[:11] == ["0"] * 10 + ["1"]
    assert result.panels[1].data.shape == (80, 1, 28, 28) and result.panels[1].columns == 10
    assert all(m is not judge for m in gan.modules()) and not any(k.startswith("judge") for k in gan.state_dict())


class _CrashInEpoch2(ds.train.Callback):
    def on_batch_end(self, state, step, loss):
        if state.epoch == 1:  # epochs completed: the first step of epoch 2
            raise KeyboardInterrupt


def test_a_judged_gan_cut_short_resumes_with_its_judge(tmp_path, mnist_dir):
    from deepscope import runs

    spec = f"mnist:{mnist_dir}?per_class=10&test_per_class=4"
    judge = runs.train("softmax_regression", spec, epochs=1, out=tmp_path / "judge", progress=False)
    settings = dict(model_args={"width": 4, "d_width": 4}, epochs=2, batch_size=25, progress=False)
    with pytest.raises(KeyboardInterrupt):
        runs.train(
            "mnist_acgan", spec, judge=judge.path, out=tmp_path / "gan", callbacks=[_CrashInEpoch2()], **settings
        )
    first = (tmp_path / "gan" / "history.csv").read_text().splitlines()
    assert len(first) == 2 and "frechet" in first[0]  # epoch 1 was judged before the cut
    resumed = runs.resume(tmp_path / "gan", progress=False)
    assert [int(row["epoch"]) for row in resumed.history] == [1, 2]
    assert all(math.isfinite(row["frechet"]) and 0 <= row["classifier_score"] <= 1 for row in resumed.history)
    assert resumed.model.zoo_config["kwargs"] == {"width": 4, "d_width": 4}
    assert "classifier_score" in runs.open_run(tmp_path / "gan").evaluate("test").scores  # the recorded judge


@pytest.mark.slow
def test_mnist_acgan_reaches_a_classifier_score_of_90_percent_and_a_falling_frechet_distance(tmp_path, mnist_dir):
    """The figure of docs/gans.md: the recipe's epochs, judged by mnist_cnn (2 epochs, ~99%)."""
    from deepscope import runs

    judge = runs.train("mnist_cnn", f"mnist:{mnist_dir}", epochs=2, out=tmp_path / "judge", progress=False)
    assert judge.best_value > 0.98
    run = runs.train("mnist_acgan", f"mnist:{mnist_dir}", judge=judge.path, out=tmp_path / "gan", progress=False)
    first, last = run.history[0], run.history[-1]
    assert last["classifier_score"] >= 0.90, [row["classifier_score"] for row in run.history]
    assert last["frechet"] < first["frechet"], [row["frechet"] for row in run.history]
    test = run.evaluate("test")
    assert test.scores["classifier_score"] >= 0.90 and test.scores["judge_accuracy"] > 0.98
