"""The trainer on real data (digits): accuracy, exact resume, NaN handling, early stopping."""

from __future__ import annotations

import json

import pytest
import torch

from deepscope import runs, zoo
from deepscope.errors import InvalidArgumentError, RunError, TrainingDivergedError, UnknownNameError
from deepscope.train import Callback, fit
from deepscope.train.files import load_tensors


def test_lecture_cnn_default_recipe_reaches_97_percent_on_digits(digits, tmp_path):
    model = zoo.create("lecture_cnn", data=digits, seed=0)
    run = runs.fit(model, digits, runs_dir=tmp_path, progress=False)
    assert run.evaluate("test").accuracy >= 0.97
    assert (run.path / "model.safetensors").is_file()
    assert (run.path / "history.csv").read_text().count("\n") == len(run.history) + 1


def _mlp(digits):
    # mnist_mlp has dropout, so an exact resume must also restore the RNG state.
    return zoo.create("mnist_mlp", data=digits, seed=0)


class _Crash(Callback):
    """Simulates a crash right after epoch ``at`` was checkpointed."""

    def __init__(self, at: int):
        self.at = at

    def on_epoch_end(self, state, logs):
        if state.epoch == self.at:
            raise KeyboardInterrupt


def test_resume_continues_to_the_uninterrupted_result(digits, tmp_path):
    settings = dict(epochs=4, batch_size=64, schedule="onecycle", lr=2e-3, progress=False)
    whole = fit(_mlp(digits), digits, out=tmp_path / "whole", **settings)
    with pytest.raises(KeyboardInterrupt):
        fit(_mlp(digits), digits, out=tmp_path / "cut", callbacks=[_Crash(at=2)], **settings)
    assert json.loads((tmp_path / "cut" / "last" / "state.json").read_text())["epoch"] == 2
    torch.manual_seed(123)  # the resumed run must not depend on the global RNG at resume time
    resumed = runs.resume(tmp_path / "cut", progress=False)
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert [h["val_loss"] for h in whole.history] == [h["val_loss"] for h in resumed.history]


class _Poison(Callback):
    def on_epoch_end(self, state, logs):
        if state.epoch == 1:
            with torch.no_grad():
                next(state.model.parameters()).fill_(float("nan"))


def test_nan_loss_stops_with_clear_message_and_keeps_last_good_checkpoint(digits, tmp_path):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    with pytest.raises(TrainingDivergedError, match=r"loss became nan at epoch 2, step 1.*last good checkpoint"):
        fit(model, digits, epochs=3, out=tmp_path / "run", callbacks=[_Poison()], progress=False)
    state = json.loads((tmp_path / "run" / "last" / "state.json").read_text())
    assert state["epoch"] == 1
    for path in (tmp_path / "run" / "model.safetensors", tmp_path / "run" / "last" / "model.safetensors"):
        assert all(torch.isfinite(t).all() for t in load_tensors(path).values())


def test_early_stopping_stops_after_patience_epochs_without_improvement(digits, tmp_path):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    run = fit(model, digits, epochs=20, lr=1e-12, optimizer="sgd", patience=2, out=tmp_path / "r", progress=False)
    assert len(run.history) == 3  # epoch 1 sets the best, 2 and 3 do not improve


def test_unknown_optimizer_suggests_the_closest_name(digits, tmp_path):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    with pytest.raises(UnknownNameError, match=r"Unknown optimizer 'adamm'. Did you mean 'adam'"):
        fit(model, digits, optimizer="adamm", out=tmp_path / "r", progress=False)


def test_bad_recipe_values_fail_at_the_boundary(digits, tmp_path):
    model = zoo.create("softmax_regression", data=digits, seed=0)
    with pytest.raises(InvalidArgumentError, match=r"`epochs` must be a positive int. Received: epochs=0"):
        fit(model, digits, epochs=0, out=tmp_path / "a", progress=False)
    with pytest.raises(InvalidArgumentError, match=r"Unknown recipe field 'epoch'. Did you mean 'epochs'"):
        fit(model, digits, epoch=3, out=tmp_path / "b", progress=False)


def test_existing_run_folder_is_never_overwritten(digits, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    model = zoo.create("softmax_regression", data=digits, seed=0)
    with pytest.raises(RunError, match="already exists and is not empty"):
        fit(model, digits, epochs=1, out=out, progress=False)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_run_folders_are_numbered(digits, tmp_path):
    paths = [
        runs.fit(
            zoo.create("softmax_regression", data=digits, seed=0), digits, epochs=1, runs_dir=tmp_path, progress=False
        ).path.name
        for _ in range(2)
    ]
    assert paths == ["softmax_regression-digits-001", "softmax_regression-digits-002"]


def test_augmentation_is_printed_recorded_and_mixup_still_learns(digits, tmp_path, capsys):
    model = zoo.create("lecture_cnn", data=digits, seed=0)
    run = runs.fit(model, digits, runs_dir=tmp_path, augment="auto", epochs=2)
    assert "augmentation: shift=0.08 (single-channel images" in capsys.readouterr().err
    config = json.loads((run.path / "config.json").read_text())
    assert config["augment"]["requested"] == "auto" and config["augment"]["policy"] == "shift=0.08"
    mixed = runs.fit(
        zoo.create("lecture_cnn", data=digits, seed=0),
        digits,
        runs_dir=tmp_path,
        augment="mixup+cutmix",
        progress=False,
    )
    assert json.loads((mixed.path / "config.json").read_text())["augment"]["policy"] == "mixup=0.2+cutmix=1"
    assert mixed.evaluate("val").accuracy >= 0.9  # soft labels train as well as hard ones
    runs.open_run(mixed.path)  # the recorded policy passes the config schema


def test_a_policy_for_other_data_is_refused_before_training(digits, tmp_path):
    with pytest.raises(InvalidArgumentError, match="'time-warp' is for series data"):
        runs.fit(zoo.create("lecture_cnn", data=digits, seed=0), digits, runs_dir=tmp_path, augment="time-warp")
    assert not list(tmp_path.iterdir())  # refused before a run folder was made
