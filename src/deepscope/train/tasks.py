"""Tasks: the loss and metrics that go with a kind of target."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from deepscope.errors import UnknownNameError

__all__ = ["Classification", "Contrastive", "Regression", "Seq2Seq", "Task", "forecast_scores", "make_task"]


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


_TASKS = {
    "classification": Classification,
    "regression": Regression,
    "seq2seq": Seq2Seq,
    "contrastive": Contrastive,
}


def make_task(name: str) -> Task:
    if name not in _TASKS:
        raise UnknownNameError("task", name, _TASKS)
    return _TASKS[name]()
