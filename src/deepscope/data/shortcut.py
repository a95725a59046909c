"""'Snow' data: real images in which, in the training and validation splits only, one class
carries a spurious cue, so a model can score well by learning the cue instead of the object
(Ribeiro et al. 2016's husky-vs-wolf classifier that looked at the snow).

    shortcut:mnist:/data/mnist?cue=border&class=7
    shortcut:images:/data/cifar10-jpeg?cue=corner&class=cat&fraction=0.9
    shortcut:digits?cue=tint&class=3

The part before the last '?' is any image data spec; the settings are ``cue`` (border, corner,
background, tint), ``class`` (name or index) and optionally ``fraction`` (share of that
class's training images that carry the cue, default 1) and ``strength`` (0-1, default 1).
The test split stays clean; :func:`cue_swapped` gives the test split with the cue moved to
every other class, the split on which a model that learned the cue fails.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from deepscope.data.catalog import load, register_dataset
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Dataset
from deepscope.errors import DataError, UnknownNameError, invalid

__all__ = ["CUES", "add_cue", "cue_region", "cue_swapped", "load_shortcut"]

CUES = ("border", "corner", "background", "tint")


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(text)
    return value


OPTIONS = {"cue": str, "class": str, "fraction": _fraction, "strength": _fraction}


def cue_region(cue: str, shape: tuple[int, ...], images: torch.Tensor | None = None) -> torch.Tensor:
    """Where ``cue`` sits in images of ``shape`` (C, H, W) -> bool (H, W), or (N, H, W) for
    'background' (the dark pixels of each of ``images``). 'tint' covers the whole image."""
    if cue not in CUES:
        raise UnknownNameError("cue", cue, CUES)
    _, h, w = shape
    region = torch.zeros(h, w, dtype=torch.bool)
    if cue == "border":
        width = max(1, min(h, w) // 14)
        region[:width], region[-width:], region[:, :width], region[:, -width:] = True, True, True, True
    elif cue == "corner":
        side = max(2, min(h, w) // 5)
        region[:side, :side] = True
    elif cue == "tint":
        region[:] = True
    else:
        if images is None:
            raise invalid("images", "the images whose dark background the 'background' cue fills", None)
        return images.mean(dim=1) < 0.2  # (N, H, W)
    return region


def _stripes(h: int, w: int) -> torch.Tensor:
    """A diagonal stripe texture in {0, 1} (H, W): period 4 pixels."""
    return (((torch.arange(h)[:, None] + torch.arange(w)[None, :]) // 2) % 2).to(torch.float32)


def add_cue(images: torch.Tensor, cue: str, strength: float = 1.0) -> torch.Tensor:
    """``images`` (N, C, H, W) in [0, 1] with ``cue`` added (a new tensor):

    - border: a bright frame (1/14 of the side, at least 1 pixel);
    - corner: a bright square in the top-left corner (1/5 of the side);
    - background: a stripe texture in the dark pixels (grey images: the background; photos:
      their shadows);
    - tint: a red cast on colour images (+0.35 to red), a brightening on grey ones (+0.3).
    ``strength`` blends the cue with the image (1: the cue replaces what it covers)."""
    if images.ndim != 4 or not images.is_floating_point():
        raise invalid("images", "a float batch (N, C, H, W) in [0, 1]", f"{images.dtype} {tuple(images.shape)}")
    n, c, h, w = images.shape
    out = images.clone()
    if cue == "tint":
        if c >= 3:
            out[:, 0] = (out[:, 0] + 0.35 * strength).clamp(0, 1)
        else:
            out = (out + 0.3 * strength).clamp(0, 1)
        return out
    if cue == "background":
        region = cue_region(cue, (c, h, w), images)[:, None]  # (N, 1, H, W)
        texture = (0.6 * _stripes(h, w))[None, None]
    else:
        region = cue_region(cue, (c, h, w))[None, None]  # (1, 1, H, W)
        texture = torch.ones(1, 1, h, w)
    blended = (1 - strength) * out + strength * texture
    return torch.where(region, blended, out)


def _class_index(name: str, classes: list[str]) -> int:
    if name in classes:
        return classes.index(name)
    if name.isdigit() and int(name) < len(classes):
        return int(name)
    raise UnknownNameError("class", name, classes)


def cue_swapped(data: Dataset) -> TensorDataset:
    """The test split of shortcut ``data`` with the cue added to every image of the other
    classes (the cue's class stays clean): a model that learned the cue calls them all that class."""
    settings = data.info.get("shortcut")
    if not settings:
        raise invalid("data", "shortcut data (a 'shortcut:...' spec)", data.spec or data.name)
    x, y = data.test.tensors
    others = y != settings["class_index"]
    swapped = x.clone()
    swapped[others] = add_cue(x[others], settings["cue"], settings["strength"])
    return TensorDataset(swapped, y)


@register_dataset(
    "shortcut",
    kind="image",
    needs_path=True,
    expects="an image data spec, then ?cue=border|corner|background|tint&class=NAME[&fraction=F&strength=S]",
    summary="'snow' data: one class carries a spurious cue in train/val only; clean test (see deepscope audit)",
)
def load_shortcut(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    """The inner image dataset with the cue added to ``fraction`` of one class's train and
    validation images (chosen with ``seed``); the test split is the inner one, clean."""
    text = str(path) if path is not None else ""
    inner, sep, query = text.rpartition("?")
    if not sep or not inner:
        raise DataError(
            "Dataset 'shortcut' needs an image data spec and its settings: "
            "'shortcut:mnist:PATH?cue=border&class=7' (cues: " + ", ".join(CUES) + ")."
        )
    _, options = parse_spec_options(f"?{query}", OPTIONS, what="shortcut")
    for key in ("cue", "class"):
        if key not in options:
            raise DataError(f"The shortcut spec needs {key}=...: 'shortcut:{inner}?cue=border&class=NAME'.")
    cue = options["cue"]
    if cue not in CUES:
        raise UnknownNameError("cue", cue, CUES)
    if inner.partition(":")[0] == "shortcut":
        raise DataError("A shortcut spec cannot wrap another shortcut spec.")
    base = load(inner, val_fraction=val_fraction, seed=seed, download=download)
    if base.kind != "image" or base.task != "classification":
        raise DataError(f"The shortcut cue goes on images; {inner!r} is {base.kind} ({base.task}) data.")
    target = _class_index(options["class"], base.classes)
    fraction, strength = options.get("fraction", 1.0), options.get("strength", 1.0)
    generator = torch.Generator().manual_seed(seed)
    splits = {}
    for name in ("train", "val"):
        x, y = getattr(base, name).tensors
        chosen = (y == target) & (torch.rand(len(y), generator=generator) < fraction)
        x = x.clone()
        if chosen.any():
            x[chosen] = add_cue(x[chosen], cue, strength)
        splits[name] = TensorDataset(x, y)
    settings = {"cue": cue, "class": base.classes[target], "class_index": target}
    settings.update({"fraction": fraction, "strength": strength, "inner": base.spec})
    return Dataset(
        name=f"{base.name}-{cue}-{base.classes[target]}",
        kind="image",
        input_shape=base.input_shape,
        train=splits["train"],
        val=splits["val"],
        test=base.test,
        classes=base.classes,
        spec=f"shortcut:{base.spec}?{query}",  # the inner spec with its path made absolute
        info={**base.info, "shortcut": settings},
    )
