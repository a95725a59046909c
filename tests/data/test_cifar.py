"""CIFAR-10 python batches: the loader on small fake batches, and the restricted unpickler."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy._core import multiarray, numeric

from deepscope import limits
from deepscope.data import load
from deepscope.data.cifar import CIFAR10_CLASSES, read_batch, safe_unpickle
from deepscope.errors import DataError


def write_batch(path: Path, data: np.ndarray, labels: list[int], protocol: int = 2, **extra) -> Path:
    """A batch in the official layout: a pickled dict with b'data' (N, 3072) uint8 and b'labels'."""
    with open(path, "wb") as f:
        pickle.dump({b"batch_label": b"fake", b"data": data, b"labels": labels, **extra}, f, protocol=protocol)
    return path


def fake_cifar(folder: Path, per_batch: int = 10, protocol: int = 2, meta: bool = True, seed: int = 0) -> dict:
    """Five training batches and a test batch of random images with balanced labels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [i % 10 for i in range(per_batch)]
        write_batch(folder / name, data, labels, protocol)
        batches[name] = (data, labels)
    if meta:
        with open(folder / "batches.meta", "wb") as f:
            names = [n.encode() for n in CIFAR10_CLASSES]
            pickle.dump(
                {b"label_names": names, b"num_vis": 3072, b"num_cases_per_batch": per_batch}, f, protocol=protocol
            )
    return batches


class RunsACommand:
    """What a malicious 'batch' looks like: unpickling it would call os.system."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_loads_fake_batches_of_any_pickle_protocol(tmp_path, protocol):
    batches = fake_cifar(tmp_path, protocol=protocol)
    data = load(f"cifar10:{tmp_path}", val_fraction=0.2, seed=0)
    assert data.input_shape == (3, 32, 32) and data.classes == CIFAR10_CLASSES
    assert (len(data.train), len(data.val), len(data.test)) == (40, 10, 10)
    x_test, y_test = data.test.tensors
    assert x_test.dtype == torch.float32 and y_test.dtype == torch.long
    expected = torch.from_numpy(batches["test_batch"][0]).float().reshape(10, 3, 32, 32) / 255
    torch.testing.assert_close(x_test, expected)
    assert y_test.tolist() == batches["test_batch"][1]


def python2_batch(data: bytes, labels: list[int]) -> bytes:
    """A batch pickled as the official files were (Python 2, protocol 2, py2 str, the numpy 1
    module name 'numpy.core.multiarray'), assembled opcode by opcode."""

    def text(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b  # SHORT_BINSTRING: a py2 str

    p = b"\x80\x02}(" + text(b"data")
    p += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + text(b"b") + b"\x87R"
    p += b"(K\x01K\x01M\x00\x0c\x86cnumpy\ndtype\n" + text(b"u1") + b"K\x00K\x01\x87R"
    p += b"(K\x03" + text(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T"
    p += len(data).to_bytes(4, "little") + data + b"tb"
    return p + text(b"labels") + b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"eu."


def test_cifar10_reads_python2_batches_like_the_official_files(tmp_path):
    raw = bytes(range(256)) * 12  # one image of 3072 values
    path = tmp_path / "data_batch_1"
    path.write_bytes(python2_batch(raw, [7]))
    images, labels = read_batch(path)
    assert labels.tolist() == [7]
    assert images.reshape(-1).tolist() == list(raw)


def test_cifar10_rows_are_red_then_green_then_blue_planes(tmp_path):
    data = np.zeros((1, 3072), np.uint8)
    data[0, :1024] = 255  # the first 1024 values are the red plane
    data[0, 2048 + 5] = 51  # blue, row 0, column 5
    images, labels = read_batch(write_batch(tmp_path / "b", data, [3]))
    assert images.shape == (1, 3, 32, 32) and labels.tolist() == [3]
    assert (images[0, 0] == 255).all() and (images[0, 1] == 0).all()
    assert images[0, 2, 0, 5] == 51 and images[0, 2].sum() == 51


def test_cifar10_finds_the_extracted_subfolder(tmp_path):
    fake_cifar(tmp_path / "cifar-10-batches-py")
    data = load(f"cifar10:{tmp_path}", val_fraction=0.2)
    assert len(data.test) == 10 and data.info["source"] == str(tmp_path / "cifar-10-batches-py")


def test_cifar10_reads_class_names_from_batches_meta(tmp_path):
    fake_cifar(tmp_path, meta=False)
    with open(tmp_path / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [f"c{i}".encode() for i in range(10)]}, f, protocol=2)
    assert load(f"cifar10:{tmp_path}", val_fraction=0.2).classes == [f"c{i}" for i in range(10)]


def test_cifar10_without_meta_uses_the_published_names(tmp_path):
    fake_cifar(tmp_path, meta=False)
    data = load(f"cifar10:{tmp_path}", val_fraction=0.2)
    assert data.classes == CIFAR10_CLASSES and data.info["classes_from"].startswith("built-in")


def test_unpickler_refuses_a_pickle_that_runs_a_command(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": RunsACommand(target), b"labels": []}, protocol=2))
    with pytest.raises(
        DataError,
        match=rf"{path} is not a plain CIFAR batch: it refers to (posix|os|nt)\.system, "
        r"and deepscope only unpickles numpy arrays",
    ):
        safe_unpickle(path)
    assert not target.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(eval, protocol=2),  # builtins.eval
        b"cbuiltins\nexec\n(S'print(1)'\ntR.",  # hand-written GLOBAL + REDUCE
    ],
)
def test_unpickler_refuses_builtins(tmp_path, payload):
    path = tmp_path / "test_batch"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=r"refers to (__builtin__|builtins)\.(eval|exec)"):
        safe_unpickle(path)


def test_loader_refuses_a_malicious_batch_in_a_folder(tmp_path):
    fake_cifar(tmp_path)
    target = tmp_path / "pwned"
    (tmp_path / "data_batch_3").write_bytes(pickle.dumps(RunsACommand(target)))
    with pytest.raises(DataError, match=r"data_batch_3 is not a plain CIFAR batch"):
        load(f"cifar10:{tmp_path}")
    assert not target.exists()


def test_codecs_encode_is_only_allowed_for_latin1(tmp_path):
    path = tmp_path / "b"
    path.write_bytes(b"c_codecs\nencode\n(Vabc\nVrot13\ntR.")
    with pytest.raises(DataError, match=r"is not a CIFAR-10 python batch .*encoding 'rot13' is not allowed"):
        safe_unpickle(path)


def test_cifar10_names_a_file_that_is_not_a_pickle(tmp_path):
    fake_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(b"this is a text file\n")
    with pytest.raises(DataError, match=r"test_batch is not a CIFAR-10 python batch \(a pickled dict\)"):
        load(f"cifar10:{tmp_path}")


def test_cifar10_names_a_batch_that_is_not_a_dict(tmp_path):
    path = tmp_path / "b"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DataError, match=r"b must hold a dict with 'data' and 'labels'\. Received: a list\."):
        read_batch(path)


def test_cifar10_recognises_cifar100_batches(tmp_path):
    path = tmp_path / "train"
    with open(path, "wb") as f:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"fine_labels": [0], b"coarse_labels": [0]}, f)
    with pytest.raises(
        DataError,
        match=r"Received keys: \['coarse_labels', 'data', 'fine_labels'\] "
        r"\(this looks like CIFAR-100, which has 'fine_labels'\)",
    ):
        read_batch(path)


def test_cifar10_names_data_of_the_wrong_shape(tmp_path):
    path = write_batch(tmp_path / "b", np.zeros((2, 784), np.uint8), [0, 1])
    with pytest.raises(
        DataError,
        match=r"'data' in .*b must be a uint8 array of shape \(N, 3072\)\. "
        r"Received: uint8 array of shape \(2, 784\)",
    ):
        read_batch(path)


def test_cifar10_names_labels_of_the_wrong_length(tmp_path):
    path = write_batch(tmp_path / "b", np.zeros((2, 3072), np.uint8), [0])
    with pytest.raises(
        DataError, match=r"'labels' in .*b must hold one integer per image \(2\)\. Received: shape \(1,\)"
    ):
        read_batch(path)


def test_cifar10_names_labels_out_of_range(tmp_path):
    path = write_batch(tmp_path / "b", np.zeros((2, 3072), np.uint8), [0, 10])
    with pytest.raises(
        DataError, match=r"'labels' in .*b must be integers in \[0, 9\]\. Received: 1 out of range, e\.g\. 10"
    ):
        read_batch(path)


def test_cifar10_lists_missing_batches(tmp_path):
    fake_cifar(tmp_path)
    (tmp_path / "data_batch_4").unlink()
    (tmp_path / "test_batch").unlink()
    with pytest.raises(
        DataError,
        match=rf"CIFAR-10 batches are missing from {tmp_path} \(also looked in "
        r"cifar-10-batches-py/\): data_batch_4, test_batch\. Add --download",
    ):
        load(f"cifar10:{tmp_path}")


def test_cifar10_names_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(
        DataError,
        match=r"'cifar10:PATH' must name a folder of CIFAR-10 python batches\. "
        r"Received: .*nope \(does not exist\)",
    ):
        load(f"cifar10:{tmp_path / 'nope'}")


def test_cifar10_without_path_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path))
    with pytest.raises(
        DataError,
        match=rf"missing from the cache folder {tmp_path / 'cifar10'} .*Put the extracted "
        r"cifar-10-batches-py folder there, .*or add --download",
    ):
        load("cifar10")


# ----------------------------------------------------------------------------- hostile batches


class Reduce:
    """Pickles as ``reduce`` says: the way a hostile batch names numpy's constructors."""

    def __init__(self, reduce: tuple):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


def hostile_batch(tmp_path: Path, data: object, labels: object = (0,), protocol: int = 2) -> Path:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": data, b"labels": list(labels)}, protocol=protocol))
    return path


ARRAY_TRICKS = {
    # 88 bytes that ask numpy for 614 MB of uninitialised memory
    "an empty array of a huge shape": (
        Reduce((multiarray._reconstruct, (np.ndarray, (200000, 3072), b"B"))),
        r"numpy arrays must be pickled the standard way",
    ),
    "a zero-stride view over one byte": (
        Reduce((np.ndarray, ((200000, 3072), np.dtype("u1"), b"x", 0, (0, 0)))),
        r"calling numpy\.ndarray directly is not allowed",
    ),
    "a state whose shape outgrows its bytes": (
        Reduce(
            (multiarray._reconstruct, (np.ndarray, (0,), b"b"), (1, (200000, 3072), np.dtype("u1"), False, bytes(3072)))
        ),
        r"an array of shape \(200000, 3072\) and dtype uint8 needs 614,400,000 bytes of data\. Received: 3,072",
    ),
    "a negative shape": (
        Reduce((multiarray._reconstruct, (np.ndarray, (0,), b"b"), (1, (-1, 3072), np.dtype("u1"), False, b""))),
        r"an array's shape must be a tuple of at most 32 sizes >= 0\. Received: \(-1, 3072\)",
    ),
    "a frombuffer of too few bytes": (
        Reduce((numeric._frombuffer, (bytes(10), np.dtype("u1"), (200000, 3072), "C"))),
        r"needs 614,400,000 bytes of data\. Received: 10 bytes",
    ),
    "an object array": (np.array([1, "a"], dtype=object), r"numpy dtype 'O8' is not allowed \(numeric types only\)"),
    "a record array": (np.zeros(3, dtype=[("a", "u1")]), r"numpy dtype 'V1' is not allowed"),
}


@pytest.mark.parametrize("data, message", ARRAY_TRICKS.values(), ids=ARRAY_TRICKS.keys())
def test_arrays_are_rebuilt_only_from_bytes_present_in_the_file(tmp_path, hostile, data, message):
    path = hostile_batch(tmp_path, data)
    with pytest.raises(DataError, match=rf"data_batch_1 is not a CIFAR-10 python batch .*{message}"):
        read_batch(path)
    assert hostile("cifar", lambda: read_batch(path), max_rss_mib=40) == "error"


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_plain_arrays_and_numpy_scalars_still_load(tmp_path, protocol):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    images, labels = read_batch(hostile_batch(tmp_path, data, [np.int64(3), 9], protocol))
    assert images.shape == (2, 3, 32, 32) and type(images) is np.ndarray
    assert labels.tolist() == [3, 9] and labels.dtype == np.int64
    np.testing.assert_array_equal(images.reshape(2, 3072), data)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x80\x02]r" + (2**26).to_bytes(4, "little") + b".", r"a pickle memo index out of order \(67108864\)"),
        (b"\x80\x04\x8e" + (2**40).to_bytes(8, "little") + b"x.", r"expected 1099511627776 bytes in a bytes8"),
    ],
    ids=["memo index that sizes a 512 MB memo", "length field of 1 TiB"],
)
def test_pickles_that_would_allocate_more_than_they_hold_are_refused_unread(tmp_path, hostile, payload, message):
    path = tmp_path / "test_batch"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=rf"test_batch is not a CIFAR-10 python batch.*{message}"):
        safe_unpickle(path)
    assert hostile("cifar", lambda: safe_unpickle(path), max_rss_mib=40) == "error"


@pytest.mark.parametrize(
    "labels, message",
    [
        ([0, 1.5], r"must be a list of integers\. Received: 1\.5 \(a float\) at position 1\."),
        ([0, 1.0], r"must be a list of integers\. Received: 1\.0 \(a float\) at position 1\."),
        (
            [0, np.float64(2)],
            r"must be a list of integers\. Received: np\.float64\(2\.0\) \(a float64\) at position 1\.",
        ),
        ([True, 0], r"must be a list of integers\. Received: True \(a bool\) at position 0\."),
        ([0, 2**70], r"must be integers in \[0, 9\]\. Received: 1 out of range, e\.g\. 1180591620717411303424\."),
        ([0, -1], r"must be integers in \[0, 9\]\. Received: 1 out of range, e\.g\. -1\."),
        ([0, 1, 2], r"must hold one integer per image \(2\)\. Received: shape \(3,\)\."),
        ({0: 1, 1: 2}, r"must be a list of integers\. Received: a dict\."),
    ],
)
def test_labels_that_are_not_in_range_integers_are_refused_not_converted(tmp_path, labels, message):
    path = tmp_path / "b"
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": labels}, protocol=2))
    with pytest.raises(DataError, match=rf"'labels' in .*b {message}"):
        read_batch(path)


def test_class_names_that_are_not_utf8_are_named(tmp_path):
    fake_cifar(tmp_path, meta=False)
    names = [f"c{i}".encode() for i in range(9)] + [b"caf\xe9"]  # latin-1, not UTF-8
    with open(tmp_path / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": names}, f, protocol=2)
    with pytest.raises(
        DataError, match=r"Class name 9 in .*batches\.meta must be UTF-8 text\. Received: b'caf\\xe9' \(byte 3"
    ):
        load(f"cifar10:{tmp_path}")


def test_a_batch_larger_than_the_memory_cap_is_not_read(tmp_path):
    path = write_batch(tmp_path / "b", np.zeros((400, 3072), np.uint8), [0] * 400)  # 1.2 MB
    with limits.override(memory="1MB"), pytest.raises(DataError, match=r"(?i:CIFAR batch) .*b is 1\.2 MiB, more than"):
        read_batch(path)


def test_the_dataset_is_checked_against_the_memory_cap_before_it_is_assembled(tmp_path):
    fake_cifar(tmp_path, per_batch=10)  # 50 train images: 600 KiB as float32
    with (
        limits.override(memory="500KB"),
        pytest.raises(
            DataError, match=r"CIFAR-10 train in .* \(50 images as float32\) would need 600\.0 KiB of memory"
        ),
    ):
        load(f"cifar10:{tmp_path}")


def test_a_named_pipe_in_place_of_a_batch_is_named(tmp_path, hostile):
    fake_cifar(tmp_path)
    (tmp_path / "data_batch_2").unlink()
    os.mkfifo(tmp_path / "data_batch_2")
    with pytest.raises(DataError, match=r"data_batch_2 must be a regular file\. Received: a named pipe \(FIFO\)\."):
        load(f"cifar10:{tmp_path}")
    assert hostile("cifar", lambda: load(f"cifar10:{tmp_path}"), seconds=5) == "error"
