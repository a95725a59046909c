"""Opening run folders: rebuild from config + safetensors, refuse damaged or newer ones."""

from __future__ import annotations

import json

import pytest
import torch

from deepscope import runs, zoo
from deepscope.errors import InvalidArgumentError, RunError
from deepscope.train import Callback


@pytest.fixture(scope="module")
def trained(digits, tmp_path_factory):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    return runs.fit(model, digits, epochs=2, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)


def test_open_run_rebuilds_the_same_model_and_scores(trained):
    opened = runs.open_run(trained.path)
    x = trained.data.test.tensors[0][:5]
    assert torch.allclose(opened.model(x), trained.model.eval()(x))
    result = opened.evaluate("test")
    assert result.accuracy == pytest.approx(trained.evaluate("test").accuracy)
    metrics = json.loads((trained.path / "metrics.json").read_text())
    assert sum(map(sum, metrics["test"]["confusion"])) == len(trained.data.test)
    assert set(metrics["test"]["per_class"]) == set(trained.data.classes)


def test_run_from_a_newer_version_is_refused(trained, tmp_path):
    copy = tmp_path / "newer"
    copy.mkdir()
    config = json.loads((trained.path / "config.json").read_text())
    config["format"] = 99
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunError, match="written by a newer deepscope"):
        runs.open_run(copy)


@pytest.mark.parametrize("content, message", [("{not json", "damaged"), ("{}", "no 'format' version")])
def test_damaged_config_is_refused(tmp_path, content, message):
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(RunError, match=message):
        runs.open_run(tmp_path)


def test_damaged_weights_are_refused(trained, tmp_path):
    copy = tmp_path / "damaged"
    copy.mkdir()
    (copy / "config.json").write_bytes((trained.path / "config.json").read_bytes())
    (copy / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(RunError, match="damaged"):
        runs.open_run(copy)


def test_missing_run_folder(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        runs.open_run(tmp_path / "nope")


# ----------------------------------------------------------------------------- issue 8 §3
def test_reopening_reproduces_the_validation_split_exactly(tmp_path):
    from deepscope.data import load

    data = load("digits", val_fraction=0.125, seed=3)
    model = zoo.create("softmax_regression", data=data, seed=0)
    run = runs.fit(model, data, epochs=1, seed=3, out=tmp_path / "r", progress=False)
    opened = runs.open_run(run.path)
    assert torch.equal(opened.data.val.tensors[0], data.val.tensors[0])
    assert torch.equal(opened.data.train.tensors[1], data.train.tensors[1])
    assert json.loads((run.path / "config.json").read_text())["data"]["info"]["split"] == {
        "val_fraction": 0.125,
        "seed": 3,
    }


def test_changed_data_warns_on_open_and_refuses_resume(trained, tmp_path):
    config = json.loads((trained.path / "config.json").read_text())
    config["data"]["fingerprint"] = "0" * 32  # as if the files behind the spec had changed
    copy = tmp_path / "changed"
    copy.mkdir()
    for name in ("model.safetensors",):
        (copy / name).write_bytes((trained.path / name).read_bytes())
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.warns(runs.DataChangedWarning, match="has changed since the run was trained"):
        runs.open_run(copy)
    with pytest.raises(RunError, match="has changed since the run started"):
        runs.resume(copy, progress=False)


def test_run_answers_monitor_best_epoch_and_speed(trained):
    history = trained.history
    best = max(range(len(history)), key=lambda i: (history[i]["val_accuracy"], -i)) + 1
    assert trained.monitor == "val_accuracy"
    assert trained.best_epoch == best
    assert trained.best_value == pytest.approx(history[best - 1]["val_accuracy"])
    assert trained.seconds_per_epoch == pytest.approx(sum(h["time"] for h in history) / len(history))
    assert runs.open_run(trained.path, load_data=False).best_epoch == best


def test_keep_last_keeps_the_final_epoch_not_the_best(digits, tmp_path):
    from safetensors.torch import load_file

    # lr so high that validation loss is worse after epoch 3 than after epoch 2
    common = {"epochs": 3, "lr": 1.0, "monitor": "val_loss", "progress": False}
    best = runs.fit(zoo.create("softmax_regression", data=digits, seed=0), digits, out=tmp_path / "b", **common)
    last = runs.fit(
        zoo.create("softmax_regression", data=digits, seed=0), digits, keep="last", out=tmp_path / "l", **common
    )
    assert best.best_epoch == 2 and last.best_epoch == 3
    assert last.best_value == pytest.approx(last.history[2]["val_loss"]) != best.best_value
    final = load_file(str(tmp_path / "l" / "last" / "model.safetensors"))  # the weights after epoch 3
    assert all(torch.equal(final[k], v) for k, v in last.model.state_dict().items())
    assert not all(torch.equal(final[k], v) for k, v in best.model.state_dict().items())  # epoch 2's
    assert runs.open_run(last.path, load_data=False).best_epoch == 3
    with pytest.raises(InvalidArgumentError, match="`keep` must be 'best'"):
        runs.fit(zoo.create("softmax_regression", data=digits), digits, keep="first", out=tmp_path / "x")


def test_resume_of_an_early_stopped_run_trains_no_further(digits, tmp_path):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    # lr so high that validation loss gets worse at once: patience 1 stops after epoch 2
    run = runs.fit(model, digits, epochs=6, lr=50.0, patience=1, monitor="val_loss", out=tmp_path / "r", progress=False)
    assert run.stopped_early and len(run.history) < 6
    resumed = runs.resume(run.path, progress=False)
    assert len(resumed.history) == len(run.history)
    assert resumed.stopped_early and runs.open_run(run.path, load_data=False).stopped_early


class _CtrlC(Callback):
    def __init__(self, at_epoch: int):
        self.at_epoch = at_epoch

    def on_batch_end(self, state, step, loss):
        if state.epoch == self.at_epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("at_epoch, said", [(0, "before the first epoch"), (1, "1 completed epoch(s)")])
def test_ctrl_c_names_the_run_folder_and_what_was_saved(digits, tmp_path, at_epoch, said):
    from deepscope.errors import TrainingInterrupted

    model = zoo.create("softmax_regression", data=digits, seed=0)
    out = tmp_path / "cut"
    with pytest.raises(TrainingInterrupted) as caught:
        runs.fit(model, digits, epochs=3, out=out, callbacks=[_CtrlC(at_epoch)], progress=False)
    assert said in str(caught.value) and str(out) in str(caught.value) and "RUN" not in str(caught.value)
    assert f"deepscope train --resume {out}" in str(caught.value)
    resumed = runs.resume(out, progress=False)  # with or without a completed epoch
    assert len(resumed.history) == 3


def test_a_run_killed_before_its_first_epoch_can_be_reused_with_out(digits, tmp_path):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        runs.fit(model, digits, epochs=2, out=out, callbacks=[_CtrlC(0)], progress=False)
    run = runs.fit(zoo.create("softmax_regression", data=digits, seed=0), digits, epochs=1, out=out, progress=False)
    assert len(run.history) == 1


def test_resume_reads_a_checkpoint_left_in_last_old(trained, tmp_path):
    import shutil

    copy = tmp_path / "between-renames"
    shutil.copytree(trained.path, copy)
    (copy / "last").rename(copy / "last.old")  # the crash between the two renames
    opened = runs.open_run(copy, load_data=False)
    assert len(opened.history) == len(trained.history)
    resumed = runs.resume(copy, progress=False)  # finished: nothing more to train, and no error
    assert len(resumed.history) == len(trained.history)


def test_runs_dir_that_is_a_file_is_refused(digits, tmp_path):
    from deepscope.errors import InvalidArgumentError

    (tmp_path / "file").write_text("not a folder")
    model = zoo.create("softmax_regression", data=digits, seed=0)
    with pytest.raises(InvalidArgumentError, match="`runs_dir` must be a folder"):
        runs.fit(model, digits, epochs=1, runs_dir=tmp_path / "file", progress=False)
    with pytest.raises(InvalidArgumentError, match="`out` must be a folder"):
        runs.fit(model, digits, epochs=1, out=tmp_path / "file", progress=False)


def test_evaluate_on_an_empty_split_says_so(digits, tmp_path):
    from deepscope.data import load
    from deepscope.errors import InvalidArgumentError

    data = load("digits", val_fraction=0.0)
    run = runs.fit(
        zoo.create("softmax_regression", data=data, seed=0), data, epochs=1, out=tmp_path / "r", progress=False
    )
    assert run.monitor == "accuracy"  # no validation data: the training-set metric chose the weights
    with pytest.raises(InvalidArgumentError, match="`split` must be a split with samples"):
        run.evaluate("val")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("imdb", "imdb?maxlen=120&max_words=20000"),
        ("imdb?maxlen=80", "imdb?maxlen=80&max_words=20000"),  # settings without a path
        ("imdb:/data/aclImdb?max_words=5000", "imdb:/data/aclImdb?max_words=5000&maxlen=120"),
        ("digits", "digits"),  # not the entry's kind of data: left alone (the model refuses it later)
    ],
)
def test_a_models_loader_settings_join_the_spec_where_it_leaves_them_out(spec, expected):
    from deepscope.runs import data_spec

    assert data_spec("imdb_lstm", spec) == expected
