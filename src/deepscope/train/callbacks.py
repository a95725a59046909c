"""Callbacks: a handful of optional events, and the progress bar built on them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = ["Callback", "ProgressBar", "TrainState"]


@dataclass
class TrainState:
    """What callbacks may read: the model, where the run lives and how far training got."""

    model: torch.nn.Module
    out: Path
    epochs: int
    steps_per_epoch: int
    epoch: int = 0  # epochs completed
    history: list[dict[str, float]] = field(default_factory=list)
    stop: bool = False  # a callback may set this to end training after the current epoch


class Callback:
    """Override any of these; all are optional."""

    def on_fit_start(self, state: TrainState) -> None: ...

    def on_batch_end(self, state: TrainState, step: int, loss: float) -> None: ...

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None: ...

    def on_fit_end(self, state: TrainState) -> None: ...


class ProgressBar(Callback):
    """A rich progress bar per epoch: loss while training, then accuracy, validation metrics
    and time. Redraws at most 10 times a second, so it costs nothing measurable per step."""

    def __init__(self, console: Any = None):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._progress: Any = None

    def on_fit_start(self, state: TrainState) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("epoch {task.fields[epoch]:>3}/{task.fields[epochs]}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[logs]}"),
            console=self.console,
            refresh_per_second=10,
            transient=False,
        )
        self._progress.start()
        self._new_task(state)

    def _new_task(self, state: TrainState) -> None:
        self._task = self._progress.add_task(
            "", total=state.steps_per_epoch, epoch=state.epoch + 1, epochs=state.epochs, logs=""
        )
        self._started = time.perf_counter()

    def on_batch_end(self, state: TrainState, step: int, loss: float) -> None:
        self._progress.update(self._task, completed=step, logs=f"loss {loss:.4f}")

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        shown = "  ".join(
            f"{k} {v:.4f}"
            for k, v in logs.items()
            if k not in ("epoch", "lr", "time", "samples_per_s") and isinstance(v, float)
        )
        self._progress.update(self._task, completed=state.steps_per_epoch, logs=f"{shown}  {logs['time']:.1f}s")
        if state.epoch < state.epochs and not state.stop:
            self._new_task(state)

    def on_fit_end(self, state: TrainState) -> None:
        if self._progress is not None:
            self._progress.stop()
