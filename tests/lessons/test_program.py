"""The 'program' lesson: softmax templates and a two-layer net's decision regions, trained with
the project's trainer; the outcomes (what 1 hidden unit cannot fit, what 8 can) are asserted."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from deepscope import lessons, plots
from deepscope.errors import InvalidArgumentError
from deepscope.lessons import program
from deepscope.plots.lessons_program import Regions, capacity_figure, regions_frame, templates_figure


@pytest.fixture
def small_course(monkeypatch):
    """The lesson on circles only, with 1 and 8 hidden units (the full grid is the slow test)."""
    monkeypatch.setattr(program, "TOYS", ("circles",))
    monkeypatch.setattr(program, "WIDTHS", (1, 8))
    monkeypatch.setattr(program, "ANIMATED", ("circles", 8))


def test_the_lesson_writes_templates_regions_and_numbers_one_unit_cannot_enclose_a_circle(small_course, tmp_path):
    result = lessons.run("program", tmp_path)
    assert [p.name for p in result.files] == [
        "templates.png",
        "regions.gif",
        "capacity.png",
        "numbers.json",
        "lesson.html",
    ]
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert numbers["data"] == "digits" and numbers["template_shape"] == [10, 1, 8, 8]
    assert numbers["template_val_accuracy"] >= 0.88  # a linear classifier on 8x8 digits
    circles = numbers["toy_accuracy"]["circles"]
    assert circles["1"]["val"] <= 0.75 and circles["1"]["train"] <= 0.75  # one line cannot enclose a circle
    assert circles["8"]["val"] >= 0.95 and circles["8"]["train"] >= 0.95
    epochs = program.TOY_RECIPE["epochs"]
    with Image.open(tmp_path / "regions.gif") as gif:
        assert gif.n_frames == epochs + 1  # the random start, then every epoch
    assert numbers["animated"] == {"data": "circles", "hidden_units": 8, "frames": epochs + 1}
    assert "<td>circles</td>" in result.page.read_text()
    assert not list(tmp_path.glob("**/model.safetensors"))  # the trainer's run folders stay out of the lesson


def test_data_that_is_not_image_classes_is_refused_before_training(tmp_path):
    with pytest.raises(InvalidArgumentError, match="`data` must be an image classification data spec .*series:Airline"):
        lessons.run("program", tmp_path, data="series:Airline")
    assert not (tmp_path / "templates.png").exists()


@pytest.mark.parametrize("name", program.TOYS)
def test_toy_points_are_standardised_two_class_and_repeatable(name):
    x, y = program.toy_points(name, seed=3)
    assert x.shape == (program.POINTS, 2) and x.dtype == np.float32
    assert set(np.unique(y)) == {0, 1}
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-5)
    again, _ = program.toy_points(name, seed=3)
    other, _ = program.toy_points(name, seed=4)
    assert np.array_equal(x, again) and not np.array_equal(x, other)
    data = program.toy_dataset(name, seed=3)
    assert (len(data.train), len(data.val), len(data.test)) == (300, 100, 100)


def test_an_unknown_toy_is_named():
    with pytest.raises(InvalidArgumentError, match=r"`name` must be one of \('moons', 'circles', 'spirals'\)"):
        program.toy_points("swirls")


def test_the_recorder_snapshots_every_epoch_with_the_hidden_lines(tmp_path):
    data = program.toy_dataset("moons")
    recorder = program.train_toy(data, 2, seed=0, runs=tmp_path, every_epoch=True)
    epochs = program.TOY_RECIPE["epochs"]
    assert [s["epoch"] for s in recorder.snapshots] == list(range(epochs + 1))
    first, last = recorder.snapshots[0], recorder.snapshots[-1]
    assert first["prob"].shape == (program.GRID, program.GRID) and last["weights"].shape == (2, 2)
    assert 0.0 <= last["prob"].min() and last["prob"].max() <= 1.0
    assert not np.array_equal(first["weights"], last["weights"])  # training moved the lines
    assert last["train"] > first["train"]


def test_template_figure_handles_grey_colour_and_many_classes():
    rng = np.random.default_rng(0)
    grey = templates_figure(rng.normal(size=(10, 1, 8, 8)), [str(k) for k in range(10)], rng.random((10, 1, 8, 8)), 0.9)
    assert "validation accuracy 0.900" in grey.get_suptitle()
    colour = templates_figure(rng.normal(size=(3, 3, 4, 4)), ["a", "b", "c"])
    assert colour.axes[0].images[0].get_array().shape == (4, 4, 3)  # RGB, not a colour map
    many = templates_figure(rng.normal(size=(25, 1, 4, 4)), [str(k) for k in range(25)])
    assert "first 20 of 25 classes" in many.get_suptitle()
    with pytest.raises(InvalidArgumentError, match="`classes` must be 10 class names"):
        templates_figure(rng.normal(size=(10, 1, 8, 8)), ["0"])
    with pytest.raises(InvalidArgumentError, match=r"`weights` must be an array \(K, C, H, W\)"):
        templates_figure(rng.normal(size=(10, 64)), [str(k) for k in range(10)])


def _regions(hidden: int) -> Regions:
    grid = np.linspace(-2, 2, 5)
    rng = np.random.default_rng(hidden)
    return Regions(grid, grid, rng.random((5, 5)), rng.normal(size=(6, 2)), np.arange(6) % 2,
                   rng.normal(size=(hidden, 2)), rng.normal(size=hidden), "t")  # fmt: skip


def test_region_frames_share_a_size_and_the_grid_checks_its_shape(tmp_path):
    frames = [regions_frame(_regions(3), "epoch 0"), regions_frame(_regions(3), "epoch 10")]
    gif = lessons.save_animation(frames, tmp_path / "r.gif")
    with Image.open(gif) as image:
        assert image.n_frames == 2
    fig = capacity_figure([[_regions(1), _regions(64)]], ["moons"], ["1 unit", "64 units"])
    dashed = [line for ax in fig.axes for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1  # the 1-unit panel draws its line; 64 lines would hide the regions
    plots.save_figure(fig, tmp_path / "c.png")
    with pytest.raises(InvalidArgumentError, match="`panels` must be 1 rows of 3 Regions"):
        capacity_figure([[_regions(1)]], ["moons"], ["a", "b", "c"])


@pytest.mark.slow
def test_the_full_lesson_width_decides_what_fits(tmp_path):
    result = lessons.run("program", tmp_path)
    accuracy = result.numbers["toy_accuracy"]
    assert accuracy["circles"]["1"]["val"] <= 0.75
    for name in ("moons", "circles"):
        for hidden in ("8", "64"):
            assert accuracy[name][hidden]["val"] >= 0.95, (name, hidden)
    assert accuracy["spirals"]["64"]["val"] >= 0.9 and accuracy["spirals"]["2"]["val"] <= 0.85
    assert result.seconds < 60


@pytest.mark.slow
def test_mnist_gives_28x28_templates(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(program, "TOYS", ("moons",))
    monkeypatch.setattr(program, "WIDTHS", (2,))
    monkeypatch.setattr(program, "ANIMATED", ("moons", 2))
    result = lessons.run("program", tmp_path, data=f"mnist:{mnist_dir}")
    assert result.numbers["template_shape"] == [10, 1, 28, 28]
    assert result.numbers["template_val_accuracy"] >= 0.9
