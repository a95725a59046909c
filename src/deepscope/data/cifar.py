"""CIFAR-10 from the official python batches, read without trusting the pickles.

The batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``, ``batches.meta``) are
Python pickles. ``pickle.load`` on a file can run any code, so they are read with
:class:`SafeUnpickler`, which rebuilds numpy arrays, dicts, lists, numbers and strings and
refuses every other global (``os.system``, ``builtins.eval``, ...) with a DataError.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from deepscope import limits
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


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Python 3 pickles of protocol < 3 store bytes as ``_codecs.encode(text, 'latin1')``;
    only that use is allowed."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    """Python 3 pickles of protocol < 3 store ``b''`` as ``bytes()``; only that use is allowed
    (``bytes(10**10)`` would allocate 10 GB of zeros)."""
    if args:
        raise pickle.UnpicklingError("bytes(...) with arguments is not allowed")
    return b""


# Array element types a batch may hold: numbers only (no objects, strings or records).
_NUMERIC = frozenset(f"{k}{n}" for k, sizes in (("i", "1248"), ("u", "1248"), ("f", "248")) for n in sizes) | {"b1"}


class _Dtype:
    """What ``numpy.dtype(...)`` builds while unpickling: a numeric type name and a byte order,
    checked, turned into a real dtype only where an array or scalar is built from it."""

    def __init__(self, name: Any, align: Any = False, copy: Any = True):
        name = name.decode("latin1") if isinstance(name, bytes) else name
        if name not in _NUMERIC:
            raise pickle.UnpicklingError(f"numpy dtype {name!r} is not allowed (numeric types only)")
        self.name, self.order = name, "="

    def __setstate__(self, state: Any) -> None:
        # numpy's dtype state: (version, byte order, subarray, names, fields, elsize, alignment, flags[, meta])
        if not isinstance(state, tuple) or len(state) < 5 or any(part is not None for part in state[2:5]):
            raise pickle.UnpicklingError("numpy dtype state must be a plain numeric type (no fields or subarrays)")
        order = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]
        if order not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"numpy dtype byte order must be <, >, | or =. Received: {order!r}")
        self.order = order

    def resolve(self) -> np.dtype:
        return np.dtype(self.name).newbyteorder(self.order if self.order != "|" else "=")


def _as_dtype(dtype: Any) -> np.dtype:
    if not isinstance(dtype, _Dtype):
        raise pickle.UnpicklingError(f"an array's dtype must be a numpy dtype. Received: {type(dtype).__name__}")
    return dtype.resolve()


def _as_shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or any(type(d) is not int or d < 0 for d in shape) or len(shape) > 32:
        raise pickle.UnpicklingError(f"an array's shape must be a tuple of at most 32 sizes >= 0. Received: {shape!r}")
    return shape


def _checked_size(shape: tuple[int, ...], dtype: np.dtype, raw: Any) -> None:
    """An array is rebuilt only from data bytes present in the file: exactly shape x itemsize
    of them (no uninitialised memory, no zero-stride views). So no array outgrows the file,
    which :func:`safe_unpickle` held to the memory cap before reading it."""
    if not isinstance(raw, (bytes, bytearray)):
        raise pickle.UnpicklingError(f"an array's data must be bytes. Received: {type(raw).__name__}")
    nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if nbytes != len(raw):
        raise pickle.UnpicklingError(
            f"an array of shape {shape} and dtype {dtype.name} needs {nbytes:,} bytes of data. "
            f"Received: {len(raw):,} bytes"
        )


class _Array(np.ndarray):
    """What ``_reconstruct`` builds: an empty array that takes its shape and data only from a
    checked state (numpy pickles every array as ``_reconstruct(ndarray, (0,), 'b')`` + state)."""

    def __setstate__(self, state: Any) -> None:
        # numpy's array state: (version, shape, dtype, is_fortran, raw data bytes)
        if not isinstance(state, tuple) or len(state) != 5 or not isinstance(state[3], bool):
            raise pickle.UnpicklingError("a numpy array's state must be (version, shape, dtype, is_fortran, bytes)")
        version, shape, dtype, fortran, raw = state
        shape, dtype = _as_shape(shape), _as_dtype(dtype)
        _checked_size(shape, dtype, raw)
        super().__setstate__((version, shape, dtype, fortran, raw))


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> _Array:
    if cls is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise pickle.UnpicklingError(
            "numpy arrays must be pickled the standard way: _reconstruct(ndarray, (0,), 'b') then their state"
        )
    return _Array((0,), np.int8)


def _frombuffer(raw: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """numpy >= 1.16 pickles contiguous arrays (protocol 5) as ``_frombuffer(bytes, dtype, shape, order)``."""
    shape, dtype = _as_shape(shape), _as_dtype(dtype)
    if order not in ("C", "F"):
        raise pickle.UnpicklingError(f"an array's order must be 'C' or 'F'. Received: {order!r}")
    _checked_size(shape, dtype, raw)
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order)


def _scalar(dtype: Any, raw: Any) -> Any:
    """A numpy scalar such as np.int64(7): exactly one item's bytes."""
    dtype = _as_dtype(dtype)
    if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise pickle.UnpicklingError(f"a numpy {dtype.name} scalar needs {dtype.itemsize} bytes of data")
    return np.frombuffer(raw, dtype=dtype)[0]


class _NdarrayName:
    """``numpy.ndarray`` itself may only be named as the first argument of ``_reconstruct``:
    calling it would build views of any shape and strides over a few bytes."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise pickle.UnpicklingError("calling numpy.ndarray directly is not allowed (it can make views of any size)")


_NDARRAY = _NdarrayName()

# The only globals a batch may name: checked stand-ins for what numpy needs to rebuild arrays
# and scalars, under its numpy 1 ('numpy.core') and numpy 2 ('numpy._core') module names.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _Dtype,
    ("_codecs", "encode"): _latin1_encode,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}
for _module in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_module}.multiarray", "_reconstruct")] = _reconstruct
    _ALLOWED[(f"{_module}.multiarray", "scalar")] = _scalar
    _ALLOWED[(f"{_module}.numeric", "_frombuffer")] = _frombuffer

MAX_OPCODES = 2_000_000  # an official batch has ~40,000; each opcode may build one small object
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


def _check_opcodes(data: bytes, path: Path) -> None:
    """Walk the pickle's opcodes without building anything, and refuse what would make the
    unpickler allocate far more than the file holds: a length field longer than the rest of
    the file (CPython allocates it first), a memo index far past the objects built (it sizes
    the memo by it), or more opcodes than any batch needs."""
    count = 0
    for opcode, arg, _ in pickletools.genops(data):
        count += 1
        if count > MAX_OPCODES:
            raise DataError(f"{path} is not a CIFAR-10 python batch: more than {MAX_OPCODES:,} pickle operations.")
        if opcode.name in _MEMO_PUTS and not (isinstance(arg, int) and 0 <= arg < count):
            raise DataError(f"{path} is not a CIFAR-10 python batch: a pickle memo index out of order ({arg!r}).")


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that can only build numpy arrays (of numeric types, from data bytes in the
    file) and plain Python containers. ``path`` names the file in error messages."""

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
    """Unpickle ``path`` with :class:`SafeUnpickler`; any failure is a DataError naming it.
    Only a regular file no larger than the memory cap is read, and its opcodes are checked
    (:func:`_check_opcodes`) before anything is built."""
    path = Path(path)
    data = limits.read_bytes(path, "CIFAR batch")
    try:
        _check_opcodes(data, path)
        return SafeUnpickler(io.BytesIO(data), path).load()
    except DataError:
        raise
    except Exception as error:  # a non-pickle raises any of a dozen types (UnpicklingError, EOFError, ...)
        raise DataError(
            f"{path} is not a CIFAR-10 python batch (a pickled dict): {type(error).__name__}: {_clip(str(error))}"
        ) from None


def _clip(text: str, n: int = 200) -> str:
    """``text`` cut to ``n`` characters: messages quote file contents, which may be huge."""
    return text if len(text) <= n else text[: n - 3] + "..."


def _plain_keys(obj: dict) -> dict:
    """Keys as str whether written by Python 2 (bytes) or 3 (str)."""
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _plain(value: Any) -> Any:
    """A checked array from the unpickler as a plain ndarray (other values unchanged)."""
    return value.view(np.ndarray) if isinstance(value, np.ndarray) else value


def _labels(labels: Any, n: int, path: Path) -> np.ndarray:
    """Labels as int64, refused rather than converted when they are not integers (1.5 must not
    become 1), do not fit int64 (2**70), fall outside [0, 9], or do not match the images."""
    labels = _plain(labels)
    if isinstance(labels, np.ndarray):
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise DataError(
                f"'labels' in {path} must be a list of integers. "
                f"Received: a {labels.dtype} array of shape {labels.shape}."
            )
        values = labels.tolist()
    elif isinstance(labels, (list, tuple)):
        values = labels
    else:
        raise DataError(f"'labels' in {path} must be a list of integers. Received: a {type(labels).__name__}.")
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise DataError(
                f"'labels' in {path} must be a list of integers. "
                f"Received: {_clip(repr(v), 40)} (a {type(v).__name__}) at position {i}."
            )
    if len(values) != n:
        raise DataError(
            f"'labels' in {path} must hold one integer per image ({n:,}). Received: shape ({len(values)},)."
        )
    bad = [int(v) for v in values if not 0 <= v < len(CIFAR10_CLASSES)]  # Python ints: 2**70 compares fine
    if bad:
        raise DataError(
            f"'labels' in {path} must be integers in [0, 9]. Received: {len(bad)} out of range, e.g. {_clip(str(bad[0]), 40)}."
        )
    return np.asarray(values, dtype=np.int64)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    batch = safe_unpickle(path)
    if not isinstance(batch, dict):
        raise DataError(f"{path} must hold a dict with 'data' and 'labels'. Received: a {type(batch).__name__}.")
    batch = _plain_keys(batch)
    if "data" not in batch or "labels" not in batch:
        hint = " (this looks like CIFAR-100, which has 'fine_labels')" if "fine_labels" in batch else ""
        keys = _clip(str(sorted(repr(k) if not isinstance(k, str) else k for k in batch)))
        raise DataError(f"{path} must hold a dict with 'data' and 'labels'. Received keys: {keys}{hint}.")
    data = _plain(batch["data"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        received = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"'data' in {path} must be a uint8 array of shape (N, 3072). Received: {received}.")
    y = _labels(batch["labels"], len(data), path)
    return data.reshape(-1, 3, 32, 32), y  # rows are 1024 red, 1024 green, 1024 blue values


def _class_names(folder: Path) -> tuple[list[str], str]:
    """Class names from batches.meta, or the published ones when the file is absent."""
    path = folder / META
    if not path.exists():
        return list(CIFAR10_CLASSES), "built-in (batches.meta absent)"
    meta = safe_unpickle(path)
    names = _plain_keys(meta).get("label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != 10 or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataError(f"{path} must hold a dict whose 'label_names' lists the 10 class names.")
    decoded = []
    for i, name in enumerate(names):
        try:
            decoded.append(name.decode("utf-8") if isinstance(name, bytes) else name)
        except UnicodeDecodeError as error:
            raise DataError(
                f"Class name {i} in {path} must be UTF-8 text. Received: {_clip(repr(name), 60)} "
                f"(byte {error.start} is not UTF-8)."
            ) from None
    return decoded, str(path)


def _batch_folder(path: Path) -> Path:
    """PATH itself or PATH/cifar-10-batches-py, whichever holds data_batch_1."""
    for folder in (path, path / SUBFOLDER):
        if (folder / TRAIN_BATCHES[0]).exists():
            return folder
    return path


def _missing(folder: Path) -> list[str]:
    """Batches absent from ``folder``. A name held by something else than a file (a FIFO,
    a folder) is not missing: reading it says what it is."""
    return [n for n in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / n).exists()]


def _to_tensors(parts: list[tuple[np.ndarray, np.ndarray]], what: str) -> tuple[torch.Tensor, torch.Tensor]:
    n = sum(len(p[0]) for p in parts)
    limits.check_allocation(n * 3 * 32 * 32 * 4, f"{what} ({n:,} images as float32)")  # what scaling makes
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
    x_train, y_train = _to_tensors([read_batch(folder / n) for n in TRAIN_BATCHES], f"CIFAR-10 train in {folder}")
    x_test, y_test = _to_tensors([read_batch(folder / TEST_BATCH)], f"CIFAR-10 test in {folder}")  # (10000, 3, 32, 32)
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
