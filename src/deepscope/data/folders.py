"""Image folders: one sub-folder per class, or a ``train/`` + ``test/`` pair of such folders.

::

    PATH/cat/001.png  PATH/dog/a.jpg ...                  -> test = 20% of each class (fixed seed)
    PATH/train/cat/... PATH/train/dog/... PATH/test/cat/... -> the two official splits

Class names are the sorted sub-folder names; files inside a class folder are found at any
depth; hidden files and folders (``.name``) are skipped. Every other file must be an image
PIL can read. Images may have any mode and size: all become RGB if any is colour (else grey
'L'), and all are resized to the most common size when sizes differ (``info`` says so).
Decoding runs in a thread pool (PIL releases the GIL while decoding).

torchvision's ``ImageFolder`` reads the same layout lazily, one file per ``__getitem__``;
here everything is decoded once into one tensor, as every deepscope Dataset is in memory.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import TensorDataset

from deepscope.data.catalog import register_dataset
from deepscope.data.images import RESAMPLE, decode, unit_float
from deepscope.data.spec import Dataset, split_train_val
from deepscope.errors import DataError

__all__ = ["TEST_FRACTION", "TEST_SEED", "decode_files", "list_class_files", "load_image_folder"]

TEST_FRACTION = 0.2
TEST_SEED = 1234  # fixed forever: the test split must never depend on user settings
CHUNK = 256  # files per thread-pool task: amortises the per-task overhead


def _visible(name: str) -> bool:
    return not name.startswith(".")


def list_class_files(folder: Path) -> dict[str, list[Path]]:
    """Class name -> sorted image files, for a folder with one sub-folder per class."""
    if not folder.exists():
        raise DataError(f"Image folder {folder} does not exist.")
    if not folder.is_dir():
        raise DataError(f"'images:PATH' must name a folder with one sub-folder per class. Received: {folder} (a file).")
    class_dirs = sorted(d for d in folder.iterdir() if d.is_dir() and _visible(d.name))
    if not class_dirs:
        loose = sum(1 for f in folder.iterdir() if f.is_file() and _visible(f.name))
        found = f"{loose} file(s) but no sub-folders" if loose else "nothing"
        raise DataError(
            f"Image folder {folder} must hold one sub-folder per class (e.g. {folder}/cat/1.png, "
            f"{folder}/dog/2.png). Received: {found}."
        )
    classes: dict[str, list[Path]] = {}
    for class_dir in class_dirs:
        files = []
        for root, dirs, names in os.walk(class_dir):
            dirs[:] = sorted(d for d in dirs if _visible(d))  # prune hidden folders, walk in order
            files.extend(Path(root) / n for n in sorted(names) if _visible(n))
        if not files:
            raise DataError(f"Class {class_dir.name!r} is empty: {class_dir} must hold at least one image file.")
        classes[class_dir.name] = files
    return classes


def _decode_chunk(paths: list[Path]) -> list[np.ndarray]:
    return [decode(p) for p in paths]


def decode_files(paths: list[Path], workers: int | None = None) -> list[np.ndarray]:
    """Decode ``paths`` in a thread pool, in order: uint8 (H, W) grey or (H, W, 3) colour each.
    The first unreadable file raises its DataError (naming it) and cancels the rest."""
    workers = workers or min(8, (os.cpu_count() or 2) * 2)
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    out: list[np.ndarray] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deepscope-decode") as pool:
        futures = [pool.submit(_decode_chunk, chunk) for chunk in chunks]
        try:
            for future in futures:
                out.extend(future.result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return out


def _stack(arrays: list[np.ndarray]) -> tuple[torch.Tensor, dict[str, str]]:
    """One (N, C, H, W) uint8 tensor from mixed modes and sizes, and notes on
    what was converted. Colour wins over grey; the most common size wins."""
    colour = any(a.ndim == 3 for a in arrays)
    sizes = Counter(a.shape[:2] for a in arrays)
    (h, w), _ = sizes.most_common(1)[0]
    c = 3 if colour else 1
    out = np.empty((len(arrays), h, w, c), dtype=np.uint8)  # (N, H, W, C)
    resized = 0
    for i, a in enumerate(arrays):
        if a.shape[:2] != (h, w):
            a = np.asarray(Image.fromarray(a).resize((w, h), RESAMPLE))
            resized += 1
        out[i] = a[..., None] if a.ndim == 2 else a  # grey broadcasts to all three channels
    notes = {"mode": "RGB" if colour else "L", "size": f"{h}x{w}"}
    if colour and any(a.ndim == 2 for a in arrays):
        notes["converted"] = f"{sum(a.ndim == 2 for a in arrays)} grey image(s) converted to RGB"
    if resized:
        seen = ", ".join(f"{hh}x{ww} ({n})" for (hh, ww), n in sizes.most_common(5))
        notes["resized"] = (
            f"{resized} of {len(arrays)} image(s) resized to {h}x{w} (the most common size); sizes seen: {seen}"
        )
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous(), notes  # (N, C, H, W) uint8


def _flatten(classes: dict[str, list[Path]], names: list[str]) -> tuple[list[Path], list[int]]:
    index = {name: i for i, name in enumerate(names)}
    paths = [p for name, files in classes.items() for p in files]
    labels = [index[name] for name, files in classes.items() for _ in files]
    return paths, labels


@register_dataset(
    "images",
    kind="image",
    needs_path=True,
    expects="a folder with one sub-folder of images per class, or train/ and test/ folders of that layout",
    summary="your own image files, one sub-folder per class (any size/mode; PIL formats)",
)
def load_image_folder(
    path: Path | None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False
) -> Dataset:
    """Images as (N, C, H, W) float32 in [0, 1]; class names from the sub-folder names."""
    if path is None:
        raise DataError("Dataset 'images' needs a path: 'images:PATH', where PATH holds one sub-folder per class.")
    path = Path(path)
    two_splits = (path / "train").is_dir() and (path / "test").is_dir()
    if two_splits:
        train_classes = list_class_files(path / "train")
        test_classes = list_class_files(path / "test")
        names = sorted(train_classes)
        unknown = sorted(set(test_classes) - set(train_classes))
        if unknown:
            raise DataError(
                f"Every class in {path / 'test'} must also be in {path / 'train'}. "
                f"Received test-only classes: {', '.join(unknown)}."
            )
    else:
        train_classes, test_classes = list_class_files(path), {}
        names = sorted(train_classes)
    if len(names) < 2:
        where = path / "train" if two_splits else path
        raise DataError(f"Image folder {where} must hold at least 2 class sub-folders. Received: {names}.")
    train_paths, train_labels = _flatten(train_classes, names)
    test_paths, test_labels = _flatten(test_classes, names)
    x, notes = _stack(decode_files(train_paths + test_paths))  # (N, C, H, W), both splits share mode and size
    y = torch.tensor(train_labels + test_labels, dtype=torch.long)
    n_train = len(train_paths)
    if two_splits:
        x_train, y_train = x[:n_train], y[:n_train]
        test = TensorDataset(x[n_train:].clone(), y[n_train:])
        layout = "train/ and test/ folders"
    else:
        rest, test = split_train_val(x, y, val_fraction=TEST_FRACTION, seed=TEST_SEED)
        x_train, y_train = rest.tensors
        layout = f"one folder; test split = {TEST_FRACTION:.0%} of each class (seed {TEST_SEED})"
    train, val = split_train_val(x_train, y_train, val_fraction=val_fraction, seed=seed)
    name = path.resolve().name or "images"
    return Dataset(
        name=name,
        kind="image",
        input_shape=tuple(x.shape[1:]),
        train=unit_float(train),
        val=unit_float(val),
        test=unit_float(test),
        classes=names,
        info={"source": str(path), "layout": layout, "files": len(y), **notes},
    )
