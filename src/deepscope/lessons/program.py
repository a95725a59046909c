"""Lesson 'program': a network is a function fitted to data.

Softmax regression is ten weighted sums of pixels, so each class's weight vector is a picture:
a template the image is compared with. A two-layer net on 2-D points is small enough to draw
whole: each hidden unit is a line through the plane, and the output combines the units into
decision regions; watching them move epoch by epoch, and counting how many units a shape
needs (1, 2, 8, 64), shows what "training fits a function" means.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from deepscope import zoo
from deepscope.data import Dataset, from_arrays, load
from deepscope.errors import invalid
from deepscope.lessons.base import LessonPage, Table, register_lesson, save_animation
from deepscope.plots import save_figure
from deepscope.plots.lessons_program import Regions, capacity_figure, regions_frame, templates_figure
from deepscope.train import Callback, TrainState, evaluate, fit, predict_proba

__all__ = [
    "TOYS",
    "WIDTHS",
    "RegionRecorder",
    "program",
    "toy_dataset",
    "toy_points",
    "train_templates",
    "train_toy",
    "two_layer_net",
]

TOYS = ("moons", "circles", "spirals")
WIDTHS = (1, 2, 8, 64)  # hidden units compared
ANIMATED = ("spirals", 8)  # the run whose regions are animated epoch by epoch
POINTS = 500  # per toy dataset: 300 train, 100 validation, 100 test
TOY_RECIPE = {"epochs": 25, "batch_size": 16, "optimizer": "adam", "lr": 0.05, "keep": "last"}
GRID = 90  # grid points per side where the regions are evaluated
TEMPLATE_STEPS = 1200  # optimisation steps for the templates (at least 3, at most 20 epochs)


# ----------------------------------------------------------------------------- toy data
def _spirals(n: int, seed: int, turns: float = 1.25, noise: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spiral arms of ``turns`` turns: x (n, 2), y (n,) in {0, 1}."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    angle = np.sqrt(rng.uniform(0.0, 1.0, n)) * turns * 2 * np.pi  # sqrt: evenly spread along the arm
    radius = angle / (turns * 2 * np.pi)
    x = np.stack([radius * np.cos(angle + np.pi * y), radius * np.sin(angle + np.pi * y)], axis=1)
    return x + rng.normal(0.0, noise, x.shape), y


def toy_points(name: str, seed: int = 0, n: int = POINTS) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 2-D points of toy dataset ``name`` ('moons', 'circles', 'spirals'), standardised
    (mean 0, std 1 per axis): x (n, 2) float32, y (n,) int64 in {0, 1}."""
    from sklearn.datasets import make_circles, make_moons

    if name == "moons":
        x, y = make_moons(n, noise=0.15, random_state=seed)
    elif name == "circles":
        x, y = make_circles(n, noise=0.1, factor=0.5, random_state=seed)
    elif name == "spirals":
        x, y = _spirals(n, seed)
    else:
        raise invalid("name", f"one of {TOYS}", name)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x.astype(np.float32), y.astype(np.int64)


def toy_dataset(name: str, seed: int = 0) -> Dataset:
    """Toy dataset ``name`` as a Dataset of (2,) inputs: 300 train, 100 validation, 100 test."""
    x, y = toy_points(name, seed)
    return from_arrays(x, y, kind="series", name=name, classes=["0", "1"], val_fraction=0.25, seed=seed)


def two_layer_net(hidden: int, seed: int) -> nn.Sequential:
    """(N, 2) -> Linear(2, hidden) -> tanh -> Linear(hidden, 2): logits (N, 2)."""
    with torch.random.fork_rng(devices=[]):  # repeatable weights; the global RNG untouched
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))


# ----------------------------------------------------------------------------- training
def _accuracy(model: nn.Module, split) -> float:
    x, y = split.tensors
    return float((predict_proba(model, x).argmax(dim=1) == y).double().mean())


class RegionRecorder(Callback):
    """Snapshots of a two-layer net on 2-D data: before training and after every epoch, the
    probabilities on a grid, the hidden layer's lines and the train/validation accuracy."""

    def __init__(self, data: Dataset, grid_x: np.ndarray, grid_y: np.ndarray, every_epoch: bool = True):
        self.data, self.grid_x, self.grid_y, self.every_epoch = data, grid_x, grid_y, every_epoch
        xx, yy = np.meshgrid(grid_x, grid_y)  # (G, G) each
        self.grid = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32))  # (G*G, 2)
        self.snapshots: list[dict[str, object]] = []

    def snapshot(self, model: nn.Module, epoch: int) -> None:
        prob = predict_proba(model, self.grid, batch_size=len(self.grid))[:, 1]  # (G*G,)
        first = model[0]
        self.snapshots.append(
            {
                "epoch": epoch,
                "prob": prob.numpy().reshape(len(self.grid_y), len(self.grid_x)),
                "weights": first.weight.detach().cpu().numpy().copy(),  # (h, 2)
                "biases": first.bias.detach().cpu().numpy().copy(),  # (h,)
                "train": _accuracy(model, self.data.train),
                "val": _accuracy(model, self.data.val),
            }
        )

    def on_fit_start(self, state: TrainState) -> None:
        if self.every_epoch:
            self.snapshot(state.model, 0)

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        if self.every_epoch or state.epoch == state.epochs:
            self.snapshot(state.model, state.epoch)


def _grid(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low, high = points.min(axis=0) - 0.4, points.max(axis=0) + 0.4
    return np.linspace(low[0], high[0], GRID), np.linspace(low[1], high[1], GRID)


def train_toy(data: Dataset, hidden: int, seed: int, runs: Path, every_epoch: bool = False) -> RegionRecorder:
    """Train a two-layer net with ``hidden`` tanh units on toy ``data`` with the trainer
    (run folder under ``runs``); returns the recorder of its snapshots (the last one is the
    trained net)."""
    points = data.train.tensors[0].numpy()
    recorder = RegionRecorder(data, *_grid(points), every_epoch=every_epoch)
    model = two_layer_net(hidden, seed)
    fit(
        model,
        data,
        **TOY_RECIPE,
        seed=seed,
        out=runs / f"{data.name}-{hidden}",
        progress=False,
        device="cpu",
        callbacks=[recorder],
    )
    return recorder


def _regions(data: Dataset, recorder: RegionRecorder, snapshot: dict, title: str) -> Regions:
    x, y = data.train.tensors
    return Regions(
        recorder.grid_x,
        recorder.grid_y,
        snapshot["prob"],
        x.numpy(),
        y.numpy(),
        snapshot["weights"],
        snapshot["biases"],
        title,
    )


# ----------------------------------------------------------------------------- templates
def _image_data(spec: str) -> Dataset:
    data = load(spec)
    if data.kind != "image" or data.task != "classification" or len(data.input_shape) != 3:
        raise invalid("data", "an image classification data spec such as 'digits' or 'mnist:PATH'", spec)
    return data


def _class_means(data: Dataset) -> np.ndarray | None:
    """Each class's mean training image (K, C, H, W); None for images decoded on demand (an
    image folder larger than memory), which would all have to be read."""
    if not isinstance(data.train, TensorDataset):
        return None
    x, y = data.train.tensors
    return np.stack(
        [
            x[y == k].mean(dim=0).numpy() if bool((y == k).any()) else np.zeros(data.input_shape, dtype=np.float32)
            for k in range(data.num_classes)
        ]
    )


def train_templates(data: Dataset, seed: int, runs: Path) -> tuple[np.ndarray, np.ndarray | None, float, int]:
    """Softmax regression trained on image ``data``: its weights as templates (K, C, H, W),
    each class's mean training image (K, C, H, W) or None, the validation accuracy and the
    number of epochs (enough for about TEMPLATE_STEPS steps, 3 to 20)."""
    model = zoo.create("softmax_regression", data, seed=seed)
    steps_per_epoch = math.ceil(len(data.train) / model.default_recipe.batch_size)
    epochs = min(20, max(3, math.ceil(TEMPLATE_STEPS / steps_per_epoch)))
    run = fit(model, data, epochs=epochs, seed=seed, out=runs / "templates", progress=False)
    weights = run.model[-1].weight.detach().cpu().numpy().reshape(-1, *data.input_shape)  # (K, C, H, W)
    means = _class_means(data)
    accuracy = evaluate(run.model, data.val, data.classes, name="val").accuracy
    return weights, means, accuracy, epochs


def _templates_caption(data: Dataset, epochs: int, with_means: bool) -> str:
    channels, height, width = data.input_shape
    how = (
        "drawn in colour, each rescaled to [0, 1]: bright where a colour votes for the class"
        if channels == 3
        else "red where ink votes for the class, blue where ink votes against it"
    )
    return (
        f"Softmax regression on {data.name} ({epochs} epochs): each class's weights as a {height}x{width} picture. "
        f"The score of a class is the sum of pixel x weight, so the picture is a template: {how}."
        + (" Below, each class's mean training image." if with_means else "")
        + " Pixels that are almost never set (near the border) can take large weights that mean little:"
        " they hardly ever touch a score."
    )


# ----------------------------------------------------------------------------- the lesson
@register_lesson(
    "program",
    order=4,
    title="A network is a fitted function",
    summary="softmax templates; a two-layer net's decision regions with 1, 2, 8, 64 hidden units",
    takes_data=True,
    data_default="digits",
)
def program(out: Path, *, seed: int, data: str | None, echo: Callable[[str], None]) -> LessonPage:
    """Templates of softmax regression on ``data``; decision regions of two-layer nets on
    moons, circles and spirals, one of them animated epoch by epoch."""
    images = _image_data(data or "digits")
    figures: list[tuple[Path, str]] = []
    with tempfile.TemporaryDirectory(prefix="deepscope-lesson-") as tmp:
        runs = Path(tmp)
        echo(f"softmax regression on {images.name}")
        weights, means, template_accuracy, template_epochs = train_templates(images, seed, runs)
        path = save_figure(templates_figure(weights, images.classes, means, template_accuracy), out / "templates.png")
        figures.append((path, _templates_caption(images, template_epochs, means is not None)))

        accuracy: dict[str, dict[str, dict[str, float]]] = {}
        panels: list[list[Regions]] = []
        animated: list[tuple[Regions, int]] = []  # (regions, epoch) of the animated run
        for name in TOYS:
            toy = toy_dataset(name, seed)
            row = []
            accuracy[name] = {}
            for hidden in WIDTHS:
                echo(f"two-layer net, {hidden} hidden unit(s), on {name}")
                keep_all = (name, hidden) == ANIMATED
                recorder = train_toy(toy, hidden, seed, runs, every_epoch=keep_all)
                final = recorder.snapshots[-1]
                accuracy[name][str(hidden)] = {"train": final["train"], "val": final["val"]}
                row.append(_regions(toy, recorder, final, f"train {final['train']:.2f}, val {final['val']:.2f}"))
                if keep_all:
                    animated = [
                        (
                            _regions(toy, recorder, s, f"train accuracy {s['train']:.2f}, validation {s['val']:.2f}"),
                            s["epoch"],
                        )
                        for s in recorder.snapshots
                    ]
            panels.append(row)

    name, hidden = ANIMATED
    frames = [regions_frame(regions, f"{name}, {hidden} tanh units: epoch {epoch}") for regions, epoch in animated]
    path = save_animation(frames, out / "regions.gif", duration_ms=350)
    figures.append(
        (
            path,
            f"A two-layer net with {hidden} tanh units learning the {name}, epoch by epoch (epoch 0: the "
            "random start). Colour: the probability of the red class; black: the decision boundary; dashed: "
            "where each hidden unit changes sign (w·x + b = 0). The boundary is built from the units' lines.",
        )
    )
    path = save_figure(
        capacity_figure(panels, list(TOYS), [f"{h} hidden unit{'s' if h > 1 else ''}" for h in WIDTHS]),
        out / "capacity.png",
    )
    figures.append(
        (
            path,
            "What the width buys: one hidden unit gives one line, so the boundary can only be straight; two "
            "units bend it once; eight and sixty-four fit the moons, the circles and (with enough units) "
            "the spirals. Accuracies on the training points and on held-out validation points.",
        )
    )
    rows = [
        [name, hidden, scores["train"], scores["val"]] for name in TOYS for hidden, scores in accuracy[name].items()
    ]
    paragraph = (
        "A trained network is a function whose constants were fitted to data. Softmax regression on "
        f"{images.name} scores each class by a weighted sum of pixels, so each class's weights form a picture: "
        f"a template (validation accuracy {template_accuracy:.3f}). A two-layer net on 2-D points is small enough "
        "to draw whole: each hidden unit is a line across the plane, the output layer combines the units' "
        "tanh ramps, and training moves the lines until the regions fit the points. With one unit the boundary "
        "is a straight line, which cannot enclose a circle; a few more units fit the moons and circles, and the "
        "spirals need more still."
    )
    return LessonPage(
        paragraph,
        figures,
        numbers={
            "template_val_accuracy": template_accuracy,
            "template_epochs": template_epochs,
            "template_shape": list(weights.shape),
            "toy_accuracy": accuracy,
            "toy_recipe": dict(TOY_RECIPE),
            "animated": {"data": name, "hidden_units": hidden, "frames": len(frames)},
        },
        tables=[Table("Two-layer nets: accuracy by hidden units", ["data", "hidden units", "train", "val"], rows)],
    )
