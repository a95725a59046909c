"""The report's explanation sections for series and text runs."""

from __future__ import annotations

import re

from deepscope.cli import main


def test_a_series_run_report_draws_series_by_class_and_explains_top_losses(tmp_path):
    run = tmp_path / "fcn"
    assert main(["train", "fcn", "--data", "ucr:GunPoint", "--epochs", "3", "--out", str(run), "--quiet"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "<h2>Test predictions</h2>" in page and "Test series by true class" in page
    assert (run / "figures" / "series_predictions.png").stat().st_size > 5000
    assert "<h2>Interpretation</h2>" in page and "Explanations: gradcam." in page
    assert len(list((run / "figures").glob("interpret_top_loss_*.png"))) == 3


def test_a_text_run_report_highlights_the_top_losses(tmp_path, monkeypatch, reviews_csv):
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "home"))
    path = reviews_csv(n=120)
    run = tmp_path / "run"
    spec = f"text:{path}?maxlen=8&max_words=50"
    assert main(["train", "imdb_cnn", "--data", spec, "--epochs", "2", "--out", str(run), "--quiet"]) == 0
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "tokens coloured by gradcam of the prediction" in page
    assert len(re.findall(r"<h3>sample \d+: true (pos|neg), predicted (pos|neg)", page)) == 6
    assert len(re.findall(r'<span title="[-+]\d\.\d{4}"', page)) >= 6 * 5
