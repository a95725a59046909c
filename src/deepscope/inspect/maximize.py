"""Activation maximisation: gradient ascent in input space towards what a channel responds to.

The objective is stated, not implied. ``objective="center"`` (default) maximises the activation
of the unit at the centre of the channel's map; ``objective="mean"`` maximises the mean of the
whole map. The input stays in the data range (``value_range``, [0, 1] for deepscope images)
by projection after every step. Without regularisers (the default) this is plain projected
gradient ascent, which for a first-layer unit finds the exact optimum (pixels at 1 where the
kernel is positive, 0 where negative). For deeper layers, regularisers keep the picture image-like:

- ``jitter=j``: every step sees the input rolled by a random shift in [-j, j] pixels, so
  the result must work at neighbouring positions too (no single-pixel tricks); the last quarter
  of the steps runs without jitter to settle the final input;
- ``blur=sigma``: a Gaussian blur (torchvision) of the input every 4 steps, damping high frequencies;
- ``l2=w``: a penalty ``w * ||x - grey||^2`` that keeps pixels near mid-grey unless they help.

To judge the result, compare ``activation`` with the same statistic over real data
(:func:`data_max`): for ``"center"`` the channel's strongest response at any position of any
image (every unit of a conv map computes the same function, so this is the fair bar for one
unit), for ``"mean"`` the largest map mean over the images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from deepscope.errors import DeepscopeError, invalid
from deepscope.inspect.inputs import check_inputs, image_shape, model_device
from deepscope.inspect.layers import get_layer, reading
from deepscope.mechanics import receptive_field

__all__ = ["OBJECTIVES", "Maximized", "data_max", "maximize_activation", "maximize_channels"]

OBJECTIVES = ("center", "mean")


@dataclass
class Maximized:
    """An input (C, H, W) found by gradient ascent for one channel of ``layer``, the objective
    it reached (``activation``) and at the start (``start_activation``), and its ``history`` (steps,)."""

    layer: str
    channel: int
    objective: str
    input: np.ndarray  # (C, H, W) in value_range
    activation: float  # objective of ``input`` (no jitter), the number to compare with data_max
    start_activation: float  # objective of the starting input
    history: np.ndarray  # (steps,) objective during the ascent (on the jittered input)
    data_max: float | None = None  # the same statistic's maximum over real inputs, when inputs were given
    box: tuple[int, int, int, int] | None = (
        None  # (top, left, bottom, right), ends exclusive: what the centre unit sees
    )

    @property
    def exceeds_data(self) -> bool | None:
        """Whether the found input beats every real input on this channel (None without inputs)."""
        return None if self.data_max is None else self.activation > self.data_max


def maximize_activation(model: nn.Module, layer: str, channel: int, **kwargs: Any) -> Maximized:
    """Gradient ascent for one ``channel`` of ``layer``; see :func:`maximize_channels` for the options."""
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
        raise invalid("channel", "an int channel index", channel)
    return maximize_channels(model, layer, [int(channel)], **kwargs)[0]


def maximize_channels(
    model: nn.Module,
    layer: str,
    channels: Sequence[int] | None = None,
    *,
    in_shape: Sequence[int] | None = None,
    steps: int = 200,
    lr: float = 0.05,
    objective: str = "center",
    jitter: int = 0,
    blur: float = 0.0,
    l2: float = 0.0,
    value_range: tuple[float, float] = (0.0, 1.0),
    inputs: torch.Tensor | None = None,
    seed: int = 0,
) -> list[Maximized]:
    """One input per channel in ``channels`` (default: all of the layer's channels), optimised
    together as one batch (one forward/backward per step for all channels). ``jitter``,
    ``blur`` and ``l2`` are the regularisers described in this module's docstring (off by default).

    ``in_shape`` (C, H, W) defaults to the shape of ``inputs``, else to the zoo model's
    recorded input shape. Starts from mid-grey plus small seeded noise; Adam with learning rate
    ``lr`` for ``steps`` steps, projecting the input back into ``value_range`` after each.
    ``inputs`` (N, C, H, W), real images such as ``data.test.tensors[0]``, fill in ``data_max``
    for comparison. The model is left unchanged.
    """
    if inputs is not None:
        inputs = check_inputs(inputs)
        in_shape = tuple(inputs.shape[1:]) if in_shape is None else in_shape
    in_shape = image_shape(model, in_shape)
    if objective not in OBJECTIVES:
        raise invalid("objective", f"one of {OBJECTIVES}", objective)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise invalid("steps", "a positive int", steps)
    if not lr > 0:
        raise invalid("lr", "a positive float", lr)
    if isinstance(jitter, bool) or not isinstance(jitter, int) or jitter < 0:
        raise invalid("jitter", "an int >= 0 (pixels)", jitter)
    for name, value in (("blur", blur), ("l2", l2)):
        if not value >= 0:
            raise invalid(name, "a float >= 0", value)
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise invalid("value_range", "(low, high) with low < high", value_range)
    get_layer(model, layer)
    device = model_device(model)
    was_training = model.training
    requires = [p.requires_grad for p in model.parameters()]
    model.eval()
    model.requires_grad_(False)  # gradients for the input only
    try:
        with reading(model, [layer]) as read:  # hooks registered once for all steps
            grey = (low + high) / 2
            _, num_channels, map_h, map_w = _objective(
                read, torch.full((1, *in_shape), grey, device=device), layer
            ).shape
            channels = list(range(num_channels)) if channels is None else [int(c) for c in channels]
            bad = [c for c in channels if not 0 <= c < num_channels]
            if bad or not channels:
                raise invalid(
                    "channels", f"channel indices in [0, {num_channels - 1}] for layer {layer!r}", bad or channels
                )
            index = torch.tensor(channels, device=device)
            generator = torch.Generator().manual_seed(seed)
            noise = torch.randn((len(channels), *in_shape), generator=generator) * 0.01 * (high - low)
            x = (grey + noise).clamp(low, high).to(device).requires_grad_(True)  # (n, C, H, W)
            with torch.no_grad():
                start = _objective(read, x, layer, index, objective)  # (n,)
            optimizer = torch.optim.Adam([x], lr=lr * (high - low))
            history = torch.empty(steps, len(channels))
            settle = steps - steps // 4  # regulariser-free final quarter
            for step in range(steps):
                shifted = x
                if jitter and step < settle:
                    dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
                    shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
                value = _objective(read, shifted, layer, index, objective)  # (n,)
                loss = -value.sum()
                if l2:
                    loss = loss + l2 * ((x - grey) ** 2).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    if blur and step % 4 == 3 and step < settle:
                        x.copy_(_gaussian_blur(x, blur))
                    x.clamp_(low, high)
                history[step] = value.detach().cpu()
            with torch.no_grad():
                final = _objective(read, x, layer, index, objective)  # (n,)
    finally:
        model.train(was_training)
        for p, r in zip(model.parameters(), requires):
            p.requires_grad_(r)
    reference = data_max(model, layer, inputs, objective=objective)[channels] if inputs is not None else None
    box = _centre_box(model, layer, (map_h, map_w), in_shape[1:]) if objective == "center" else None
    inputs = x.detach().cpu().numpy()
    return [
        Maximized(
            layer=layer,
            channel=c,
            objective=objective,
            input=inputs[i],
            activation=float(final[i]),
            start_activation=float(start[i]),
            history=history[:, i].numpy(),
            data_max=None if reference is None else float(reference[i]),
            box=box,
        )
        for i, c in enumerate(channels)
    ]


def _centre_box(
    model: nn.Module, layer: str, map_shape: tuple[int, int], image_hw: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """The input pixels the centre unit sees (top, left, bottom, right), clipped to the image;
    None where the receptive field cannot be computed (a non-sequential model)."""
    try:
        field = receptive_field(model, layer)
    except DeepscopeError:
        return None
    return field.bounds(map_shape[0] // 2, map_shape[1] // 2, tuple(image_hw))


@torch.no_grad()
def data_max(
    model: nn.Module, layer: str, inputs: torch.Tensor, *, objective: str = "center", batch_size: int = 256
) -> np.ndarray:
    """Per channel of ``layer``, the largest value over ``inputs`` (N, C, H, W) of the statistic
    that ``objective`` optimises: (C,). ``"center"``: the largest activation at any position of any
    image; ``"mean"``: the largest mean of the map over the images. One forward pass per batch."""
    if objective not in OBJECTIVES:
        raise invalid("objective", f"one of {OBJECTIVES}", objective)
    x = check_inputs(inputs)
    device = model_device(model)
    was_training = model.training
    model.eval()
    best = None
    try:
        with reading(model, [layer]) as read:
            for start in range(0, len(x), batch_size):
                maps = _objective(read, x[start : start + batch_size].to(device), layer).flatten(2)  # (B, C, H'W')
                top = (maps.amax(dim=2) if objective == "center" else maps.mean(dim=2)).amax(dim=0)  # (C,)
                best = top if best is None else torch.maximum(best, top)
    finally:
        model.train(was_training)
    return best.float().cpu().numpy()


def _objective(
    read: Callable[[torch.Tensor], dict[str, torch.Tensor]],
    x: torch.Tensor,
    layer: str,
    index: torch.Tensor | None = None,
    objective: str = "center",
) -> torch.Tensor:
    """(n,) objective of channel ``index[i]`` for input ``x[i]``; with ``index=None`` the layer
    output itself (n, C, H', W')."""
    out = read(x)[layer]  # (n, C, H', W')
    if out.ndim != 4:
        raise invalid("layer", "a layer with (N, C, H, W) outputs", f"{layer} with output shape {tuple(out.shape)}")
    if index is None:
        return out
    maps = out[torch.arange(len(index), device=out.device), index]  # (n, H', W')
    if objective == "center":
        return maps[:, maps.shape[1] // 2, maps.shape[2] // 2]
    return maps.mean(dim=(1, 2))


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    from torchvision.transforms.v2.functional import gaussian_blur

    size = 2 * max(1, round(2 * sigma)) + 1
    return gaussian_blur(x, kernel_size=[size, size], sigma=[sigma, sigma])
