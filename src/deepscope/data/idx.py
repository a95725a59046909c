"""MNIST and Fashion-MNIST from the standard IDX files (``.gz`` or not).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order, big-endian. The reader
checks every part of that and the length, so a wrong, damaged or truncated file fails with a
message naming it. (torchvision's ``read_sn3_pascalvincent_tensor`` reads the same format
but does not check the length nor name the file, and reads through torch; numpy's
``frombuffer`` on the whole file is the fast path here: all 70,000 MNIST images in ~0.5 s.)
"""

from __future__ import annotations

import math
import os
import zlib
from pathlib import Path
from typing import IO

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope import limits
from deepscope.data.catalog import register_dataset
from deepscope.data.download import cache_dir, download_dataset
from deepscope.data.images import unit_float
from deepscope.data.spec import Dataset, split_train_val
from deepscope.errors import DataError

__all__ = ["FASHION_MNIST_CLASSES", "IDX_FILES", "load_fashion_mnist", "load_idx_folder", "load_mnist", "read_idx"]

# IDX type code -> big-endian numpy dtype
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK = 1 << 20  # compressed bytes read from disk at a time
INFLATE_CHUNK = 16 << 20  # most bytes one decompress call may produce

# split -> (images file, labels file), as published (a '.gz' suffix is optional)
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
TORCHVISION_NAMES = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}  # its root/<Name>/raw/ folders
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


class _Inflater:
    """Reads a gzip file's decompressed bytes in bounded pieces: never more output than asked
    for, so a 2 MB file that inflates to gigabytes costs no more than the header allows.
    Concatenated gzip members (allowed by the format) are read one after the other."""

    def __init__(self, f: IO[bytes], path: Path):
        self.f, self.path = f, path
        self.z = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer (CRC, length) checked

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` from the stream; return how many bytes were filled (fewer only at its end)."""
        filled = 0
        try:
            while filled < len(view):
                if self.z.eof:  # a member ended: the file ends here too, or another member follows
                    rest = self.z.unused_data or self.f.read(READ_CHUNK)
                    if not rest:
                        break
                    self.z = zlib.decompressobj(wbits=31)
                    data = rest
                else:
                    data = self.z.unconsumed_tail or self.f.read(READ_CHUNK)
                out = self.z.decompress(data, min(len(view) - filled, INFLATE_CHUNK))
                view[filled : filled + len(out)] = out
                filled += len(out)
                if not data and not out and not self.z.eof:
                    raise DataError(
                        f"{self.path} is a truncated gzip file (it ends before the end of the stream); "
                        "download or copy it again."
                    )
        except zlib.error as error:
            raise DataError(f"{self.path} is a corrupt gzip file ({error}); download or copy it again.") from None
        return filled


class _Plain:
    """An uncompressed file, read with the same ``readinto`` as :class:`_Inflater`."""

    def __init__(self, f: IO[bytes]):
        self.f = f

    def readinto(self, view: memoryview) -> int:
        filled = 0
        while filled < len(view):
            n = self.f.readinto(view[filled:])
            if not n:
                break
            filled += n
        return filled


def _read_exactly(stream: _Inflater | _Plain, n: int) -> bytearray:
    buffer = bytearray(n)
    got = stream.readinto(memoryview(buffer))
    return buffer[:got] if got < n else buffer


def _shape_text(dims: tuple[int, ...]) -> str:
    """'60000 x 28 x 28'; a header with many dimensions is shortened."""
    if len(dims) > 6:
        return " x ".join(str(d) for d in dims[:3]) + f" x ... ({len(dims)} dimensions)"
    return " x ".join(str(d) for d in dims)


def _data_size(path: Path, dims: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes of data the header declares, refused before anything is allocated when a
    dimension is 0, the size overflows int64, or it exceeds the memory cap."""
    shape = _shape_text(dims)
    if 0 in dims:
        raise DataError(f"{path} is not a valid IDX file: every dimension must be at least 1. Received: {shape}.")
    size = math.prod(dims) * dtype.itemsize  # Python ints: cannot overflow
    if size >= 2**63:
        raise DataError(
            f"{path} is not a valid IDX file: its header declares a {shape} array of {dtype.name}, "
            "more than 2**63 bytes, more than any file can hold."
        )
    limits.check_allocation(size, f"IDX file {path} (a {shape} array of {dtype.name})")
    return size


def read_idx(path: Path | str) -> np.ndarray:
    """Read one IDX file (``.gz`` or not) into a native-endian numpy array of its declared
    shape, e.g. (60000, 28, 28) uint8 for ``train-images-idx3-ubyte``. Raises DataError
    naming the file when the magic number, type code, dimensions or length are wrong.

    Only the header is read before the size check: the declared dimensions must fit the
    memory cap (:mod:`deepscope.limits`), and a gzip file is inflated in bounded pieces up to
    the declared size and one byte more, never further. Only regular files are opened."""
    path = Path(path)
    with limits.open_regular(path, "IDX file") as f:
        compressed = f.read(2) == GZIP_MAGIC
        f.seek(0)
        stream: _Inflater | _Plain = _Inflater(f, path) if compressed else _Plain(f)
        magic = _read_exactly(stream, 4)
        if len(magic) < 4:
            raise DataError(
                f"{path} is not an IDX file: it must start with a 4-byte magic number. Received: {len(magic)} byte(s)."
            )
        zero, code, ndim = magic[:2], magic[2], magic[3]
        if zero != b"\x00\x00" or code not in IDX_TYPES:
            raise DataError(
                f"{path} is not an IDX file: its magic number must be 00 00 <type 08,09,0B,0C,0D,0E> <ndim>. "
                f"Received: {magic.hex(' ')}."
            )
        if ndim == 0:
            raise DataError(f"{path} is not a valid IDX file: it must declare at least 1 dimension. Received: 0.")
        header = 4 + 4 * ndim
        raw_dims = _read_exactly(stream, 4 * ndim)
        if len(raw_dims) < 4 * ndim:
            raise DataError(
                f"{path} is truncated: its header declares {ndim} dimension(s) ({header} bytes) "
                f"but the file holds {4 + len(raw_dims)} bytes."
            )
        dims = tuple(int.from_bytes(raw_dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
        dtype = np.dtype(IDX_TYPES[code])
        expected = _data_size(path, dims, dtype)
        shape = _shape_text(dims)
        if not compressed:  # the file's size tells before reading
            actual = os.fstat(f.fileno()).st_size - header
            if actual != expected:
                raise DataError(
                    f"{path} is {'truncated' if actual < expected else 'longer than its header says'}: "
                    f"a {shape} array of {dtype.name} needs {expected:,} bytes of data. Received: {actual:,} bytes."
                )
        data = _read_exactly(stream, expected)
        if len(data) < expected:
            raise DataError(
                f"{path} is truncated: a {shape} array of {dtype.name} needs {expected:,} bytes of data. "
                f"Received: {len(data):,} bytes."
            )
        if stream.readinto(memoryview(bytearray(1))):  # one byte more than declared: never inflate further
            received = "more (the rest was not read)" if compressed else "more (the file grew while being read)"
            raise DataError(
                f"{path} is longer than its header says: a {shape} array of {dtype.name} needs {expected:,} "
                f"bytes of data. Received: {received}."
            )
    array = np.frombuffer(data, dtype=dtype).reshape(dims)  # writable: backed by the bytearray
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))  # in place: no second copy
    return array


def _find(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz`` (uncompressed first: it reads faster). Failing a
    regular file, whatever holds the name (a FIFO, a device, a folder), so that reading it
    refuses it by name instead of calling the file missing."""
    candidates = (folder / stem, folder / f"{stem}.gz")
    return next((c for c in candidates if c.is_file()), None) or next((c for c in candidates if c.exists()), None)


def _missing(folder: Path) -> list[str]:
    return [stem for pair in IDX_FILES.values() for stem in pair if _find(folder, stem) is None]


def _resolve(folder: Path, torchvision_name: str) -> Path:
    """``folder``, or where torchvision keeps the same files below it (``raw/`` or
    ``<MNIST|FashionMNIST>/raw/``) when only that holds all four."""
    for candidate in (folder, folder / "raw", folder / torchvision_name / "raw"):
        if candidate.is_dir() and not _missing(candidate):
            return candidate
    return folder


def _read_split(folder: Path, split: str, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 1, H, W) uint8 and labels (N,) long of one split."""
    image_path, label_path = (_find(folder, stem) for stem in IDX_FILES[split])
    if image_path is None or label_path is None:  # the caller checked; files may vanish meanwhile
        raise DataError(f"{folder} must hold {' and '.join(IDX_FILES[split])} (each .gz or not).")
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{image_path} must hold images: a 3-d uint8 IDX array (N, H, W). "
            f"Received: {images.ndim}-d {images.dtype} array of shape {images.shape}."
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(
            f"{label_path} must hold labels: a 1-d uint8 IDX array (N,). "
            f"Received: {labels.ndim}-d {labels.dtype} array of shape {labels.shape}."
        )
    if len(images) != len(labels):
        raise DataError(
            f"{image_path} and {label_path} must hold the same number of samples. "
            f"Received: {len(images):,} images and {len(labels):,} labels."
        )
    if len(labels) and labels.max() >= num_classes:
        raise DataError(
            f"Labels in {label_path} must be integers in [0, {num_classes - 1}]. "
            f"Received: {int((labels >= num_classes).sum()):,} out of range, e.g. {int(labels.max())}."
        )
    x = torch.from_numpy(images).unsqueeze(1)  # (N, 1, H, W) uint8
    y = torch.from_numpy(labels.astype(np.int64))  # (N,)
    return x, y


def load_idx_folder(
    folder: Path | None,
    *,
    name: str,
    title: str,
    classes: list[str],
    val_fraction: float = 0.1,
    seed: int = 0,
    download: bool = False,
) -> Dataset:
    """Load an MNIST-format dataset from ``folder`` (default: the cache folder of ``name``),
    downloading missing files first when ``download`` is true. The official t10k files are
    the test split; validation is ``val_fraction`` of train, stratified with ``seed``."""
    in_cache = folder is None
    folder = cache_dir(name) if folder is None else Path(folder)
    if not in_cache and folder.exists() and not folder.is_dir():
        raise DataError(f"'{name}:PATH' must name a folder of IDX files. Received: {folder} (a file).")
    folder = _resolve(folder, TORCHVISION_NAMES.get(name, name))
    missing = _missing(folder) if folder.is_dir() else [s for pair in IDX_FILES.values() for s in pair]
    if missing and download:
        download_dataset(name, folder)
        missing = _missing(folder)
    if missing:
        where = f"the cache folder {folder}" if in_cache else f"{folder}"
        if not in_cache and not folder.exists():
            raise DataError(
                f"Folder {folder} does not exist. '{name}:PATH' must name a folder holding the "
                f"{title} IDX files ({', '.join(missing)}, each .gz or not); "
                "add --download to fetch them into it."
            )
        hint = (
            f"Put them there, pass a folder that holds them as '{name}:PATH', or add --download "
            f"(Python: load({name!r}, download=True)) to fetch them"
        )
        raise DataError(
            f"{title} files are missing from {where}: {', '.join(missing)} (each .gz or not). "
            + (hint if in_cache else "Add --download to fetch them into it")
            + "."
        )
    x_train, y_train = _read_split(folder, "train", len(classes))
    x_test, y_test = _read_split(folder, "test", len(classes))
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"{title} train and test images in {folder} must have the same size. "
            f"Received: {tuple(x_train.shape[2:])} and {tuple(x_test.shape[2:])}."
        )
    limits.check_allocation(4 * (x_train.numel() + x_test.numel()), f"{title} in {folder} as float32 images")
    train, val = split_train_val(x_train, y_train, val_fraction=val_fraction, seed=seed)
    return Dataset(
        name=name,
        kind="image",
        input_shape=tuple(x_train.shape[1:]),
        train=unit_float(train),
        val=unit_float(val),
        test=unit_float(TensorDataset(x_test, y_test)),
        classes=list(classes),
        info={"source": str(folder), "format": "IDX", "scale": "x/255"},
    )


_EXPECTS = (
    "a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte (each .gz or not); without PATH the cache folder, filled by --download"
)


@register_dataset(
    "mnist",
    kind="image",
    expects=_EXPECTS,
    downloadable=True,
    summary="MNIST handwritten digits, 28x28 grey, 60k train / 10k test (IDX files; PATH optional)",
)
def load_mnist(
    path: Path | None = None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False
) -> Dataset:
    """MNIST as (N, 1, 28, 28) float32 in [0, 1] with labels 0-9."""
    return load_idx_folder(
        path,
        name="mnist",
        title="MNIST",
        classes=[str(d) for d in range(10)],
        val_fraction=val_fraction,
        seed=seed,
        download=download,
    )


@register_dataset(
    "fashion-mnist",
    kind="image",
    expects=_EXPECTS,
    downloadable=True,
    summary="Fashion-MNIST clothing, 28x28 grey, 60k train / 10k test, 10 classes (IDX files; PATH optional)",
)
def load_fashion_mnist(
    path: Path | None = None, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False
) -> Dataset:
    """Fashion-MNIST as (N, 1, 28, 28) float32 in [0, 1] with its ten class names."""
    return load_idx_folder(
        path,
        name="fashion-mnist",
        title="Fashion-MNIST",
        classes=FASHION_MNIST_CLASSES,
        val_fraction=val_fraction,
        seed=seed,
        download=download,
    )
