"""Named optimizers and learning-rate schedules (torch.optim does the work)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from deepscope.errors import UnknownNameError, invalid

__all__ = ["OPTIMIZERS", "SCHEDULES", "make_optimizer", "make_schedule"]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adadelta")
SCHEDULES = ("constant", "onecycle", "cosine", "step")


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """Build optimizer ``name``: 'sgd' (with Nesterov-free momentum), 'adam', 'adamw',
    'rmsprop' or 'adadelta' (Keras' mnist_cnn choice; its ``lr`` is a scale, 1.0 by convention).
    ``params`` may be parameter groups (dicts with ``params`` and their own ``lr``).
    ``momentum`` is SGD's momentum and Adam/AdamW's beta1 (0.9 both by default; GANs train
    with beta1 0.5, Radford et al. 2016)."""
    if not isinstance(lr, (int, float)) or lr <= 0:
        raise invalid("lr", "a positive number", lr)
    key = name.lower()
    if key == "sgd":
        return _fused(torch.optim.SGD, params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if key == "adam":
        return _fused(torch.optim.Adam, params, lr=lr, weight_decay=weight_decay, betas=(momentum, 0.999))
    if key == "adamw":
        return _fused(torch.optim.AdamW, params, lr=lr, weight_decay=weight_decay, betas=(momentum, 0.999))
    if key == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if key == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=weight_decay)
    raise UnknownNameError("optimizer", name, OPTIMIZERS)


def _fused(kind: type[torch.optim.Optimizer], params, **settings: Any) -> torch.optim.Optimizer:
    """``kind`` with its fused kernel (one pass over each parameter tensor for the whole
    update) where torch has one for the parameters' device and dtype, else its default
    (for-each) implementation. Measured on the 2-core CPU: Adam's step over imdb_lstm's 2.7M
    parameters (the 20,002 x 128 embedding is most of them) 18.6 ms -> 3.7 ms, a whole
    training step 75 ms -> 59 ms."""
    params = list(params)
    try:
        return kind(params, fused=True, **settings)
    except (RuntimeError, ValueError, TypeError):  # no fused kernel for this device/dtype
        return kind(params, **settings)


def make_schedule(
    name: str, optimizer: torch.optim.Optimizer, *, lr: float, epochs: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Build a schedule stepped once per batch. 'onecycle' warms up for 25% of training then
    anneals (Smith 2018); 'cosine' anneals from ``lr`` to 0; 'step' divides by 10 at 1/2 and
    3/4 of training; 'constant' returns None."""
    key = name.lower()
    total = max(1, epochs * steps_per_epoch)
    if key == "constant":
        return None
    if key == "onecycle":
        peaks = [group["lr"] for group in optimizer.param_groups]  # each group's own peak (== lr for one group)
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peaks, total_steps=total, pct_start=0.25)
    if key == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if key == "step":
        milestones = [total // 2, (3 * total) // 4]
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    raise UnknownNameError("schedule", name, SCHEDULES)
