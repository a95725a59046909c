"""Feature caching for a frozen backbone: run the backbone over a split once, keep what its
head receives, and train the head on that cache (Keras' "feature extraction" workflow, done
for the user by ``fit`` when a recipe sets ``cache_features``).

While the backbone is frozen its output for a given input never changes, so recomputing it
every epoch is wasted work: the frozen phase of a fine-tuning run then costs one forward pass
of the backbone plus the head's epochs. The features are computed in eval mode (BatchNorm
with its running statistics, as a frozen BatchNorm runs anyway, and dropout inside the
backbone off) and must stay in memory: their size is checked against deepscope's memory
limit before the cache is filled.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.errors import InvalidArgumentError
from deepscope.train.devices import device_of
from deepscope.train.finetune import find_head

__all__ = ["extract_features", "head_of"]


class _Captured(Exception):
    """Raised by the hook once the head's input is captured: the head need not run."""


def head_of(model: nn.Module) -> nn.Module:
    """``model``'s head (:func:`~deepscope.train.finetune.find_head`) as one module that maps
    the backbone's features to the output; it shares its parameters with ``model``."""
    layers = find_head(model)
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


@torch.no_grad()  # not inference_mode: the head trains on these tensors (autograd saves them)
def extract_features(model: nn.Module, split: TensorDataset, batch_size: int = 256) -> TensorDataset:
    """The input of ``model``'s head for every sample of ``split``: (features (N, ...), targets),
    computed in eval mode, in the split's order. Refuses models whose output is not the head
    applied to those features (a head that is not one chain of layers on one tensor)."""
    head = head_of(model)
    captured: list[torch.Tensor] = []

    def hook(module: nn.Module, args: tuple) -> None:
        if not args or not isinstance(args[0], torch.Tensor):
            raise InvalidArgumentError("`cache_features` needs a head that takes one tensor.")
        captured.append(args[0].detach().to("cpu", copy=True))  # the cache lives on the CPU
        raise _Captured

    was_training = model.training
    model.eval()
    device = device_of(model)
    x, y = split.tensors[:2]
    handle = find_head(model)[0].register_forward_pre_hook(hook)
    try:
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size].to(device)
            try:
                model(xb)
            except _Captured:
                pass
            if len(captured) != start // batch_size + 1:
                raise InvalidArgumentError(
                    f"`cache_features` needs a model whose head receives the backbone's features; "
                    f"{type(model).__name__}'s head was never called."
                )
            if start == 0:
                per_sample = captured[0][0].numel() * captured[0].element_size()
                limits.check_allocation(per_sample * len(x), f"The feature cache of {len(x)} samples")
                handle.remove()
                exact = torch.allclose(head(captured[0].to(device)), model(xb), atol=1e-5, rtol=1e-4)
                handle = find_head(model)[0].register_forward_pre_hook(hook)
                if not exact:
                    raise InvalidArgumentError(
                        f"`cache_features` needs a model whose output is its head applied to the backbone's "
                        f"features; {type(model).__name__} computes something else after the backbone. "
                        "Train it without cache_features."
                    )
    finally:
        handle.remove()
        model.train(was_training)
    features = torch.cat(captured) if captured else torch.zeros(0)
    return TensorDataset(features, y)
