"""CIFAR-10 from the official python batches, read without trusting the pickles.

The batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``, ``batches.meta``) are
Python pickles. ``pickle.load`` on a file can run any code, so they are read with
:class:`SafeUnpickler`, which rebuilds numpy arrays, dicts, lists, numbers and strings and
refuses every other global (``os.system``, ``builtins.eval``, ...) with a DataError.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope.data.catalog import register_dataset
from deepscope.data.download import cache_dir, download_dataset
from deepscope.data.images import unit_float
from deepscope.data.spec import Dataset, split_train_val
from deepscope.errors import DataError

__all__ = ["CIFAR10_CLASSES", "SafeUnpickler", "load_cifar10", "read_batch", "safe_unpickle"]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
SUBFOLDER = "cifar-10-batches-py"  # what the official tar.gz extracts to

try:  # numpy >= 2 (numpy 1.26 has numpy._core too, as a shim for reading numpy 2 pickles)
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - older numpy
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]
    from numpy.core import numeric as _numeric  # type: ignore[no-redef]


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Python 3 pickles of protocol < 3 store bytes as ``_codecs.encode(text, 'latin1')``;
    only that use is allowed."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin1")


# The only globals a batch may name: what numpy needs to rebuild arrays and scalars, under its
# numpy 1 ('numpy.core') and numpy 2 ('numpy._core') module names.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}
for _module in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_module}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED[(f"{_module}.multiarray", "scalar")] = _multiarray.scalar
    _ALLOWED[(f"{_module}.numeric", "_frombuffer")] = _numeric._frombuffer


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that can only build numpy arrays and plain Python containers.
    ``path`` names the file in error messages."""

    def __init__(self, file: io.BufferedIOBase, path: Path):
        super().__init__(file, encoding="bytes")  # the batches were written by Python 2
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.path} is not a plain CIFAR batch: it refers to {module}.{name}, and deepscope only "
                "unpickles numpy arrays, lists, dicts, numbers and strings (a pickle can run code)."
            ) from None


def safe_unpickle(path: Path) -> Any:
    """Unpickle ``path`` with :class:`SafeUnpickler`; any failure is a DataError naming it."""
    try:
        with open(path, "rb") as f:
            return SafeUnpickler(f, path).load()
    except FileNotFoundError:
        raise DataError(f"CIFAR batch {path} does not exist.") from None
    except DataError:
        raise
    except Exception as error:  # a non-pickle raises any of a dozen types (UnpicklingError, EOFError, ...)
        raise DataError(
            f"{path} is not a CIFAR-10 python batch (a pickled dict): {type(error).__name__}: {error}"
        ) from None


def _plain_keys(obj: dict) -> dict:
    """Keys as str whether written by Python 2 (bytes) or 3 (str)."""
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    batch = safe_unpickle(path)
    if not isinstance(batch, dict):
        raise DataError(f"{path} must hold a dict with 'data' and 'labels'. Received: a {type(batch).__name__}.")
    batch = _plain_keys(batch)
    if "data" not in batch or "labels" not in batch:
        hint = " (this looks like CIFAR-100, which has 'fine_labels')" if "fine_labels" in batch else ""
        raise DataError(f"{path} must hold a dict with 'data' and 'labels'. Received keys: {sorted(batch)}{hint}.")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        received = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"'data' in {path} must be a uint8 array of shape (N, 3072). Received: {received}.")
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise DataError(f"'labels' in {path} must be a list of integers.") from None
    if y.shape != (len(data),):
        raise DataError(
            f"'labels' in {path} must hold one integer per image ({len(data):,}). Received: shape {y.shape}."
        )
    if len(y) and (y.min() < 0 or y.max() >= len(CIFAR10_CLASSES)):
        bad = y[(y < 0) | (y >= len(CIFAR10_CLASSES))]
        raise DataError(
            f"'labels' in {path} must be integers in [0, 9]. Received: {len(bad)} out of range, e.g. {bad[0]}."
        )
    return data.reshape(-1, 3, 32, 32), y  # rows are 1024 red, 1024 green, 1024 blue values


def _class_names(folder: Path) -> tuple[list[str], str]:
    """Class names from batches.meta, or the published ones when the file is absent."""
    path = folder / META
    if not path.is_file():
        return list(CIFAR10_CLASSES), "built-in (batches.meta absent)"
    meta = safe_unpickle(path)
    names = _plain_keys(meta).get("label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != 10:
        raise DataError(f"{path} must hold a dict whose 'label_names' lists the 10 class names.")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names], str(path)


def _batch_folder(path: Path) -> Path:
    """PATH itself or PATH/cifar-10-batches-py, whichever holds data_batch_1."""
    for folder in (path, path / SUBFOLDER):
        if (folder / TRAIN_BATCHES[0]).is_file():
            return folder
    return path


def _missing(folder: Path) -> list[str]:
    return [n for n in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / n).is_file()]


def _to_tensors(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    x = np.concatenate([p[0] for p in parts])  # (N, 3, 32, 32) uint8
    y = np.concatenate([p[1] for p in parts])  # (N,)
    return torch.from_numpy(x), torch.from_numpy(y)  # uint8 images, scaled after splitting


@register_dataset(
    "cifar10",
    kind="image",
    downloadable=True,
    expects=f"a folder with data_batch_1..5 and test_batch (+ batches.meta), or the {SUBFOLDER} folder "
    "inside it; without PATH the cache folder, filled by --download",
    summary="CIFAR-10 colour photos, 32x32, 50k train / 10k test, 10 classes (python batches; PATH optional)",
)
def load_cifar10(
    path: Path | None = None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False
) -> Dataset:
    """CIFAR-10 as (N, 3, 32, 32) float32 in [0, 1]; test_batch is the test split."""
    in_cache = path is None
    root = cache_dir("cifar10") if path is None else Path(path)
    if not in_cache and not root.is_dir():
        what = "does not exist" if not root.exists() else "is a file"
        raise DataError(f"'cifar10:PATH' must name a folder of CIFAR-10 python batches. Received: {root} ({what}).")
    folder = _batch_folder(root)
    missing = _missing(folder)
    if missing and download:
        download_dataset("cifar10", root)
        folder = _batch_folder(root)
        missing = _missing(folder)
    if missing:
        where = f"the cache folder {root}" if in_cache else str(root)
        how = (
            "Put the extracted cifar-10-batches-py folder there, pass its folder as 'cifar10:PATH', "
            "or add --download (Python: load('cifar10', download=True))"
            if in_cache
            else "Add --download to fetch them into it"
        )
        raise DataError(
            f"CIFAR-10 batches are missing from {where} (also looked in {SUBFOLDER}/): {', '.join(missing)}. {how}."
        )
    classes, names_from = _class_names(folder)
    x_train, y_train = _to_tensors([read_batch(folder / n) for n in TRAIN_BATCHES])  # (50000, 3, 32, 32)
    x_test, y_test = _to_tensors([read_batch(folder / TEST_BATCH)])  # (10000, 3, 32, 32)
    train, val = split_train_val(x_train, y_train, val_fraction=val_fraction, seed=seed)
    return Dataset(
        name="cifar10",
        kind="image",
        input_shape=(3, 32, 32),
        train=unit_float(train),
        val=unit_float(val),
        test=unit_float(TensorDataset(x_test, y_test)),
        classes=classes,
        info={"source": str(folder), "format": "CIFAR-10 python batches", "scale": "x/255", "classes_from": names_from},
    )
