"""The 'rnn' lesson: a SimpleRNN trained with the project's trainer, replayed as the numpy for
loop of deepscope.mechanics and checked against torch's nn.RNN on the same weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepscope import lessons, mechanics
from deepscope.errors import InvalidArgumentError
from deepscope.lessons import rnn
from deepscope.plots.lessons_rnn import RnnStep, rnn_states_figure, rnn_step_frame


def test_the_lesson_trains_animates_the_loop_and_matches_torch(tmp_path):
    result = lessons.run("rnn", tmp_path)
    assert [p.name for p in result.files] == ["loop.gif", "states.png", "numbers.json", "lesson.html"]
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert numbers["val_accuracy"] >= 0.85  # 8 rows of 8 pixels are enough to tell digits apart
    assert numbers["max_abs_difference"] < 1e-5  # the numpy loop is torch's RNN (float32 rounding only)
    assert numbers["compared_states"] == 144 * 8 * rnn.UNITS  # every step of every validation digit
    with Image.open(tmp_path / "loop.gif") as gif:
        assert gif.n_frames == numbers["steps"] == 8  # one frame per step
    example = numbers["example"]
    assert 0 <= example["index"] < 144 and 0.1 <= example["probability"] <= 1
    assert "max |numpy - torch|" in result.page.read_text()
    assert not list(tmp_path.glob("**/model.safetensors"))  # the trainer's run folder stays out of the lesson


def test_the_lesson_refuses_data_it_does_not_take(tmp_path):
    with pytest.raises(InvalidArgumentError, match="`data` must be None: the rnn lesson makes its own numbers"):
        lessons.run("rnn", tmp_path, data="digits")


def test_weights_in_the_lecture_layout_reproduce_torch_for_an_untrained_model():
    model = rnn.row_rnn(5, 3, 4, seed=1, units=6)
    with torch.no_grad():
        model[1].rnn.bias_hh_l0.uniform_(-1, 1)  # torch's second bias must be folded into b
    W, U, b = rnn.rnn_weights(model)
    assert (W.shape, U.shape, b.shape) == ((3, 6), (6, 6), (6,))
    images = torch.randn(2, 1, 5, 3)
    loop = mechanics.simple_rnn(images[:, 0].double().numpy(), W, U, b)  # (2, 5, 6)
    np.testing.assert_allclose(loop, rnn.torch_states(model, images), atol=1e-6)
    np.testing.assert_allclose(loop[:, -1], model[1](model[0](images)).detach().double().numpy(), atol=1e-6)


def test_every_step_adds_up_to_the_next_state():
    rng = np.random.default_rng(0)
    sequence, W, U, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=(5, 5)), rng.normal(size=5)
    steps = rnn.step_by_step(sequence, W, U, b)
    assert [s.t for s in steps] == [0, 1, 2, 3]
    assert not steps[0].h_prev.any() and not steps[0].recurrent_term.any()  # the loop starts from zeros
    for before, step in zip(steps, steps[1:]):
        np.testing.assert_array_equal(step.h_prev, before.h)
    for step in steps:
        np.testing.assert_allclose(step.pre, step.input_term + step.recurrent_term + step.bias)
        np.testing.assert_allclose(step.h, np.tanh(step.pre), atol=1e-12)


def test_frames_share_a_size_and_refuse_mismatched_states(tmp_path):
    rng = np.random.default_rng(1)
    sequence, W, U, b = rng.random((3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(5, 5)), rng.normal(size=5)
    steps = rnn.step_by_step(sequence, W, U, b)
    states = np.stack([s.h for s in steps])
    gif = lessons.save_animation([rnn_step_frame(sequence, s, states, 3.0) for s in steps], tmp_path / "l.gif")
    with Image.open(gif) as image:
        assert image.n_frames == 3
    with pytest.raises(InvalidArgumentError, match=r"`states` must be an array \(T=3, units\)"):
        rnn_step_frame(sequence, steps[0], states[:2], 3.0)
    with pytest.raises(InvalidArgumentError, match=r"`step.t` must be a step in \[0, 3\)"):
        rnn_step_frame(sequence, RnnStep(5, *([np.zeros(5)] * 7)), states, 3.0)


def test_the_states_figure_marks_the_prediction():
    rng = np.random.default_rng(2)
    probs = np.array([0.1, 0.7, 0.2])
    fig = rnn_states_figure(rng.random((4, 4)), np.tanh(rng.normal(size=(4, 5))), probs, ["a", "b", "c"], 2, 3e-7)
    assert "max |difference| 3.0e-07" in fig.get_suptitle()
    bars = fig.axes[2].patches
    assert bars[1].get_facecolor()[:3] != bars[2].get_facecolor()[:3]  # the wrong guess and the truth differ
    with pytest.raises(InvalidArgumentError, match="`probs` must be 3 class probabilities"):
        rnn_states_figure(rng.random((4, 4)), rng.random((4, 5)), probs[:2], ["a", "b", "c"], 0)
