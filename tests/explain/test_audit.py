"""Shortcut ('snow') data and the audit: it flags a model trained on the cue, not a clean one."""

from __future__ import annotations

import json

import pytest
import torch

from deepscope import data, runs
from deepscope.cli import main
from deepscope.errors import DataError, InvalidArgumentError, UnknownNameError
from deepscope.explain import audit


def test_the_cue_is_on_one_class_in_train_and_val_only():
    clean = data.load("digits")
    snow = data.load("shortcut:digits?cue=corner&class=7")
    assert snow.spec == "shortcut:digits?cue=corner&class=7"
    assert snow.info["shortcut"] == {
        "cue": "corner",
        "class": "7",
        "class_index": 7,
        "fraction": 1.0,
        "strength": 1.0,
        "inner": "digits",
    }
    for split in ("train", "val"):
        x, y = getattr(snow, split).tensors
        x0, y0 = getattr(clean, split).tensors
        assert torch.equal(y, y0)
        assert (x[y == 7][:, :, :2, :2] == 1).all()  # the corner cue on every 7
        assert torch.equal(x[y != 7], x0[y0 != 7])  # nothing else changed
    assert torch.equal(snow.test.tensors[0], clean.test.tensors[0])  # the test split stays clean
    swapped_x, swapped_y = data.cue_swapped(snow).tensors
    others = swapped_y != 7
    assert (swapped_x[others][:, :, :2, :2] == 1).all()
    assert torch.equal(swapped_x[~others], clean.test.tensors[0][~others])


def test_fraction_and_each_cue():
    half = data.load("shortcut:digits?cue=border&class=3&fraction=0.5")
    x, y = half.train.tensors
    framed = (x[y == 3][:, 0, 0, :] == 1).all(dim=1)
    assert 0.3 < framed.float().mean() < 0.7
    images = torch.zeros(2, 3, 28, 28)
    assert (data.add_cue(images, "border")[:, :, :2] == 1).all() and data.add_cue(images, "border")[:, :, 5, 5].eq(
        0
    ).all()
    assert data.add_cue(images, "background").amax() == pytest.approx(0.6)
    tinted = data.add_cue(images, "tint")
    assert torch.allclose(tinted[:, 0], torch.full((2, 28, 28), 0.35)) and (tinted[:, 1:] == 0).all()


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("shortcut:digits", DataError, "needs an image data spec and its settings"),
        ("shortcut:digits?class=7", DataError, "needs cue="),
        ("shortcut:digits?cue=snow&class=7", UnknownNameError, "Unknown cue 'snow'"),
        ("shortcut:digits?cue=border&class=seven", UnknownNameError, "Unknown class 'seven'"),
        ("shortcut:digits?cue=border&class=7&fraction=2", InvalidArgumentError, "fraction"),
        ("shortcut:addition?cue=border&class=7", DataError, "goes on images"),
    ],
)
def test_bad_shortcut_specs(spec, error, message):
    with pytest.raises(error, match=message):
        data.load(spec)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    snow = runs.train("lecture_cnn", "shortcut:digits?cue=corner&class=7", runs_dir=folder, progress=False)
    clean = runs.train("lecture_cnn", "digits", runs_dir=folder, progress=False)
    return snow, clean


def test_the_audit_flags_the_snow_model_and_not_the_clean_one(trained):
    snow, clean = trained
    x, y = clean.data.test.tensors
    flagged = audit(snow.model, x, y, clean.data.classes, cue="corner", cue_class=7)
    passed = audit(clean.model, x, y, clean.data.classes, cue="corner", cue_class=7)
    assert flagged.relies and not passed.relies
    assert flagged.flip_rate > 0.2 > 0.05 > passed.flip_rate
    assert flagged.cue_class_recall_with_cue - flagged.cue_class_recall > 0.3
    assert passed.cue_class_recall > 0.9
    assert flagged.region == "corner" and flagged.area_share == pytest.approx(4 / 64)
    assert "relies on the corner" in flagged.text() and "does not rely" in passed.text()
    assert len(flagged.examples["inputs"]) == 6
    assert "#c0392b" in flagged._repr_html_()


def test_audit_cli_reads_the_cue_from_the_run_and_writes_its_evidence(trained, capsys):
    snow, clean = trained
    assert main(["audit", str(snow.path), "--n", "200"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Verdict: the model relies on the corner (200 test images).")
    saved = json.loads((snow.path / "audit.json").read_text())
    assert saved["relies"] is True and saved["cue_class"] == "7" and saved["samples"] == 200
    assert (snow.path / "figures" / "audit_examples.png").stat().st_size > 3000
    assert main(["audit", str(clean.path), "--cue", "corner", "--cue-class", "7", "--n", "200"]) == 0
    assert "does not rely on the corner" in capsys.readouterr().out
    assert main(["audit", str(clean.path)]) == 2
    assert "Say what to audit" in capsys.readouterr().err


def test_audit_refuses_bad_arguments(trained):
    _, clean = trained
    x, y = clean.data.test.tensors
    with pytest.raises(InvalidArgumentError, match="given together with cue"):
        audit(clean.model, x, y, clean.data.classes, cue="corner")
    with pytest.raises(InvalidArgumentError, match="`region` must be one of border"):
        audit(clean.model, x, y, clean.data.classes, region="sky")
    with pytest.raises(InvalidArgumentError, match="a non-empty bool mask"):
        audit(clean.model, x, y, clean.data.classes, region=torch.zeros(8, 8, dtype=torch.bool))
