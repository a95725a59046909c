"""The command line: train -> evaluate -> report round trip and readable errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from deepscope.cli import main


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepscope.cli", *args], capture_output=True, text=True)


def test_train_then_evaluate_writes_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "softmax_regression",
                "--data",
                "digits",
                "--epochs",
                "3",
                "--lr",
                "0.05",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "Run folder:" in printed and f"Report:     {out / 'report.html'}" in printed
    assert (out / "report.html").resolve().as_uri() in printed  # a link a terminal can open
    assert (out / "report.html").stat().st_size > 10_000
    from deepscope import open_run

    run = open_run(out, load_data=False)
    assert run.best_epoch >= 1
    assert f"Best epoch {run.best_epoch}: val_accuracy {run.best_value:.4f}" in printed
    saved = json.loads((out / "metrics.json").read_text())["test"]  # scored once, by the report
    assert f"Test accuracy {saved['accuracy']:.4f} on {saved['samples']} samples" in printed
    assert main(["evaluate", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["accuracy"] == saved["accuracy"] > 0.85
    assert main(["evaluate", str(out), "--split", "val"]) == 0
    text = capsys.readouterr().out
    assert "confusion matrix" in text and "precision" in text
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"]["epochs"] == 3 and config["model"]["name"] == "softmax_regression"


def test_evaluate_and_predict_a_forecasting_run(tmp_path, capsys):
    pytest.importorskip("pandas")
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "forecast_mlp",
                "--data",
                "series:Airline",
                "--epochs",
                "3",
                "--out",
                str(out),
                "--quiet",
                "--no-report",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    text = capsys.readouterr().out
    saved = json.loads((out / "metrics.json").read_text())["test"]
    model_row = next(line for line in text.splitlines() if line.startswith("model "))
    naive_row = next(line for line in text.splitlines() if line.startswith("seasonal naive"))
    assert model_row.split()[1:] == [f"{saved[k]:.4f}" for k in ("mse", "mae", "rmse", "mase")]
    assert naive_row.split()[2:] == [f"{saved['baseline'][k]:.4f}" for k in ("mse", "mae", "rmse", "mase")]
    assert "(24 samples)" in text

    # predict: the last `history` (24) values of each series in a file in, the next value out
    import torch

    from deepscope import open_run

    csv = tmp_path / "sales.csv"
    values = [100 + 10 * (i % 12) + i for i in range(30)]
    csv.write_text("month,a,b\n" + "".join(f"2000-{i % 12 + 1:02d},{v},{2 * v}\n" for i, v in enumerate(values)))
    assert main(["predict", str(out), str(csv), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    model = open_run(out, load_data=False).model.eval()
    with torch.no_grad():
        expected = model(torch.tensor([values[-24:], [2 * v for v in values[-24:]]], dtype=torch.float32)[:, None])
    assert [r["series"] for r in printed] == ["a", "b"]
    assert [v for r in printed for v in r["forecast"]] == pytest.approx(expected.flatten().tolist(), rel=1e-5)
    short = tmp_path / "short.csv"
    short.write_text("month,a\n" + "".join(f"2000-{i + 1:02d},{i}\n" for i in range(10)))
    result = _run("predict", str(out), str(short))
    assert (
        result.returncode != 0
        and "the last 24 values of a series, but short.csv holds fewer: 'a' has 10" in result.stderr
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "mnist_cn", "--data", "digits"], "Unknown model 'mnist_cn'. Did you mean 'mnist_cnn'"),
        (["train", "mlp", "--data", "digitz"], "Unknown dataset 'digitz'. Did you mean 'digits'"),
        (["train", "mlp", "--data", "digits", "--optimizer", "sgdd", "--epochs", "1"], "Did you mean 'sgd'"),
        (["evaluate", "/nonexistent/run"], "Run folder /nonexistent/run does not exist"),
    ],
)
def test_bad_input_gives_one_readable_line_and_exit_code_2(args, message):
    result = _run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_flag_shows_the_traceback():
    result = _run("--debug", "train", "mnist_cn", "--data", "digits")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_model_too_large_for_the_input_is_a_clear_error():
    from deepscope import zoo
    from deepscope.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match=r"Model 'mnist_cnn' cannot take inputs of shape \(1, 4, 4\)"):
        zoo.create("mnist_cnn", in_shape=(1, 4, 4))


def test_zoo_lists_every_model_with_parameters(capsys):
    from deepscope import zoo

    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    for name in zoo.MODELS.names():
        assert name in out
    assert "1,199,882" in out  # mnist_cnn, as in Keras' example


def test_zoo_summary_shows_output_shapes(capsys):
    assert main(["zoo", "--summary", "mnist_cnn"]) == 0
    out = capsys.readouterr().out
    assert "(64, 12, 12)" in out and "total parameters: 1,199,882" in out


def test_datasets_lists_kinds_and_checks_a_spec(capsys):
    assert main(["datasets"]) == 0
    assert "digits" in capsys.readouterr().out
    assert main(["datasets", "--check", "digits"]) == 0
    out = capsys.readouterr().out
    assert '"input_shape": [\n    1,\n    8,\n    8\n  ]' in out and "First training sample" in out
    assert "label 0 (0)" in out


def test_datasets_check_describes_sequence_and_pair_targets(capsys):
    from deepscope.data import load

    assert main(["datasets", "--check", "words?train=20&test=5"]) == 0
    first = load("words?train=20&test=5").train[0][1]  # the label sequence of the first word image
    values = ", ".join(str(int(v)) for v in first[:8])
    assert f"target {tuple(first.shape)} torch.int64: [{values}" in capsys.readouterr().out
    assert main(["datasets", "--check", "pairs:digits?per_class=20"]) == 0
    assert "x (2, 1, 8, 8)" in capsys.readouterr().out


def test_help_lists_the_commands():
    result = _run("--help")
    assert result.returncode == 0
    for command in ("demo", "train", "evaluate", "predict", "report", "datasets", "zoo"):
        assert command in result.stdout
    assert "--max-memory SIZE" in result.stdout and "--version" in result.stdout


def test_every_command_has_a_description_and_its_help_shows_defaults(capsys):
    from deepscope.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        assert sub.description and len(sub.description) > 20, name
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: digits)" in text and "(default: 0.1)" in text and "(default: runs)" in text
    assert "(default: False)" not in text and "(default: None)" not in text  # flags and unset options
    assert main(["conv", "--help"]) == 0
    assert "(default: valid)" in " ".join(capsys.readouterr().out.split())


def test_version(capsys):
    import deepscope

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"deepscope {deepscope.__version__}"


def test_memory_and_text_caps_wrap_the_command(monkeypatch, capsys):
    from deepscope import cli, limits

    seen = []
    monkeypatch.setattr(cli, "cmd_zoo", lambda args: seen.append(limits.current()) or 0)
    assert main(["--max-memory", "3GB", "--max-text", "2MiB", "zoo"]) == 0
    assert (seen[0].memory, seen[0].text) == (3 * 10**9, 2 * 2**20)
    assert limits.current().memory != 3 * 10**9  # only for the command


def test_interrupt_prints_the_training_message_or_a_plain_one(monkeypatch, capsys):
    from deepscope import cli
    from deepscope.errors import TrainingInterrupted

    def interrupted(args):
        raise TrainingInterrupted("Interrupted after 2 of 5 epochs; continue: deepscope train --resume runs/x-001")

    monkeypatch.setattr(cli, "cmd_zoo", interrupted)
    assert main(["zoo"]) == 130
    assert (
        capsys.readouterr().err.strip()
        == "Interrupted after 2 of 5 epochs; continue: deepscope train --resume runs/x-001"
    )

    def plain(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_zoo", plain)
    assert main(["zoo"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("Interrupted") and "RUN" not in err


def test_an_unexpected_failure_is_one_line_that_points_to_debug(monkeypatch, capsys):
    from deepscope import cli

    def broken(args):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(cli, "cmd_zoo", broken)
    assert main(["zoo"]) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "error: unexpected ZeroDivisionError: division by zero second line (rerun with --debug for the traceback)\n"
    )
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "zoo"])


def test_predict_converts_any_image_file_to_the_model_input(tmp_path, capsys, digits):
    import numpy as np
    from PIL import Image

    from deepscope import runs
    from deepscope.train import predict_proba

    out = tmp_path / "run"
    assert main(["train", "lecture_cnn", "--data", "digits", "--epochs", "15", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    model = runs.open_run(out, load_data=False).model
    files, expected = [], []
    for i in range(3):
        x = digits.test.tensors[0][i]  # (1, 8, 8) in [0, 1]
        grey = (x[0].numpy() * 255).round().astype(np.uint8)
        # a 64x64 RGB file: predict must convert mode and size back to (1, 8, 8)
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(grey).resize((64, 64), Image.NEAREST).convert("RGB").save(path)
        files.append(str(path))
        expected.append(predict_proba(model, x[None])[0])
    assert main(["predict", str(out), *files, "--top", "3", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in results] == files
    for result, probs in zip(results, expected):
        top = result["top"]
        assert len(top) == 3 and top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"]
        assert top[0]["class"] == digits.classes[int(probs.argmax())]
        assert abs(top[0]["probability"] - float(probs.max())) < 0.02


def test_predict_names_a_file_that_is_not_an_image(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "softmax_regression", "--data", "digits", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    result = _run("predict", str(out), str(bad))
    assert result.returncode == 2 and str(bad) in result.stderr and "Traceback" not in result.stderr


def test_predict_refuses_a_sequence_run_and_says_what_to_use(tmp_path):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "addition_rnn",
                "--data",
                "addition:digits=1&n=40",
                "--epochs",
                "1",
                "--out",
                str(out),
                "--quiet",
                "--no-report",
            ]
        )
        == 0
    )
    result = _run("predict", str(out), "1+2")
    assert result.returncode == 2
    assert "takes image, text and series runs" in result.stderr and "is a sequence (seq2seq) run" in result.stderr


def test_augment_draws_originals_beside_versions_for_images_series_and_text(tmp_path, capsys):
    import csv

    from PIL import Image

    out = tmp_path / "digits.png"
    assert main(["augment", "digits", "--policy", "shift+rotate=20", "--versions", "3", "--out", str(out)]) == 0
    assert "shift+rotate=20 -> shift=0.08+rotate=20" in capsys.readouterr().out
    grid = Image.open(out)
    assert grid.size[0] > 300 and grid.size[1] > 500  # 8 rows x 4 columns of panels

    assert main(["augment", "ucr:GunPoint", "--n", "2", "--runs-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "auto -> jitter=0.03+scaling=0.1 (series:" in printed
    assert (tmp_path / "augment-GunPoint-auto.png").is_file()

    reviews = tmp_path / "reviews.csv"
    with reviews.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(20):
            writer.writerow(
                ["good fun film loved it" if i % 2 else "bad dull film hated it", "pos" if i % 2 else "neg"]
            )
    text_out = tmp_path / "text.txt"
    assert main(["augment", f"text:{reviews}", "--policy", "token-dropout=0.5", "--out", str(text_out)]) == 0
    written = text_out.read_text()
    assert "original: good fun film loved it" in written and "<oov>" in written


def test_augment_refuses_an_op_for_other_data(capsys):
    assert main(["augment", "digits", "--policy", "token-swap"]) == 2
    assert "'token-swap' is for text data" in capsys.readouterr().err


def test_simclr_pretraining_then_a_cached_finetune(tmp_path, capsys):
    pre, tuned = tmp_path / "pre", tmp_path / "tuned"
    assert (
        main(
            ["pretrain", "lecture_cnn", "--data", "digits", "--task", "simclr", "--epochs", "1"]
            + ["--out", str(pre), "--quiet"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"deepscope finetune {pre}" in out
    config = json.loads((pre / "config.json").read_text())
    assert config["data"]["spec"] == "simclr:digits" and config["augment"]["policy"] == "crop=0.4+rotate=15+erase=0.5"
    args = ["finetune", str(pre), "--data", "digits?per_class=10", "--epochs", "2", "--cache-features"]
    assert main([*args, "--out", str(tuned), "--quiet", "--no-report"]) == 0
    recipe = json.loads((tuned / "config.json").read_text())["recipe"]
    assert recipe["cache_features"] is True and recipe["freeze_epochs"] == 2


def test_model_arguments_from_the_command_line_shape_the_run_and_its_reopening(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "mlp", "--arg", "hidden=24", "--epochs", "1", "--out", str(out), "--quiet", "--no-report"]
    assert main(args) == 0
    from deepscope import open_run

    config = json.loads((out / "config.json").read_text())
    assert config["model"]["kwargs"] == {"hidden": 24}
    run = open_run(out, load_data=False)
    assert sum(p.numel() for p in run.model.parameters()) == 64 * 24 + 24 + 24 * 10 + 10  # digits: 8x8 -> 24 -> 10
    assert main(["zoo", "--summary", "mlp"]) == 0
    assert "Arguments (`deepscope train MODEL --arg NAME=VALUE`): hidden=128" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("hiden=24", "Unknown argument of mlp 'hiden'. Did you mean 'hidden'?"),
        ("24", "`--arg` must be NAME=VALUE, a model builder argument (e.g. --arg depth=56). Received: --arg='24'"),
    ],
)
def test_bad_model_arguments_are_named(tmp_path, capsys, arg, message):
    assert main(["train", "mlp", "--arg", arg, "--out", str(tmp_path / "run"), "--quiet"]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
