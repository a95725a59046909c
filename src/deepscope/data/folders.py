"""Image folders: one sub-folder per class, or a ``train/`` + ``test/`` pair of such folders.

::

    PATH/cat/001.png  PATH/dog/a.jpg ...                  -> test = 20% of each class (fixed seed)
    PATH/train/cat/... PATH/train/dog/... PATH/test/cat/... -> the two official splits

Class names are the sorted sub-folder names; files inside a class folder are found at any
depth; hidden files and folders (``.name``) are skipped. Every other file must be a regular
file holding an image in an allowed format (:data:`~deepscope.data.images.FORMATS`).

Loading reads every header first (size and mode, nothing decoded), so the common mode and
size are chosen and the memory the dataset needs is checked against the cap before any pixel
is decoded. Images may have any mode and size: all become RGB if any is colour (else grey
'L'), and all are resized to the most common size when sizes differ. Nothing is resized
silently: ``info['resized']`` counts the shrunk and the enlarged images and
``info['resized_files']`` names them with their sizes. Each file is decoded in a thread pool
(PIL releases the GIL) and resized as it is decoded (JPEGs much larger than the common size
at reduced scale), so a folder of huge images never sits in memory at full size.

Everything is decoded once into one tensor when it fits the memory cap; a larger folder
(or ``?stream=yes``) is streamed instead, one file per sample, in DataLoader workers, with
an optional memory-mapped cache (``?cache=yes``): see :mod:`deepscope.data.stream`.
"""

from __future__ import annotations

import contextvars
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.data.catalog import register_dataset
from deepscope.data.images import ImageHeader, probe_image, read_array, unit_float
from deepscope.data.options import parse_spec_options
from deepscope.data.spec import Dataset, split_train_val
from deepscope.data.stream import ImageFiles, ImageTable
from deepscope.errors import DataError

__all__ = ["TEST_FRACTION", "TEST_SEED", "decode_files", "list_class_files", "load_image_folder", "probe_files"]

TEST_FRACTION = 0.2
TEST_SEED = 1234  # fixed forever: the test split must never depend on user settings
CHUNK = 256  # files per thread-pool task: amortises the per-task overhead
MAX_LISTED = 20  # resized files named one by one in ``info``
T = TypeVar("T")


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


def _pool_map(function: Callable[[list[Path], int], list[T]], paths: list[Path], workers: int | None) -> list[T]:
    """``function(chunk, start)`` over chunks of ``paths`` in a thread pool, results in order.
    The first error (a DataError naming its file) is raised and the other chunks cancelled."""
    if len(paths) <= CHUNK:  # one chunk: a pool would run it in one thread anyway
        return function(paths, 0)
    workers = workers or min(8, (os.cpu_count() or 2) * 2)
    starts = range(0, len(paths), CHUNK)
    out: list[T] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deepscope-decode") as pool:
        # each task runs in a copy of this context: limits.override() holds in the workers too
        futures = [pool.submit(contextvars.copy_context().run, function, paths[i : i + CHUNK], i) for i in starts]
        try:
            for future in futures:
                out.extend(future.result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return out


def probe_files(paths: list[Path], workers: int | None = None) -> list[ImageHeader]:
    """Read the headers of ``paths`` (size and colour, nothing decoded), in order."""
    return _pool_map(lambda chunk, start: [probe_image(p) for p in chunk], paths, workers)


def _decode_one(path: Path, height: int, width: int, channels: int) -> np.ndarray:
    """One file as uint8 (height, width, channels), resized as it is decoded."""
    a = read_array(path, "RGB" if channels == 3 else "L", (width, height))  # (h, w) or (h, w, 3)
    return a[..., None] if a.ndim == 2 else a


def decode_files(paths: list[Path], size: tuple[int, int], channels: int, workers: int | None = None) -> np.ndarray:
    """Decode ``paths`` in a thread pool into one uint8 array (N, H, W, C) for ``size`` (H, W)
    and ``channels`` (1 grey, 3 RGB), in order. Each file is resized as it is decoded, so only
    one full-size image per thread is ever held. The first unreadable file raises its
    DataError (naming it) and cancels the rest."""
    height, width = size
    out = np.empty((len(paths), height, width, channels), dtype=np.uint8)  # (N, H, W, C)

    def chunk(part: list[Path], start: int) -> list[None]:
        for i, path in enumerate(part):
            out[start + i] = _decode_one(path, height, width, channels)
        return []

    _pool_map(chunk, paths, workers)
    return out


def _plan(headers: list[ImageHeader], root: Path) -> tuple[tuple[int, int], int, dict[str, Any]]:
    """The common size (H, W) (the most common one), the channels (3 if any image is colour),
    and notes for ``info`` on what will be converted and resized: every image whose size
    differs is named with its size, and images smaller than the common size (enlarged, which
    adds no detail) are counted apart."""
    colour = any(h.colour for h in headers)
    sizes = Counter((h.height, h.width) for h in headers)
    (height, width), _ = sizes.most_common(1)[0]
    notes: dict[str, Any] = {"mode": "RGB" if colour else "L", "size": f"{height}x{width}"}
    if colour and not all(h.colour for h in headers):
        notes["converted"] = f"{sum(not h.colour for h in headers)} grey image(s) converted to RGB"
    resized = [h for h in headers if (h.height, h.width) != (height, width)]
    if resized:
        enlarged = sum(h.height < height or h.width < width for h in resized)
        seen = ", ".join(f"{hh}x{ww} ({n})" for (hh, ww), n in sizes.most_common(5))
        notes["resized"] = (
            f"{len(resized)} of {len(headers)} image(s) resized to {height}x{width} (the most common size): "
            f"{len(resized) - enlarged} shrunk, {enlarged} enlarged; sizes seen: {seen}"
        )
        listed = [f"{_relative(h.path, root)}: {h.height}x{h.width} -> {height}x{width}" for h in resized[:MAX_LISTED]]
        if len(resized) > MAX_LISTED:
            listed.append(f"... and {len(resized) - MAX_LISTED} more")
        notes["resized_files"] = listed
    return (height, width), 3 if colour else 1, notes


def _check_pixels(root: Path, headers: list[ImageHeader], size: tuple[int, int]) -> None:
    """Before decoding: the common size must fit the pixel cap (every image is resized to it)."""
    (height, width), caps = size, limits.current()
    if height * width > caps.image_pixels:
        example = next(h.path for h in headers if (h.height, h.width) == size)
        raise DataError(
            f"Image folder {root}: the most common image size, {height}x{width} (e.g. {example}), is more than "
            f"the cap of {caps.image_pixels:,} pixels per image that all images would be resized to. "
            "If it is real, raise the cap: DEEPSCOPE_MAX_IMAGE_PIXELS=<count>."
        )


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _flatten(classes: dict[str, list[Path]], names: list[str]) -> tuple[list[Path], list[int]]:
    index = {name: i for i, name in enumerate(names)}
    paths = [p for name, files in classes.items() for p in files]
    labels = [index[name] for name, files in classes.items() for _ in files]
    return paths, labels


STREAM_CHOICES = ("auto", "yes", "no")


def _choice(value: str) -> str:
    if value not in STREAM_CHOICES:
        raise ValueError(value)
    return value


def _yes_no(value: str) -> bool:
    if value.lower() in ("yes", "true", "1"):
        return True
    if value.lower() in ("no", "false", "0"):
        return False
    raise ValueError(value)


@register_dataset(
    "images",
    kind="image",
    needs_path=True,
    expects="a folder with one sub-folder of images per class, or train/ and test/ folders of that layout; "
    "settings after '?': stream=auto|yes|no, cache=yes (e.g. images:photos?cache=yes)",
    summary="your own image files, one sub-folder per class (any size/mode; PIL formats)",
    reads_classes=True,
)
def load_image_folder(
    path: Path | None,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    download: bool = False,
    classes: list[str] | None = None,
) -> Dataset:
    """Images as (N, C, H, W) float32 in [0, 1]; class names from the sub-folder names.

    ``classes`` (the spec's ``classes=`` names): only those sub-folders' images are read and
    decoded -- 2 of CIFAR-10's 10 classes load 5 times faster; the others' samples stay as
    black images, so the splits are the ones a full load gives, and ``classes=`` then drops
    them. The common size and mode are planned from the images read. A name that is not a
    sub-folder (an index, a typo) reads everything, for ``classes=`` to resolve or refuse.

    Settings after '?': ``stream=auto`` (the default) decodes everything into memory when the
    float32 tensors fit the memory cap and streams otherwise (:mod:`deepscope.data.stream`);
    ``stream=yes``/``no`` force either path. ``cache=yes`` streams through a uint8
    memory-mapped cache at the target size, filled on the first pass. The splits are the
    same on both paths."""
    path, options = parse_spec_options(path, {"stream": _choice, "cache": _yes_no}, what="images")
    if path is None:
        raise DataError("Dataset 'images' needs a path: 'images:PATH', where PATH holds one sub-folder per class.")
    stream, cache = options.get("stream", "auto"), options.get("cache", False)
    if cache and stream == "no":
        raise DataError("`cache=yes` caches streamed images; it cannot go with `stream=no`. Drop one of them.")
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
    paths = train_paths + test_paths
    read = list(range(len(paths)))
    if classes is not None and set(classes) <= set(names):
        wanted = {names.index(c) for c in classes}
        read = [i for i, label in enumerate(train_labels + test_labels) if label in wanted]
    headers = probe_files([paths[i] for i in read])  # both splits share mode and size
    (height, width), channels, notes = _plan(headers, path)
    _check_pixels(path, headers, (height, width))
    what = f"Image folder {path} ({len(paths):,} images of {channels}x{height}x{width} as float32)"
    nbytes = len(paths) * channels * height * width * 4  # the skipped classes' black images too
    streamed = stream == "yes" or cache or (stream == "auto" and nbytes > limits.current().memory)
    if not streamed:
        try:
            limits.check_allocation(nbytes, what)
        except DataError as error:
            raise DataError(f"{error} Or stream it from disk: drop `stream=no` from the spec.") from None
    y = torch.tensor(train_labels + test_labels, dtype=torch.long)
    n_train = len(train_paths)
    positions = torch.arange(len(paths))
    try:  # the splits are computed on positions: the same on the streamed and in-memory paths
        if two_splits:
            rest, test = (
                TensorDataset(positions[:n_train], y[:n_train]),
                TensorDataset(positions[n_train:], y[n_train:]),
            )
            layout = "train/ and test/ folders"
        else:
            rest, test = split_train_val(positions, y, val_fraction=TEST_FRACTION, seed=TEST_SEED)
            layout = f"one folder; test split = {TEST_FRACTION:.0%} of each class (seed {TEST_SEED})"
        train, val = split_train_val(*rest.tensors, val_fraction=val_fraction, seed=seed)
    except DataError as error:  # too few images to split: say which folder
        raise DataError(f"Image folder {path} has too few images ({len(y)}) to split: {error}") from None
    if streamed:
        table = ImageTable(path, paths, (height, width), channels, cache=cache)
        splits = [ImageFiles(table, *split.tensors) for split in (train, val, test)]
        notes["streamed"] = (
            f"decoded on demand ({limits.format_bytes(nbytes)} as float32"
            + (f"; cache {table.cache_path}" if cache else "; no cache")
            + ")"
        )
    else:
        pixels = np.zeros((len(paths), height, width, channels), dtype=np.uint8)  # (N, H, W, C)
        pixels[read] = decode_files([paths[i] for i in read], (height, width), channels)
        x = torch.from_numpy(pixels).permute(0, 3, 1, 2)  # (N, C, H, W), a view
        splits = [
            unit_float(TensorDataset(x[pos].contiguous(), label))
            for pos, label in (s.tensors for s in (train, val, test))
        ]
    name = path.resolve().name or "images"
    return Dataset(
        name=name,
        kind="image",
        input_shape=(channels, height, width),
        train=splits[0],
        val=splits[1],
        test=splits[2],
        classes=names,
        info={"source": str(path), "layout": layout, "files": len(y), **notes},
    )
