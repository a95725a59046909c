"""`deepscope inspect RUN`: figures in RUN/figures, an 'Inside the network' report section."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from deepscope.cli import main


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "lecture_cnn", "--data", "digits", "--epochs", "1", "--out", str(path), "--quiet"]) == 0
    return path


def test_inspect_writes_figures_and_the_report_section(digits_run, capsys):
    assert main(["inspect", str(digits_run), "--k", "4", "--embedding", "40"]) == 0
    figures = digits_run / "figures"
    expected = [
        "inspect_filters.png",
        "inspect_feature_maps.png",
        "inspect_top_patches_0.png",
        "inspect_maximize_0.png",
        "inspect_embedding.png",
    ]
    for name in expected:
        assert (figures / name).stat().st_size > 3000, name
    sections = json.loads((figures / "sections.json").read_text())
    inside = [s for s in sections if s["title"] == "Inside the network"]
    assert len(inside) == 1
    assert [f["file"] for f in inside[0]["figures"]] == [f"figures/{n}" for n in expected]
    assert "of 32 channels of layer 0 respond more" in inside[0]["text"]
    report = (digits_run / "report.html").read_text()
    assert "Inside the network" in report
    assert "Report:" in capsys.readouterr().out


def test_inspect_with_an_input_file_and_chosen_layers(digits_run, tmp_path):
    digit = np.zeros((32, 32), np.uint8)
    digit[6:26, 14:18] = 255  # a white "1" on black
    Image.fromarray(digit).save(tmp_path / "one.png")
    assert (
        main(
            [
                "inspect",
                str(digits_run),
                "--input",
                str(tmp_path / "one.png"),
                "--layers",
                "0",
                "2",
                "--k",
                "3",
                "--embedding",
                "0",
                "--no-maximize",
            ]
        )
        == 0
    )
    sections = json.loads((digits_run / "figures" / "sections.json").read_text())
    inside = [s for s in sections if s["title"] == "Inside the network"]
    assert len(inside) == 1  # replaced, not duplicated
    assert [f["file"].split("/")[-1] for f in inside[0]["figures"]] == [
        "inspect_filters.png",
        "inspect_feature_maps.png",
        "inspect_top_patches_0.png",
        "inspect_top_patches_2.png",
    ]


def test_inspect_unknown_layer_is_a_clear_error(digits_run, capsys):
    assert main(["inspect", str(digits_run), "--layers", "00", "--embedding", "0", "--no-maximize"]) == 2
    assert "Unknown layer '00'. Did you mean '0'?" in capsys.readouterr().err
