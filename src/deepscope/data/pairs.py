"""Pairs of images for metric learning (Keras' mnist_siamese): ``pairs:SPEC``.

Each sample is two images stacked on a new axis, (2, C, H, W), with target 1.0 when both show
the same class and 0.0 when not. The pairs follow Keras' ``create_pairs``: for every class
and every i, images i and i+1 of that class make a positive pair, and image i with image i of
another class (drawn with the seed) a negative one -- so the pairs are balanced, and every
class appears as often as the rarest one allows. Each split pairs its own images (train with
train, test with test), so no test image is ever seen in training.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from deepscope.data.catalog import load, register_dataset
from deepscope.data.spec import Dataset
from deepscope.errors import DataError

__all__ = ["PAIR_CLASSES", "make_pairs", "pairs"]

PAIR_CLASSES = ["different", "same"]  # names of the targets 0.0 and 1.0


def make_pairs(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Balanced pairs of the images ``x`` (N, C, H, W) with labels ``y`` (N,): returns pairs
    (P, 2, C, H, W) alternating same-class and different-class, and targets (P,) of 1.0 / 0.0."""
    classes = torch.unique(y)
    if len(classes) < 2:
        raise DataError(f"Pairs need at least 2 classes to make different-class pairs; found {len(classes)}.")
    members = [torch.nonzero(y == c).flatten() for c in classes]
    n = min(len(m) for m in members) - 1  # pairs (i, i+1) per class
    if n < 1:
        counts = {int(c): len(m) for c, m in zip(classes, members)}
        short = [c for c, count in counts.items() if count < 2]
        raise DataError(f"Pairs need at least 2 images of every class; class {short[0]} has {counts[short[0]]}.")
    table = torch.stack([index[: n + 1] for index in members])  # (K, n+1): the first n+1 images of each class
    steps = torch.arange(n)
    anchors, partners = [], []
    for k in range(len(classes)):
        # a different class for each i: k + a random shift in 1..K-1 (Keras: random.randrange(1, K))
        other = (k + torch.randint(1, len(classes), (n,), generator=generator)) % len(classes)
        anchors.append(table[k, :n].repeat_interleave(2))  # image i twice
        partners.append(
            torch.stack([table[k, 1:], table[other, steps]], dim=1).flatten()
        )  # i+1, then another class's i
    a, b = torch.cat(anchors), torch.cat(partners)
    targets = torch.tensor([1.0, 0.0]).repeat(len(a) // 2)
    return torch.stack([x[a], x[b]], dim=1), targets  # (P, 2, C, H, W), (P,)


def pairs(data: Dataset, seed: int = 0) -> Dataset:
    """``data`` (labelled images) as balanced same/different pairs, split by split."""
    if data.kind != "image" or data.task != "classification" or not data.classes:
        raise DataError(f"Pairs are made of labelled images; {data.name!r} is {data.kind} {data.task} data.")
    if not isinstance(data.train.tensors[0], torch.Tensor):
        raise DataError(f"Pairs need {data.name!r} in memory; load it with '?stream=no'.")
    generator = torch.Generator().manual_seed(seed + 7_919)
    splits = {}
    for name in ("train", "val", "test"):
        x, y = data.split(name).tensors[:2]
        if len(x):
            try:
                splits[name] = TensorDataset(*make_pairs(x, y, generator))
            except DataError as error:
                raise DataError(f"The {name} split of {data.name!r}: {error}") from None
        else:
            splits[name] = TensorDataset(x.new_zeros((0, 2, *x.shape[1:])), torch.zeros(0))
    return Dataset(
        name=f"{data.name}-pairs",
        kind="image",
        input_shape=(2, *data.input_shape),
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        classes=None,
        task="pairs",
        spec=f"pairs:{data.spec}",
        info={**data.info, "pairs": {"inner": data.spec, "classes": list(data.classes), "targets": PAIR_CLASSES}},
    )


@register_dataset(
    "pairs",
    kind="image",
    needs_path=True,
    expects="a labelled image data spec, e.g. pairs:mnist:PATH (?per_class=N selects its images)",
    summary="metric learning: balanced same-class / different-class image pairs (Keras mnist_siamese)",
    wraps=True,
)
def load_pairs(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    inner = str(path) if path is not None else ""
    if inner.partition(":")[0] in ("pairs", "rotations", "simclr"):
        raise DataError("A pairs spec wraps a labelled image spec, not another pairs or pretext spec.")
    return pairs(load(inner, val_fraction=val_fraction, seed=seed, download=download), seed=seed)
