"""Training recipes: the hyperparameters a zoo entry recommends and ``fit`` accepts.

Kept apart from ``zoo`` and ``train`` so both can use it without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from deepscope.errors import InvalidArgumentError, closest

__all__ = ["Recipe"]


@dataclass(frozen=True)
class Recipe:
    """How to train: mini-batch gradient descent settings.

    ``schedule`` is one of 'constant', 'onecycle', 'cosine', 'step'; ``monitor`` is the
    validation metric used to keep the best weights and for early stopping (``patience``
    epochs without improvement; ``None`` disables early stopping).
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
    seed: int = 0
    augment: str | None = None

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A copy with the given fields replaced; ``None`` values leave a field unchanged."""
        names = {f.name for f in fields(self)}
        for key in overrides:
            if key not in names:
                near = closest(key, names)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise InvalidArgumentError(
                    f"Unknown recipe field {key!r}.{hint} Valid fields: {', '.join(sorted(names))}."
                )
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
