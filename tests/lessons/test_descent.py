"""The descent lesson: on (x - 1)^2 the too-large rate really diverges, the good one converges,
the small one barely moves; on the badly scaled bowl plain SGD zig-zags and momentum, RMSprop
and Adam reach the tolerance in fewer steps (at the lesson's rates)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from deepscope import lessons
from deepscope.errors import InvalidArgumentError
from deepscope.lessons import descent as lesson
from deepscope.plots import lessons_descent as draw


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return lessons.run("descent", tmp_path_factory.mktemp("descent"), seed=0)


@pytest.mark.parametrize(("label", "lr"), lesson.RATES_1D + (("at the edge", 1.0),))
def test_each_step_multiplies_the_distance_to_the_minimum_by_one_minus_two_lr(label, lr):
    walk = lesson.walk_1d(lr, label)
    t = np.arange(len(walk.xs))
    expected = lesson.MINIMUM_1D + (1 - 2 * lr) ** t * (lesson.START_1D - lesson.MINIMUM_1D)
    np.testing.assert_allclose(walk.xs, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(walk.slopes, 2 * (walk.xs - lesson.MINIMUM_1D))  # autograd's slope
    assert walk.diverged is (abs(1 - 2 * lr) > 1)  # at lr = 1 it swings forever at the same height: not diverging


def test_the_too_large_rate_diverges_and_the_good_one_converges():
    walks = {label: lesson.walk_1d(lr, label) for label, lr in lesson.RATES_1D}
    big = walks["too large"]
    distance = np.abs(big.xs - lesson.MINIMUM_1D)
    assert big.diverged and np.all(np.diff(distance) > 0) and big.losses[-1] > 5 * big.losses[0]
    assert np.all(np.diff(np.sign(big.xs - lesson.MINIMUM_1D)) != 0)  # overshoots at every step
    assert not walks["good"].diverged and walks["good"].losses[-1] < 1e-6
    assert walks["too small"].losses[-1] > 0.5 * walks["too small"].losses[0]  # barely moved
    large = walks["large"]
    assert np.all(np.diff(np.sign(large.xs - lesson.MINIMUM_1D)) != 0) and large.losses[-1] < 1e-2 * large.losses[0]


def test_diverging_to_overflow_counts_as_diverged():
    walk = lesson.walk_1d(1e200, "absurd", steps=3)
    assert walk.diverged and not np.isfinite(walk.losses[-1])


def test_sgd_zigzags_on_the_badly_scaled_bowl_and_the_others_beat_it(result):
    bowl = result.numbers["surfaces"]["bowl"]
    sgd = bowl["SGD"]
    assert sgd["lr"] == pytest.approx(2 / 51)  # plain SGD at its best constant rate
    assert sgd["steps_to_tolerance"] is not None and sgd["y_crossings"] == sgd["steps_to_tolerance"]  # every step
    for name in ("momentum", "RMSprop", "Adam"):
        assert bowl[name]["steps_to_tolerance"] < sgd["steps_to_tolerance"]
        assert bowl[name]["y_crossings"] < sgd["y_crossings"] / 4
    valley = result.numbers["surfaces"]["valley"]
    assert all(run["final_loss"] < valley["SGD"]["final_loss"] for name, run in valley.items() if name != "SGD")


def test_torch_sgd_on_the_bowl_follows_the_closed_form():
    lr, steps = 0.03, 10
    path, losses = lesson.optimizer_run("SGD", lr, lesson.bowl, (-4.0, 1.0), steps)
    t = np.arange(steps + 1)
    np.testing.assert_allclose(path[:, 0], -4.0 * (1 - lr) ** t, rtol=1e-12)
    np.testing.assert_allclose(path[:, 1], (1 - lesson.CONDITION * lr) ** t, rtol=1e-12)
    np.testing.assert_allclose(losses, lesson.bowl(path[:, 0], path[:, 1]))


def test_steps_to_tolerance_means_below_for_good():
    assert lesson.steps_to_tolerance(np.array([5, 1e-4, 1e-2, 1e-4, 1e-5]), 1e-3) == 3
    assert lesson.steps_to_tolerance(np.array([1e-4, 1e-5]), 1e-3) == 0
    assert lesson.steps_to_tolerance(np.array([1e-4, 1e-2]), 1e-3) is None
    assert lesson.steps_to_tolerance(np.array([1e-4, np.nan]), 1e-3) is None


def test_zigzags_counts_crossings_of_the_minimum():
    path = np.array([[0, 1.0], [0, -0.5], [0, 0.25], [0, 0.1], [0, -0.1]])
    assert lesson.zigzags(path, (0.0, 0.0)) == 3
    assert lesson.zigzags(path, (0.0, 0.0), until=2) == 2


def test_the_lesson_writes_stills_animations_numbers_and_page(result):
    assert [p.name for p in result.files] == [
        "descent_1d.png",
        "descent_1d.gif",
        "surfaces.png",
        "surface_losses.png",
        "race.gif",
        "numbers.json",
        "lesson.html",
    ]
    skier = Image.open(result.out / "descent_1d.gif")
    assert skier.n_frames == lesson.STEPS_1D + 1
    saved = json.loads((result.out / "numbers.json").read_text())
    assert saved["rates_1d"]["too large"]["diverged"] is True and saved["rates_1d"]["good"]["diverged"] is False
    assert saved["rates_1d"]["too large"]["final_loss"] > saved["initial_loss_1d"]
    page = result.page.read_text()
    assert page.count("data:image/gif;base64,") == 2 and page.count("<table>") == 2


def test_drawing_checks_its_inputs():
    with pytest.raises(InvalidArgumentError, match="`walks` must be a non-empty sequence of Walk1D"):
        draw.walks_1d_figure(lesson.loss_1d, [], 1.0)
    panel = lesson.surface_runs(1, steps=4)
    with pytest.raises(InvalidArgumentError, match="`every` must be an int >= 1"):
        draw.race_frames(panel, every=0)
    with pytest.raises(InvalidArgumentError, match=r"`last` must be an int in \[0, 4\]"):
        draw.race_frames(panel, last=9)
    frames = draw.race_frames(panel, every=3)
    assert len(frames) == 3  # steps 0, 3 and the last, 4
