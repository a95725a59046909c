"""Evaluation by task: regression beside a naive baseline (MASE for forecasts), seq2seq."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import deepscope
from deepscope.data import Baseline, Dataset
from deepscope.errors import InvalidArgumentError
from deepscope.train import (
    Evaluation,
    RegressionEvaluation,
    Seq2SeqEvaluation,
    evaluate_data,
    evaluate_regression,
    evaluate_seq2seq,
)


class Constant(nn.Module):
    """Predicts ``value`` for every target: (N, ...) -> (N, width)."""

    def __init__(self, value: float, width: int):
        super().__init__()
        self.value, self.width = value, width
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((len(x), self.width), self.value) + 0 * self.dummy


def test_regression_scores_the_model_and_the_baseline_on_the_same_targets():
    x = torch.arange(8.0).reshape(4, 1, 2)  # windows (N, 1, history=2)
    y = torch.tensor([[2.0], [4.0], [6.0], [8.0]])
    last = Baseline("last value", lambda x: x[:, 0, -1:])  # predicts 1, 3, 5, 7: each off by 1
    result = evaluate_regression(Constant(5.0, 1), TensorDataset(x, y), baseline=last, mase_scale=2.0)
    errors = np.array([3.0, 1.0, 1.0, 3.0])
    assert result.scores["mae"] == pytest.approx(errors.mean())
    assert result.scores["mse"] == pytest.approx((errors**2).mean()) == result.loss
    assert result.scores["rmse"] == pytest.approx(np.sqrt((errors**2).mean()))
    assert result.scores["mase"] == pytest.approx(errors.mean() / 2.0)
    assert result.baseline == {"name": "last value", "mse": 1.0, "mae": 1.0, "rmse": 1.0, "mase": 0.5}
    assert result.y_baseline.ravel().tolist() == [1.0, 3.0, 5.0, 7.0]
    saved = result.to_dict()
    assert saved["task"] == "regression" and saved["samples"] == 4 and saved["baseline"]["name"] == "last value"
    assert "model MASE is 200.0% of the last value baseline's (not better)" in result.text()


def test_regression_without_a_scale_has_no_mase_and_without_a_baseline_no_baseline():
    x, y = torch.zeros(3, 2), torch.ones(3, 2)
    result = evaluate_regression(Constant(0.0, 2), TensorDataset(x, y))
    assert set(result.scores) == {"mse", "mae", "rmse"} and result.baseline is None
    assert "baseline" not in result.text()


def test_seq2seq_counts_whole_answers_and_lists_the_wrong_ones():
    classes = [" ", "1", "2"]
    y = torch.tensor([[1, 2], [2, 2], [1, 0]])
    predicted = torch.tensor([[1, 2], [2, 1], [1, 0]])

    class Echo(nn.Module):
        def forward(self, x):
            return nn.functional.one_hot(x, 3).float() * 10  # logits (N, T, 3) that pick x

    result = evaluate_seq2seq(Echo(), TensorDataset(predicted, y), classes)
    assert result.accuracy == pytest.approx(2 / 3)
    assert result.token_accuracy == pytest.approx(5 / 6)
    assert result.mistakes == [{"index": 1, "target": "22", "predicted": "21"}]
    assert "'22' -> '21'" in result.text()
    assert result.to_dict()["task"] == "seq2seq"


def test_evaluate_data_picks_the_scores_of_the_task(digits):
    model = deepscope.zoo.create("softmax_regression", data=digits, seed=0)
    assert isinstance(evaluate_data(model, digits, "val"), Evaluation)
    addition = deepscope.data.load("addition:digits=1&n=40")
    model = deepscope.zoo.create("addition_rnn", data=addition, seed=0)
    assert isinstance(evaluate_data(model, addition, "test"), Seq2SeqEvaluation)
    squares = deepscope.data.load("moving_squares:n=6&frames=3&size=8")
    model = deepscope.zoo.create("conv_lstm", data=squares, seed=0, hidden=2, layers=1)
    result = evaluate_data(model, squares, "test")
    assert isinstance(result, RegressionEvaluation) and result.baseline["name"] == "copy the last frame"
    assert result.baseline["mse"] == pytest.approx(squares.info["test_copy_last_frame_mse"], rel=1e-5)


def test_seq2seq_without_classes_is_refused():
    data = Dataset(
        "pairs",
        "sequence",
        (2,),
        *(TensorDataset(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long)),) * 3,
        task="seq2seq",
    )
    with pytest.raises(InvalidArgumentError, match="needs the data's classes; 'pairs' has none"):
        evaluate_data(nn.Identity(), data)


def test_run_evaluate_records_forecast_scores_in_metrics_json(tmp_path):
    pytest.importorskip("pandas")
    data = deepscope.data.load("series:Airline")
    model = deepscope.zoo.create("forecast_mlp", data=data, seed=0)
    run = deepscope.runs.fit(model, data, epochs=2, out=tmp_path / "run", progress=False)
    result = run.evaluate("test")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert saved["task"] == "regression" and saved["samples"] == 24
    assert saved["mase"] == pytest.approx(result.scores["mase"])
    assert saved["baseline"]["name"] == "seasonal naive"
    # the seasonal-naive MASE on the last 24 Airline months (known from the data, not the model)
    x, y = data.test.tensors
    from deepscope.data.forecast import seasonal_naive

    naive_mae = float((seasonal_naive(x, 12, 1) - y).abs().mean())
    assert saved["baseline"]["mase"] == pytest.approx(naive_mae / data.info["mase_scale"])
