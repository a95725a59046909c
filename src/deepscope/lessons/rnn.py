"""Lesson 'rnn': the SimpleRNN is a dense layer in a for loop, fed its own previous output.

A small SimpleRNN reads each 8x8 digit one row at a time (8 steps of 8 pixels) and classifies
it from its last state. After training it with the project's trainer, the lesson runs the
same weights through ``deepscope.mechanics.simple_rnn`` (numpy, one line per step), checks
that the loop gives torch's numbers, and animates the loop on one digit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from deepscope import mechanics
from deepscope.data import Dataset, load
from deepscope.lessons.base import LessonPage, Table, register_lesson, save_animation
from deepscope.nn import SimpleRNN
from deepscope.plots import save_figure
from deepscope.plots.lessons_rnn import RnnStep, rnn_states_figure, rnn_step_frame
from deepscope.train import evaluate, fit

__all__ = ["UNITS", "row_rnn", "rnn", "rnn_weights", "step_by_step", "torch_states"]

UNITS = 16  # state size: small enough to print every number
RECIPE = {"epochs": 30, "batch_size": 32, "optimizer": "adam", "lr": 1e-2, "schedule": "onecycle"}


def row_rnn(rows: int, width: int, num_classes: int, seed: int, units: int = UNITS) -> nn.Sequential:
    """Images (N, 1, rows, width) read row by row: (N, rows, width) -> SimpleRNN -> last
    state (N, units) -> dense -> logits (N, num_classes)."""
    with torch.random.fork_rng(devices=[]):  # repeatable weights; the global RNG untouched
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Flatten(1, 2),  # (N, rows, width): one step per row
            SimpleRNN(width, units),  # (N, units): the state after the last row
            nn.Linear(units, num_classes),  # (N, classes)
        )


def rnn_weights(model: nn.Sequential) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The trained SimpleRNN's weights in the lecture's layout, as float64: W (n_in, units),
    U (units, units), b (units,). torch computes x·W_ih^T + b_ih + h·W_hh^T + b_hh, so
    W = W_ih^T, U = W_hh^T and b = b_ih + b_hh."""
    cell = model[1].rnn
    W = cell.weight_ih_l0.detach().cpu().double().numpy().T
    U = cell.weight_hh_l0.detach().cpu().double().numpy().T
    b = (cell.bias_ih_l0 + cell.bias_hh_l0).detach().cpu().double().numpy()
    return W, U, b


@torch.no_grad()
def torch_states(model: nn.Sequential, images: torch.Tensor) -> np.ndarray:
    """Every step's state from torch's own nn.RNN for images (N, 1, rows, width): (N, rows, units)."""
    cell = model[1].rnn
    outputs, _ = cell(model[0](images.to(cell.weight_ih_l0.device)))  # (N, rows, units)
    return outputs.cpu().double().numpy()


def step_by_step(sequence: np.ndarray, W: np.ndarray, U: np.ndarray, b: np.ndarray) -> list[RnnStep]:
    """The loop's parts at every step of ``sequence`` (T, n_in), the states taken from
    ``mechanics.simple_rnn`` (the reference loop) and each term computed beside them."""
    states = mechanics.simple_rnn(sequence, W, U, b)  # (T, units)
    steps, previous = [], np.zeros(len(b))
    for t, x in enumerate(sequence):
        input_term, recurrent_term = x @ W, previous @ U  # (units,) each
        pre = input_term + recurrent_term + b
        steps.append(RnnStep(t, x, previous, input_term, recurrent_term, b, pre, states[t]))
        previous = states[t]
    return steps


def _train(data: Dataset, seed: int, runs: Path) -> tuple[nn.Sequential, int]:
    _, rows, width = data.input_shape
    model = row_rnn(rows, width, data.num_classes, seed)
    fit(model, data, **RECIPE, seed=seed, out=runs / "rnn", progress=False, device="cpu")
    return model, RECIPE["epochs"]


@register_lesson(
    "rnn",
    order=6,
    title="The SimpleRNN is a for loop",
    summary="a trained SimpleRNN reads a digit row by row: the loop animated, checked against torch",
)
def rnn(out: Path, *, seed: int, data: str | None, echo: Callable[[str], None]) -> LessonPage:
    """Train a row-reading SimpleRNN on the built-in digits, then replay it as a numpy loop."""
    digits = load("digits")
    echo(f"training a SimpleRNN ({UNITS} units) on {digits.name}, one row of pixels per step")
    with tempfile.TemporaryDirectory(prefix="deepscope-lesson-") as tmp:
        model, epochs = _train(digits, seed, Path(tmp))
    accuracy = evaluate(model, digits.val, digits.classes, name="val").accuracy

    W, U, b = rnn_weights(model)
    images, labels = digits.val.tensors  # (N, 1, 8, 8), (N,)
    sequences = images[:, 0].double().numpy()  # (N, T, n_in)
    loop = mechanics.simple_rnn(sequences, W, U, b)  # (N, T, units): the numpy for loop
    difference = float(np.abs(loop - torch_states(model, images)).max())

    index = int(np.random.default_rng(seed).integers(len(images)))
    sequence, label = sequences[index], int(labels[index])
    steps = step_by_step(sequence, W, U, b)
    head = model[2]
    logits = loop[index, -1] @ head.weight.detach().cpu().double().numpy().T + head.bias.detach().cpu().double().numpy()
    probs = mechanics.softmax(logits)  # (classes,)
    predicted = int(probs.argmax())

    echo(f"animating the loop on validation digit {index} (a {digits.classes[label]})")
    limit = max(float(np.abs(np.stack([s.pre, s.input_term, s.recurrent_term, s.bias])).max()) for s in steps)
    frames = [rnn_step_frame(sequence, step, loop[index], limit) for step in steps]
    gif = save_animation(frames, out / "loop.gif", duration_ms=1200)
    png = save_figure(
        rnn_states_figure(sequence, loop[index], probs, digits.classes, label, difference), out / "states.png"
    )
    rows, width = sequence.shape
    figures = [
        (
            gif,
            f"One turn of the loop per frame: row t of the digit is the input x_t ({width} pixels); the new "
            f"state h_t = tanh(x_t·W + h_(t-1)·U + b) ({UNITS} numbers) is computed from it and from the previous "
            "state, and joins the states so far. The weights are the trained model's.",
        ),
        (
            png,
            f"All {rows} states of the validation digit (rows: steps, columns: state units) and the probabilities "
            f"the dense head (weights V, bias c) reads from the last state. The numpy loop gives torch's states to within "
            f"{difference:.1e} on every validation digit.",
        ),
    ]
    paragraph = (
        "A recurrent layer is a dense layer applied in a for loop, fed its own previous output: "
        "h_t = tanh(x_t·W + h_(t-1)·U + b), starting from h_(-1) = 0, with the same W, U and b at every step. "
        f"Here a SimpleRNN with {UNITS} units reads each 8x8 digit one row at a time and a dense layer classifies "
        f"the last state; trained for {epochs} epochs with the project's trainer it reaches validation accuracy "
        f"{accuracy:.3f}. The same weights run through deepscope.mechanics.simple_rnn, a plain numpy loop, give "
        f"torch's states to within {difference:.1e}."
    )
    table = Table(
        "The trained SimpleRNN",
        ["units", "steps", "inputs per step", "epochs", "val accuracy", "max |numpy - torch|"],
        [[UNITS, rows, width, epochs, accuracy, difference]],
    )
    return LessonPage(
        paragraph,
        figures,
        numbers={
            "val_accuracy": accuracy,
            "max_abs_difference": difference,
            "compared_states": int(loop.size),
            "units": UNITS,
            "steps": rows,
            "epochs": epochs,
            "example": {
                "index": index,
                "label": digits.classes[label],
                "predicted": digits.classes[predicted],
                "probability": float(probs[predicted]),
            },
        },
        tables=[table],
    )
