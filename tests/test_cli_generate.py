"""`deepscope generate` and the `--judge` of train/evaluate: image grids, scores, readable errors."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import TensorDataset

import deepscope as ds
from deepscope.cli import main
from deepscope.data import Dataset

PNG = b"\x89PNG\r\n\x1a\n"


def _toy(side: int, classes: int = 10, n: int = 20) -> Dataset:
    x = torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(0))
    split = TensorDataset(x, torch.arange(n) % classes)
    return Dataset(
        f"toy{side}", "image", (1, side, side), split, split, split, classes=[str(k) for k in range(classes)]
    )


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """A class-conditional GAN run and two classifier runs (judges of 28x28 and 8x8 images),
    each one short epoch on random images: these tests are about the command line."""
    root = tmp_path_factory.mktemp("runs")
    toy28, toy8 = _toy(28), _toy(8)
    gan = ds.zoo.create("mnist_acgan", data=toy28, seed=0, width=4, d_width=4)
    ds.fit(gan, toy28, epochs=1, out=root / "acgan", progress=False)
    ds.fit(ds.zoo.create("lecture_cnn", data=toy8, seed=0), toy8, epochs=1, out=root / "judge8", progress=False)
    vae = ds.zoo.create("variational_autoencoder", data=toy8, seed=0, hidden=8)
    ds.fit(vae, toy8, epochs=1, out=root / "vae", progress=False)
    return root


def test_generate_draws_from_a_vae_prior_and_refuses_a_class(runs_dir, tmp_path, capsys):
    out = tmp_path / "vae.png"
    assert main(["generate", str(runs_dir / "vae"), "--n", "8", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG
    assert main(["generate", str(runs_dir / "vae"), "--class", "3"]) == 2
    assert "models images without classes. Received: --class=3" in capsys.readouterr().err


def test_generate_writes_a_png_of_the_asked_class(runs_dir, tmp_path, capsys):
    out = tmp_path / "sevens.png"
    assert main(["generate", str(runs_dir / "acgan"), "--n", "12", "--class", "7", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes()[:8] == PNG
    assert main(["generate", str(runs_dir / "acgan"), "--n", "20", "--seed", "3"]) == 0  # every class in turn
    default = runs_dir / "acgan" / "generated" / "samples-seed3.png"
    assert capsys.readouterr().out.strip() == str(default) and default.read_bytes()[:8] == PNG


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--class", "12"], "`--class` must be a class name (0, 1, 2, 3, 4, 5, 6, 7, 8, 9) or an index in [0, 9]. "
         "Received: --class=12"),
        (["--class", "seven"], "Received: --class=seven"),
        (["--n", "1000"], "`--n` must be an int in [1, 400]. Received: --n='1000'"),
        (["--n", "0"], "`--n` must be an int in [1, 400]. Received: --n='0'"),
    ],
)  # fmt: skip
def test_generate_refuses_a_bad_class_or_count(runs_dir, capsys, args, message):
    assert main(["generate", str(runs_dir / "acgan"), *args]) == 2
    assert message in capsys.readouterr().err


def test_generate_refuses_a_run_that_is_not_a_gan(runs_dir, capsys):
    assert main(["generate", str(runs_dir / "judge8")]) == 2
    assert "is a classification run of 'lecture_cnn'" in capsys.readouterr().err


def test_train_with_a_judge_records_it_for_evaluate(runs_dir, tmp_path, capsys):
    out = tmp_path / "dcgan"
    argv = ["train", "dcgan", "--data", "digits", "--epochs", "1", "--batch-size", "256", "--out", str(out)]
    assert main([*argv, "--judge", str(runs_dir / "judge8"), "--quiet", "--no-report"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "generation" and config["model"]["judge"] == str((runs_dir / "judge8").resolve())
    capsys.readouterr()
    assert main(["evaluate", str(out), "--split", "val"]) == 0
    printed = capsys.readouterr().out
    assert "Fréchet distance (judge features)" in printed and "classifier score" not in printed  # unconditional
    assert main(["generate", str(out), "--class", "3"]) == 2
    assert "`--class` must not be given" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--judge", str(runs_dir / "acgan")]) == 2  # a judge must be a classifier
    assert "A judge must be an image classifier run" in capsys.readouterr().err
    config["model"]["judge"] = str(tmp_path / "gone")
    (out / "config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match="which is gone: its evaluations leave out the classifier score"):
        assert ds.train.quality.judge_of(ds.open_run(out, load_data=False).model) is None
