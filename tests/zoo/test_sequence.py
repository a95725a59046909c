"""Sequence zoo entries (addition_rnn, mnist_hierarchical_rnn, conv_lstm) and the seq2seq task."""

from __future__ import annotations

import pytest
import torch

from deepscope import zoo
from deepscope.train.tasks import Seq2Seq, make_task


@pytest.mark.parametrize("name", ["addition_rnn", "mnist_hierarchical_rnn", "conv_lstm"])
def test_sequence_entry_builds_and_runs_on_its_example_shape(name):
    meta = zoo.info(name)
    model = zoo.create(name, in_shape=meta.example_shape, num_classes=meta.example_classes, seed=0)
    dtype = torch.long if name == "addition_rnn" else torch.float32
    out = model(torch.zeros(2, *meta.example_shape, dtype=dtype))
    expected = {"addition_rnn": (2, 4, 12), "mnist_hierarchical_rnn": (2, 10), "conv_lstm": (2, *meta.example_shape)}
    assert out.shape == expected[name]


def test_addition_rnn_fits_the_data_shapes():
    from deepscope.data import load

    data = load("addition:digits=2&n=100")
    model = zoo.create("addition_rnn", data=data, seed=0)
    x, y = data.train.tensors
    out = model(x[:5])  # (5, 3, 12)
    assert out.shape == (5, y.shape[1], len(data.classes))
    assert make_task(data.task).loss(out, y[:5]).ndim == 0


def test_hierarchical_rnn_reads_rows_then_columns():
    model = zoo.create("mnist_hierarchical_rnn", in_shape=(1, 6, 5), num_classes=3, row_hidden=4, col_hidden=4, seed=0)
    x = torch.randn(2, 1, 6, 5)
    rows = model.rows(x.permute(0, 2, 3, 1))  # (2, 6, 4): one code per row
    assert rows.shape == (2, 6, 4)
    torch.testing.assert_close(rows[:, 2], model.rows.module(x[:, 0, 2, :, None]))  # row 2 alone, same code


def test_hierarchical_rnn_starts_from_keras_initialisers():
    model = zoo.create("mnist_hierarchical_rnn", in_shape=(1, 6, 5), num_classes=3, row_hidden=4, col_hidden=4, seed=0)
    for lstm in (model.rows.module.rnn, model.columns.rnn):
        forget = lstm.bias_ih_l0[4:8] + lstm.bias_hh_l0[4:8]  # torch's gate order: input, forget, cell, output
        assert forget.tolist() == [1.0] * 4
        cell_gate = lstm.weight_hh_l0[8:12]  # (H, H), orthogonal
        torch.testing.assert_close(cell_gate @ cell_gate.T, torch.eye(4), atol=1e-5, rtol=0)


def test_conv_lstm_outputs_frames_in_unit_range():
    model = zoo.create("conv_lstm", in_shape=(4, 1, 8, 8), seed=0)
    out = model(torch.rand(2, 4, 1, 8, 8))
    assert out.shape == (2, 4, 1, 8, 8) and out.min() >= 0 and out.max() <= 1


def test_seq2seq_accuracy_counts_whole_answers():
    task = Seq2Seq()
    target = torch.tensor([[1, 2, 3], [1, 2, 3]])
    logits = torch.nn.functional.one_hot(torch.tensor([[1, 2, 3], [1, 2, 0]]), 4).float() * 5
    sums = task.batch_sums(logits, target)
    assert sums["accuracy"] == 1  # the second answer has one wrong character
    assert sums["token_accuracy"].item() == pytest.approx(1 + 2 / 3)
    assert task.loss(logits, target) > task.loss(torch.nn.functional.one_hot(target, 4).float() * 5, target)


@pytest.mark.slow
def test_addition_rnn_reaches_99_percent_whole_answers(tmp_path):
    from deepscope import runs
    from deepscope.data import load

    data = load("addition:digits=3&n=50000")
    run = runs.fit(zoo.create("addition_rnn", data=data, seed=0), data, out=tmp_path / "run", progress=False)
    assert max(row["val_accuracy"] for row in run.history) >= 0.99  # whole answers right, the kept epoch


@pytest.mark.slow
def test_mnist_hierarchical_rnn_reaches_98_5_percent(tmp_path, mnist_dir):
    from deepscope import runs
    from deepscope.data import load

    data = load(f"mnist:{mnist_dir}")
    run = runs.fit(zoo.create("mnist_hierarchical_rnn", data=data, seed=0), data, out=tmp_path / "run", progress=False)
    assert run.evaluate("test").accuracy >= 0.985  # the name's bar; Keras reports 98.64% after 5 epochs


@pytest.mark.slow
def test_conv_lstm_halves_the_copy_last_frame_error(tmp_path):
    from deepscope import runs
    from deepscope.data import load

    data = load("moving_squares")
    run = runs.fit(zoo.create("conv_lstm", data=data, seed=0), data, out=tmp_path / "run", progress=False)
    x, y = data.test.tensors
    with torch.no_grad():
        mse = float(((run.model.eval()(x) - y) ** 2).mean())
    assert mse <= 0.5 * data.info["test_copy_last_frame_mse"]
