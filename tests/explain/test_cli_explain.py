"""`deepscope explain RUN INPUT...`: figures in RUN/explain, the faithfulness table, clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from deepscope.cli import main
from deepscope.plots import highlighted_text_html


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "run"
    assert main(["train", "lecture_cnn", "--data", "digits", "--epochs", "3", "--out", str(path), "--quiet"]) == 0
    return path


def test_compare_explains_test_samples_with_every_method_and_scores_them(digits_run, capsys):
    assert main(["explain", str(digits_run), "--test", "2", "--compare", "--samples", "100"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^  (\w+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+$", out, flags=re.M)
    assert [r[0] for r in rows] == [
        "gradcam",
        "saliency",
        "integrated_gradients",
        "smoothgrad",
        "occlusion",
        "lime",
        "shap",
    ]
    assert all(0 <= float(d) <= 1 and 0 <= float(i) <= 1 for _, d, i in rows)
    for name in ("test_0.png", "test_1.png", "faithfulness.png"):
        assert (digits_run / "explain" / name).stat().st_size > 3000


def test_an_image_file_with_a_method_and_a_target_class(digits_run, tmp_path, capsys):
    digit = np.zeros((32, 32), np.uint8)
    digit[6:26, 14:18] = 255
    Image.fromarray(digit).save(tmp_path / "one.png")
    out_dir = tmp_path / "out"
    args = ["explain", str(digits_run), str(tmp_path / "one.png"), "--method", "occlusion"]
    assert main([*args, "--target", "7", "--out", str(out_dir)]) == 0
    assert "one.png: explaining 7 (p=" in capsys.readouterr().out
    assert (out_dir / "one.png").stat().st_size > 2000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "needs INPUT files/texts or --test N"),
        (["--test", "1", "--target", "sevn"], "Unknown target class 'sevn'"),
        (["--test", "1", "--method", "gradcm"], "invalid choice: 'gradcm'"),
        (["--test", "1001"], "--test"),
    ],
)
def test_bad_explain_arguments_end_in_one_line(digits_run, capsys, args, message):
    assert main(["explain", str(digits_run), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_gradcam_on_a_dense_run_names_what_applies(tmp_path, capsys):
    run = tmp_path / "mlp"
    assert main(["train", "softmax_regression", "--data", "digits", "--epochs", "1", "--out", str(run), "--quiet"]) == 0
    assert main(["explain", str(run), "--test", "1", "--method", "gradcam"]) == 2
    err = capsys.readouterr().err
    assert "one of saliency, integrated_gradients" in err and "needs a Conv2d layer" in err


def test_a_text_run_credits_the_sentiment_word(tmp_path, monkeypatch, capsys, reviews_csv):
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "home"))
    path = reviews_csv()
    run = tmp_path / "run"
    spec = f"text:{path}?maxlen=10&max_words=100"
    train = ["train", "imdb_cnn", "--data", spec, "--epochs", "8", "--lr", "0.01", "--batch-size", "16"]
    assert main([*train, "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    text = "the plot was superb really"
    assert main(["explain", str(run), text, "--method", "integrated_gradients"]) == 0
    assert "explaining pos" in capsys.readouterr().out
    page = (run / "explain" / "text-1.html").read_text(encoding="utf-8")
    values = {w: float(v) for v, w in re.findall(r'title="([-+][\d.]+)"[^>]*>([^<]+)</span>', page)}
    assert set(values) == set(text.split())
    assert max(values, key=values.get) == "superb"
    assert (run / "explain" / "text-1.png").stat().st_size > 2000


def test_highlighted_text_escapes_every_word():
    page = highlighted_text_html(["<script>alert(1)</script>", "ok"], [0.5, -1.0])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'title="+0.5000"' in page and "rgba(31,119,180,1.00)" in page


def test_interpret_prints_pairs_and_top_losses_and_the_report_has_the_section(digits_run, capsys):
    assert main(["interpret", str(digits_run), "--k", "5"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"test split: accuracy 0\.\d{4} on 360 samples; ECE 0\.\d{4}", out)
    assert len(re.findall(r"^  \d+: \S+ -> \S+, p=0\.\d{3}, loss \d+\.\d{3}$", out, flags=re.M)) == 5
    assert (digits_run / "figures" / "interpret_top_losses.png").stat().st_size > 3000
    assert main(["interpret", str(digits_run), "--split", "val", "--k", "3"]) == 0
    assert (digits_run / "figures" / "interpret_val_reliability.png").stat().st_size > 3000
    assert main(["report", str(digits_run)]) == 0
    page = (digits_run / "report.html").read_text(encoding="utf-8")
    assert "<h2>Interpretation</h2>" in page and "Explanations: gradcam." in page
    assert "highest loss" in page
