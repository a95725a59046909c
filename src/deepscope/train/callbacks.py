"""Callbacks: a handful of optional events, and the progress display built on them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

__all__ = ["Callback", "ProgressBar", "TrainState", "epoch_line"]


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
    notes: list[str] = field(default_factory=list)  # choices the trainer made that a user should see


class Callback:
    """Override any of these; all are optional."""

    def on_fit_start(self, state: TrainState) -> None: ...

    def on_batch_end(self, state: TrainState, step: int, loss: torch.Tensor) -> None:
        """After each optimisation step. ``loss`` is the step's loss as a 0-d tensor on the
        training device: reading it (``float(loss)``) makes the host wait for the device, so
        read it only as often as needed."""

    def on_validation_end(self, state: TrainState, logs: dict[str, float]) -> None:
        """After the epoch's validation, before the monitor is read and the checkpoint saved:
        scores added to ``logs`` here (a GAN's judge) reach the history, the checkpoint (so a
        resumed run keeps them) and may be the monitored metric. ``state.epoch`` is the epoch
        just trained."""

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        """After the epoch's checkpoint: a crash here keeps the epoch."""

    def on_fit_end(self, state: TrainState) -> None: ...


class ProgressBar(Callback):
    """Progress of ``fit``, legible at 80 columns and in log files.

    On a terminal: one bar for the running epoch (``epoch 3/10 ━━━━ 12/23 0:00:01 loss 0.3142``),
    replaced when the epoch ends by its finished line (the same line ``epoch_line`` writes:
    train and validation metrics and the epoch's time). Anywhere else (stderr redirected to a
    file, piped through ``cat``, a CI log): no bar, just the finished line of every epoch, so a
    log shows progress epoch by epoch. Redraws, and reads the loss from the device, at most 10
    times a second, so it costs nothing measurable per step.
    """

    def __init__(self, console: Any = None):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._progress: Any = None
        self._shown = 0.0  # when the bar last read the loss (time.monotonic)

    @property
    def live(self) -> bool:
        """Whether a bar is drawn (a terminal or a notebook) rather than one line per epoch."""
        return (self.console.is_terminal or self.console.is_jupyter) and not self.console.is_dumb_terminal

    def on_fit_start(self, state: TrainState) -> None:
        for note in state.notes:
            self.console.print(note, markup=False, highlight=False, soft_wrap=True)
        if not self.live:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(  # about 60 columns: "epoch  3/10 ━━━━━━━━━━━━━━━━━━━━ 12/23 0:00:01 loss 0.3142"
            TextColumn("epoch {task.fields[epoch]:>{task.fields[digits]}}/{task.fields[epochs]}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[loss]}"),
            console=self.console,
            refresh_per_second=10,
            transient=True,  # the bar goes when training ends; the finished lines stay
        )
        self._progress.start()
        self._new_task(state)

    def _new_task(self, state: TrainState) -> None:
        self._task = self._progress.add_task(
            "",
            total=state.steps_per_epoch,
            epoch=state.epoch + 1,
            epochs=state.epochs,
            digits=len(str(state.epochs)),
            loss="",
        )

    def on_batch_end(self, state: TrainState, step: int, loss: torch.Tensor | float) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        if now - self._shown < 0.1 and step < state.steps_per_epoch:
            return
        self._shown = now
        self._progress.update(self._task, completed=step, loss=f"loss {float(loss):.4f}")

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        line = epoch_line(logs, state.epochs)
        if self._progress is None:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)
            return
        self._progress.remove_task(self._task)
        self._progress.console.print(line, markup=False, highlight=False)
        if state.epoch < state.epochs and not state.stop:
            self._new_task(state)

    def on_fit_end(self, state: TrainState) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


_SHORT = {"accuracy": "acc", "token_accuracy": "tok_acc"}  # keeps an epoch's line under 80 columns
_NOT_SHOWN = ("epoch", "lr", "time", "samples_per_s")


def epoch_line(logs: dict[str, float], epochs: int) -> str:
    """One finished epoch as plain text, e.g.
    ``epoch  3/10  loss 0.3142  acc 0.9120  val_loss 0.2800  val_acc 0.9300  1.2s`` (74 columns
    for a classifier with validation data)."""
    digits = len(str(epochs))
    parts = [f"epoch {int(logs['epoch']):>{digits}}/{epochs}"]
    for key, value in logs.items():
        if key in _NOT_SHOWN or not isinstance(value, (int, float)):
            continue
        prefix = "val_" if key.startswith("val_") else ""
        name = prefix + _SHORT.get(key.removeprefix("val_"), key.removeprefix("val_"))
        parts.append(f"{name} {value:.4f}")
    if "time" in logs:
        parts.append(f"{logs['time']:.1f}s")
    return "  ".join(parts)
