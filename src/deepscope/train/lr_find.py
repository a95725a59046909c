"""The learning-rate range test (Smith 2015; fastai's ``lr_find``).

Train a copy of the model for a few hundred mini-batches while the learning rate grows
exponentially from ``start`` to ``end``, recording the loss (smoothed: an exponential moving
average, bias-corrected); stop once it has diverged. The suggested rate is where the smoothed
loss falls fastest (the steepest slope against log lr, before its minimum); the rate a decade
below the minimum is the classic rule of thumb, reported beside it. The caller's model and
the global RNG are left untouched.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepscope.data import Dataset
from deepscope.errors import InvalidArgumentError, invalid
from deepscope.recipe import Recipe
from deepscope.train.devices import resolve_device
from deepscope.train.optim import make_optimizer
from deepscope.train.tasks import resolve_task

__all__ = ["LRFinder", "lr_find"]


@dataclass(frozen=True)
class LRFinder:
    """The range test's curve and suggestions: ``lrs`` and smoothed ``losses`` per step."""

    lrs: list[float]
    losses: list[float]
    steepest: float
    minimum: float

    @property
    def suggestion(self) -> float:
        """The rate to train with: the steepest descent of the loss."""
        return self.steepest


def lr_find(
    model: nn.Module,
    data: Dataset,
    recipe: Recipe | None = None,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    diverge: float = 4.0,
    device: str | torch.device | None = "cpu",
) -> LRFinder:
    """Run the range test on a copy of ``model`` with ``recipe``'s optimizer and batch size
    (the model's own recipe by default) over ``data.train``, on ``device`` ('auto': a GPU
    if there is one)."""
    if not 0 < start < end or not math.isfinite(end):
        raise invalid("start/end", "0 < start < end, finite", (start, end))
    if isinstance(steps, bool) or not isinstance(steps, int) or not 10 <= steps <= 10_000:
        raise invalid("steps", "an int in [10, 10000]", steps)
    own = getattr(model, "default_recipe", None)
    recipe = recipe or (own if isinstance(own, Recipe) else Recipe())
    if data.task == "contrastive":
        raise InvalidArgumentError(
            f"The range test needs labelled batches; {data.name!r} is contrastive data (its pairs of views are "
            "made by the trainer). Run lr-find on the labelled data instead."
        )
    task = resolve_task(model, data)
    if task.name == "generation":
        raise InvalidArgumentError(
            "The range test follows one loss as the rate grows; a GAN's two networks pull against each other, "
            "so their losses say nothing about a good rate. Use the entry's recipe (lr=2e-4 for DCGAN-style nets)."
        )
    x, y = data.train.tensors[:2]
    if not len(x):
        raise invalid("data", "a dataset with training samples", repr(data))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        where = resolve_device(device)
        net = copy.deepcopy(model).to(where).train()
        optimizer = make_optimizer(
            recipe.optimizer, net.parameters(), lr=start, weight_decay=recipe.weight_decay, momentum=recipe.momentum
        )
        generator = torch.Generator().manual_seed(recipe.seed)
        factor = (end / start) ** (1 / (steps - 1))
        lrs, losses = [], []
        average, best = 0.0, math.inf
        order = torch.randperm(len(x), generator=generator)
        position = 0
        for step in range(steps):
            if position + recipe.batch_size > len(x) and position:  # a new epoch: reshuffle
                order, position = torch.randperm(len(x), generator=generator), 0
            index = order[position : position + recipe.batch_size]
            position += recipe.batch_size
            lr = start * factor**step
            for group in optimizer.param_groups:
                group["lr"] = lr
            xb, yb = x[index].to(where), y[index].to(where)
            loss = task.eval_step(net, xb, yb)[1] if task.custom_step else task.loss(net(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value):
                break
            average = 0.98 * average + 0.02 * value
            smoothed = average / (1 - 0.98 ** (step + 1))
            lrs.append(lr)
            losses.append(smoothed)
            best = min(best, smoothed)
            if step > 10 and smoothed > diverge * best:
                break
    if len(losses) < 5:
        raise invalid("start", "a rate low enough for the loss to stay finite for 5 steps", start)
    curve = np.array(losses)
    low = int(curve.argmin())
    slopes = np.gradient(curve, np.log10(np.array(lrs)))
    steep = int(slopes[: max(low, 1) + 1].argmin())
    return LRFinder(lrs, losses, steepest=lrs[steep], minimum=lrs[low] / 10)
