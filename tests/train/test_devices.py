"""Devices and speed options: selection and refusals, the bf16 autocast path on the CPU, the
run folder's record, and a training step that never waits for the device."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from deepscope import zoo
from deepscope.errors import InvalidArgumentError
from deepscope.train import Callback, fit
from deepscope.train import loop as loop_module
from deepscope.train.devices import device_of, model_family, resolve_device, resolve_speed


def test_device_names_resolve_or_are_refused_with_what_exists():
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu") or resolve_device("auto").type == "mps"
        with pytest.raises(InvalidArgumentError, match="no CUDA GPU.*Use 'cpu' or 'auto'"):
            resolve_device("cuda:1")
    with pytest.raises(InvalidArgumentError, match="`device` must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"):
        resolve_device("gpu0")


def test_auto_speed_on_a_cpu_is_plain_fp32_and_says_why():
    cnn = zoo.create("lecture_cnn", in_shape=(1, 8, 8), num_classes=10)
    speed = resolve_speed(cnn, "cpu")
    assert (speed.precision, speed.compile, speed.channels_last) == ("fp32", False, False)
    assert "fp32 on CPU" in speed.reasons["precision"] and set(speed.reasons) == {
        "precision",
        "compile",
        "channels_last",
    }
    assert model_family(cnn) == "conv2d" and model_family(nn.LSTM(3, 4)) == "recurrent"
    assert model_family(nn.Sequential(nn.Conv1d(1, 2, 3))) == "conv1d" and model_family(nn.Linear(2, 2)) == "dense"
    assert resolve_speed(cnn, "cpu", precision="bf16", channels_last=True).channels_last


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        (nn.Linear(4, 2), {"precision": "fp8"}, "`precision` must be one of"),
        (nn.Linear(4, 2), {"precision": "fp16"}, "`precision` must be 'fp32' or 'bf16' on a CPU"),
        (nn.LSTM(4, 2), {"precision": "bf16"}, "'fp32' for recurrent models on a CPU"),
        (nn.Linear(4, 2), {"channels_last": True}, "`channels_last` must be False for a model without 2-D"),
        (nn.Linear(4, 2), {"compile": "yes"}, "`compile` must be True, False or 'auto'"),
    ],
)
def test_speed_options_that_cannot_work_are_refused(model, options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        resolve_speed(model, "cpu", **options)


def test_bf16_autocast_trains_on_the_cpu_and_is_recorded(digits, tmp_path):
    model = zoo.create("lecture_cnn", data=digits, seed=0)
    run = fit(model, digits, epochs=1, precision="bf16", out=tmp_path / "bf16", progress=False)
    assert run.history[-1]["val_accuracy"] >= 0.6  # bf16 matmuls lose precision, not the ability to learn
    speed = json.loads((tmp_path / "bf16" / "config.json").read_text())["speed"]
    assert speed["precision"] == "bf16" and speed["device"] == "cpu" and speed["reasons"]["precision"] == "given"
    x = digits.test.tensors[0][:64]
    with torch.no_grad():
        full = run.model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = run.model(x).float()
    assert (half - full).abs().max() < 0.1 * full.abs().max()  # bf16 keeps ~3 significant digits
    assert device_of(run.model) == torch.device("cpu")


class _Reads(Callback):
    """Counts, per step, the times a tensor was read on the host while the step ran."""

    def __init__(self, counter: list[int]):
        self.counter, self.last, self.steps_with_reads = counter, 0, []

    def on_batch_end(self, state, step, loss):
        if self.counter[0] != self.last:
            self.steps_with_reads.append(step)
        self.last = self.counter[0]


def test_the_training_step_never_waits_for_the_device(digits, tmp_path, monkeypatch):
    counter = [0]
    for name in ("item", "__float__", "__int__", "__bool__", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            counter[0] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    reads = _Reads(counter)
    model = zoo.create("lecture_cnn", data=digits, seed=0)
    # plain SGD and a constant rate: nothing else in the step reads a tensor (Adam reads its step count)
    fit(model, digits, epochs=1, batch_size=16, optimizer="sgd", schedule="constant", out=tmp_path / "r",
        callbacks=[reads], progress=False)  # fmt: skip
    steps = -(-len(digits.train) // 16)
    assert steps > 2 * loop_module.CHECK_EVERY
    checks = list(range(loop_module.CHECK_EVERY, steps + 1, loop_module.CHECK_EVERY))
    assert reads.steps_with_reads == checks  # one read of the loss per CHECK_EVERY steps, none in between


def test_a_nan_loss_is_reported_at_its_exact_step_between_checks(digits, tmp_path):
    class _PoisonAtStep5(Callback):
        def on_batch_end(self, state, step, loss):
            if state.epoch == 0 and step == 4:
                with torch.no_grad():
                    next(state.model.parameters()).fill_(float("nan"))

    model = zoo.create("lecture_cnn", data=digits, seed=0)
    with pytest.raises(Exception, match=r"loss became nan at epoch 1, step 5;"):
        fit(model, digits, epochs=1, batch_size=16, out=tmp_path / "r", callbacks=[_PoisonAtStep5()], progress=False)


def test_cli_takes_the_speed_options_and_names_a_missing_gpu(tmp_path, capsys):
    from deepscope.cli import main

    out = tmp_path / "run"
    argv = ["train", "lecture_cnn", "--data", "digits", "--epochs", "1", "--no-report", "--out", str(out)]
    assert main([*argv, "--precision", "fp32", "--channels-last", "on", "--compile", "off"]) == 0
    assert "device cpu, fp32, channels_last" in capsys.readouterr().err  # the choice is printed
    speed = json.loads((out / "config.json").read_text())["speed"]
    assert (speed["precision"], speed["channels_last"], speed["compile"]) == ("fp32", True, False)
    assert main(["evaluate", str(out), "--device", "cpu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.3
    if not torch.cuda.is_available():
        assert main(["evaluate", str(out), "--device", "cuda"]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err


def test_inspect_explain_and_lr_find_take_a_device_and_name_a_missing_gpu(tmp_path, capsys):
    from deepscope.cli import main

    out = tmp_path / "run"
    assert main(["train", "lecture_cnn", "--data", "digits", "--epochs", "1", "--no-report", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["explain", str(out), "--test", "1", "--method", "saliency", "--device", "cpu"]) == 0
    assert (out / "explain").is_dir()
    curve = tmp_path / "lr.png"
    assert main(["lr-find", "lecture_cnn", "--steps", "10", "--device", "cpu", "--out", str(curve)]) == 0
    assert curve.read_bytes()[:4] == b"\x89PNG"
    if not torch.cuda.is_available():
        for argv in (["inspect", str(out), "--device", "cuda"], ["lr-find", "lecture_cnn", "--device", "cuda"]):
            capsys.readouterr()
            assert main(argv) == 2
            assert "no CUDA GPU" in capsys.readouterr().err


def test_gpu_rng_states_are_saved_and_restored_per_gpu(monkeypatch):
    """The plumbing of the GPUs' RNG states, with torch.cuda's functions stood in for (no GPU here)."""
    from deepscope.train import checkpoint

    states = [torch.arange(16, dtype=torch.uint8), torch.arange(16, 32, dtype=torch.uint8)]
    restored = {}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: states)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # resumed on a machine with fewer GPUs
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device: restored.__setitem__(device, state))
    saved = checkpoint.rng_states()
    assert saved["cuda"].shape == (2, 16) and torch.equal(saved["torch"], torch.get_rng_state())
    checkpoint._set_cuda_rng(saved["cuda"])
    assert list(restored) == [0] and torch.equal(restored[0], states[0])
    with pytest.raises(RuntimeError, match=r"GPU RNG states must be uint8 \(GPUs, S\)"):
        checkpoint._set_cuda_rng(saved["cuda"].float())


def test_splits_stay_in_host_memory_on_a_cpu(digits):
    from deepscope.train.devices import resolve_speed
    from deepscope.train.distributed import current_group
    from deepscope.train.loop import _Step
    from deepscope.train.tasks import make_task

    model = zoo.create("lecture_cnn", data=digits, seed=0)
    step = _Step(model, make_task("classification"), None, None, resolve_speed(model, "cpu"), current_group("cpu"))
    assert step.resident(digits.train) is digits.train and not step.pin
