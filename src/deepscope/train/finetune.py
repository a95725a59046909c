"""Fine-tuning mechanics for any ``nn.Module``: find its head, freeze the rest, learning-rate
groups from the first layers to the head, and BatchNorm that stays frozen when frozen.

``fit`` uses these when a recipe sets ``freeze_epochs`` or ``lr_mult`` (fastai's
``fine_tune``: train the new head on a frozen backbone, then everything with discriminative
learning rates). Freezing means ``requires_grad=False``; a BatchNorm layer whose parameters
are all frozen also runs in eval mode, so its running statistics stay those it was trained
with and it normalises with them -- Keras' rule for ``trainable=False``, and the pitfall of
freezing only the weights (batch statistics of a few hundred new images replace ImageNet's).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from deepscope.errors import InvalidArgumentError

__all__ = ["HEAD_NAMES", "find_head", "freeze_norms", "layer_groups", "phase_schedule", "set_frozen"]

HEAD_NAMES = ("head", "fc", "classifier", "_fc")  # deepscope's zoo, torchvision, EfficientNet(-Lite) ports
FEATURE_LAYERS = (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd, nn.RNNBase)
_NORMS = (nn.modules.batchnorm._BatchNorm,)


def find_head(model: nn.Module) -> list[nn.Module]:
    """The modules that make up ``model``'s head (classifier), in order.

    A child named ``head``, ``fc``, ``classifier`` or ``_fc`` (searched through single-child
    wrappers such as a preprocessing ``Sequential``); for an ``nn.Sequential``, the layers
    after its last ``Flatten`` (else after its last convolution, pooling or recurrent layer)
    -- Keras' mnist_transfer_cnn split into feature and classification layers."""
    for name in HEAD_NAMES:
        sub = getattr(model, name, None)
        if isinstance(sub, nn.Module) and any(True for _ in sub.parameters()):
            return [sub]
    if isinstance(model, nn.Sequential):
        layers = list(model)
        cut = max((i for i, m in enumerate(layers) if isinstance(m, nn.Flatten)), default=None)
        if cut is None:
            cut = max((i for i, m in enumerate(layers) if isinstance(m, FEATURE_LAYERS)), default=None)
        if cut is not None and any(True for m in layers[cut + 1 :] for _ in m.parameters()):
            return layers[cut + 1 :]
        for layer in reversed(layers):  # a wrapper: (preprocess, network)
            if any(True for _ in layer.parameters()):
                try:
                    return find_head(layer)
                except InvalidArgumentError:
                    break
    raise InvalidArgumentError(
        f"`model` must have a head to fine-tune: a child module named one of {', '.join(HEAD_NAMES)}, or be an "
        f"nn.Sequential with a Flatten before its classifier. Received: a {type(model).__name__}."
    )


def layer_groups(model: nn.Module, groups: int = 3) -> list[list[nn.Parameter]]:
    """``model``'s trainable parameters in ``groups`` groups, from the first layers to the
    head: the backbone (everything but the head, in registration order) cut into
    ``groups - 1`` equal parts by parameter count, then the head."""
    head = {id(p) for m in find_head(model) for p in m.parameters()}
    body = [p for p in model.parameters() if id(p) not in head]
    head_params = [p for p in model.parameters() if id(p) in head]
    parts: list[list[nn.Parameter]] = [[] for _ in range(max(1, groups - 1))]
    total = sum(p.numel() for p in body) or 1
    seen = 0
    for p in body:
        parts[min(len(parts) - 1, seen * len(parts) // total)].append(p)
        seen += p.numel()
    return [part for part in parts if part] + [head_params]


def set_frozen(params: list[nn.Parameter], frozen: bool) -> None:
    """Freeze (``requires_grad=False``) or unfreeze ``params``."""
    for p in params:
        p.requires_grad_(not frozen)


def freeze_norms(model: nn.Module) -> None:
    """Put every BatchNorm layer whose parameters are all frozen into eval mode (call after
    ``model.train()``): it normalises with, and keeps, its running statistics."""
    for module in model.modules():
        if isinstance(module, _NORMS):
            params = list(module.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                module.eval()


def _shape(name: str) -> Callable[[float], float]:
    """The factor (of the peak) that schedule ``name`` gives at fraction t in [0, 1] of its
    steps: torch's OneCycleLR (cosine warm-up over 25% from 1/25, cosine anneal to 1/1e4),
    CosineAnnealingLR, MultiStepLR at 1/2 and 3/4, or constant."""

    def onecycle(t: float) -> float:
        pct, low, final = 0.25, 1 / 25, 1 / 25 / 1e4
        if t < pct:
            return low + (1 - low) * (1 - math.cos(math.pi * t / pct)) / 2
        return final + (1 - final) * (1 + math.cos(math.pi * (t - pct) / (1 - pct))) / 2

    shapes: dict[str, Callable[[float], float]] = {
        "onecycle": onecycle,
        "cosine": lambda t: (1 + math.cos(math.pi * t)) / 2,
        "step": lambda t: 1.0 if t < 0.5 else 0.1 if t < 0.75 else 0.01,
        "constant": lambda t: 1.0,
    }
    return shapes[name]


def phase_schedule(
    name: str, optimizer: torch.optim.Optimizer, *, first_steps: int, second_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Schedule ``name`` run twice, stepped per batch: over the frozen phase's
    ``first_steps``, then afresh over the unfrozen phase's ``second_steps`` at half the peak
    (fastai's fine_tune halves the learning rate when it unfreezes). Each parameter group
    keeps its own peak (its ``lr``). A ``LambdaLR`` because torch's schedulers cannot be
    chained on one optimizer when both (OneCycleLR) rewrite the groups' peak rates."""
    shape = _shape(name)

    def factor(step: int) -> float:
        if step < first_steps:
            return shape(step / max(first_steps, 1))
        return 0.5 * shape(min(1.0, (step - first_steps) / max(second_steps, 1)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
