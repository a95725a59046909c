"""The margin task of capsule networks: the loss on hand-worked cases, the data it accepts,
and evaluation through the classification fallback."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from deepscope import zoo
from deepscope.data import Dataset
from deepscope.errors import DataError
from deepscope.train import evaluate_data, make_task
from deepscope.train.capsules import Margin, margin_loss


def test_margin_loss_on_a_hand_worked_case():
    lengths = torch.tensor([[0.95, 0.30, 0.05], [0.50, 0.20, 0.00]])
    target = torch.tensor([0, 0])
    # sample 0: present 0.95 >= 0.9 costs 0; absent 0.30 costs 0.5 * 0.2^2 = 0.02, 0.05 < 0.1 costs 0
    # sample 1: present (0.9 - 0.5)^2 = 0.16; absent 0.5 * (0.2 - 0.1)^2 = 0.005
    torch.testing.assert_close(margin_loss(lengths, target), torch.tensor([0.02, 0.165]))
    torch.testing.assert_close(Margin().loss(lengths, target), torch.tensor(0.0925))


def test_margin_loss_takes_soft_labels_as_mixup_makes_them():
    lengths = torch.tensor([[0.5, 0.2, 0.6]])
    soft = torch.tensor([[0.5, 0.5, 0.0]])
    # k=0: 0.5 * 0.4^2 + 0.5 * 0.5 * 0.4^2 = 0.12; k=1: 0.5 * 0.7^2 + 0.5 * 0.5 * 0.1^2 = 0.2475; k=2: 0.5 * 0.5^2 = 0.125
    torch.testing.assert_close(margin_loss(lengths, soft), torch.tensor([0.12 + 0.2475 + 0.125]))
    one_hot = torch.tensor([[0.0, 1.0, 0.0]])
    torch.testing.assert_close(margin_loss(lengths, one_hot), margin_loss(lengths, torch.tensor([1])))


def test_margin_task_is_registered_and_counts_argmax_accuracy():
    task = make_task("margin")
    assert isinstance(task, Margin) and task.model_task and not task.custom_step
    assert task.higher_is_better == {"loss": False, "accuracy": True}
    sums = task.batch_sums(torch.tensor([[0.9, 0.1], [0.8, 0.3], [0.2, 0.7]]), torch.tensor([0, 1, 1]))
    assert int(sums["accuracy"]) == 2


def _data(task: str = "classification", classes: list[str] | None = None) -> Dataset:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 16, 16, generator=generator)
    y = torch.tensor([0, 1, 2, 0, 1, 2]) if task == "classification" else torch.rand(6, 1, generator=generator)
    split = TensorDataset(x, y)
    return Dataset("tiny", "image", (3, 16, 16), split, split, split, classes=classes, task=task)


def test_margin_task_refuses_data_without_classes():
    with pytest.raises(
        DataError, match="The margin task .* needs labelled classification data. Received: 'tiny', regression data"
    ):
        Margin().prepare(torch.nn.Identity(), _data("regression"))
    Margin().prepare(torch.nn.Identity(), _data(classes=["a", "b", "c"]))  # accepted


def test_a_capsule_run_evaluates_as_a_classifier_by_the_longest_capsule():
    data = _data(classes=["a", "b", "c"])
    model = zoo.create("cifar10_cnn_capsule", data=data, seed=0).eval()
    evaluation = evaluate_data(model, data, "test")
    with torch.no_grad():
        lengths = model(data.test.tensors[0])
    expected = (lengths.argmax(1) == data.test.tensors[1]).float().mean()
    assert evaluation.accuracy == pytest.approx(float(expected))
    assert evaluation.y_pred.tolist() == lengths.argmax(1).tolist()
