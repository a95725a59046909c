"""Generated hostile input for the binary readers: IDX files, CIFAR batches, image folders.

Every case goes through the ``hostile`` fixture (tests/conftest.py): it must load or raise
deepscope's own error, within a time bound and with resident memory growing by a bounded
amount, under a 64 MB memory cap. Where the outcome is knowable from the input (a header
declaring exactly the bytes that follow), it is checked too. The cases: random bytes,
headers declaring any dimensions, gzip bombs, truncated and bit-flipped copies of valid
files, pickles of odd Python and numpy objects, numpy constructors called with hostile
arguments, images in every format and mode, damaged or declaring huge sizes.
"""

from __future__ import annotations

import functools
import gzip
import io
import math
import pickle
import shutil
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy._core import multiarray, numeric
from PIL import Image

from deepscope.data.cifar import read_batch
from deepscope.data.folders import load_image_folder
from deepscope.data.idx import IDX_TYPES, read_idx

CAP = 64 * 10**6  # the hostile fixture's memory cap ('64MB')


def hostile_settings(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,  # the same cases every run
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few random edits: bytes flipped, overwritten, inserted or cut, or truncated."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and out:
            out[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del out[at : at + draw(st.integers(1, 8))]
        elif op == "truncate":
            del out[at:]
    return bytes(out)


# ----------------------------------------------------------------------------- IDX

CODES = list(IDX_TYPES)


def idx_header(code: int, dims: list[int]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


@functools.cache
def gzipped_zeros(n: int) -> bytes:
    """A gzip member of ``n`` zero bytes (16 MiB -> ~16 KB), built once."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(bytes(min(1 << 20, n - i))) for i in range(0, n, 1 << 20)]
    return b"".join(parts) + z.flush()


@hostile_settings(80)
@given(
    code=st.sampled_from(CODES) | st.integers(0, 255),
    dims=st.lists(st.integers(0, 5) | st.integers(0, 2**32 - 1) | st.sampled_from([60000, 2**31]), max_size=5),
    extra=st.integers(-3, 3),
    gz=st.booleans(),
)
def test_idx_headers_declaring_anything(tmp_path, hostile, code, dims, extra, gz):
    valid_code = code in IDX_TYPES
    size = math.prod(dims) * np.dtype(IDX_TYPES[code]).itemsize if valid_code else 0
    body = bytes(max(size + extra, 0)) if valid_code and size + extra < 4096 else bytes(range(256))
    data = idx_header(code, dims) + body
    path = tmp_path / "x"
    path.write_bytes(gzip.compress(data, compresslevel=1, mtime=0) if gz else data)
    outcome = hostile("idx", lambda: read_idx(path))
    fits = valid_code and dims and min(dims) > 0 and size <= CAP and len(body) == size
    assert outcome == ("loaded" if fits else "error")


@hostile_settings(40)
@given(
    dims=st.lists(st.integers(1, 2**16) | st.sampled_from([1, 10, 60000]), min_size=1, max_size=3),
    code=st.sampled_from(CODES),
    zeros=st.sampled_from([0, 10, 1 << 20, 16 << 20]),
)
def test_idx_gzip_bombs(tmp_path, hostile, dims, code, zeros):
    """A tiny gzip: a header, then up to 16 MiB of zeros in a second member (~16 KB on disk)."""
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(idx_header(code, dims), mtime=0) + gzipped_zeros(zeros))
    size = math.prod(dims) * np.dtype(IDX_TYPES[code]).itemsize
    outcome = hostile("idx", lambda: read_idx(path), max_rss_mib=256)
    assert outcome == ("loaded" if size == zeros and size <= CAP else "error")


@hostile_settings(80)
@given(st.data())
def test_idx_mutated_files(tmp_path, hostile, data):
    dtype = data.draw(st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]))
    array = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)))
    code = next(c for c, t in IDX_TYPES.items() if np.dtype(t) == np.dtype(dtype).newbyteorder(">"))
    raw = idx_header(code, list(array.shape)) + array.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    where = data.draw(st.sampled_from(["plain", "before gzip", "after gzip"]))
    if where == "plain":
        content = data.draw(mutated(raw))
    elif where == "before gzip":
        content = gzip.compress(data.draw(mutated(raw)), mtime=0)
    else:
        content = data.draw(mutated(gzip.compress(raw, mtime=0)))
    path = tmp_path / "m"
    path.write_bytes(content)
    hostile("idx", lambda: read_idx(path))


@hostile_settings(60)
@given(st.binary(max_size=300), st.booleans())
def test_idx_random_bytes(tmp_path, hostile, content, gz):
    path = tmp_path / "r"
    path.write_bytes(b"\x1f\x8b" + content if gz else content)
    hostile("idx", lambda: read_idx(path))


# ----------------------------------------------------------------------------- CIFAR batches


class Reduce:
    """Pickles as ``reduce`` says: how a hostile batch calls numpy's constructors."""

    def __init__(self, reduce: tuple):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


SHAPES = st.tuples(*[st.integers(-2, 4) | st.sampled_from([3072, 200000, 2**31, 2**62])] * 2) | st.just((0,))
DTYPES = st.sampled_from([np.dtype(t) for t in ("u1", "i8", "f4", "?", "O", "V4", "<U3", "S2", ">i2")])


@st.composite
def odd_arrays(draw: st.DrawFn) -> object:
    """numpy's pickle constructors called with any shape, dtype, strides and data."""
    shape, dtype = draw(SHAPES), draw(DTYPES)
    raw = draw(st.binary(max_size=64) | st.just(bytes(3072)))
    kind = draw(st.sampled_from(["reconstruct", "state", "ndarray", "frombuffer", "scalar"]))
    if kind == "reconstruct":
        return Reduce((multiarray._reconstruct, (np.ndarray, shape, draw(st.sampled_from([b"b", b"B", "u1"])))))
    if kind == "state":
        state = (1, shape, dtype, draw(st.booleans()), raw)
        return Reduce((multiarray._reconstruct, (np.ndarray, (0,), b"b"), state))
    if kind == "ndarray":
        strides = draw(st.tuples(st.integers(-8, 8), st.integers(-8, 8)))
        return Reduce((np.ndarray, (shape, dtype, raw, draw(st.integers(0, 8)), strides)))
    if kind == "frombuffer":
        return Reduce((numeric._frombuffer, (raw, dtype, shape, draw(st.sampled_from(["C", "F", "K"])))))
    return Reduce((multiarray.scalar, (dtype, raw)))


PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**70, -(2**70), 2**63])
    | st.floats()
    | st.binary(max_size=8)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(st.binary(max_size=4), inner),
    max_leaves=12,
)
ARRAYS = (
    hnp.arrays(st.sampled_from([np.uint8, np.int64, np.float32, np.bool_]), hnp.array_shapes(min_dims=0, max_dims=3))
    | st.lists(st.integers() | st.text(max_size=3), max_size=4).map(lambda xs: np.array(xs + [None], dtype=object))
    | st.integers(0, 3).map(lambda n: np.zeros((n, 3072), np.uint8))
)
LABELS = st.lists(st.integers(-1, 10) | st.sampled_from([2**70, 1.5, 1.0, True]), max_size=4) | PLAIN | ARRAYS


@hostile_settings(80)
@given(
    data=ARRAYS | odd_arrays() | PLAIN,
    labels=LABELS,
    protocol=st.integers(0, 5),
    keys=st.sampled_from([(b"data", b"labels"), ("data", "labels"), (b"data", b"fine_labels")]),
)
def test_cifar_batches_of_odd_objects(tmp_path, hostile, data, labels, protocol, keys):
    try:
        payload = pickle.dumps({keys[0]: data, keys[1]: labels}, protocol=protocol)
    except (pickle.PicklingError, TypeError, ValueError, AttributeError):
        reject()  # not every generated object can be pickled at every protocol
    path = tmp_path / "data_batch_1"
    path.write_bytes(payload)
    outcome = hostile("cifar", lambda: read_batch(path))
    if not isinstance(data, Reduce):  # (a hostile constructor call may still build a valid array)
        good_data = isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == 3072
        good = good_data and keys[1] != b"fine_labels" and labels_in_range(labels, len(data))
        assert outcome == ("loaded" if good else "error")


def labels_in_range(labels: object, n: int) -> bool:
    """What read_batch accepts: n integers in [0, 9], as a list, a tuple or a 1-d integer array."""
    if isinstance(labels, np.ndarray):
        in_range = labels.dtype.kind in "iu" and bool(((labels >= 0) & (labels <= 9)).all())
        return labels.ndim == 1 and len(labels) == n and in_range
    return (
        isinstance(labels, (list, tuple)) and len(labels) == n and all(type(v) is int and 0 <= v <= 9 for v in labels)
    )


@hostile_settings(80)
@given(st.data())
def test_cifar_mutated_batches(tmp_path, hostile, data):
    n = data.draw(st.integers(0, 2))
    batch = {b"data": np.full((n, 3072), 7, np.uint8), b"labels": list(range(n)), b"batch_label": b"x"}
    payload = pickle.dumps(batch, protocol=data.draw(st.sampled_from([0, 2, 4, 5])))
    path = tmp_path / "test_batch"
    path.write_bytes(data.draw(mutated(payload)))
    hostile("cifar", lambda: read_batch(path))


@hostile_settings(60)
@given(st.sampled_from([b"", b"\x80\x02", b"\x80\x04"]), st.binary(max_size=300))
def test_cifar_random_bytes(tmp_path, hostile, protocol, content):
    path = tmp_path / "data_batch_1"
    path.write_bytes(protocol + content)
    assert hostile("cifar", lambda: read_batch(path)) == "error"


# ----------------------------------------------------------------------------- image folders

FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO", "TGA", "PCX"]


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(300))) + chunk(b"IEND", b"")


@st.composite
def image_files(draw: st.DrawFn) -> tuple[bytes, bool | None]:
    """(content, valid): an image in any format and mode, maybe damaged; a header declaring a
    huge size; PostScript; or random bytes. ``valid`` is None where either outcome is right."""
    kind = draw(st.sampled_from(["image", "image", "damaged", "huge", "eps", "random"]))
    if kind == "huge":
        width, height = draw(st.integers(1, 60000)), draw(st.integers(1, 60000))
        return png_header(width, height), False if width * height * 4 > CAP else None
    if kind == "eps":
        return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n", False
    if kind == "random":
        return draw(st.binary(max_size=200)), None
    fmt = draw(st.sampled_from(FORMATS))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "P", "1"]))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    pixels = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 256, (h, w, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    try:
        Image.fromarray(pixels).convert(mode).save(buffer, format=fmt)
    except (OSError, KeyError, ValueError):
        reject()  # a mode this format cannot hold
    if kind == "damaged":
        return draw(mutated(buffer.getvalue())), None
    return buffer.getvalue(), fmt not in ("TGA", "PCX")  # formats outside the allow-list are refused


@pytest.mark.filterwarnings("ignore::UserWarning:PIL")  # PIL warns about some damaged files, then reads or fails
@hostile_settings(60)
@given(files=st.lists(st.tuples(st.sampled_from(["a", "b"]), image_files()), min_size=1, max_size=5))
def test_image_folders_of_hostile_files(tmp_path, hostile, files):
    root = tmp_path / "folder"
    shutil.rmtree(root, ignore_errors=True)
    for i, (label, (content, _)) in enumerate(files):
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / f"{i}.img").write_bytes(content)
    outcome = hostile("images", lambda: load_image_folder(root, val_fraction=0.0))
    valid = [v for _, (_, v) in files]
    if False in valid or len({label for label, _ in files}) < 2:
        assert outcome == "error"
    elif all(valid):
        assert outcome == "loaded"
