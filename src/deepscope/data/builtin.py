"""Built-in datasets that need no files: they ship with an installed package."""

from __future__ import annotations

from pathlib import Path

import torch

from deepscope.data.catalog import register_dataset
from deepscope.data.spec import Dataset, split_train_val
from deepscope.errors import DataError

__all__ = ["load_digits"]

DIGITS_TEST_FRACTION = 0.2
DIGITS_TEST_SEED = 1234  # fixed forever: the test split must never depend on user settings


@register_dataset(
    "digits",
    kind="image",
    expects="nothing (scikit-learn ships it)",
    summary="8x8 grey handwritten digits, 1,797 images, 10 classes (scikit-learn)",
)
def load_digits(
    path: Path | None = None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False
) -> Dataset:
    """scikit-learn's 8x8 digits scaled to [0, 1]: (N, 1, 8, 8), with a fixed stratified test split."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    if path is not None:
        raise DataError(f"Dataset 'digits' takes no path (it ships with scikit-learn). Received: digits:{path}")
    bunch = sk_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (1797, 1, 8, 8)
    y = torch.tensor(bunch.target, dtype=torch.long)
    idx = torch.arange(len(y)).numpy()
    train_idx, test_idx = train_test_split(
        idx, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_TEST_SEED, stratify=bunch.target
    )
    train, val = split_train_val(x[train_idx], y[train_idx], val_fraction=val_fraction, seed=seed)
    test = torch.utils.data.TensorDataset(x[test_idx], y[test_idx])
    return Dataset(
        name="digits",
        kind="image",
        input_shape=(1, 8, 8),
        train=train,
        val=val,
        test=test,
        classes=[str(d) for d in range(10)],
        info={"source": "sklearn.datasets.load_digits", "scale": "x/16"},
    )
