"""Settings every classification dataset takes in its spec: a subset of its classes and a
small labelled set, for transfer and small-data experiments.

``mnist:D?classes=0,1,2,3,4`` keeps five digits (labels renumbered 0..4 in the order given);
``images:CIFAR10?classes=automobile,truck&per_class=100`` keeps 100 labelled training images
of each class. ``per_class`` draws (seeded) from the training pool -- train and validation
together -- and the validation split is then carved from those, so a "100 per class" run has
seen 100 labelled images per class in all. The test split keeps every sample of the kept
classes, unless ``test_per_class=N`` keeps N of each -- a fixed draw (independent of the run's
seed), so every run and method scored on ``imdb:D?test_per_class=1000`` sees the same test
samples; for models too slow to score a large test split in full.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch.utils.data import TensorDataset

from deepscope.data.spec import Dataset, split_train_val
from deepscope.data.stream import concat, is_streamed
from deepscope.errors import DataError, InvalidArgumentError, closest

__all__ = ["SUBSET_OPTIONS", "select_classes", "subset"]

SUBSET_OPTIONS = ("classes", "per_class", "test_per_class")
TEST_SUBSET_SEED = 7_919  # fixed forever: a test subset never depends on the run's seed


def subset(data: Dataset, options: dict[str, str], *, val_fraction: float, seed: int) -> Dataset:
    """``data`` with the ``classes`` and ``per_class`` settings of its spec applied."""
    if not options:
        return data
    if data.task != "classification" or not data.classes:
        raise InvalidArgumentError(
            f"`classes`/`per_class`/`test_per_class` apply to classification data with named classes. Received them for "
            f"{data.name!r} (task={data.task!r})."
        )
    if "classes" in options:
        data = select_classes(data, _class_list(options["classes"], data.classes))
    if "per_class" in options:
        data = _per_class(data, _positive(options["per_class"]), val_fraction=val_fraction, seed=seed)
    if "test_per_class" in options:
        data = _test_per_class(data, _positive(options["test_per_class"], "test_per_class"))
    return data


def _positive(text: str, name: str = "per_class") -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10**9:
        raise InvalidArgumentError(f"`{name}` must be a positive int. Received: {name}={text!r}")
    return value


def _take(split, index: torch.Tensor, labels: torch.Tensor | None = None):
    """The samples of ``split`` at ``index``, relabelled ``labels`` if given; a streamed
    split stays streamed (nothing is decoded)."""
    if is_streamed(split):
        return split.take(index, labels)
    x, y = split.tensors[:2]
    return TensorDataset(x[index], y[index] if labels is None else labels)


def _test_per_class(data: Dataset, n: int) -> Dataset:
    """``n`` test samples of each class (all of a class that has fewer), a fixed draw, in
    their original order."""
    y = data.test.tensors[1]
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(TEST_SUBSET_SEED))
    index = torch.cat([order[y[order] == label][:n] for label in range(len(data.classes))]).sort().values
    return replace(data, test=_take(data.test, index), info={**data.info, "test_per_class": n})


def _class_list(text: str, classes: list[str]) -> list[int]:
    """'cat,dog' or '3,5' -> class indices, in the order given; names first, then indices."""
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    if len(wanted) < 2:
        raise InvalidArgumentError(f"`classes` must name at least two classes. Received: classes={text!r}")
    picked = []
    for name in wanted:
        if name in classes:
            picked.append(classes.index(name))
        elif name.isdigit() and int(name) < len(classes):
            picked.append(int(name))
        else:
            near = closest(name, classes)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            shown = ", ".join(classes[:20]) + (", ..." if len(classes) > 20 else "")
            raise InvalidArgumentError(
                f"`classes` must name classes of the data (or their indices). Received: {name!r}.{hint} "
                f"Classes: {shown}."
            )
    if len(set(picked)) != len(picked):
        raise InvalidArgumentError(f"`classes` must name each class once. Received: classes={text!r}")
    return picked


def select_classes(data: Dataset, keep: list[int]) -> Dataset:
    """Only the samples of classes ``keep`` (indices into ``data.classes``), relabelled
    0..len(keep)-1 in that order, in every split."""
    lookup = torch.full((len(data.classes),), -1, dtype=torch.long)
    lookup[torch.tensor(keep)] = torch.arange(len(keep))

    def pick(split):
        new = lookup[split.tensors[1]]
        index = (new >= 0).nonzero().flatten()
        return _take(split, index, new[index])

    return replace(
        data,
        train=pick(data.train),
        val=pick(data.val),
        test=pick(data.test),
        classes=[data.classes[i] for i in keep],
        info={**data.info, "classes_kept": [data.classes[i] for i in keep]},
    )


def _per_class(data: Dataset, n: int, *, val_fraction: float, seed: int) -> Dataset:
    if is_streamed(data.train):
        pool = concat(data.train, data.val)
    else:
        pool = TensorDataset(*(torch.cat([a, b]) for a, b in zip(data.train.tensors[:2], data.val.tensors[:2])))
    y = pool.tensors[1]
    generator = torch.Generator().manual_seed(seed + 104_729)
    order = torch.randperm(len(y), generator=generator)
    chosen = []
    for label in range(len(data.classes)):
        mine = order[y[order] == label][:n]
        if len(mine) < n:
            raise DataError(
                f"`per_class={n}` needs {n} training samples of class {data.classes[label]!r}; "
                f"{data.name!r} has {len(mine)}."
            )
        chosen.append(mine)
    index = torch.cat(chosen).sort().values
    train, val = split_train_val(index, y[index], val_fraction=val_fraction, seed=seed)  # positions in the pool
    return replace(
        data, train=_take(pool, train.tensors[0]), val=_take(pool, val.tensors[0]), info={**data.info, "per_class": n}
    )
