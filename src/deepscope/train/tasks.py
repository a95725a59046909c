"""Tasks: the loss and metrics that go with a kind of target."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import InvalidArgumentError, UnknownNameError

if TYPE_CHECKING:
    from deepscope.data import Dataset

__all__ = [
    "TASKS",
    "Classification",
    "Contrastive",
    "Regression",
    "Seq2Seq",
    "Task",
    "Update",
    "added_loss",
    "forecast_scores",
    "make_task",
    "resolve_task",
    "train_step",
]

# ``update(loss, params)``: one optimizer step on ``loss``'s gradient with respect to
# ``params`` (None: every trainable parameter); other parameters keep their values.
Update = Callable[[torch.Tensor, Iterable[nn.Parameter] | None], None]


class Task:
    """Loss plus metrics. ``batch_sums`` returns per-batch *sums* (tensors, no sync) so an
    epoch's metrics are exact means however the last batch is sized.

    Most tasks are declared by their data (``Dataset.task``). A model may declare its own
    (``model.task = 'reconstruction'``: an autoencoder learns from any images, a GAN from
    labelled ones); :func:`resolve_task` then builds that task, and :meth:`prepare` checks the
    data and reads what it needs from the model. A task whose step is more than "forward, loss,
    one optimizer step" (a GAN's two networks, a VAE's extra loss) sets ``custom_step`` and
    overrides :meth:`train_step`/:meth:`eval_step`; the trainer's fast path serves the rest.
    A task with its own scores beyond loss and metrics defines ``evaluate(model, data, split,
    batch_size)`` returning a :class:`~deepscope.train.evaluate.TaskEvaluation`."""

    name = "task"
    higher_is_better: dict[str, bool] = {}
    custom_step = False
    model_task = False  # declared by models (``model.task``) rather than by data
    distributed = True  # trains under DDP (several processes); False: one process only

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def prepare(self, model: nn.Module, data: Dataset) -> None:
        """Check that ``data`` suits this task and ``model`` (raise a deepscope error if not)."""

    def train_step(
        self, net: nn.Module, x: torch.Tensor, target: torch.Tensor, update: Update
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One training step on a batch: returns (what ``batch_sums`` reads, the batch's mean
        loss for the history). ``update`` applies gradients (see :data:`Update`)."""
        output = net(x)
        loss = self.loss(output, target)
        update(loss, None)
        return output, loss

    def eval_step(self, net: nn.Module, x: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(what ``batch_sums`` reads, the batch's mean loss) without training."""
        output = net(x)
        return output, self.loss(output, target)


def added_loss(net: nn.Module) -> torch.Tensor | float:
    """The sum of the ``added_loss`` tensors the modules of ``net`` set in their last forward
    pass (Keras' ``add_loss``): a VAE's KL divergence, for instance; 0.0 when there are none."""
    total: torch.Tensor | float = 0.0
    for module in net.modules():
        extra = getattr(module, "added_loss", None)
        if isinstance(extra, torch.Tensor):
            total = total + extra
    return total


def train_step(
    task: Task, net: nn.Module, x: torch.Tensor, target: torch.Tensor, optimizer: torch.optim.Optimizer
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of ``task`` on a batch with ``optimizer``, outside the trainer (tests, lessons)."""

    def update(loss: torch.Tensor, params: Iterable[nn.Parameter] | None) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=list(params) if params is not None else None)
        optimizer.step()

    net.train()
    return task.train_step(net, x, target, update)


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


class Seq2Seq(Task):
    """Token-by-token cross-entropy for sequence outputs: logits (N, T, V) against token
    indices (N, T). ``accuracy`` counts whole answers (every token right), as a person would
    mark an answer; ``token_accuracy`` counts single tokens."""

    name = "seq2seq"
    higher_is_better = {"loss": False, "accuracy": True, "token_accuracy": True}

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output.flatten(0, 1), target.flatten())  # (N*T, V) vs (N*T,)

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        right = output.argmax(dim=-1) == target  # (N, T)
        return {"accuracy": right.all(dim=1).sum(), "token_accuracy": right.float().mean(dim=1).sum()}


class Contrastive(Task):
    """SimCLR's NT-Xent loss (Chen et al. 2020) on embeddings (2M, D) of M pairs of views laid
    out as rows (0, 1), (2, 3), ...: each row must pick its partner among the other 2M - 1 rows
    by cosine similarity / ``temperature`` (a (2M - 1)-way cross-entropy); the target is
    unused. ``accuracy`` is the share of rows whose most similar other row is their partner
    (Keras' "contrastive accuracy"). A trailing unpaired row is ignored."""

    name = "contrastive"
    higher_is_better = {"loss": False, "accuracy": True}
    temperature = 0.5  # SimCLR's value for CIFAR-10-sized batches (their Table B.7: 0.5 at batch 256-512)

    def _logits(self, output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = F.normalize(output[: len(output) // 2 * 2].flatten(1).float(), dim=1)  # (2M, D)
        logits = z @ z.T / self.temperature
        logits = logits.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf"))
        partner = torch.arange(len(z), device=z.device) ^ 1  # 0<->1, 2<->3, ...
        return logits, partner

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits, partner = self._logits(output)
        return F.cross_entropy(logits, partner)

    def batch_sums(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        logits, partner = self._logits(output)
        return {"accuracy": (logits.argmax(dim=1) == partner).sum()}


def forecast_scores(y_true: torch.Tensor, y_pred: torch.Tensor, *, scale: float | None = None) -> dict[str, float]:
    """MSE, MAE and RMSE of predictions against the truth (same shape, e.g. (N, horizon)), and
    with ``scale`` MASE. ``scale`` is the in-sample MAE of the seasonal-naive forecast (Hyndman &
    Koehler 2006), so MASE < 1 means better than the seasonal-naive forecast was in-sample."""
    error = (y_pred.double() - y_true.double()).flatten()
    mae, mse = float(error.abs().mean()), float(error.pow(2).mean())
    scores = {"mse": mse, "mae": mae, "rmse": mse**0.5}
    if scale is not None:
        scores["mase"] = mae / scale
    return scores


# Tasks of generative and other models live in their own modules, imported when asked for.
TASKS: dict[str, type[Task] | str] = {
    "classification": Classification,
    "regression": Regression,
    "seq2seq": Seq2Seq,
    "contrastive": Contrastive,
    "reconstruction": "deepscope.train.reconstruction:Reconstruction",
    "density": "deepscope.train.reconstruction:Density",
    "generation": "deepscope.train.generation:Generation",
    "pairs": "deepscope.train.pairs:Pairs",
    "ctc": "deepscope.train.ctc:CTC",
    "margin": "deepscope.train.capsules:Margin",
}


def make_task(name: str) -> Task:
    if name not in TASKS:
        raise UnknownNameError("task", name, TASKS)
    entry = TASKS[name]
    if isinstance(entry, str):
        module, _, cls = entry.partition(":")
        entry = getattr(importlib.import_module(module), cls)
    return entry()


def resolve_task(model: nn.Module, data: Dataset) -> Task:
    """The task ``model`` trains on ``data``: the model's own (``model.task``) when it declares
    one, else the data's; prepared (checked against both)."""
    name: Any = getattr(model, "task", None)
    if name is None:
        name = data.task
    elif not isinstance(name, str):
        raise InvalidArgumentError(f"`model.task` must be a task name (str). Received: model.task={name!r}")
    task = make_task(name)
    task.prepare(model, data)
    return task
