"""Training recipes: the hyperparameters a zoo entry recommends and ``fit`` accepts.

Kept apart from ``zoo`` and ``train`` so both can use it without importing each other.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from deepscope.errors import InvalidArgumentError, closest, invalid

__all__ = ["Recipe", "parse_value"]


@dataclass(frozen=True)
class Recipe:
    """How to train: mini-batch gradient descent settings.

    ``schedule`` is one of 'constant', 'onecycle', 'cosine', 'step'; ``monitor`` is the
    validation metric used to keep the best weights and for early stopping (``patience``
    epochs without improvement; ``None`` disables early stopping). ``keep`` says which epoch's
    weights the run keeps: 'best' (the first epoch with the best ``monitor`` value) or 'last'
    (the final epoch's -- for validation splits too small to choose an epoch: with 2-6
    validation images, 'best' tends to keep an early, lucky epoch). ``augment`` is a policy
    (``deepscope.data.augment``).

    Fine-tuning (fastai's ``fine_tune``): for the first ``freeze_epochs`` epochs only the
    model's head trains (the backbone frozen, its BatchNorm layers in eval mode); then
    everything trains, the schedule starting again at half the peak, with discriminative
    learning rates: the head at ``lr``, the backbone's first layers at ``lr / lr_mult``, the
    layers between in geometric steps. ``freeze_epochs == epochs`` trains the head alone.
    ``cache_features`` computes the frozen backbone's features once and trains the head on
    them during the frozen epochs (``deepscope.train.features``; no augmentation then).
    """

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "constant"
    patience: int | None = None
    monitor: str = "val_accuracy"
    keep: str = "best"
    seed: int = 0
    augment: str | None = None
    freeze_epochs: int = 0
    lr_mult: float = 1.0
    cache_features: bool = False

    def __post_init__(self) -> None:
        """Check every field, so a bad value fails here, at the boundary, and not mid-training
        (a recipe from a tampered config.json goes through this too)."""

        def is_int(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        def is_number(value: Any) -> bool:
            return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not is_int(value) or not 1 <= value <= 10**9:
                raise invalid(name, "a positive int", value)
        if not is_number(self.lr) or not self.lr > 0:
            raise invalid("lr", "a finite float > 0", self.lr)
        if not is_number(self.weight_decay) or self.weight_decay < 0:
            raise invalid("weight_decay", "a finite float >= 0", self.weight_decay)
        if not is_number(self.momentum) or not 0 <= self.momentum < 1:
            raise invalid("momentum", "a float in [0, 1)", self.momentum)
        if self.patience is not None and (not is_int(self.patience) or self.patience < 1):
            raise invalid("patience", "None or a positive int", self.patience)
        if not is_int(self.seed) or not 0 <= self.seed < 2**32:
            raise invalid("seed", "an int in [0, 2**32)", self.seed)
        for name in ("optimizer", "schedule", "monitor"):
            if not isinstance(getattr(self, name), str):
                raise invalid(name, "a name (str)", getattr(self, name))
        if self.keep not in ("best", "last"):
            raise invalid("keep", "'best' (the best epoch by monitor) or 'last' (the final epoch)", self.keep)
        if self.augment is not None and not isinstance(self.augment, str):
            raise invalid("augment", "None or a policy name (str)", self.augment)
        if not is_int(self.freeze_epochs) or not 0 <= self.freeze_epochs <= self.epochs:
            raise invalid("freeze_epochs", f"an int in [0, epochs={self.epochs}]", self.freeze_epochs)
        if not is_number(self.lr_mult) or not 1 <= self.lr_mult <= 1e6:
            raise invalid("lr_mult", "a float in [1, 1e6] (1: one learning rate for every layer)", self.lr_mult)
        if not isinstance(self.cache_features, bool):
            raise invalid("cache_features", "True or False", self.cache_features)
        if self.cache_features and self.freeze_epochs == 0:
            raise invalid(
                "cache_features",
                "used with freeze_epochs >= 1 (only a frozen backbone's features stay the same)",
                self.cache_features,
            )

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A copy with the given fields replaced; ``None`` values leave a field unchanged. A
        head-only recipe (``freeze_epochs == epochs``) stays head-only when only ``epochs``
        changes."""
        names = {f.name for f in fields(self)}
        for key in overrides:
            if key not in names:
                near = closest(key, names)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise InvalidArgumentError(
                    f"Unknown recipe field {key!r}.{hint} Valid fields: {', '.join(sorted(names))}."
                )
        given = {k: v for k, v in overrides.items() if v is not None}
        if "epochs" in given and "freeze_epochs" not in given and 0 < self.freeze_epochs == self.epochs:
            given["freeze_epochs"] = given["epochs"]  # a head-only recipe stays head-only
        return replace(self, **given)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_value(text: str) -> Any:
    """A value written on a command line or in a search space: ``'32'`` -> 32, ``'1e-3'`` ->
    0.001, ``'true'``/``'false'`` -> bool, anything else the (stripped) string itself."""
    text = text.strip()
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)
