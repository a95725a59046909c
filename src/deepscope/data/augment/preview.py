"""A few training samples drawn through a policy, to look at before training with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from deepscope.data.augment.policy import Policy, resolve_policy
from deepscope.errors import invalid

if TYPE_CHECKING:
    from deepscope.data.spec import Dataset

__all__ = ["Preview", "preview"]


@dataclass(frozen=True)
class Preview:
    """``originals`` (n, *input_shape) beside ``augmented`` (versions, n, *input_shape);
    ``targets`` (versions, n, K) holds the soft labels after MixUp/CutMix, else None."""

    policy: Policy
    originals: torch.Tensor
    augmented: torch.Tensor
    labels: torch.Tensor
    targets: torch.Tensor | None
    classes: list[str] | None
    kind: str


def preview(data: Dataset, policy: str = "auto", *, n: int = 8, versions: int = 4, seed: int = 0) -> Preview:
    """``n`` seeded training samples of ``data`` (one per class first, while classes last) and
    ``versions`` augmented copies of them through ``policy``."""
    for name, value, high in (("n", n, 64), ("versions", versions, 16)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise invalid(name, f"an int in [1, {high}]", value)
    resolved = resolve_policy(policy, data)
    if resolved.views > 1:  # contrastive data: each version is one view of the sample
        resolved = Policy(resolved.requested, resolved.ops, resolved.reason, resolved.num_classes)
    x, y = data.train.tensors[0], data.train.tensors[1]
    if not len(x):
        raise invalid("data", "a dataset with training samples", repr(data))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    picked: list[int] = []
    if data.classes:  # one sample of each class in turn, so a grid shows every class it can
        seen: set[int] = set()
        for i in order.tolist():
            label = int(y[i])
            if label not in seen:
                seen.add(label)
                picked.append(i)
            if len(picked) == n:
                break
    chosen = set(picked)
    picked += [i for i in order.tolist() if i not in chosen][: n - len(picked)]
    index = torch.tensor(picked)
    originals, labels = x[index], y[index]
    outs, targets = [], []
    for version in range(versions):
        generator = torch.Generator().manual_seed(seed * 1_000 + version + 1)
        out, target = resolved(originals.clone(), labels, generator) if resolved else (originals.clone(), labels)
        outs.append(out)
        targets.append(target)
    soft = torch.stack(targets) if targets[0].ndim == 2 and labels.ndim == 1 else None
    return Preview(resolved, originals, torch.stack(outs), labels, soft, data.classes, data.kind)
