"""The HTML report of a run: content, embedded figures, escaping, extra sections."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import re
import shutil

import pytest
import torch
from PIL import Image
from torch.utils.data import TensorDataset

import deepscope
from deepscope.errors import RunError
from deepscope.plots import learning_curves, save_figure
from deepscope.report import add_report_section, read_sections, write_report
from deepscope.train import Run

DATA_URI = re.compile(r'src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits):
    """A softmax regression trained 2 epochs on digits, and its report (written once)."""
    torch.manual_seed(0)
    model = deepscope.zoo.create("softmax_regression", data=digits, seed=0)
    run = deepscope.runs.fit(model, digits, epochs=2, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)
    path = write_report(run)
    return run, path, path.read_text(encoding="utf-8")


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(payload) for _, payload in DATA_URI.findall(html)]


def test_report_evaluates_the_test_split_and_shows_its_metrics(trained):
    run, path, html = trained
    assert path == run.path / "report.html"
    test = json.loads((run.path / "metrics.json").read_text())["test"]  # written by write_report
    assert test["samples"] == len(run.data.test)
    assert f"{test['accuracy']:.4f}" in html
    assert f"{test['macro_f1']:.4f}" in html
    for name in run.data.classes:
        scores = test["per_class"][name]
        assert f'<td>{name}</td><td class="num">{scores["precision"]:.4f}</td>' in html
    assert f"<h1>{run.name}</h1>" in html
    assert "softmax_regression" in html and "train 1,293 · val 144 · test 360" in html
    assert f"torch {torch.__version__}" in html


def test_report_embeds_valid_pngs_and_saves_the_figures(trained):
    run, _, html = trained
    images = _images(html)
    assert len(images) >= 3
    for content in images:
        assert content[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
    for name in ("learning_curves.png", "confusion_matrix.png", "predictions.png"):
        assert (run.path / "figures" / name).read_bytes() in images


def test_report_is_self_contained(trained):
    html = trained[2]
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', html))


def test_report_escapes_user_strings(tmp_path, trained):
    run, _, _ = trained
    evil = ["<script>alert(1)</script>", *run.data.classes[1:]]
    data = dataclasses.replace(run.data, classes=evil, spec="digits<b>bold</b>")
    config = json.loads(json.dumps(run.config))
    config["data"].update(classes=evil, spec=data.spec)
    html = write_report(Run(path=tmp_path, model=run.model, data=data, config=config, history=run.history)).read_text()
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "digits&lt;b&gt;bold&lt;/b&gt;" in html


def test_report_adds_sections_from_sections_json(tmp_path, trained, monkeypatch):
    run_path = tmp_path / "run"
    shutil.copytree(trained[0].path, run_path)
    png = save_figure(learning_curves([{"epoch": 1, "loss": 1.0}]), run_path / "figures" / "inside.png")
    add_report_section(
        run_path, "Inside the network", [("figures/inside.png", "Feature maps <1>")], text="First\nlayer"
    )
    add_report_section(run_path, "Other", [(png, "absolute path")])
    monkeypatch.chdir(tmp_path)
    add_report_section("run", "Other", [("run/figures/inside.png", "relative to the working directory")])
    add_report_section(run_path, "Inside the network", [(png, "replaced caption")])  # replaces, by title
    sections = json.loads((run_path / "figures" / "sections.json").read_text())
    assert [s["title"] for s in sections] == ["Inside the network", "Other"]
    assert sections[0]["figures"] == [{"file": "figures/inside.png", "caption": "replaced caption"}]
    assert sections[1]["figures"] == [{"file": "figures/inside.png", "caption": "relative to the working directory"}]
    gone = save_figure(learning_curves([{"epoch": 1, "loss": 2.0}]), run_path / "figures" / "gone.png")
    add_report_section(run_path, "Gone", [(gone, "deleted after it was added")])
    gone.unlink()
    run = deepscope.open_run(run_path, data=trained[0].data)
    html = write_report(run).read_text()
    assert html.index("<h2>Inside the network</h2>") > html.index("<h2>Test predictions</h2>")
    assert "replaced caption" in html and "Feature maps" not in html
    assert png.read_bytes() in _images(html)
    assert "figure file figures/gone.png is missing" in html  # a note, not a failed report


def test_add_report_section_rejects_files_outside_the_run(tmp_path, trained):
    outside = tmp_path / "x.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(RunError, match="must lie inside the run folder"):
        add_report_section(trained[0].path, "Bad", [(outside, "")])
    with pytest.raises(RunError, match="does not exist"):
        add_report_section(trained[0].path, "Bad", [("figures/nope.png", "")])
    assert read_sections(trained[0].path) == []


def test_report_rejects_damaged_sections_before_drawing(tmp_path, trained):
    run = dataclasses.replace(trained[0], path=tmp_path)
    (tmp_path / "figures").mkdir()
    sections = tmp_path / "figures" / "sections.json"
    sections.write_text(json.dumps([{"title": "Escape", "figures": [{"file": "../../etc/passwd", "caption": ""}]}]))
    with pytest.raises(RunError, match="must lie inside the run folder"):
        write_report(run)
    sections.write_text(json.dumps({"title": "not a list"}))
    with pytest.raises(RunError, match="must hold a JSON list of sections"):
        write_report(run)
    sections.write_text(json.dumps([{"text": "no title"}]))
    with pytest.raises(RunError, match=r"sections.json, section 1 must be an object with a non-empty 'title'"):
        write_report(run)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["figures", "sections.json"]  # nothing drawn or written


def test_report_of_a_run_with_only_a_history(tmp_path, trained):
    shutil.copytree(trained[0].path, tmp_path / "run")
    (tmp_path / "run" / "metrics.json").unlink()
    shutil.rmtree(tmp_path / "run" / "figures")
    run = deepscope.open_run(tmp_path / "run", load_data=False)
    html = write_report(run).read_text()
    assert "No test metrics" in html
    assert len(_images(html)) == 1
    assert sorted(p.name for p in (tmp_path / "run" / "figures").iterdir()) == ["learning_curves.png"]


def test_report_skips_the_prediction_grid_for_series(tmp_path, trained):
    digits = trained[0].data

    def as_series(split: TensorDataset) -> TensorDataset:
        x, y = split.tensors
        return TensorDataset(x.reshape(len(x), 1, 64), y)  # (N, 1, 64): one channel, 64 steps

    data = dataclasses.replace(
        digits,
        kind="series",
        input_shape=(1, 64),
        train=as_series(digits.train),
        val=as_series(digits.val),
        test=as_series(digits.test),
    )
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    run = deepscope.train.fit(model, data, epochs=1, out=tmp_path / "run", progress=False)
    html = write_report(run).read_text()
    assert "<h2>Confusion matrix</h2>" in html
    assert not (run.path / "figures" / "predictions.png").exists()  # no image grid: series drawn as lines
    assert "Test series by true class" in html and (run.path / "figures" / "series_predictions.png").is_file()
    assert "torch.nn.modules.container.Sequential" in html


def test_report_reuses_fresh_metrics_and_reevaluates_stale_ones(tmp_path, trained):
    shutil.copytree(trained[0].path, tmp_path / "run")
    run = dataclasses.replace(trained[0], path=tmp_path / "run")
    metrics_path = run.path / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["test"]["accuracy"] = 0.123456  # a value the model would not give
    metrics_path.write_text(json.dumps(metrics))
    assert "0.1235" in write_report(run).read_text()  # fresher than the weights: used as saved
    weights_time = (run.path / "model.safetensors").stat().st_mtime
    os.utime(metrics_path, (weights_time - 10, weights_time - 10))  # now older than the weights
    html = write_report(run).read_text()
    assert "0.1235" not in html
    original = json.loads((trained[0].path / "metrics.json").read_text())["test"]["accuracy"]
    assert json.loads(metrics_path.read_text())["test"]["accuracy"] == original
