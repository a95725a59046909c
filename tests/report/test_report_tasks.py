"""Reports of regression and seq2seq runs: their scores, baselines and prediction figures."""

from __future__ import annotations

import json
import re

import pytest

import deepscope
from deepscope.errors import RunError
from deepscope.report import write_report


def _cards(html: str) -> dict[str, str]:
    return dict(re.findall(r'<div class="label">([^<]+)</div><div class="value">([^<]+)</div>', html))


def test_forecast_report_shows_mase_beside_the_seasonal_naive_and_draws_the_forecast(tmp_path):
    pytest.importorskip("pandas")
    data = deepscope.data.load("series:Airline")
    run = deepscope.runs.fit(
        deepscope.zoo.create("forecast_mlp", data=data, seed=0), data, epochs=2, out=tmp_path / "run", progress=False
    )
    html = write_report(run).read_text(encoding="utf-8")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    cards = _cards(html)
    assert cards["MASE"] == f"{saved['mase']:.4f}"
    assert cards["seasonal naive MASE"] == f"{saved['baseline']['mase']:.4f}"
    assert cards["test samples"] == "24"
    assert "<h2>Forecast</h2>" in html and (tmp_path / "run" / "figures" / "forecast.png").is_file()
    assert "Confusion matrix" not in html and "precision" not in html


def test_seq2seq_report_shows_whole_answer_accuracy_and_wrong_answers(tmp_path):
    data = deepscope.data.load("addition:digits=1&n=40")
    run = deepscope.runs.fit(
        deepscope.zoo.create("addition_rnn", data=data, seed=0), data, epochs=1, out=tmp_path / "run", progress=False
    )
    html = write_report(run).read_text(encoding="utf-8")
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert _cards(html)["whole-answer accuracy"] == f"{saved['accuracy']:.4f}"
    assert saved["accuracy"] < 1  # one epoch on 36 questions does not learn addition
    assert (
        "<h2>Test answers</h2>" in html
        and f"answered {saved['mistakes'][0]['predicted']!r}".replace("'", "&#39;") in html
    )


def test_video_report_draws_next_frames_beside_copy_last_frame(tmp_path):
    data = deepscope.data.load("moving_squares:n=8&frames=3&size=8")
    model = deepscope.zoo.create("conv_lstm", data=data, seed=0, hidden=2, layers=1)
    run = deepscope.runs.fit(model, data, epochs=1, out=tmp_path / "run", progress=False)
    html = write_report(run).read_text(encoding="utf-8")
    assert "copy the last frame MSE" in _cards(html)
    assert "<h2>Next frames</h2>" in html and (tmp_path / "run" / "figures" / "next_frames.png").is_file()


def test_report_refuses_regression_metrics_without_their_scores(tmp_path):
    data = deepscope.data.load("moving_squares:n=8&frames=3&size=8")
    model = deepscope.zoo.create("conv_lstm", data=data, seed=0, hidden=2, layers=1)
    deepscope.runs.fit(model, data, epochs=1, out=tmp_path / "run", progress=False)
    (tmp_path / "run" / "metrics.json").write_text(json.dumps({"test": {"task": "regression", "loss": 1.0}}))
    opened = deepscope.open_run(tmp_path / "run", load_data=False)
    with pytest.raises(RunError, match="its 'test' entry lacks mse, mae, rmse"):
        write_report(opened)
    (tmp_path / "run" / "metrics.json").write_text(json.dumps({"test": {"task": "ranking"}}))
    with pytest.raises(RunError, match="unknown task 'ranking'"):
        write_report(opened)
