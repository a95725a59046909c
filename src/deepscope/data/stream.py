"""Image folders larger than memory: listed once, decoded lazily, optionally cached on disk.

``images:PATH`` decodes a folder into one in-memory tensor when it fits the memory cap (the
fast path, the default). When it does not -- or with ``images:PATH?stream=yes`` -- the splits
are :class:`ImageFiles`: the files are listed and their headers probed once (for the common
size and mode, exactly as the in-memory path plans them), and each sample is decoded when it
is asked for, resized as it is decoded, in the trainer's DataLoader workers. Resident memory
then holds a few batches, whatever the folder's size.

``?cache=yes`` keeps every decoded sample in a uint8 memory-mapped array at the target size
(``<deepscope home>/cache/images/<digest>.pixels``, N x H x W x C bytes, plus one "filled"
byte per sample): the first epoch decodes and writes, later epochs read the bytes back -- a
page-cache read instead of a JPEG decode. The digest covers the folder, every file's
relative path, size and modification time, the target size and the channels, so a changed
folder gets a new cache; nothing is ever read from a cache built for other files. Delete
the folder ``<deepscope home>/cache/images`` to reclaim the space.

Every split keeps the tensor-like interface the rest of deepscope reads: ``split.tensors``
is ``(ImageRows, labels)``, where :class:`ImageRows` decodes on indexing (``rows[5]``,
``rows[:64]``, ``rows[index_tensor]``) and refuses, before decoding, a request larger than
the memory cap. Reports, ``evaluate`` and the inspectors therefore work unchanged; only
the rows they touch are decoded.

torchvision's ``ImageFolder`` + ``DataLoader`` is the same idea; it is not used because the
planning (common size, colour, resize-on-decode of huge JPEGs, the memory and pixel caps,
errors naming the file) is deepscope's own and shared with the in-memory path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from deepscope import limits
from deepscope.data.images import read_array
from deepscope.errors import DataError

__all__ = ["BatchReader", "ImageFiles", "ImageRows", "ImageTable", "cache_folder", "is_streamed", "unit"]

FILLED = 1  # the flag byte of a cached row once its pixels are written


def cache_folder() -> Path:
    """Where image caches live: ``<deepscope home>/cache/images``."""
    from deepscope.data.download import deepscope_home

    return deepscope_home() / "cache" / "images"


def is_streamed(split: object) -> bool:
    """True for a split whose images are decoded on demand (:class:`ImageFiles`)."""
    return isinstance(split, ImageFiles)


@dataclass
class ImageTable:
    """Every file of one image folder (both splits), the size (H, W) and channels (1 or 3)
    each is decoded to, and the cache (``cache=True``). Opened memory maps are per process:
    a DataLoader worker opens its own on first use."""

    root: Path
    paths: list[Path]
    size: tuple[int, int]
    channels: int
    cache: bool = False
    digest: str = ""
    _maps: tuple[np.memmap, np.memmap] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = listing_digest(self.root, self.paths, self.size, self.channels)
        if self.cache:
            self._create_cache()

    def __getstate__(self) -> dict[str, Any]:  # a worker process reopens the maps itself
        return {**self.__dict__, "_maps": None}

    @property
    def sample_shape(self) -> tuple[int, int, int]:
        return (self.channels, *self.size)

    @property
    def cache_path(self) -> Path:
        return cache_folder() / f"{self.digest}.pixels"

    def _create_cache(self) -> None:
        """Create the cache files (sparse, all flags 0) unless they exist at the right size."""
        pixels, flags = self.cache_path, self.cache_path.with_suffix(".filled")
        nbytes = len(self.paths) * self.channels * self.size[0] * self.size[1]
        if pixels.is_file() and flags.is_file() and pixels.stat().st_size == nbytes:
            if flags.stat().st_size == len(self.paths):
                return
        pixels.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(pixels.parent).free
        if nbytes > free:
            raise DataError(
                f"The image cache for {self.root} needs {limits.format_bytes(nbytes)} of disk in {pixels.parent}; "
                f"{limits.format_bytes(free)} is free. Free some space, set DEEPSCOPE_HOME to a larger disk, "
                "or stream without the cache (drop cache=yes)."
            )
        for path, size in ((pixels, nbytes), (flags, len(self.paths))):  # flags last: a crash leaves no flags
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                f.truncate(size)  # sparse: no disk is used until a row is written
            os.replace(tmp, path)

    def _open(self) -> tuple[np.memmap, np.memmap]:
        if self._maps is None:
            shape = (len(self.paths), self.size[0], self.size[1], self.channels)
            pixels = np.memmap(self.cache_path, dtype=np.uint8, mode="r+", shape=shape)  # (N, H, W, C)
            flags = np.memmap(self.cache_path.with_suffix(".filled"), dtype=np.uint8, mode="r+", shape=(shape[0],))
            self._maps = (pixels, flags)
        return self._maps

    def read(self, row: int) -> np.ndarray:
        """File ``row`` as uint8 (H, W, C): from the cache when it holds it, else decoded
        (resized as it is decoded) and, with the cache on, written there (pixels first,
        then the flag, so a crash mid-write leaves the row unflagged)."""
        if self.cache:
            pixels, flags = self._open()
            if flags[row] == FILLED:
                return np.array(pixels[row])
        height, width = self.size
        a = read_array(self.paths[row], "RGB" if self.channels == 3 else "L", (width, height))
        a = np.require(a[..., None] if a.ndim == 2 else a, requirements="W")  # PIL's arrays are read-only
        if self.cache:
            pixels[row] = a
            flags[row] = FILLED
        return a

    def read_many(self, rows: torch.Tensor) -> np.ndarray:
        """Files ``rows`` (n,) as uint8 (n, H, W, C), in that order: the cached ones in one
        read of the map, the others decoded (and cached) one by one."""
        rows = rows.numpy() if isinstance(rows, torch.Tensor) else np.asarray(rows)
        out = np.empty((len(rows), *self.size, self.channels), dtype=np.uint8)  # (n, H, W, C)
        todo = np.arange(len(rows))
        if self.cache and len(rows):
            pixels, flags = self._open()
            filled = flags[rows] == FILLED
            out[filled] = pixels[rows[filled]]
            todo = np.flatnonzero(~filled)
        for j in todo:
            out[j] = self.read(int(rows[j]))
        return out

    def cached_rows(self) -> int:
        """How many rows the cache holds (0 without a cache)."""
        return int(np.count_nonzero(self._open()[1] == FILLED)) if self.cache else 0


def listing_digest(root: Path, paths: list[Path], size: tuple[int, int], channels: int) -> str:
    """A digest of the folder's listing (relative path, size and mtime of every file) and
    the decode settings: it names the cache and fingerprints the streamed data."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{Path(root).resolve()}|{size}|{channels}".encode())
    for path in paths:
        st = path.stat()
        digest.update(
            f"\n{path.relative_to(root) if path.is_relative_to(root) else path}|{st.st_size}|{st.st_mtime_ns}".encode()
        )
    return digest.hexdigest()


class ImageRows:
    """A lazy, read-only (N, C, H, W) float32 array of images in [0, 1]: indexing decodes.

    Supports ``len``, ``shape``, ``ndim``, ``dtype``, and indexing by an int, a slice, a
    list/1-D tensor of indices or a bool mask, each returning a real tensor. A request
    larger than the memory cap is refused before anything is decoded."""

    dtype = torch.float32
    ndim = 4

    def __init__(self, table: ImageTable, rows: torch.Tensor):
        self.table, self.rows = table, rows  # rows: (N,) int64 indices into table.paths

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.rows), *self.table.sample_shape))

    def is_floating_point(self) -> bool:
        return True

    def sample(self, i: int) -> torch.Tensor:
        """Sample ``i`` as float32 (C, H, W) in [0, 1]."""
        return unit(self.table.read(int(self.rows[i]))[None])[0]  # (H, W, C) uint8 -> (C, H, W)

    def __getitem__(self, key: Any) -> torch.Tensor:
        if isinstance(key, (int, np.integer)) or (
            isinstance(key, torch.Tensor) and key.ndim == 0 and not key.is_floating_point() and key.dtype != torch.bool
        ):
            return self.sample(int(key))
        picked = self.rows[key] if not isinstance(key, list) else self.rows[torch.as_tensor(key, dtype=torch.long)]
        picked = picked.reshape(-1)
        channels, height, width = self.table.sample_shape
        limits.check_allocation(
            len(picked) * channels * height * width * 4,
            f"{len(picked):,} streamed images of {channels}x{height}x{width} from {self.table.root} as float32",
        )
        return unit(self.table.read_many(picked))

    def numpy(self) -> np.ndarray:
        """Every row decoded (refused above the memory cap)."""
        return self[:].numpy()

    def __repr__(self) -> str:
        return f"ImageRows(shape={tuple(self.shape)}, root={str(self.table.root)!r})"


class ImageFiles(TorchDataset):
    """A split of an image folder, decoded on demand: ``split[i]`` is (float32 (C, H, W) in
    [0, 1], label int64). ``tensors`` is ``(ImageRows, labels (N,))`` for the code that reads
    a split the way it reads a TensorDataset."""

    def __init__(self, table: ImageTable, rows: torch.Tensor, labels: torch.Tensor):
        if len(rows) != len(labels):
            raise DataError(f"Rows and labels must have the same length. Received: {len(rows)} and {len(labels)}.")
        self.table, self.rows, self.labels = table, rows.long(), labels.long()

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs.sample(i), self.labels[i]

    @property
    def inputs(self) -> ImageRows:
        return ImageRows(self.table, self.rows)

    @property
    def tensors(self) -> tuple[ImageRows, torch.Tensor]:
        return self.inputs, self.labels

    def batch(self, index: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``index`` as uint8 (n, C, H, W) and their labels (n,): what a DataLoader
        worker sends (4x fewer bytes than float32); :func:`unit` scales it."""
        index_t = torch.as_tensor(index, dtype=torch.long)
        pixels = torch.from_numpy(self.table.read_many(self.rows[index_t]))  # (n, H, W, C)
        return pixels.permute(0, 3, 1, 2).contiguous(), self.labels[index_t]

    def take(self, index: torch.Tensor, labels: torch.Tensor | None = None) -> ImageFiles:
        """The samples at ``index`` (positions in this split), with new ``labels`` if given."""
        index = torch.as_tensor(index, dtype=torch.long)
        return ImageFiles(self.table, self.rows[index], self.labels[index] if labels is None else labels)

    def digest(self) -> str:
        """The table's listing digest with this split's rows and labels: a fingerprint that
        changes when a file or a label changes, computed without decoding."""
        digest = hashlib.blake2b(self.table.digest.encode(), digest_size=16)
        digest.update(self.rows.numpy().tobytes())
        digest.update(self.labels.numpy().tobytes())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"ImageFiles({len(self)} images of {self.table.sample_shape} from {str(self.table.root)!r})"


class BatchReader(TorchDataset):
    """``split`` read a batch at a time: ``reader[[i, j, ...]]`` is ``split.batch([i, j, ...])``.
    A DataLoader with ``batch_size=None`` and a sampler of index lists hands each list to one
    worker, which decodes the batch and sends it whole (no per-sample collation)."""

    def __init__(self, split: ImageFiles):
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split.batch(index)


def unit(pixels: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 images, (n, H, W, C) numpy or (n, C, H, W) tensor, as float32 (n, C, H, W) in [0, 1]."""
    if isinstance(pixels, np.ndarray):
        pixels = torch.from_numpy(pixels).permute(0, 3, 1, 2)
    return pixels.float().div_(255.0)


def concat(a: ImageFiles, b: ImageFiles) -> ImageFiles:
    """Two splits of the same table as one (``a``'s samples first)."""
    if a.table is not b.table:
        raise DataError("Only splits of the same image folder can be joined.")
    return ImageFiles(a.table, torch.cat([a.rows, b.rows]), torch.cat([a.labels, b.labels]))
