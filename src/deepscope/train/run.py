"""The Run: a trained model, its data and its folder on disk."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from deepscope.data import Dataset
from deepscope.errors import InvalidArgumentError, RunError
from deepscope.train.evaluate import AnyEvaluation, evaluate_data
from deepscope.train.files import read_json, write_json

__all__ = ["FORMAT_VERSION", "Run", "next_run_dir"]

FORMAT_VERSION = 1  # bump when run folders change incompatibly


@dataclass
class Run:
    """A run folder and what lives in it. ``model`` holds the best weights (by the monitored
    validation metric)."""

    path: Path
    model: torch.nn.Module
    data: Dataset | None
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)

    def evaluate(self, split: str = "test", batch_size: int = 256) -> AnyEvaluation:
        """Evaluate on ``split`` with the scores of the data's task (an Evaluation,
        RegressionEvaluation or Seq2SeqEvaluation) and record them in ``metrics.json``."""
        if self.data is None:
            raise InvalidArgumentError("This run has no data attached; open it with its data to evaluate.")
        result = evaluate_data(self.model, self.data, split, batch_size=batch_size)
        metrics_path = self.path / "metrics.json"
        metrics = read_json(metrics_path) if metrics_path.exists() else {}
        metrics[split] = result.to_dict()
        write_json(metrics_path, metrics)
        return result

    @property
    def name(self) -> str:
        return self.path.name


def next_run_dir(root: Path, model_name: str, data_name: str) -> Path:
    """Create and return ``root/<model>-<data>-<n>`` with the next free 3-digit ``n``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{model_name}-{data_name}")
    root = Path(root)
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
    """Read and check ``config.json`` of a run folder; raise RunError if absent, damaged or newer."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"Run folder {path} does not exist.")
    config = read_json(path / "config.json")
    version = config.get("format") if isinstance(config, dict) else None
    if not isinstance(version, int):
        raise RunError(f"Run folder {path} is damaged: config.json has no 'format' version.")
    if version > FORMAT_VERSION:
        raise RunError(
            f"Run folder {path} was written by a newer deepscope (format {version}; this version reads "
            f"format {FORMAT_VERSION}). Upgrade deepscope to open it."
        )
    return config
