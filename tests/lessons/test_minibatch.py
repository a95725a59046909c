"""The mini-batch lesson: same examples at batch sizes full, 256, 32 and 1; the step noise
falls with the batch size, small batches get further per example and cost more per second."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from torch.utils.data import TensorDataset

from deepscope.errors import InvalidArgumentError
from deepscope.lessons import run
from deepscope.lessons.minibatch import _trimmed, learning_rate, step_noise

ORDER = ["1280 (full)", "256", "32", "1"]  # digits: 1,293 training images, trimmed to 1,280


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    return run("minibatch", tmp_path_factory.mktemp("minibatch"), seed=0)


def test_the_lesson_writes_its_figures_numbers_and_page(lesson):
    names = sorted(path.name for path in lesson.files)
    assert names == ["lesson.html", "loss_vs_examples.png", "loss_vs_time.png", "numbers.json", "step_noise.png"]
    for path in lesson.files:
        assert path.is_file() and path.stat().st_size > 1000
    page = lesson.page.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert json.loads((lesson.out / "numbers.json").read_text())["data"] == "digits"


def test_every_batch_size_sees_the_same_examples(lesson):
    sizes = lesson.numbers["batch_sizes"]
    assert list(sizes) == ORDER
    assert lesson.numbers["train_images"] == 1280 and lesson.numbers["train_images_dropped"] == 13
    for number in sizes.values():
        assert number["examples"] == lesson.numbers["examples_seen"] == 5 * 1280
        assert number["steps"] == number["examples"] // number["batch_size"]
    assert [sizes[k]["steps"] for k in ORDER] == [5, 25, 200, 6400]


def test_step_loss_noise_falls_with_batch_size(lesson):
    noise = [lesson.numbers["batch_sizes"][k]["noise"] for k in ORDER]
    assert noise[3] > noise[2] > noise[1] > noise[0]  # 1 > 32 > 256 > full
    assert lesson.numbers["noise_falls_with_batch"] is True
    assert noise[0] < 1e-4  # the full batch's step loss is the training-set loss itself
    # ... and roughly as 1/sqrt(batch): noise * sqrt(batch) stays within a factor of 3
    scaled = [lesson.numbers["batch_sizes"][k]["noise_sqrt_batch"] for k in ORDER[1:]]
    assert max(scaled) / min(scaled) < 3


def test_small_batches_get_further_per_example_but_cost_more_per_second(lesson):
    sizes = lesson.numbers["batch_sizes"]
    train = [sizes[k]["train_loss"] for k in ORDER]
    assert train[0] > train[1] > train[2] > train[3]
    assert train[0] > 1.0 and train[3] < 0.3  # 5 exact steps barely start; 6,400 noisy ones get far
    assert all(math.isfinite(sizes[k]["val_loss"]) and sizes[k]["val_loss"] > 0 for k in ORDER)
    assert sizes["1"]["update_seconds"] > 3 * sizes["32"]["update_seconds"]


def test_the_learning_rate_grows_as_the_square_root_of_the_batch():
    assert learning_rate(1, 15.0) == pytest.approx(1 / 16)
    assert learning_rate(256, 15.0) == pytest.approx(16 * learning_rate(1, 15.0))


def test_step_noise_is_the_spread_of_step_loss_around_the_probed_loss():
    losses = np.array([9.0, 9.0, 1.0, 3.0, 1.0, 3.0])
    probes = np.array([1, 3, 4, 5, 6, 7])  # probe 7 is the final weights, after the last step
    truth = np.array([0.0, 2.0, 2.0, 2.0, 2.0, 0.0])
    assert step_noise(losses, probes, truth, start=3) == pytest.approx(1.0)  # steps 3-6: -1, +1, -1, +1
    assert step_noise(losses, probes, losses[probes[:-1] - 1].tolist() + [0.0], start=1) == 0.0


def test_trimming_keeps_a_multiple_of_the_largest_batch_below_the_size(digits):
    assert len(_trimmed(digits).train) == 1280
    small = _trimmed(replace(digits, train=TensorDataset(*(t[:100] for t in digits.train.tensors))))
    assert len(small.train) == 96  # 3 batches of 32


def test_data_that_is_not_image_classification_is_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match="`data` must be an image classification data spec"):
        run("minibatch", tmp_path, data="addition")


@pytest.mark.slow
def test_mnist_is_cut_to_150_images_a_class(tmp_path, mnist_dir):
    result = run("minibatch", tmp_path, seed=0, data=f"mnist:{mnist_dir}")
    numbers = result.numbers
    assert numbers["cut_to_per_class"] is True and numbers["per_class"] == 150
    assert numbers["train_images"] == 1280 and numbers["val_images"] == 150
    assert numbers["noise_falls_with_batch"] is True
