"""Lesson: mini-batches. Softmax regression trained by plain SGD with full-batch, mini-batch and
single-example updates for the same number of examples: loss against examples seen and
against the clock, and the noise of each step's loss.

Every run is the project's trainer (``deepscope.train.fit``); a callback records each step's
loss, the seconds spent in update steps, and at a few hundred chosen moments the whole
training set's loss at the weights of that moment (that evaluation is off the clock).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from deepscope import zoo
from deepscope.data import Dataset, load
from deepscope.data.subset import subset
from deepscope.errors import invalid
from deepscope.lessons.base import LessonPage, Table, register_lesson
from deepscope.plots import save_figure
from deepscope.plots.lessons_training import BatchCurve, batch_loss_figure, batch_noise_figure, batch_time_figure
from deepscope.train import Callback, TrainState, fit

__all__ = ["EPOCHS", "MAX_TRAIN", "PER_CLASS", "StepRecorder", "learning_rate", "step_noise"]

EPOCHS = 5  # every batch size sees the training set this many times
BATCH_SIZES = (256, 32, 1)  # besides the full batch; each divides the next larger
MAX_TRAIN = 2_000  # larger data (MNIST) is cut to PER_CLASS images a class, so 1 example a step stays fast
PER_CLASS = 150
PROBES = 300  # moments per run at which the whole training set's loss is measured


def learning_rate(batch_size: int, mean_square_norm: float) -> float:
    """SGD's step for ``batch_size``: sqrt(batch) / (1 + mean ||x||^2). The square root: a
    batch's gradient noise falls as 1/sqrt(batch), so a bigger batch can take a bigger step;
    the mean squared input norm (+1 for the bias) bounds softmax regression's curvature, so
    one rule suits 64-pixel digits (lr 0.06 at batch 1) and 784-pixel MNIST (0.011)."""
    return math.sqrt(batch_size) / (1.0 + mean_square_norm)


class StepRecorder(Callback):
    """Records, for one ``fit``: every step's mini-batch loss; the seconds spent in update
    steps (the trainer's per-epoch validation and checkpoint, and this recorder's own
    evaluations, are off the clock); and at the global steps in ``probes`` the loss of
    ``(x, y)`` (the whole training set, (N, ...) and (N,)) at the weights that step starts
    from. Probe ``steps + 1`` is the final weights."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, probes: set[int]):
        self.x, self.y, self.probes = x, y, probes
        self.losses: list[float] = []
        self.seconds: list[float] = []
        self.probe_steps: list[int] = []
        self.probe_seconds: list[float] = []
        self.probe_loss: list[float] = []
        self._clock = 0.0
        self._since: float | None = None

    def _probe(self, model: torch.nn.Module, step: int) -> None:
        if step in self.probes:
            with torch.no_grad():
                loss = float(F.cross_entropy(model(self.x), self.y))
            self.probe_steps.append(step)
            self.probe_seconds.append(self._clock)
            self.probe_loss.append(loss)

    def on_fit_start(self, state: TrainState) -> None:
        self._probe(state.model, 1)
        self._since = time.perf_counter()

    def on_batch_end(self, state: TrainState, step: int, loss: torch.Tensor) -> None:
        now = time.perf_counter()
        self._clock += now - (self._since if self._since is not None else now)
        self.losses.append(float(loss))
        self.seconds.append(self._clock)
        global_step = state.epoch * state.steps_per_epoch + step  # state.epoch: epochs completed
        self._probe(state.model, global_step + 1)  # the weights the next step starts from
        self._since = None if step == state.steps_per_epoch else time.perf_counter()

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        self._since = time.perf_counter()


def step_noise(losses: np.ndarray, probe_steps: np.ndarray, probe_loss: np.ndarray, start: int) -> float:
    """The standard deviation of (step t's mini-batch loss - the training set's loss at the
    weights step t started from) over the probed steps t >= ``start``. ``losses``: (S,),
    step 1 first; ``probe_steps``/``probe_loss``: (P,), what :class:`StepRecorder` probed."""
    keep = [losses[t - 1] - value for t, value in zip(probe_steps, probe_loss) if start <= t <= len(losses)]
    return float(np.std(keep)) if len(keep) > 1 else float("nan")


def _data(spec: str, seed: int) -> tuple[Dataset, bool]:
    """The data, and whether it was cut to PER_CLASS images a class."""
    data = load(spec, seed=seed)
    if data.kind != "image" or data.task != "classification" or not data.classes:
        raise invalid("data", "an image classification data spec such as 'digits' or 'mnist:PATH'", spec)
    if len(data.train) + len(data.val) > MAX_TRAIN and "per_class" not in data.info:
        data, cut = subset(data, {"per_class": str(PER_CLASS)}, val_fraction=0.1, seed=seed), True
    else:
        cut = False
    return data, cut


def _trimmed(data: Dataset) -> Dataset:
    """``data`` with its training split cut to a multiple of the largest batch size in
    BATCH_SIZES below its size, so that every batch of every run is full: an epoch's short
    last batch would take a full-sized step on a few examples."""
    x, y = data.train.tensors[:2]
    multiple = max((b for b in BATCH_SIZES if b < len(y)), default=1)
    keep = len(y) // multiple * multiple
    if keep == len(y):
        return data
    return replace(data, train=TensorDataset(x[:keep], y[:keep]))


@dataclass
class _Result:
    batch_size: int
    lr: float
    recorder: StepRecorder
    examples: np.ndarray  # (S,) examples seen after each step
    fit_seconds: float
    val_loss: float
    val_accuracy: float


def _train(data: Dataset, batch_size: int, lr: float, seed: int, root: Path) -> _Result:
    """One softmax regression trained by SGD for EPOCHS epochs at ``batch_size``."""
    x, y = data.train.tensors[:2]
    n = len(y)
    steps_per_epoch = math.ceil(n / batch_size)
    steps = EPOCHS * steps_per_epoch
    probes = set(np.unique(np.linspace(1, steps + 1, num=min(steps + 1, PROBES)).round().astype(int)).tolist())
    recorder = StepRecorder(x, y, probes)
    model = zoo.create("softmax_regression", data=data, seed=seed)
    started = time.perf_counter()
    run = fit(
        model, data, out=root / f"batch-{batch_size}", progress=False, callbacks=[recorder], device="cpu",
        epochs=EPOCHS, batch_size=batch_size, optimizer="sgd", momentum=0.0, weight_decay=0.0, lr=lr,
        schedule="constant", keep="last", seed=seed, augment=None,
    )  # fmt: skip
    fit_seconds = time.perf_counter() - started
    within = np.minimum(np.arange(1, steps_per_epoch + 1) * batch_size, n)  # examples after each step of an epoch
    examples = (np.arange(EPOCHS)[:, None] * n + within[None, :]).reshape(-1)
    last = run.history[-1]
    nan = float("nan")  # no validation split (a tiny per_class spec)
    return _Result(
        batch_size, lr, recorder, examples, fit_seconds, last.get("val_loss", nan), last.get("val_accuracy", nan)
    )


def _summary(r: _Result, n: int) -> tuple[BatchCurve, dict[str, float]]:
    """One run's curves for the figures, and its numbers."""
    rec = r.recorder
    losses = np.asarray(rec.losses)
    probe_steps = np.asarray(rec.probe_steps)
    noise = step_noise(losses, probe_steps, np.asarray(rec.probe_loss), start=len(losses) // 2 + 1)
    seen = np.concatenate([[0], r.examples])  # the examples seen before step t: seen[t - 1]
    curve = BatchCurve(
        label=f"{r.batch_size} (full)" if r.batch_size == n else str(r.batch_size),
        step_examples=r.examples,
        step_loss=losses,
        probe_examples=seen[probe_steps - 1],
        probe_seconds=np.asarray(rec.probe_seconds),
        probe_loss=np.asarray(rec.probe_loss),
    )
    number = {
        "batch_size": r.batch_size,
        "lr": r.lr,
        "steps": len(losses),
        "examples": int(r.examples[-1]),
        "train_loss": rec.probe_loss[-1],  # the final weights, on the whole training set
        "val_loss": r.val_loss,
        "val_accuracy": r.val_accuracy,
        "update_seconds": rec.seconds[-1],
        "fit_seconds": r.fit_seconds,
        "noise": noise,
        "noise_sqrt_batch": noise * math.sqrt(r.batch_size),
    }
    return curve, number


@register_lesson(
    "minibatch",
    order=2,
    title="Mini-batches: noise against speed",
    summary="softmax regression by SGD with full-batch, mini-batch and one-example steps, same examples seen",
    takes_data=True,
    data_default="digits",
)
def lesson(out: Path, *, seed: int, data: str | None, echo: Callable[[str], None]) -> LessonPage:
    """Train softmax regression at batch sizes full, 256, 32 and 1 for the same examples."""
    loaded, cut = _data(data or "digits", seed)
    dataset = _trimmed(loaded)
    dropped = len(loaded.train) - len(dataset.train)
    x, y = dataset.train.tensors[:2]
    n = len(y)
    mean_square = float(x.flatten(1).pow(2).sum(1).mean())
    sizes = [n, *[b for b in BATCH_SIZES if b < n]]
    results: list[_Result] = []
    with tempfile.TemporaryDirectory(prefix="deepscope-minibatch-") as tmp:
        root = Path(tmp)
        # One untimed epoch first: the first fit in a process pays one-off costs (imports,
        # first kernels) that would otherwise be charged to the first batch size.
        fit(
            zoo.create("softmax_regression", data=dataset, seed=seed), dataset, out=root / "warm-up",
            progress=False, device="cpu", epochs=1, batch_size=n, optimizer="sgd", lr=0.01, schedule="constant",
        )  # fmt: skip
        for batch_size in sizes:
            lr = learning_rate(batch_size, mean_square)
            echo(f"batch size {batch_size}: {EPOCHS * math.ceil(n / batch_size):,} steps at lr {lr:.3g}")
            results.append(_train(dataset, batch_size, lr, seed, root))

    curves, per_size = [], {}
    for r in results:
        curve, number = _summary(r, n)
        curves.append(curve)
        per_size[curve.label] = number
        echo(f"  {curve.label}: train loss {number['train_loss']:.4f}, {number['update_seconds']:.2f} s, "
             f"noise {number['noise']:.4f}")  # fmt: skip
    keys = ("lr", "steps", "train_loss", "val_loss", "val_accuracy", "update_seconds", "noise")
    rows = [[label, *(number[k] for k in keys)] for label, number in per_size.items()]
    figures = [
        (save_figure(batch_loss_figure(curves), out / "loss_vs_examples.png"),
         f"Loss against training examples seen ({EPOCHS} epochs of {n:,} images for every batch size). Faint: "
         "each step's own mini-batch loss; bold: the whole training set's loss at the same weights."),
        (save_figure(batch_time_figure(curves), out / "loss_vs_time.png"),
         "The same runs against the seconds spent in update steps (log scale): the full batch is cheapest per "
         "example, the single example dearest."),
        (save_figure(batch_noise_figure([c.label for c in curves], [per_size[c.label]["noise"] for c in curves],
                                        sizes), out / "step_noise.png"),
         "Per-step loss noise: the standard deviation of a step's loss around the training-set loss at the same "
         "weights, over the second half of training; dashed: 1/sqrt(batch size) through the single example's bar."),
    ]  # fmt: skip
    noises = [per_size[c.label]["noise"] for c in curves]
    numbers = {
        "train_images": n,
        "train_images_dropped": dropped,  # to make every batch full
        "val_images": len(dataset.val),
        "epochs": EPOCHS,
        "examples_seen": EPOCHS * n,
        "lr_rule": "sqrt(batch) / (1 + mean ||x||^2)",
        "mean_square_norm": mean_square,
        "per_class": dataset.info.get("per_class"),
        "cut_to_per_class": cut,
        "batch_sizes": per_size,
        "noise_falls_with_batch": all(a < b for a, b in zip(noises, noises[1:])),  # full batch first
    }
    first, last = per_size[curves[0].label], per_size[curves[-1].label]
    paragraph = (
        f"Softmax regression on {n:,} training images"
        + (f" ({dropped} dropped so that every batch is full)" if dropped else "")
        + f", trained by plain SGD (no momentum, constant step) for {EPOCHS} epochs at every batch size, so "
        f"every run sees the same {EPOCHS * n:,} examples. The full batch takes {first['steps']:,} exact steps, "
        f"one example at a time takes {last['steps']:,} noisy ones. Per example seen, small batches get further: "
        f"the training loss ends at {first['train_loss']:.3f} with the full batch and {last['train_loss']:.3f} "
        "with single examples. Per second they are dearer: every step pays a fixed cost that a big batch "
        f"spreads over many examples ({first['update_seconds']:.3g} s of updates against "
        f"{last['update_seconds']:.3g} s). The noise of a step's loss around the training-set loss at the same "
        "weights falls about as 1/sqrt(batch size) (its product with sqrt(batch) stays near "
        f"{last['noise_sqrt_batch']:.2f}); mini-batches of tens to hundreds sit between the extremes, which "
        "is why they are the default. Step size: sqrt(batch) / (1 + mean squared input norm) = "
        f"{learning_rate(1, mean_square):.3g} x sqrt(batch), one rule for every batch size."
        + (f" The data was cut to {PER_CLASS} images a class (train and validation) to keep it fast." if cut else "")
    )
    table = Table(
        f"After {EPOCHS * n:,} examples",
        ["batch size", "lr", "steps", "train loss", "val loss", "val accuracy", "update s", "step-loss noise"],
        rows,
    )
    return LessonPage(paragraph=paragraph, figures=figures, numbers=numbers, tables=[table])
