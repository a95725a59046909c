"""The overfitting lesson: a large MLP on 300 digits turns on validation while training loss
keeps falling; dropout and augmentation narrow the gap; validation alone chooses."""

from __future__ import annotations

import pytest
from PIL import Image

from deepscope import zoo
from deepscope.data import load
from deepscope.errors import InvalidArgumentError
from deepscope.lessons import run
from deepscope.lessons.overfit import EPOCHS, PATIENCE, VARIANTS, stop_epoch
from deepscope.train import fit


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    return run("overfit", tmp_path_factory.mktemp("overfit"), seed=0)


def test_the_lesson_writes_curves_choice_and_an_animation(lesson):
    names = sorted(path.name for path in lesson.files)
    assert names == ["choice.png", "curves.png", "early_stopping.gif", "lesson.html", "numbers.json"]
    with Image.open(lesson.out / "early_stopping.gif") as gif:
        assert gif.n_frames >= 8
    page = lesson.page.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2 and page.count("data:image/gif;base64,") == 1


def test_a_small_training_set_and_an_equal_validation_set(lesson):
    assert lesson.numbers["train_images"] == lesson.numbers["val_images"] == 300
    assert lesson.numbers["per_class"] == 60 and lesson.numbers["cut_to_per_class"] is True
    assert list(lesson.numbers["variants"]) == list(VARIANTS)


def test_the_plain_model_turns_on_validation_while_training_loss_keeps_falling(lesson):
    plain = lesson.numbers["variants"]["plain"]
    assert plain["best_epoch"] < EPOCHS - PATIENCE
    assert plain["final_val_loss"] > plain["best_val_loss"] + 0.01  # it turned and climbed
    assert plain["final_train_loss"] < plain["train_loss_at_best"] / 5  # ... while training loss fell on
    assert plain["final_train_loss"] < 0.01  # the training set memorised
    assert plain["early_stop_epoch"] == plain["best_epoch"] + PATIENCE
    assert plain["early_stop_keeps"] == plain["best_epoch"]


def test_dropout_and_augmentation_narrow_the_train_validation_gap(lesson):
    variants = lesson.numbers["variants"]
    plain = variants["plain"]["final_loss_gap"]
    assert variants["dropout 0.5"]["final_loss_gap"] < plain
    assert variants["augmentation"]["final_loss_gap"] < plain / 2
    assert variants["augmentation"]["augment"]["policy"] == "shift=0.08"  # 'auto' for single-channel images
    assert variants["dropout 0.5"]["dropout"] == 0.5


def test_the_choice_is_the_lowest_validation_loss(lesson):
    variants = lesson.numbers["variants"]
    chosen = lesson.numbers["chosen_by_validation"]
    assert chosen == min(variants, key=lambda name: variants[name]["best_val_loss"])
    assert variants[chosen]["best_val_loss"] < variants["plain"]["best_val_loss"]


def test_stop_epoch_follows_the_trainers_rule():
    assert stop_epoch([3.0, 2.0, 1.0], 2) is None
    assert stop_epoch([1.0, 2.0, 3.0, 4.0], 2) == 3
    assert stop_epoch([1.0, 1.0, 1.0], 2) == 3  # a tie is no improvement
    assert stop_epoch([2.0, 3.0, 1.0, 4.0, 5.0], 2) == 5


def test_stop_epoch_matches_fit_with_patience(tmp_path):
    data = load("digits?per_class=10", val_fraction=0.5)
    settings = dict(epochs=25, batch_size=10, optimizer="adam", lr=0.05, monitor="val_loss", progress=False)
    full = fit(zoo.create("softmax_regression", data=data, seed=0), data, out=tmp_path / "a", **settings)
    patient = fit(zoo.create("softmax_regression", data=data, seed=0), data, out=tmp_path / "b", patience=2, **settings)
    stop = stop_epoch([row["val_loss"] for row in full.history], 2)
    assert stop is not None and stop < 25  # the case must stop early to test anything
    assert len(patient.history) == stop and patient.stopped_early


def test_data_that_is_not_image_classification_is_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match="`data` must be an image classification data spec"):
        run("overfit", tmp_path, data="addition")
