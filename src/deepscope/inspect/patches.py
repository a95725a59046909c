"""Top-activating patches: for each channel of a layer, the dataset regions it responds to most.

One batched forward pass per batch over the whole dataset (never one pass per channel): for
every image and channel the strongest position of the map is kept, and a running top-k per
channel is merged batch by batch with ``torch.topk``. Each image contributes at most its
strongest position to a channel, so the k patches come from k different images (otherwise
they would mostly be neighbouring positions of one image). The winners are then cropped to
the unit's receptive field (``deepscope.mechanics.receptive_field``); where the field reaches
past the image border the patch is padded with ``pad_value`` (what zero padding sees).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepscope.errors import invalid
from deepscope.inspect.inputs import check_inputs, model_device
from deepscope.inspect.layers import describe_layer, get_layer, reading
from deepscope.mechanics import receptive_field

__all__ = ["TopPatches", "top_patches"]


@dataclass
class TopPatches:
    """The k strongest dataset patches of every channel of ``layer``, strongest first.

    ``patches`` (C, k, C_in, s_h, s_w): input crops of receptive-field size ``rf_size``;
    ``values`` (C, k): the unit's activation; ``indices`` (C, k): sample index in the inputs;
    ``positions`` (C, k, 2): (row, col) of the unit in the layer's map; ``boxes`` (C, k, 4):
    ``ReceptiveField.bounds`` of that unit, (top, left, bottom, right) in input pixels,
    half-open, unclipped (negative or past the border where the field reaches into padding)."""

    layer: str
    label: str
    patches: np.ndarray
    values: np.ndarray
    indices: np.ndarray
    positions: np.ndarray
    boxes: np.ndarray
    rf_size: tuple[int, int]
    rf_jump: tuple[int, int]
    num_images: int

    @property
    def k(self) -> int:
        return int(self.values.shape[1])

    @property
    def channels(self) -> int:
        return int(self.values.shape[0])


@torch.no_grad()
def top_patches(
    model: nn.Module, layer: str, inputs: torch.Tensor, *, k: int = 9, batch_size: int = 500, pad_value: float = 0.0
) -> TopPatches:
    """For each channel of ``layer``, the ``k`` patches of ``inputs`` (N, C, H, W), e.g. the
    test images ``data.test.tensors[0]``, that activate it most, cropped to the unit's
    receptive field. One forward pass per batch of ``batch_size`` images, in eval mode,
    stopping after ``layer``."""
    x = check_inputs(inputs)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(x):
        raise invalid("k", f"an int in [1, {len(x)}] (the number of images)", k)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise invalid("batch_size", "a positive int", batch_size)
    get_layer(model, layer)
    field = receptive_field(model, layer)
    device = model_device(model)
    was_training = model.training
    model.eval()
    best_values = best_index = best_pos = None  # each (k', C)
    width = 0
    try:
        with reading(model, [layer]) as read:  # hooks registered once for all batches
            for start in range(0, len(x), batch_size):
                out = read(x[start : start + batch_size].to(device))[layer]  # (B, C, H', W')
                if out.ndim != 4:
                    raise invalid(
                        "layer",
                        "a conv or pool layer with (N, C, H, W) outputs",
                        f"{layer} with output shape {tuple(out.shape)}",
                    )
                width = out.shape[3]
                values, pos = out.flatten(2).max(dim=2)  # (B, C) strongest position of each map
                index = torch.arange(start, start + len(out), device=device)[:, None].expand_as(values)  # (B, C)
                if best_values is not None:
                    values = torch.cat([best_values, values])  # (k + B, C)
                    pos = torch.cat([best_pos, pos])
                    index = torch.cat([best_index, index])
                best_values, order = values.topk(min(k, len(values)), dim=0)  # (k', C)
                best_pos, best_index = pos.gather(0, order), index.gather(0, order)
    finally:
        model.train(was_training)
    values, index, pos = best_values.T.cpu(), best_index.T.cpu(), best_pos.T.cpu()  # (C, k)
    rows, cols = pos // width, pos % width
    channels = values.shape[0]
    boxes = torch.tensor(
        [field.bounds(r, c) for r, c in zip(rows.flatten().tolist(), cols.flatten().tolist())], dtype=torch.long
    ).reshape(channels, -1, 4)  # (C, k, 4) (top, left, bottom, right), the receptive field's own boxes
    patches = _crop(x, index.flatten(), boxes[..., 0].flatten(), boxes[..., 1].flatten(), field.size, pad_value)
    return TopPatches(
        layer=layer,
        label=describe_layer(model, layer),
        patches=patches.reshape(channels, k, *patches.shape[1:]).numpy(),  # (C, k, C_in, s_h, s_w)
        values=values.float().numpy(),
        indices=index.numpy(),
        positions=torch.stack([rows, cols], -1).numpy(),
        boxes=boxes.numpy(),
        rf_size=field.size,
        rf_jump=field.jump,
        num_images=len(x),
    )


def _crop(
    x: torch.Tensor, index: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: tuple[int, int], pad_value: float
) -> torch.Tensor:
    """Crops (M, C, s_h, s_w) of images ``x[index]`` starting at (top, left), padded outside."""
    sh, sw = size
    images = F.pad(
        x[index.to(x.device)].float().cpu(), (sw, sw, sh, sh), value=pad_value
    )  # (M, C, H + 2 s_h, W + 2 s_w)
    r = (top + sh)[:, None] + torch.arange(sh)  # (M, s_h) rows in the padded images
    c = (left + sw)[:, None] + torch.arange(sw)  # (M, s_w)
    m = torch.arange(len(index))[:, None, None, None]
    ch = torch.arange(x.shape[1])[None, :, None, None]
    return images[m, ch, r[:, None, :, None], c[:, None, None, :]]  # (M, C, s_h, s_w)
