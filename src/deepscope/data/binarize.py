"""Binary images for density models: ``binarized:SPEC``.

``binarized:mnist:PATH`` is MNIST with each pixel replaced by a Bernoulli draw whose
probability is the pixel's grey level, drawn once with the seed and then fixed -- the
stochastic binarisation of Salakhutdinov & Murray (2008), which the published negative
log-likelihoods of binarised MNIST (NADE, PixelCNN, ...) are measured on; Larochelle & Murray
(2011) published one such draw. Train, validation and test splits each get their own draws,
so the same seed gives the same binary images every time. ``?threshold=T`` sets each pixel to
1 where its grey level is above T, 0 elsewhere, instead (deterministic; likelihoods on it are
not comparable with the published ones: thresholded digits have smoother strokes and are
easier to model). Labels are kept.

Settings of the wrapped spec stay with it: ``binarized:images:DIR?stream=no&threshold=0.5``
gives ``stream=no`` to the image folder and ``threshold`` to the binarisation.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import torch
from torch.utils.data import TensorDataset

from deepscope.data.catalog import load, register_dataset
from deepscope.data.spec import Dataset
from deepscope.errors import DataError, InvalidArgumentError, closest, invalid

__all__ = ["OPTIONS", "binarize", "load_binarized"]

OPTIONS = ("threshold",)  # this spec's own settings; the others belong to the wrapped spec
SEED_OFFSET = 2_008  # binarisation draws: a stream of their own, apart from the split's seed
CHUNK = 8_192  # images binarised at a time (bounds the temporary memory)


def binarize(data: Dataset, seed: int = 0, threshold: float | None = None) -> Dataset:
    """``data`` (in-memory images with values in [0, 1]) with every pixel set to 0.0 or 1.0:
    a Bernoulli draw with the grey level as probability, drawn with ``seed`` (the same
    binary images for the same seed), or, with ``threshold``, 1.0 where the grey level is
    above it. Labels and the other tensors of each split are kept."""
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold < 1
    ):
        raise invalid("threshold", "a float in [0, 1)", threshold)
    if data.kind != "image" or len(data.input_shape) != 3:
        raise DataError(f"Binarisation turns grey images into binary ones; {data.name!r} is {data.kind} data.")
    generator = torch.Generator().manual_seed(seed + SEED_OFFSET)
    splits = {}
    for name in ("train", "val", "test"):
        split = data.split(name)
        x = split.tensors[0]
        if not isinstance(x, torch.Tensor):
            raise DataError(
                f"Binarisation needs {data.name!r} in memory; it is streamed from disk. "
                "Add '?stream=no' to the image folder's spec."
            )
        if len(x) and (float(x.min()) < 0 or float(x.max()) > 1):
            raise DataError(
                f"Binarisation reads pixels as probabilities in [0, 1]; the {name} split of {data.name!r} has values "
                f"in [{float(x.min()):.3g}, {float(x.max()):.3g}]."
            )
        binary = torch.empty(x.shape, dtype=torch.float32)  # (N, C, H, W) of 0.0 / 1.0
        for start in range(0, len(x), CHUNK):
            grey = x[start : start + CHUNK].float()
            if threshold is None:
                binary[start : start + CHUNK] = torch.bernoulli(grey, generator=generator)
            else:
                binary[start : start + CHUNK] = (grey > threshold).float()
        splits[name] = TensorDataset(binary, *split.tensors[1:])
    how = {"binarization": "stochastic", "seed": seed} if threshold is None else {"binarization": "threshold"}
    if threshold is not None:
        how["threshold"] = threshold
    spec = f"binarized:{data.spec}"
    if threshold is not None:
        spec += f"{'&' if '?' in data.spec else '?'}threshold={threshold:g}"
    return Dataset(
        name=f"{data.name}-binarized",
        kind="image",
        input_shape=data.input_shape,
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        classes=data.classes,
        task=data.task,
        spec=spec,
        info={**data.info, "binarized": {**how, "inner": data.spec}},
        files=data.files,
    )


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:  # also refuses nan
        raise invalid("threshold", "a float in [0, 1)", text)
    return value


@register_dataset(
    "binarized",
    kind="image",
    needs_path=True,
    expects="an image data spec with grey levels in [0, 1], e.g. binarized:mnist:PATH (then ?threshold=T optional)",
    summary="binary images for density models: each pixel a Bernoulli draw of its grey level, fixed by the seed",
)
def load_binarized(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    """The wrapped spec loaded, then binarised with ``seed`` (or ``?threshold=T``)."""
    inner, threshold = _split_options(str(path) if path is not None else "")
    if not inner or inner.startswith("?"):
        raise DataError("Dataset 'binarized' needs an image data spec to binarise: 'binarized:mnist:PATH'.")
    if inner.partition(":")[0].partition("?")[0] == "binarized":
        raise DataError("A binarized spec cannot wrap another binarized spec.")
    data = load(inner, val_fraction=val_fraction, seed=seed, download=download)
    return binarize(data, seed=seed, threshold=threshold)


def _split_options(text: str) -> tuple[str, float | None]:
    """Take ``threshold`` out of the settings after the spec's last '?'; the other settings
    stay with the wrapped spec (a setting whose name is close to ``threshold`` is refused as
    a likely typo, with a suggestion)."""
    inner, sep, query = text.rpartition("?")
    if not sep:
        return text, None
    threshold, rest = None, []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "threshold":
            if threshold is not None:
                raise InvalidArgumentError(
                    "The binarized option 'threshold' is given twice in the data spec; give it once."
                )
            threshold = _threshold(value)
        elif closest(key, OPTIONS):
            raise InvalidArgumentError(
                f"Unknown binarized option {key!r} in the data spec. Did you mean 'threshold'? "
                f"Valid options: {', '.join(OPTIONS)} (others go to the wrapped spec)."
            )
        else:
            rest.append((key, value))
    return (f"{inner}?{urlencode(rest, safe=',/:')}" if rest else inner), threshold
