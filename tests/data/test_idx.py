"""IDX reader and the mnist / fashion-mnist loaders, on generated files and on real MNIST."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from deepscope import limits
from deepscope.data import load, read_idx
from deepscope.data.idx import FASHION_MNIST_CLASSES
from deepscope.errors import DataError

CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: magic, big-endian dims, big-endian values."""
    header = bytes([0, 0, CODES[array.dtype.type], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


def fake_mnist(folder: Path, n_train: int = 40, n_test: int = 20, gz: bool = True, seed: int = 0) -> dict:
    """Write the four MNIST files with random images and balanced labels 0-9."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(folder / f"{stem}{suffix}", array)
    return arrays


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trips_every_type_code(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype is np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    out = read_idx(write_idx(tmp_path / f"a{suffix}", array))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(path), array)


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(
        DataError,
        match=r"train-images-idx3-ubyte is not an IDX file: its magic number must be "
        r"00 00 <type 08,09,0B,0C,0D,0E> <ndim>\. Received: 89 50 4e 47\.",
    ):
        read_idx(path)


def test_read_idx_rejects_an_unknown_type_code(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(DataError, match=r"Received: 00 00 07 01"):
        read_idx(path)


def test_read_idx_rejects_a_tiny_file(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match=r"must start with a 4-byte magic number\. Received: 2 byte\(s\)"):
        read_idx(path)


def test_read_idx_rejects_a_truncated_header(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(bytes([0, 0, 0x08, 3, 0, 0, 0, 9]))  # 3 dims declared, 1 present
    with pytest.raises(
        DataError,
        match=r"x is truncated: its header declares 3 dimension\(s\) \(16 bytes\) "
        r"but the file holds 8 bytes",
    ):
        read_idx(path)


def test_read_idx_rejects_truncated_data(tmp_path):
    path = tmp_path / "imgs"
    path.write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-10])
    with pytest.raises(
        DataError,
        match=r"imgs is truncated: a 2 x 28 x 28 array of uint8 needs 1,568 bytes of data\. "
        r"Received: 1,558 bytes\.",
    ):
        read_idx(path)


def test_read_idx_rejects_trailing_bytes(tmp_path):
    path = tmp_path / "imgs"
    path.write_bytes(idx_bytes(np.zeros((2, 3), np.int16)) + b"\x00")
    with pytest.raises(DataError, match=r"imgs is longer than its header says: a 2 x 3 array of int16 needs 12 bytes"):
        read_idx(path)


def test_read_idx_rejects_a_truncated_gzip(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    data = gzip.compress(idx_bytes(np.arange(4000, dtype=np.int32)))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz is a truncated gzip file"):
        read_idx(path)


def test_read_idx_rejects_a_corrupt_gzip(tmp_path):
    path = tmp_path / "labels.gz"
    data = bytearray(gzip.compress(idx_bytes(np.arange(4000, dtype=np.int32))))
    data[20:40] = b"\xff" * 20  # damage the deflate stream
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"labels\.gz is a corrupt gzip file \(.+\); download or copy it again"):
        read_idx(path)


def test_read_idx_names_a_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"(?i:IDX file) .*nothing-here does not exist"):
        read_idx(tmp_path / "nothing-here")


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_loader_reads_a_folder_of_idx_files(tmp_path, gz):
    arrays = fake_mnist(tmp_path / "m", gz=gz)
    data = load(f"mnist:{tmp_path / 'm'}", val_fraction=0.25, seed=3)
    assert data.input_shape == (1, 28, 28) and data.kind == "image"
    assert data.classes == [str(d) for d in range(10)]
    assert (len(data.train), len(data.val), len(data.test)) == (30, 10, 20)
    x_test, y_test = data.test.tensors
    assert x_test.dtype == torch.float32 and y_test.dtype == torch.long
    # the official t10k files are the test split, in their order, scaled to [0, 1]
    expected = torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).float().unsqueeze(1) / 255
    torch.testing.assert_close(x_test, expected)
    assert y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    # validation is stratified: 10 of 40 balanced samples = one per class
    assert sorted(data.val.tensors[1].tolist()) == list(range(10))
    assert data.spec == f"mnist:{tmp_path / 'm'}"


def test_mnist_validation_split_follows_the_seed(tmp_path):
    fake_mnist(tmp_path)
    a, b, c = (load(f"mnist:{tmp_path}", val_fraction=0.25, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.val.tensors[0], b.val.tensors[0])
    assert not torch.equal(a.val.tensors[0], c.val.tensors[0])
    assert torch.equal(a.test.tensors[0], c.test.tensors[0])  # the test split never moves


def test_mnist_prefers_uncompressed_files_when_both_exist(tmp_path):
    fake_mnist(tmp_path, gz=True, seed=0)
    raw = fake_mnist(tmp_path, gz=False, seed=1)
    data = load(f"mnist:{tmp_path}")
    assert data.test.tensors[0][0, 0, 0, 0] == pytest.approx(raw["t10k-images-idx3-ubyte"][0, 0, 0] / 255)


def test_mnist_finds_files_in_torchvisions_layout(tmp_path):
    fake_mnist(tmp_path / "MNIST" / "raw", gz=False)
    data = load(f"mnist:{tmp_path}")
    assert len(data.test) == 20 and data.info["source"] == str(tmp_path / "MNIST" / "raw")


def test_fashion_mnist_has_its_class_names(tmp_path):
    fake_mnist(tmp_path)
    data = load(f"fashion-mnist:{tmp_path}")
    assert data.name == "fashion-mnist"
    assert data.classes[0] == "T-shirt/top" and data.classes[9] == "Ankle boot" and len(data.classes) == 10
    assert data.classes == FASHION_MNIST_CLASSES


def test_mnist_names_a_labels_file_put_where_images_belong(tmp_path):
    arrays = fake_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", arrays["train-labels-idx1-ubyte"])
    with pytest.raises(
        DataError,
        match=r"train-images-idx3-ubyte\.gz must hold images: a 3-d uint8 IDX array "
        r"\(N, H, W\)\. Received: 1-d uint8 array of shape \(40,\)",
    ):
        load(f"mnist:{tmp_path}")


def test_mnist_names_images_and_labels_of_different_lengths(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    with pytest.raises(
        DataError,
        match=r"t10k-images-idx3-ubyte\.gz and .*t10k-labels-idx1-ubyte\.gz must hold the same "
        r"number of samples\. Received: 20 images and 19 labels",
    ):
        load(f"mnist:{tmp_path}")


def test_mnist_names_a_labels_file_with_labels_out_of_range(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(40, 12, np.uint8))
    with pytest.raises(
        DataError,
        match=r"Labels in .*train-labels-idx1-ubyte\.gz must be integers in \[0, 9\]\. "
        r"Received: 40 out of range, e.g\. 12",
    ):
        load(f"mnist:{tmp_path}")


def test_mnist_lists_the_files_missing_from_a_folder(tmp_path):
    fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(
        DataError,
        match=rf"MNIST files are missing from {tmp_path}: t10k-labels-idx1-ubyte "
        r"\(each \.gz or not\)\. Add --download to fetch them into it\.",
    ):
        load(f"mnist:{tmp_path}")


def test_mnist_names_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(
        DataError, match=rf"Folder {tmp_path / 'nope'} does not exist\. 'mnist:PATH' must name a folder"
    ):
        load(f"mnist:{tmp_path / 'nope'}")


def test_mnist_rejects_a_file_as_path(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match=r"'mnist:PATH' must name a folder of IDX files\. Received: .*f \(a file\)"):
        load(f"mnist:{tmp_path / 'f'}")


def test_mnist_without_path_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "home"))
    with pytest.raises(DataError) as caught:
        load("fashion-mnist")
    message = str(caught.value)
    assert f"Fashion-MNIST files are missing from the cache folder {tmp_path / 'home' / 'fashion-mnist'}" in message
    assert "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in message
    assert "'fashion-mnist:PATH'" in message and "--download" in message and "download=True" in message


def test_mnist_without_path_reads_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path))
    fake_mnist(tmp_path / "mnist", n_train=30, n_test=10)
    data = load("mnist", val_fraction=0.0)
    assert (len(data.train), len(data.val), len(data.test)) == (30, 0, 10)
    assert data.info["source"] == str(tmp_path / "mnist")


def test_real_mnist_loads_with_its_published_label_counts(mnist_dir):
    data = load(f"mnist:{mnist_dir}", val_fraction=0.1, seed=0)
    assert data.input_shape == (1, 28, 28)
    assert (len(data.train), len(data.val), len(data.test)) == (54000, 6000, 10000)
    y_train = torch.cat([data.train.tensors[1], data.val.tensors[1]])
    assert torch.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    x_test, y_test = data.test.tensors
    assert torch.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]  # the famous first test digits
    assert float(x_test.min()) == 0.0 and float(x_test.max()) == 1.0
    # stratified validation: each class keeps its share within one sample
    val_counts = torch.bincount(data.val.tensors[1]).float()
    torch.testing.assert_close(val_counts, torch.bincount(y_train).float() * 0.1, atol=1.0, rtol=0)


# ----------------------------------------------------------------------------- hostile files


def gzip_stream(header: bytes, zeros: int) -> bytes:
    """``header`` then ``zeros`` zero bytes, gzipped in pieces (a 'bomb': ~1000:1)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(header)]
    for start in range(0, zeros, 1 << 20):
        parts.append(z.compress(bytes(min(1 << 20, zeros - start))))
    return b"".join(parts) + z.flush()


def idx_header(code: int, dims: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def test_a_gzip_bomb_is_refused_from_its_header_before_inflating(tmp_path, hostile):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip_stream(idx_header(0x08, (200000, 100, 100)), 8 << 20))  # declares 2 GB
    assert path.stat().st_size < 64 << 10
    with (
        limits.override(memory="64MB"),
        pytest.raises(
            DataError,
            match=r"(?i:IDX file) .*train-images-idx3-ubyte\.gz \(a 200000 x 100 x 100 array of uint8\) "
            r"would need 1\.9 GiB of memory, more than the cap of 61\.0 MiB",
        ),
    ):
        read_idx(path)
    assert hostile("idx", lambda: read_idx(path)) == "error"


def test_a_gzip_that_inflates_past_its_header_stops_one_byte_later(tmp_path, hostile):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip_stream(idx_header(0x08, (10,)), 32 << 20))  # 10 bytes declared, 32 MiB inflate
    with pytest.raises(
        DataError,
        match=r"labels\.gz is longer than its header says: a 10 array of uint8 needs 10 bytes of data\. "
        r"Received: more \(the rest was not read\)\.",
    ):
        read_idx(path)
    assert hostile("idx", lambda: read_idx(path), max_rss_mib=40) == "error"


def test_an_uncompressed_file_is_checked_against_its_header_before_reading(tmp_path, hostile):
    path = tmp_path / "imgs"
    with open(path, "wb") as f:  # a sparse 1 GiB file: reading it would take seconds and memory
        f.write(idx_header(0x08, (10,)) + bytes(10))
        f.truncate(1 << 30)
    with pytest.raises(DataError, match=r"imgs is longer than its header says: .*Received: 1,073,741,816 bytes\."):
        read_idx(path)
    assert hostile("idx", lambda: read_idx(path), seconds=2, max_rss_mib=40) == "error"


def test_a_declared_size_past_int64_is_refused(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(idx_header(0x0E, (0xFFFFFFFF,) * 3))
    with pytest.raises(
        DataError,
        match=r"x is not a valid IDX file: its header declares a 4294967295 x 4294967295 x 4294967295 "
        r"array of float64, more than 2\*\*63 bytes",
    ):
        read_idx(path)


def test_a_zero_dimension_is_refused(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(idx_header(0x08, (0, 28, 28)))
    with pytest.raises(DataError, match=r"every dimension must be at least 1\. Received: 0 x 28 x 28\."):
        read_idx(path)


def test_data_past_a_complete_gzip_member_is_refused_as_corrupt(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(6, dtype=np.uint8))) + b"junk at the end")
    with pytest.raises(DataError, match=r"x\.gz is a corrupt gzip file"):
        read_idx(path)


def test_concatenated_gzip_members_are_one_stream(tmp_path):
    data = idx_bytes(np.arange(60, dtype=np.int16).reshape(3, 20))
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(data[:7]) + gzip.compress(data[7:]))
    np.testing.assert_array_equal(read_idx(path), np.arange(60, dtype=np.int16).reshape(3, 20))


def test_a_named_pipe_is_refused_by_name_without_blocking(tmp_path, hostile):
    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=rf"(?i:IDX file) {fifo} must be a regular file\. Received: a named pipe"):
        read_idx(fifo)
    fake_mnist(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte.gz").unlink()
    os.mkfifo(tmp_path / "m" / "t10k-labels-idx1-ubyte")  # the loader reads it rather than call it missing
    assert hostile("idx", lambda: load(f"mnist:{tmp_path / 'm'}"), seconds=5) == "error"
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte must be a regular file\. Received: a named pipe"):
        load(f"mnist:{tmp_path / 'm'}")
