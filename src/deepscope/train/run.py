"""The Run: a trained model, its data and its folder on disk."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from deepscope.data import Dataset
from deepscope.data.stream import is_streamed
from deepscope.errors import InvalidArgumentError, RunError, UnknownNameError, invalid
from deepscope.train.evaluate import AnyEvaluation, evaluate_data
from deepscope.train.files import read_json, write_json
from deepscope.train.schema import check_config, check_metrics

__all__ = ["FORMAT_VERSION", "Run", "best_epoch", "check_run_folder", "fingerprint", "next_run_dir", "read_metrics"]

FORMAT_VERSION = 1  # bump when run folders change incompatibly


@dataclass
class Run:
    """A run folder and what lives in it. ``model`` holds the best weights (by the monitored
    validation metric). ``monitor``, ``best_epoch``, ``best_value``, ``seconds_per_epoch`` and
    ``stopped_early`` are derived here, once, from the history and the recipe."""

    path: Path
    model: torch.nn.Module
    data: Dataset | None
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False

    def evaluate(self, split: str = "test", batch_size: int = 256) -> AnyEvaluation:
        """Evaluate on ``split`` with the scores of the data's task (an Evaluation,
        RegressionEvaluation or Seq2SeqEvaluation) and record them in ``metrics.json``."""
        if self.data is None:
            raise InvalidArgumentError("This run has no data attached; open it with its data to evaluate.")
        if not len(self.data.split(split)):
            raise invalid("split", f"a split with samples (the {split} split of {self.path} is empty)", split)
        result = evaluate_data(self.model, self.data, split, batch_size=batch_size)
        metrics_path = self.path / "metrics.json"
        metrics = read_metrics(self.path)
        metrics[split] = result.to_dict()
        write_json(metrics_path, metrics)
        return result

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def monitor(self) -> str:
        """The history column that chose the kept weights: the recipe's monitor, or its
        training-set twin when the run had no validation data."""
        monitor = self.config.get("recipe", {}).get("monitor", "val_accuracy")
        if self.history and monitor not in self.history[0]:
            monitor = monitor.removeprefix("val_")
        return monitor

    @property
    def best_epoch(self) -> int:
        """The epoch whose weights are kept (1-based; 0 when no epoch was completed): the best
        by ``monitor``, or the last with the recipe's ``keep='last'``."""
        if self.config.get("recipe", {}).get("keep") == "last":
            return len(self.history)
        return best_epoch(
            self.history,
            self.monitor,
            self.config.get("task") or self.config.get("data", {}).get("task", "classification"),
        )

    @property
    def best_value(self) -> float | None:
        epoch = self.best_epoch
        return float(self.history[epoch - 1][self.monitor]) if epoch else None

    @property
    def seconds_per_epoch(self) -> float | None:
        times = [float(row["time"]) for row in self.history if "time" in row]
        return sum(times) / len(times) if times else None


def best_epoch(history: list[dict[str, Any]], monitor: str, task: str) -> int:
    """The 1-based epoch whose ``monitor`` value is best (the first of ties, as ``fit`` keeps
    it); 0 for an empty history or a monitor the history lacks."""
    from deepscope.train.tasks import make_task

    if not history or monitor not in history[0]:
        return 0
    metric = monitor.removeprefix("val_")
    try:
        higher = make_task(task).higher_is_better.get(metric, not metric.endswith("loss"))
    except UnknownNameError:  # a task this version does not know
        higher = not metric.endswith("loss")
    values = [float(row[monitor]) for row in history]
    finite = [(v, i) for i, v in enumerate(values) if v == v]
    if not finite:
        return 0
    best = max(v for v, _ in finite) if higher else min(v for v, _ in finite)
    return next(i for v, i in finite if v == best) + 1


def read_metrics(path: Path) -> dict[str, Any]:
    """A run folder's ``metrics.json`` (split -> scores), checked; {} when absent."""
    metrics_path = Path(path) / "metrics.json"
    return check_metrics(read_json(metrics_path), metrics_path) if metrics_path.exists() else {}


def fingerprint(data: Dataset) -> str:
    """A hash of the loaded tensors of every split (shapes, dtypes and bytes): a run folder
    stores it, and reopening warns or refuses when the data behind its spec has changed.
    (A dataset whose test split is sealed for a search carries the fingerprint taken before.)"""
    taken = getattr(data, "fingerprint", None)
    if isinstance(taken, str):
        return taken
    digest = hashlib.blake2b(digest_size=16)
    for split in ("train", "val", "test"):
        if is_streamed(data.split(split)):  # the files' listing and the labels, nothing decoded
            digest.update(f"{split}{data.split(split).digest()}".encode())
            continue
        for tensor in data.split(split).tensors:
            tensor = tensor.detach().cpu().contiguous()
            digest.update(f"{split}{tuple(tensor.shape)}{tensor.dtype}".encode())
            digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def next_run_dir(root: Path, model_name: str, data_name: str) -> Path:
    """Create and return ``root/<model>-<data>-<n>`` with the next free 3-digit ``n``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{model_name}-{data_name}")
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise invalid("runs_dir", "a folder (or a path that does not exist yet)", str(root))
    root.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(re.escape(safe) + r"-(\d+)$")
    taken = [int(m.group(1)) for p in root.iterdir() if (m := pattern.match(p.name))]
    n = max(taken, default=0) + 1
    while True:
        path = root / f"{safe}-{n:03d}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took it: try the next number
            n += 1


def check_run_folder(path: Path) -> dict[str, Any]:
    """Read and validate ``config.json`` of a run folder (see ``train.schema``); raise RunError
    if absent, damaged or newer."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunError(f"Run folder {path} must be a folder. Received: a file.")
    if not path.is_dir():
        raise RunError(f"Run folder {path} does not exist.")
    config = check_config(read_json(path / "config.json"), path / "config.json")
    if config["format"] > FORMAT_VERSION:
        raise RunError(
            f"Run folder {path} was written by a newer deepscope (format {config['format']}; this version reads "
            f"format {FORMAT_VERSION}). Upgrade deepscope to open it."
        )
    return config
