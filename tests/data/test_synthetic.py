"""Synthetic sequence data: addition strings and moving squares."""

from __future__ import annotations

import pytest
import torch

from deepscope.data import load
from deepscope.data.synthetic import copy_last_frame_mse, decode, moving_squares
from deepscope.errors import DataError, InvalidArgumentError


def test_addition_questions_and_answers_add_up():
    data = load("addition:digits=2&n=500")
    assert data.task == "seq2seq" and data.kind == "sequence" and data.input_shape == (5,)
    x, y = data.train.tensors
    assert x.shape[1] == 5 and y.shape[1] == 3 and x.dtype == torch.long
    for question, answer in zip(decode(x[:50]), decode(y[:50])):
        a, b = question[::-1].strip().split("+")  # reversed input
        assert int(answer) == int(a) + int(b) and len(a) <= 2 and len(b) <= 2


def test_addition_not_reversed_and_test_disjoint_from_train():
    data = load("addition:digits=2&n=400&reverse=0")
    questions = {q.strip() for split in ("train", "val") for q in decode(data.split(split).tensors[0])}
    test = {q.strip() for q in decode(data.test.tensors[0])}
    assert len(questions) == 400 and len(test) == 40
    assert all("+" in q and q[0].isdigit() for q in test)
    canon = {tuple(sorted(map(int, q.split("+")))) for q in questions}
    assert not canon & {tuple(sorted(map(int, q.split("+")))) for q in test}


def test_addition_is_repeatable_and_seed_only_moves_the_validation_split():
    a = load("addition:digits=3&n=200", seed=1)
    b = load("addition:digits=3&n=200", seed=1)
    c = load("addition:digits=3&n=200", seed=2)
    assert torch.equal(a.train.tensors[0], b.train.tensors[0]) and not torch.equal(a.val.tensors[0], c.val.tensors[0])
    assert torch.equal(a.test.tensors[0], c.test.tensors[0])


def test_addition_test_questions_follow_the_training_distribution():
    data = load("addition:digits=3&n=5000")
    share = {
        s: (torch.tensor([len(q.strip().split("+")[0]) for q in decode(data.split(s).tensors[0])]) <= 2)
        .float()
        .mean()
        .item()
        for s in ("train", "test")
    }
    assert abs(share["train"] - share["test"]) < 0.05  # as many short numbers in test as in train


def test_moving_squares_move_smoothly_inside_the_frame():
    video = moving_squares(20, frames=8, size=16, seed=0)  # (20, 8, 1, 16, 16)
    assert video.shape == (20, 8, 1, 16, 16)
    assert set(video.unique().tolist()) <= {0.0, 1.0}
    assert (video.sum(dim=(2, 3, 4)) > 0).all()
    rows = video[:, :, 0].amax(dim=3)  # (20, 8, 16): which rows are lit
    centre = (rows * torch.arange(16)).sum(-1) / rows.sum(-1)
    assert (centre[:, 1:] - centre[:, :-1]).abs().max() <= 4  # squares move at most 2 px per frame (+overlap)


def test_moving_squares_dataset_targets_are_the_next_frames():
    data = load("moving_squares:n=20&frames=6&size=12")
    x, y = data.train.tensors
    assert data.input_shape == (6, 1, 12, 12) and data.task == "regression"
    torch.testing.assert_close(x[:, 1:], y[:, :-1])
    xt, yt = data.test.tensors
    assert data.info["test_copy_last_frame_mse"] == copy_last_frame_mse(xt, yt) > 0


def test_generated_sizes_are_bounded_before_allocation_and_options_given_once():
    with pytest.raises(DataError, match="100000000 moving-squares videos .* more than the cap"):
        load("moving_squares:n=100000000")
    with pytest.raises(DataError, match="1000000000 addition questions .* more than the cap"):
        load("addition:digits=9&n=1000000000")
    with pytest.raises(InvalidArgumentError, match="option 'n' is given twice"):
        load("moving_squares:n=10&n=20")
