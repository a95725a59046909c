"""Labels that come from the data itself: the rotation pretext task (Gidaris et al. 2018) and
SimCLR's contrastive task (Chen et al. 2020).

``rotations:SPEC`` is the image dataset SPEC with its labels thrown away: every image is turned
by 0, 90, 180 or 270 degrees (one turn per image, drawn with the seed) and labelled by its
turn. A network that learns to tell the turns apart has to recognise what is upright in the
images -- strokes, shapes, objects -- which is what a classifier of the real labels needs too,
so its layers are a backbone to fine-tune on the few labelled images there are
(``deepscope pretrain``, then ``deepscope finetune RUN``).

``simclr:SPEC`` is the data SPEC for contrastive learning (task ``contrastive``): the trainer
makes two random views of every training sample per batch with the run's augmentation policy
(``auto``: SimCLR's crops and colour for photographs, crops, small rotations and erasing for
digits) and the network learns embeddings in which each view finds its partner among the
batch (:class:`deepscope.train.tasks.Contrastive`). Its validation and test splits hold fixed
pairs of views (drawn once with the seed), so the validation score means the same every
epoch. The zoo model's last layer outputs the embedding (``projection_dim`` = 128 numbers);
fine-tuning replaces it by a head for the real classes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from deepscope.data.catalog import load, register_dataset
from deepscope.data.spec import Dataset
from deepscope.errors import DataError

__all__ = ["PROJECTION_DIM", "TURNS", "contrastive", "rotations"]

PROJECTION_DIM = 128  # SimCLR's projection output size

TURNS = ["0", "90", "180", "270"]  # class names: degrees counter-clockwise


def rotations(data: Dataset, seed: int = 0) -> Dataset:
    """``data`` (square images) with each image turned by a random multiple of 90 degrees and
    labelled by the turn (0..3); the original labels are not used."""
    if data.kind != "image" or len(data.input_shape) != 3 or data.input_shape[1] != data.input_shape[2]:
        raise DataError(
            f"The rotation task turns square images; {data.name!r} is {data.kind} data of shape {data.input_shape}."
        )
    generator = torch.Generator().manual_seed(seed + 31_337)
    splits = {}
    for name in ("train", "val", "test"):
        x = data.split(name).tensors[0]
        turns = torch.randint(0, 4, (len(x),), generator=generator)
        turned = x.clone()
        for k in (1, 2, 3):
            chosen = turns == k
            if chosen.any():
                turned[chosen] = torch.rot90(x[chosen], k, dims=(2, 3))  # (n, C, H, W), counter-clockwise
        splits[name] = TensorDataset(turned, turns)
    return Dataset(
        name=f"{data.name}-rotations",
        kind="image",
        input_shape=data.input_shape,
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        classes=list(TURNS),
        spec=f"rotations:{data.spec}",
        info={**data.info, "pretext": {"task": "rotation", "inner": data.spec}},
    )


def contrastive(data: Dataset, seed: int = 0) -> Dataset:
    """``data`` for contrastive pre-training: the training samples with their labels dropped,
    and validation/test splits of fixed view pairs (rows 2i and 2i+1 are two views of sample
    i) made with the ``auto`` contrastive policy; ``info['projection_dim']`` sizes the
    embedding."""
    from deepscope.data.augment import resolve_policy

    train = data.train.tensors[0]
    unlabelled = Dataset(
        name=f"{data.name}-simclr",
        kind=data.kind,
        input_shape=data.input_shape,
        train=TensorDataset(train, torch.zeros(len(train), dtype=torch.long)),
        val=TensorDataset(data.val.tensors[0][:0], torch.zeros(0, dtype=torch.long)),
        test=TensorDataset(data.test.tensors[0][:0], torch.zeros(0, dtype=torch.long)),
        task="contrastive",
        spec=f"simclr:{data.spec}",
        info={**data.info, "pretext": {"task": "simclr", "inner": data.spec}, "projection_dim": PROJECTION_DIM},
        files=data.files,
    )
    views = resolve_policy("auto", unlabelled)
    generator = torch.Generator().manual_seed(seed + 65_537)
    pairs = {}
    for name in ("val", "test"):
        x = data.split(name).tensors[0]
        pairs[name] = TensorDataset(*views(x, torch.arange(len(x)), generator))  # (2n, ...), pair ids
    info = {**unlabelled.info, "pretext": {**unlabelled.info["pretext"], "pairs": str(views)}}
    return dataclasses.replace(unlabelled, val=pairs["val"], test=pairs["test"], info=info)


@register_dataset(
    "rotations",
    kind="image",
    needs_path=True,
    expects="an image data spec (square images), e.g. rotations:mnist:PATH",
    summary="self-supervised pretext task: each image turned 0/90/180/270 degrees, labelled by its turn",
)
def load_rotations(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    inner = _inner_spec(path, "A rotations spec cannot wrap another rotations spec.")
    return rotations(load(inner, val_fraction=val_fraction, seed=seed, download=download), seed=seed)


@register_dataset(
    "simclr",
    kind="image",
    needs_path=True,
    expects="a data spec, e.g. simclr:mnist:PATH",
    summary="self-supervised contrastive task (SimCLR): two random views of each sample must find each other",
)
def load_contrastive(path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    inner = _inner_spec(path, "A simclr spec cannot wrap another pretext task's spec.")
    return contrastive(load(inner, val_fraction=val_fraction, seed=seed, download=download), seed=seed)


def _inner_spec(path: Path | None, refusal: str) -> str:
    """The spec a pretext spec wraps; another pretext spec is refused with ``refusal``."""
    inner = str(path) if path is not None else ""
    if inner.partition(":")[0] in ("rotations", "simclr"):
        raise DataError(refusal)
    return inner
