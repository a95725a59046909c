"""Hyperparameter search: search spaces, a resumable study, the sealed test split, lr-find, compare."""

from __future__ import annotations

import json

import pytest
import torch

from deepscope import runs, zoo
from deepscope.errors import InvalidArgumentError, RunError, UnknownNameError
from deepscope.recipe import parse_value
from deepscope.train import fit, lr_find
from deepscope.train.tune import Param, SealedTestSplitError, parse_space, read_space, sealed, search


def test_parse_space_reads_ranges_and_choices():
    space = parse_space(["lr=1e-4..1e-2:log", "batch_size=32,64", "epochs=2..6", "augment=none,auto"])
    assert space["lr"] == Param("lr", 1e-4, 1e-2, log=True)
    assert space["epochs"] == Param("epochs", 2, 6, integer=True)
    assert space["batch_size"].choices == (32, 64) and space["augment"].choices == ("none", "auto")


@pytest.mark.parametrize("item", ["lr", "lr=", "lr=1e-2..1e-4", "lr=0..1:log", "lr=a..b", "lr=1..2:sqrt", "lr=nan..1"])
def test_bad_search_dimensions_are_refused(item):
    with pytest.raises(InvalidArgumentError, match="`param` must be"):
        parse_space([item])


def test_read_space_from_toml(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text("[lr]\nlow = 1e-4\nhigh = 1e-2\nlog = true\n[batch_size]\nchoices = [32, 64]\n")
    assert read_space(path) == {
        "lr": Param("lr", 1e-4, 1e-2, log=True),
        "batch_size": Param("batch_size", choices=(32, 64)),
    }
    path.write_text("[lr]\nlow = 1\nhigh = 2\nstep = 3\n")
    with pytest.raises(InvalidArgumentError, match="unknown keys"):
        read_space(path)
    path.write_text("not toml [")
    with pytest.raises(InvalidArgumentError, match="not valid TOML"):
        read_space(path)


def test_the_test_split_is_sealed_during_a_search(digits, tmp_path):
    closed = sealed(digits)
    with pytest.raises(SealedTestSplitError):
        _ = closed.test.tensors
    assert len(closed.test) == len(digits.test) and closed.train is digits.train
    run = fit(
        zoo.create("softmax_regression", data=closed, seed=0), closed, epochs=1, out=tmp_path / "r", progress=False
    )
    with pytest.raises(SealedTestSplitError):
        run.evaluate("test")
    config = json.loads((run.path / "config.json").read_text())
    from deepscope.train.run import fingerprint

    assert config["data"]["fingerprint"] == fingerprint(digits)  # the real data's, taken before sealing

    def peeking_trial(params, out, callbacks):
        trial_run = fit(
            zoo.create("softmax_regression", data=closed, seed=0), closed, epochs=1, out=out, progress=False
        )
        trial_run.evaluate("test")  # a trial that reads test fails
        return trial_run

    study, trials = search(
        peeking_trial, {"lr": Param("lr", 1e-3, 1e-2, log=True)}, folder=tmp_path / "study", trials=2,
        default={"lr": 3e-3}, direction="maximize", monitor="val_accuracy", pruner="none",
    )  # fmt: skip
    assert [t.state for t in trials] == ["fail", "fail"]


def test_tune_resumes_starts_from_the_recipe_and_scores_test_once(tmp_path):
    folder = tmp_path / "study"
    space = parse_space(["lr=3e-4..3e-2:log", "batch_size=16,32"])
    result = runs.tune("lecture_cnn", "digits", trials=3, space=space, folder=folder, pruner="none", epochs=2)
    assert [t.number for t in result.trials] == [0, 1, 2]
    assert result.trials[0].params == {"lr": 3e-3, "batch_size": 32}  # the recipe's own point first
    assert result.best.value >= result.default_value
    assert 0.5 < result.test["accuracy"] <= 1.0
    best = json.loads((folder / "best.json").read_text())
    assert best["trial"] == result.best.number and best["test"]["accuracy"] == result.test["accuracy"]
    scored = [p for p in folder.glob("trial-*/metrics.json")]
    assert [p.parent for p in scored] == [result.best.path]  # only the chosen trial was scored on test
    more = runs.tune("lecture_cnn", "digits", trials=5, space=space, folder=folder, pruner="none", epochs=2)
    assert [t.number for t in more.trials] == [0, 1, 2, 3, 4]
    assert [t.params for t in more.trials[:3]] == [t.params for t in result.trials]


def test_tune_names_unknown_parameters(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'lr'"):
        runs.tune("lecture_cnn", "digits", trials=1, space={"lrr": Param("lrr", 1e-3, 1e-2)}, folder=tmp_path)
    with pytest.raises(UnknownNameError, match="argument of lecture_cnn"):
        runs.tune(
            "lecture_cnn",
            "digits",
            trials=1,
            space={"model.width": Param("model.width", choices=(8,))},
            folder=tmp_path,
        )
    with pytest.raises(InvalidArgumentError, match="needs a validation split"):
        runs.tune("lecture_cnn", "digits", trials=1, val_fraction=0, folder=tmp_path)


def test_lr_find_suggests_a_rate_and_leaves_the_model_and_rng_alone(digits):
    model = zoo.create("lecture_cnn", data=digits, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(7)
    expected = torch.rand(2)
    torch.manual_seed(7)
    result = lr_find(model, digits, steps=80)
    assert torch.equal(torch.rand(2), expected)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert 1e-4 <= result.suggestion <= 3e-1  # the recipe's 3e-3 trains well; 1e-7 and 10 do not
    assert len(result.lrs) == len(result.losses) <= 80 and result.lrs == sorted(result.lrs)
    assert min(result.losses) < result.losses[0] - 0.3  # it did learn before the rate grew too large
    assert result.losses[-1] > min(result.losses) * 1.3  # and stopped once the loss blew up


def test_compare_tabulates_runs_and_draws_them(tmp_path, capsys):
    from deepscope.cli import main

    a = runs.train("softmax_regression", "digits", epochs=2, runs_dir=tmp_path, progress=False)
    b = runs.train("lecture_cnn", "digits", epochs=2, runs_dir=tmp_path, progress=False)
    b.evaluate("test")
    rows = runs.compare([a.path, b.path])
    assert [r["model"] for r in rows] == ["softmax_regression", "lecture_cnn"]
    assert rows[0]["test"] is None and rows[1]["test"] == pytest.approx(b.evaluate("test").accuracy)
    assert rows[1]["parameters"] == sum(p.numel() for p in b.model.parameters())
    assert main(["compare", str(a.path), str(b.path), "--out", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "softmax_regression" in out and (tmp_path / "c.png").stat().st_size > 5_000
    with pytest.raises(RunError):
        runs.compare([tmp_path / "missing"])


def test_learning_curve_rises_with_labels_and_is_drawn(tmp_path, capsys):
    from deepscope.cli import main

    out = tmp_path / "curve.png"
    argv = ["learning-curve", "lecture_cnn", "--data", "digits", "--sizes", "3,30", "--epochs", "10", "--keep", "last"]
    assert main([*argv, "--runs-dir", str(tmp_path), "--out", str(out)]) == 0
    rows = json.loads(out.with_suffix(".json").read_text())
    for row in rows:  # --keep last: every run keeps its tenth epoch, whatever its few validation images say
        run = runs.open_run(row["run"], load_data=False)
        assert run.config["recipe"]["keep"] == "last" and run.best_epoch == 10
        assert row["val"] == pytest.approx(run.history[-1]["val_accuracy"])
    assert [(r["method"], r["size"]) for r in rows] == [
        ("scratch", 3),
        ("augment", 3),
        ("scratch", 30),
        ("augment", 30),
    ]
    small = [r["test"] for r in rows if r["size"] == 3]
    large = [r["test"] for r in rows if r["size"] == 30]
    assert min(large) > max(small)  # ten times the labels: better, whichever method
    assert out.stat().st_size > 5_000
    with pytest.raises(UnknownNameError, match="learning-curve method"):
        runs.learning_curve("lecture_cnn", "digits", [3], methods=("magic",))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("32", 32),
        (" 1e-3 ", 1e-3),
        ("true", True),
        ("False", False),
        ("cosine", "cosine"),
        ("flip+shift=0.1", "flip+shift=0.1"),
    ],
)
def test_command_line_values_parse_to_their_types(text, value):
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)
