"""Tasks: the loss and metrics that go with a kind of target."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from deepscope.errors import UnknownNameError

__all__ = ["Classification", "Regression", "Task", "make_task"]


class Task:
    """Loss plus metrics. ``batch_sums`` returns per-batch *sums* (tensors, no sync) so an
    epoch's metrics are exact means however the last batch is sized."""

    name = "task"
    higher_is_better: dict[str, bool] = {}

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class Classification(Task):
    """Cross-entropy on logits (N, K) against labels (N,); reports accuracy."""

    name = "classification"
    higher_is_better = {"loss": False, "accuracy": True}

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target)

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"accuracy": (output.argmax(dim=1) == target).sum()}


class Regression(Task):
    """Mean squared error; reports MAE."""

    name = "regression"
    higher_is_better = {"loss": False, "mae": False}

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output, target)

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        per_sample = (output - target).abs().flatten(1).mean(dim=1)
        return {"mae": per_sample.sum()}


_TASKS = {"classification": Classification, "regression": Regression}


def make_task(name: str) -> Task:
    if name not in _TASKS:
        raise UnknownNameError("task", name, _TASKS)
    return _TASKS[name]()
