"""The progress display: a bar legible at 80 columns on a terminal, one plain line per epoch
anywhere else (a log file, a pipe)."""

from __future__ import annotations

import io
import re

import torch
from rich.console import Console

from deepscope.train import ProgressBar, TrainState
from deepscope.train.callbacks import epoch_line

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOGS = {
    "epoch": 1,
    "loss": 0.31416,
    "accuracy": 0.912,
    "val_loss": 0.28,
    "val_accuracy": 0.9305,
    "lr": 0.001,
    "time": 1.234,
    "samples_per_s": 1234.5,
}


def _train(bar: ProgressBar, epochs: int = 3, steps: int = 4, mid_epoch=None) -> None:
    state = TrainState(model=torch.nn.Linear(1, 1), out=None, epochs=epochs, steps_per_epoch=steps)
    bar.on_fit_start(state)
    for epoch in range(1, epochs + 1):
        for step in range(1, steps + 1):
            bar.on_batch_end(state, step, 1.0 / (epoch * step))
        if mid_epoch is not None:
            mid_epoch(bar)
        state.epoch = epoch
        bar.on_epoch_end(state, {**LOGS, "epoch": epoch})
    bar.on_fit_end(state)


def test_epoch_line_fits_80_columns_and_shows_every_metric():
    line = epoch_line(LOGS, epochs=10)
    assert line == "epoch  1/10  loss 0.3142  acc 0.9120  val_loss 0.2800  val_acc 0.9305  1.2s"
    assert len(line) <= 80
    regression = epoch_line({"epoch": 12, "loss": 2.5, "mae": 1.25, "val_loss": 3.0, "val_mae": 1.5, "time": 0.04}, 12)
    assert regression == "epoch 12/12  loss 2.5000  mae 1.2500  val_loss 3.0000  val_mae 1.5000  0.0s"


def test_not_a_terminal_gets_one_plain_line_per_epoch():
    out = io.StringIO()  # what `deepscope train ... 2> log.txt` or `| cat` sees
    bar = ProgressBar(Console(file=out, width=80))
    assert not bar.live
    _train(bar, epochs=3)
    lines = out.getvalue().splitlines()
    assert lines == [epoch_line({**LOGS, "epoch": e}, 3) for e in (1, 2, 3)]
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()  # no cursor control in a log


def test_terminal_bar_is_legible_at_80_columns():
    out = io.StringIO()
    bar = ProgressBar(Console(file=out, width=80, force_terminal=True, color_system=None))
    assert bar.live

    def draw(bar: ProgressBar) -> None:  # what the 10-per-second refresh shows mid-epoch
        bar._progress.refresh()

    _train(bar, epochs=2, steps=4, mid_epoch=draw)
    screens = [ANSI.sub("", part) for part in re.split(r"[\r\n]", out.getvalue())]
    shown = [s.rstrip() for s in screens if s.strip()]
    assert all(len(s) <= 80 for s in shown) and not any("…" in s for s in shown)
    bars = " | ".join(s for s in shown if "━" in s)
    assert re.search(r"epoch 1/2 ━{20} 4/4 \d:\d\d:\d\d loss 0\.2500", bars)  # loss 1 / (epoch 1 * step 4)
    assert re.search(r"epoch 2/2 ━{20} 4/4 \d:\d\d:\d\d loss 0\.1250", bars)
    finished = [s for s in shown if "val_acc" in s]
    assert finished == [epoch_line({**LOGS, "epoch": e}, 2) for e in (1, 2)]  # metrics on the finished line
