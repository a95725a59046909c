"""A Keras-style model summary: layers, output shapes, parameter counts."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["LayerRow", "ModelSummary", "summary"]


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int


@dataclass(frozen=True)
class ModelSummary:
    """One row per leaf module in call order; shapes exclude the batch axis."""

    rows: list[LayerRow]
    input_shape: tuple[int, ...]
    total_params: int
    trainable_params: int

    def __str__(self) -> str:
        width = max(10, *(len(r.name) + len(r.kind) + 3 for r in self.rows)) if self.rows else 10
        lines = [f"{'layer (type)':<{width}}  {'output shape':<20} {'params':>10}", "-" * (width + 33)]
        lines.append(f"{'input':<{width}}  {str(self.input_shape):<20} {'':>10}")
        for r in self.rows:
            lines.append(f"{f'{r.name} ({r.kind})':<{width}}  {str(r.output_shape):<20} {r.params:>10,}")
        lines.append("-" * (width + 33))
        lines.append(f"total parameters: {self.total_params:,} (trainable: {self.trainable_params:,})")
        return "\n".join(lines)


def summary(model: nn.Module, input_shape: tuple[int, ...], dtype: torch.dtype | None = None) -> ModelSummary:
    """Run one batch of 2 zeros of ``input_shape`` through ``model`` (eval mode, no grad) and
    record each leaf module's output shape. Token models get a long input automatically."""
    if dtype is None:
        tokens = any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules())
        dtype = torch.long if tokens else torch.float32
    rows: list[LayerRow] = []
    seen: set[str] = set()  # a layer called at every time step (RNN/ConvLSTM cells) is listed once
    hooks = []
    for name, module in model.named_modules():
        own = next(module.parameters(recurse=False), None) is not None
        if next(module.children(), None) is not None and not own:  # containers: their leaves are listed
            continue  # (a layer with its own weights and a child, e.g. a padded Conv2d, is listed too)

        def record(mod: nn.Module, _inputs: object, output: object, name: str = name) -> None:
            if name in seen:
                return
            seen.add(name)
            out = output[0] if isinstance(output, (tuple, list)) else output
            shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else ()
            rows.append(
                LayerRow(
                    name or type(mod).__name__,
                    type(mod).__name__,
                    shape,
                    sum(p.numel() for p in mod.parameters(recurse=False)),
                )
            )

        hooks.append(module.register_forward_hook(record))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((2, *input_shape), dtype=dtype))
            if getattr(model, "task", None) == "generation":  # a GAN's forward is its discriminator: draw too
                model.generate(2, generator=torch.Generator().manual_seed(0))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    params = list(model.parameters())
    return ModelSummary(
        rows, tuple(input_shape), sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)
    )
