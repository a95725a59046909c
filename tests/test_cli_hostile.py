"""Hostile command lines: every bad invocation ends in exit code 2 and ONE line on stderr,
``error: ...``, that names the argument or file at fault -- never a traceback, a hang or a
huge allocation. Bad numbers, NaN, negative sizes, missing and special files (a FIFO, a
character device), files where folders belong, tampered run folders.

One tiny image run, one run without validation data and one text run are trained once for
the module; every case after that is well under a second."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepscope.cli import main

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> dict[str, str]:
    """The paths a case's argv may name, as {NAME}: trained runs, good and bad input files."""
    from deepscope import runs

    root = tmp_path_factory.mktemp("hostile")
    runs.train("lecture_cnn", "digits", epochs=1, out=root / "img", progress=False)
    runs.train("softmax_regression", "digits", epochs=1, val_fraction=0, out=root / "noval", progress=False)
    reviews = root / "reviews.csv"
    with reviews.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(40):
            writer.writerow(["good fun film, loved it", "pos"] if i % 2 else ["bad dull film, hated it", "neg"])
    runs.train("imdb_fasttext", f"text:{reviews}", epochs=1, out=root / "text", progress=False)

    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(root / "ok.png")
    (root / "notes.png").write_text("not an image")
    (root / "afile").write_text("a file, not a folder")
    (root / "big.txt").write_text("good " * 60_000)  # 300 kB
    np.save(root / "k9.npy", np.ones((9, 9)))
    os.mkfifo(root / "pipe.png")
    os.mkfifo(root / "pipe.csv")
    return {
        "RUN": str(root / "img"),
        "NOVAL": str(root / "noval"),
        "TEXT": str(root / "text"),
        "OK": str(root / "ok.png"),
        "NOTES": str(root / "notes.png"),
        "FILE": str(root / "afile"),
        "BIG": str(root / "big.txt"),
        "K9": str(root / "k9.npy"),
        "FIFO": str(root / "pipe.png"),
        "FIFOCSV": str(root / "pipe.csv"),
        "MISSING": str(root / "missing.png"),
        "ROOT": str(root),
    }


@pytest.fixture(autouse=True)
def _no_hang():
    """A case that blocks (opening a FIFO, a read from /dev/zero) fails instead of hanging."""

    def alarm(signum, frame):
        raise TimeoutError("a hostile command line ran past 60 s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 60)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def _fail(argv: list[str], place: dict[str, str], capsys) -> str:
    """Run ``deepscope ARGV``; assert exit code 2 and one clean line on stderr; return it."""
    capsys.readouterr()
    code = main([arg.format(**place) for arg in argv])
    err = capsys.readouterr().err
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and "unexpected" not in err, err  # deepscope's own error, not a crash
    return err


CASES = [
    # ----- numbers: zero, negative, NaN, inf, not a number, too large
    (["train", "lecture_cnn", "--epochs", "0"], "`--epochs` must be an int >= 1. Received: --epochs='0'"),
    (["train", "lecture_cnn", "--epochs", "-3"], "`--epochs` must be an int >= 1"),
    (["train", "lecture_cnn", "--epochs", "nan"], "`--epochs` must be an int >= 1. Received: --epochs='nan'"),
    (["train", "lecture_cnn", "--epochs", "1e3"], "`--epochs` must be an int >= 1"),
    (["train", "lecture_cnn", "--epochs", "10000000000"], "`--epochs` must be an int >= 1"),
    (["train", "lecture_cnn", "--batch-size", "0"], "`--batch-size` must be an int >= 1"),
    (["train", "lecture_cnn", "--patience", "0"], "`--patience` must be an int >= 1"),
    (["train", "lecture_cnn", "--val-fraction", "nan"], "`--val-fraction` must be a fraction in [0, 1)"),
    (["train", "lecture_cnn", "--val-fraction", "inf"], "`--val-fraction` must be a fraction in [0, 1)"),
    (["train", "lecture_cnn", "--val-fraction", "1"], "`--val-fraction` must be a fraction in [0, 1)"),
    (["train", "lecture_cnn", "--val-fraction", "-0.1"], "`--val-fraction` must be a fraction in [0, 1)"),
    (["train", "lecture_cnn", "--lr", "nan"], "`lr` must be a finite float > 0. Received: lr=nan"),
    (["train", "lecture_cnn", "--lr", "-1"], "`lr` must be a finite float > 0"),
    (["train", "lecture_cnn", "--lr", "fast"], "`--lr` must be a number. Received: --lr='fast'"),
    (["train", "lecture_cnn", "--weight-decay", "-1"], "`weight_decay` must be a finite float >= 0"),
    (["train", "lecture_cnn", "--seed", "-1"], "`seed` must be an int in [0, 2**32)"),
    (["train", "lecture_cnn", "--seed", "4294967296"], "`seed` must be an int in [0, 2**32)"),
    (["train", "lecture_cnn", "--seed", "0.5"], "`--seed` must be an int. Received: --seed='0.5'"),
    (["demo", "--seed", "-1"], "`seed` must be an int in [0, 2**32)"),
    (["predict", "{RUN}", "{OK}", "--top", "0"], "`--top` must be an int >= 1. Received: --top='0'"),
    (["predict", "{RUN}", "{OK}", "--top", "-1"], "`--top` must be an int >= 1"),
    (["inspect", "{RUN}", "--k", "0"], "`--k` must be an int in [1, 100]"),
    (["inspect", "{RUN}", "--k", "100000"], "`--k` must be an int in [1, 100]"),
    (["inspect", "{RUN}", "--embedding", "-1"], "`--embedding` must be an int in [0, 20000]"),
    (["inspect", "{RUN}", "--embedding", "99999999"], "`--embedding` must be an int in [0, 20000]"),
    (["words", "{TEXT}", "--map", "-1"], "`--map` must be an int in [0, 10000]"),
    (["words", "{TEXT}", "--k", "0"], "`--k` must be an int in [1, 1000]"),
    (["--max-memory", "0", "zoo"], "`--max-memory` must be a positive size"),
    (["--max-memory", "lots", "zoo"], "`--max-memory` must be a positive size such as 512MB"),
    (["--max-text", "-5", "zoo"], "`--max-text` must be a positive size"),
    # ----- convolution sizes that would run for minutes or allocate gigabytes
    (["conv", "example:cross", "--padding", "100000"], "`--padding` must be an int in [0, 512], 'valid' or 'same'"),
    (["conv", "example:cross", "--padding", "5000"], "`--padding` must be an int in [0, 512]"),
    (["conv", "example:cross", "--padding", "7"], "`padding` must be 'valid', 'same' or an int in [0, 2] for a 3x3"),
    (["conv", "example:cross", "--stride", "-1"], "`--stride` must be an int in [1, 512]"),
    (["conv", "example:cross", "--stride", "100"], "`stride` must be an int in [1, 7] (the image is 7x7)"),
    (["conv", "example:cross", "--pool", "100"], "`pool` must be no larger than the convolution output (5x5)"),
    (["conv", "example:cross", "--kernel-file", "{K9}"], "`kernel` must be no larger than the image (7x7)"),
    # ----- files: missing, folders, FIFOs, devices, not what they claim, too large
    (["predict", "{RUN}", "{FIFO}"], "Image file {FIFO} must be a regular file. Received: a named pipe (FIFO)."),
    (["predict", "{RUN}", "{MISSING}"], "{MISSING} does not exist"),
    (["predict", "{RUN}", "{ROOT}"], "Image file {ROOT} must be a regular file. Received: a folder."),
    (["predict", "{RUN}", "{NOTES}"], "{NOTES} is not an image file"),
    (["predict", "{TEXT}", "@/dev/zero"], "Text file /dev/zero must be a regular file. Received: a character device."),
    (["predict", "{TEXT}", "@{FIFO}"], "Text file {FIFO} must be a regular file. Received: a named pipe (FIFO)."),
    (["predict", "{TEXT}", "@{MISSING}"], "Text file {MISSING} does not exist."),
    (
        ["--max-text", "200KB", "predict", "{TEXT}", "@{BIG}"],
        "Text file {BIG} is 293.0 KiB, more than the cap of 195.3 KiB",
    ),
    (["conv", "{FIFO}"], "Image file {FIFO} must be a regular file. Received: a named pipe (FIFO)."),
    (["conv", "example:cross", "--kernel-file", "/dev/zero"], "Kernel file /dev/zero must be a regular file"),
    (["conv", "example:cross", "--kernel-file", "{FIFOCSV}"], "Kernel file {FIFOCSV} must be a regular file"),
    (["conv", "{MISSING}"], "Image file {MISSING} does not exist."),
    (["inspect", "{RUN}", "--input", "{FIFO}"], "{FIFO}"),
    # ----- a file where a folder belongs
    (["train", "lecture_cnn", "--runs-dir", "{FILE}"], "`--runs-dir` must be a folder (or a path where one can be"),
    (["train", "lecture_cnn", "--out", "{FILE}"], "`--out` must be a folder (or a path where one can be made)."),
    (["train", "lecture_cnn", "--out", "{FILE}/run"], "({FILE} is a file)"),
    (["train", "--resume", "{FILE}"], "`--resume` must be a run folder. Received: --resume='{FILE}', a file"),
    (["demo", "--runs-dir", "{FILE}"], "`--runs-dir` must be a folder"),
    (["conv", "example:cross", "--out", "{FILE}"], "`--out` must be a folder"),
    (["conv", "example:cross", "--runs-dir", "{FILE}"], "`--runs-dir` must be a folder"),
    (["evaluate", "{FILE}"], "`run` must be a run folder. Received: run='{FILE}', a file"),
    (["evaluate", "{MISSING}"], "Run folder {MISSING} does not exist."),
    (["train", "--resume", "{MISSING}"], "Run folder {MISSING} does not exist."),
    (["train", "--resume", "{RUN}", "--epochs", "5"], "`--resume` must be given alone: a run resumes with its own"),
    (["train", "lecture_cnn", "--resume", "{RUN}"], "(drop MODEL)"),
    # ----- the wrong kind of run, or of split
    (["evaluate", "{NOVAL}", "--split", "val"], "`split` must be a split with samples"),
    (["evaluate", "{RUN}", "--split", "validation"], "argument --split: invalid choice: 'validation'"),
    (["words", "{RUN}"], "`run` must be a run trained on text data"),
    # ----- small-data commands: policies, subsets, backbones, searches
    (["train", "lecture_cnn", "--augment", "flp"], "Unknown augmentation 'flp'. Did you mean 'flip'"),
    (["train", "lecture_cnn", "--augment", "rotate=1e9"], "`augment` must be rotate=<number in [0, 180]>"),
    (["train", "lecture_cnn", "--augment", "jitter"], "'jitter' is for series data"),
    (["train", "lecture_cnn", "--freeze-epochs", "-1"], "`--freeze-epochs` must be an int in [0, 1000000]"),
    (["train", "lecture_cnn", "--freeze-epochs", "99"], "`freeze_epochs` must be an int in [0, epochs=30]"),
    (["train", "lecture_cnn", "--lr-mult", "0.5"], "`lr_mult` must be a float in [1, 1e6]"),
    (["train", "lecture_cnn", "--data", "digits?classes=0,tree"], "Received: 'tree'"),
    (["train", "lecture_cnn", "--data", "digits?per_class=-2"], "`per_class` must be a positive int"),
    (["augment", "digits", "--n", "0"], "`--n` must be an int in [1, 64]"),
    (["augment", "digits", "--versions", "1000"], "`--versions` must be an int in [1, 16]"),
    (["augment", "digits", "--policy", "mixup+flip"], "mixing ops (mixup, cutmix) come last"),
    (["augment", "digits", "--out", "{FILE}/x.png"], "{FILE}"),
    (["finetune", "resnet17", "--data", "digits"], "Did you mean 'resnet18'"),
    (["finetune", "resnet18", "--weights", "{FIFO}"], "`--weights` must be an existing regular file"),
    (["finetune", "resnet18", "--weights", "{MISSING}"], "`--weights` must be an existing regular file"),
    (["finetune", "resnet18", "--weights", "{OK}"], "is not resnet18's published ImageNet weights"),
    (["finetune", "resnet18", "--size", "5"], "`--size` must be an int in [32, 1024]"),
    (["finetune", "timm:resnet_18", "--data", "digits"], "Did you mean 'resnet18'"),
    (["finetune", "minilm", "--data", "digits"], "expects text data"),
    (["train", "lecture_cnn", "--cache-features"], "`cache_features` must be used with freeze_epochs >= 1"),
    (["pretrain", "lecture_cnn", "--task", "simclr", "--augment", "none"], "two views of a sample must differ"),
    (["pretrain", "lecture_cnn", "--task", "simclr", "--batch-size", "63"], "`batch_size` must be an even number"),
    (["pretrain", "lecture_cnn", "--task", "jigsaw"], "argument --task: invalid choice: 'jigsaw'"),
    (["lr-find", "lecture_cnn", "--data", "simclr:digits"], "needs labelled batches"),
    (["train", "lecture_cnn", "--data", "digits?test_per_class=x"], "`test_per_class` must be a positive int"),
    (["tune", "lecture_cnn", "--trials", "0"], "`--trials` must be an int in [1, 10000]"),
    (["tune", "lecture_cnn", "--param", "lr=2..1"], "`param` must be a range LOW..HIGH"),
    (["tune", "lecture_cnn", "--param", "lrr=1e-3..1e-2"], "Did you mean 'lr'"),
    (["tune", "lecture_cnn", "--space", "{FIFOCSV}"], "must be a regular file"),
    (["tune", "lecture_cnn", "--space", "{NOTES}"], "is not valid TOML"),
    (["lr-find", "lecture_cnn", "--steps", "5"], "`--steps` must be an int in [10, 10000]"),
    (["lr-find", "lecture_cnn", "--start", "0"], "`start/end` must be 0 < start < end"),
    (["compare", "{FILE}"], "`RUN` must be a run folder"),
    (["compare", "{MISSING}"], "Run folder {MISSING} does not exist."),
    # ----- generative runs, model arguments and the zoo's wrapped and generated data
    (["generate", "{RUN}"], "draws images from generative runs (dcgan, mnist_acgan"),
    (["generate", "{RUN}", "--n", "0"], "`--n` must be an int in [1, 400]. Received: --n='0'"),
    (["generate", "{RUN}", "--n", "100000"], "`--n` must be an int in [1, 400]"),
    (
        ["train", "mnist_acgan", "--judge", "{FIFO}"],
        "`--judge` must be a run folder. Received: --judge='{FIFO}', a file",
    ),
    (["train", "mnist_acgan", "--data", "digits"], "divide by 4 and are >= 20 for mnist_acgan"),
    (["train", "lecture_cnn", "--arg", "=3"], "`--arg` must be NAME=VALUE"),
    (["train", "mnist_siamese", "--data", "pairs:pairs:digits"], "not another pairs or pretext spec"),
    (["train", "pixelcnn", "--data", "binarized:digits?threshold=2"], "`threshold` must be a float in [0, 1)"),
    (["train", "pixelcnn", "--data", "binarized:digits?treshold=0.5"], "Did you mean 'threshold'?"),
    (["train", "image_ocr", "--data", "words?train=1e9"], "`train` must be a value of type int"),
    (["train", "image_ocr", "--data", "words?width=100000"], "`width` must be an int in [16, 2048]"),
    (["datasets", "--check", "words:/etc"], "Dataset 'words' takes settings, not a path"),
    # ----- lessons
    (["lesson", "decent"], "Unknown lesson 'decent'. Did you mean 'descent'"),
    (["lesson", "descent", "--seed", "-1"], "`--seed` must be an int >= 0. Received: --seed='-1'"),
    (["lesson", "descent", "--out", "{FILE}"], "`--out` must be a folder"),
    (["lesson", "descent", "--data", "digits"], "`data` must be None: the descent lesson makes its own numbers"),
    (["lesson", "descent", "--run", "{RUN}"], "`model` must be None: the descent lesson uses its own model"),
    (["lesson", "autodiff", "--run", "{RUN}", "--data", "digits"], "`--data` must be left out with --run"),
    # ----- usage
    (["train"], "`model` must be a zoo model name (see `deepscope zoo`)"),
    (["train", "mnist_cn"], "Unknown model 'mnist_cn'. Did you mean 'mnist_cnn'"),
    (["train", "lecture_cnn", "--data", "digitz"], "Unknown dataset 'digitz'. Did you mean 'digits'"),
    (["predict", "{RUN}"], "the following arguments are required: INPUT (see `deepscope predict --help`)"),
    (["trian"], "argument COMMAND: invalid choice: 'trian'"),
    (["zoo", "--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(argv)[:60] for argv, _ in CASES])
def test_bad_command_line_is_one_line_and_exit_code_2(place, capsys, argv, message):
    assert message.format(**place) in _fail(argv, place, capsys)


def _edit_config(path: Path, edit) -> None:
    config = json.loads((path / "config.json").read_text())
    edit(config)
    (path / "config.json").write_text(json.dumps(config))


def _tamper_config_text(text: str):
    return lambda path: (path / "config.json").write_text(text)


TAMPERED = [  # (what, base run, how to damage a copy of it, argv, message)
    ("no config.json", "RUN", lambda p: (p / "config.json").unlink(), ["evaluate"], "config.json"),
    ("config.json not JSON", "RUN", _tamper_config_text("{not json"), ["evaluate"], "config.json is damaged"),
    ("config.json a list", "RUN", _tamper_config_text("[1, 2]"), ["evaluate"], "config.json"),
    (
        "config.json a FIFO",
        "RUN",
        lambda p: ((p / "config.json").unlink(), os.mkfifo(p / "config.json")),
        ["evaluate"],
        "config.json must be a regular file. Received: a named pipe (FIFO).",
    ),
    (
        "newer format",
        "RUN",
        lambda p: _edit_config(p, lambda c: c.update(format=99)),
        ["evaluate"],
        "was written by a newer deepscope (format 99",
    ),
    (
        "unknown model",
        "RUN",
        lambda p: _edit_config(p, lambda c: c["model"].update(name="no_such_model")),
        ["evaluate"],
        "'no_such_model'",
    ),
    (
        "huge input shape",
        "RUN",
        lambda p: _edit_config(p, lambda c: c["model"].update(in_shape=[1, 100_000, 100_000])),
        ["predict", "{OK}"],
        "in_shape",
    ),
    (
        "negative lr in the recipe",
        "RUN",
        lambda p: _edit_config(p, lambda c: c["recipe"].update(lr=-1)),
        ["evaluate"],
        "`lr` must be a finite float > 0",
    ),
    (
        "classes do not match the model",
        "RUN",
        lambda p: _edit_config(p, lambda c: c["data"].update(classes=["a"])),
        ["predict", "{OK}"],
        "is damaged",
    ),
    (
        "truncated weights",
        "RUN",
        lambda p: (p / "model.safetensors").write_bytes((p / "model.safetensors").read_bytes()[:1000]),
        ["predict", "{OK}"],
        "model.safetensors",
    ),
    ("no weights", "RUN", lambda p: (p / "model.safetensors").unlink(), ["predict", "{OK}"], "no model.safetensors"),
    (
        "metrics.json of the wrong shape",
        "RUN",
        lambda p: (p / "metrics.json").write_text('{"test": 5}'),
        ["evaluate"],
        "metrics.json",
    ),
    ("no vocabulary", "TEXT", lambda p: (p / "vocab.json").unlink(), ["predict", "good film"], "vocab.json"),
    (
        "vocabulary not JSON",
        "TEXT",
        lambda p: (p / "vocab.json").write_text("[1, 2"),
        ["predict", "good film"],
        "vocab.json",
    ),
    ("resume a damaged run", "RUN", _tamper_config_text("{"), ["RESUME"], "config.json"),
]


@pytest.mark.parametrize("what, base, tamper, argv, message", TAMPERED, ids=[t[0] for t in TAMPERED])
def test_tampered_run_folder_is_one_line_and_exit_code_2(place, capsys, tmp_path, what, base, tamper, argv, message):
    run = tmp_path / "run"
    shutil.copytree(place[base], run)
    tamper(run)
    argv = ["train", "--resume", str(run)] if argv == ["RESUME"] else [argv[0], str(run), *argv[1:]]
    assert message.format(**place) in _fail(argv, place, capsys)


def test_caps_on_the_command_line_apply_to_the_command(place, capsys):
    # the same prediction succeeds under the default caps and fails under a tiny text cap
    assert main(["predict", place["TEXT"], "@" + place["BIG"]]) == 0
    capsys.readouterr()
    err = _fail(["--max-text", "1KB", "predict", "{TEXT}", "good film"], place, capsys)
    assert "more than the cap of 1000 bytes" in err  # the run's own JSON files are read under the cap too
