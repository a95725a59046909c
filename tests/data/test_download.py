"""Downloads against a real HTTP server on 127.0.0.1: checksums, atomic files, cache, archives."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import pickle
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from deepscope.data import deepscope_home, download, download_dataset, load
from deepscope.data.download import SOURCES, base_url, extract_tar
from deepscope.errors import DataError, InvalidArgumentError, UnknownNameError

SERVER_LIFETIME_S = 60  # the server stops itself after this even if a test hangs


class _Handler(SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        if self.path == "/broken":  # promises 1000 bytes, sends 10, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, Path, list[str]]]:
    """(base URL, served folder, requested paths) of an HTTP server in a thread."""
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    guard = threading.Timer(SERVER_LIFETIME_S, httpd.shutdown)
    guard.daemon = True
    thread.start()
    guard.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root, httpd.requests  # type: ignore[attr-defined]
    finally:
        guard.cancel()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return gzip.compress(header + array.tobytes(), mtime=0)


def serve_fake_mnist(root: Path, name: str = "mnist", n_train: int = 30, n_test: int = 10) -> dict[str, str]:
    """Small valid MNIST-format .gz files under root/<name>/; returns filename -> md5."""
    rng = np.random.default_rng(0)
    folder = root / name
    folder.mkdir()
    files = {
        "train-images-idx3-ubyte.gz": idx_gz(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte.gz": idx_gz((np.arange(n_train) % 10).astype(np.uint8)),
        "t10k-images-idx3-ubyte.gz": idx_gz(rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte.gz": idx_gz((np.arange(n_test) % 10).astype(np.uint8)),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: hashlib.md5(data).hexdigest() for name, data in files.items()}


def with_checksums(name: str, md5s: dict[str, str]):
    """SOURCES[name] with the same files but the given checksums."""
    return dataclasses.replace(SOURCES[name], files=tuple((f, md5s[f]) for f, _ in SOURCES[name].files))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("DEEPSCOPE_HOME", str(path))
    return path


def test_download_streams_verifies_and_renames(server, tmp_path):
    url, root, _ = server
    payload = bytes(range(256)) * 5000
    (root / "blob.bin").write_bytes(payload)
    dest = tmp_path / "cache" / "blob.bin"
    seen = []
    out = download(
        f"{url}/blob.bin",
        dest,
        sha256=hashlib.sha256(payload).hexdigest(),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert out == dest and dest.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))
    assert [p.name for p in dest.parent.iterdir()] == ["blob.bin"]  # no temporary file left


def test_checksum_mismatch_deletes_the_download(server, tmp_path):
    url, root, _ = server
    (root / "blob.bin").write_bytes(b"tampered")
    dest = tmp_path / "cache" / "blob.bin"
    with pytest.raises(
        DataError,
        match=rf"Checksum mismatch for {url}/blob\.bin: md5 must be 0{{32}}\. "
        rf"Received: md5={hashlib.md5(b'tampered').hexdigest()} \(8 bytes\)\. "
        r"The download was deleted",
    ):
        download(f"{url}/blob.bin", dest, md5="0" * 32)
    assert list(dest.parent.iterdir()) == []


def test_a_verified_file_is_not_downloaded_again(server, tmp_path):
    url, root, requests = server
    (root / "a").write_bytes(b"content")
    dest = tmp_path / "a"
    download(f"{url}/a", dest, md5=hashlib.md5(b"content").hexdigest())
    download(f"{url}/a", dest, md5=hashlib.md5(b"content").hexdigest())
    assert requests == ["/a"]


def test_a_cached_file_with_a_wrong_checksum_is_replaced(server, tmp_path):
    url, root, requests = server
    (root / "a").write_bytes(b"good")
    dest = tmp_path / "a"
    dest.write_bytes(b"half-writ")
    download(f"{url}/a", dest, md5=hashlib.md5(b"good").hexdigest())
    assert dest.read_bytes() == b"good" and requests == ["/a"]


def test_an_unreachable_file_is_named_with_what_to_do(server, tmp_path):
    url, _, _ = server
    with pytest.raises(
        DataError,
        match=rf"Could not download {url}/missing\.gz: HTTP 404 .*\. "
        rf"Put the file at {tmp_path / 'missing.gz'} yourself, or set DEEPSCOPE_MIRROR",
    ):
        download(f"{url}/missing.gz", tmp_path / "missing.gz")
    assert list(tmp_path.glob("*.part")) == []


def test_a_download_cut_short_is_refused_and_removed(server, tmp_path):
    url, _, _ = server
    with pytest.raises(
        DataError,
        match=rf"Download of {url}/broken (broke off after 10 bytes|is truncated: received 10 of 1,000 bytes)",
    ):
        download(f"{url}/broken", tmp_path / "b.bin")
    assert list(tmp_path.iterdir()) == [tmp_path / "served"]


def test_download_refuses_other_url_schemes(tmp_path):
    with pytest.raises(
        InvalidArgumentError,
        match=r"`url` must be an http://, https:// or file:// URL\. "
        r"Received: url='ftp://x/y'",
    ):
        download("ftp://x/y", tmp_path / "y")


def test_download_takes_one_checksum(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"`sha256/md5` must be one checksum, not both"):
        download("http://127.0.0.1/x", tmp_path / "x", sha256="a", md5="b")


def test_home_and_mirror_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("DEEPSCOPE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert deepscope_home() == tmp_path / ".cache" / "deepscope"
    monkeypatch.setenv("DEEPSCOPE_HOME", str(tmp_path / "h"))
    assert deepscope_home() == tmp_path / "h"
    monkeypatch.delenv("DEEPSCOPE_MIRROR", raising=False)
    assert base_url("mnist") == SOURCES["mnist"].base_url
    monkeypatch.setenv("DEEPSCOPE_MIRROR", "http://127.0.0.1:9/data/")
    assert base_url("fashion-mnist") == "http://127.0.0.1:9/data/fashion-mnist/"


def test_the_table_has_the_published_checksums():
    # md5s as published with the datasets (torchvision lists the same)
    assert dict(SOURCES["mnist"].files)["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert dict(SOURCES["fashion-mnist"].files)["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
    assert SOURCES["cifar10"].files == (("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),)


def test_unknown_downloadable_dataset_suggests_names(tmp_path):
    with pytest.raises(UnknownNameError, match=r"Unknown downloadable dataset 'mnst'\. Did you mean 'mnist'"):
        download_dataset("mnst", tmp_path)


def test_load_mnist_downloads_into_the_cache_then_reuses_it(server, home, monkeypatch):
    url, root, requests = server
    monkeypatch.setenv("DEEPSCOPE_MIRROR", url)
    monkeypatch.setitem(SOURCES, "mnist", with_checksums("mnist", serve_fake_mnist(root)))
    data = load("mnist", download=True, val_fraction=0.2)
    assert (len(data.train), len(data.val), len(data.test)) == (24, 6, 10)
    assert data.input_shape == (1, 28, 28)
    assert sorted(p.name for p in (home / "mnist").iterdir()) == sorted(dict(SOURCES["mnist"].files))
    assert len(requests) == 4
    again = load("mnist")  # offline now: read from the cache, no request
    assert len(requests) == 4 and len(again.test) == 10


def test_load_mnist_refuses_files_that_do_not_match_the_published_checksums(server, home, monkeypatch):
    url, root, _ = server
    monkeypatch.setenv("DEEPSCOPE_MIRROR", url)
    serve_fake_mnist(root)  # valid IDX files, but not the official ones
    with pytest.raises(
        DataError,
        match=r"Checksum mismatch for .*/mnist/train-images-idx3-ubyte\.gz: "
        r"md5 must be f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ):
        load("mnist", download=True)
    assert not (home / "mnist").exists() or list((home / "mnist").iterdir()) == []


def test_load_fashion_mnist_downloads_into_a_named_folder(server, tmp_path, monkeypatch):
    url, root, _ = server
    monkeypatch.setenv("DEEPSCOPE_MIRROR", url)
    md5s = serve_fake_mnist(root, "fashion-mnist")
    monkeypatch.setitem(SOURCES, "fashion-mnist", with_checksums("fashion-mnist", md5s))
    data = load(f"fashion-mnist:{tmp_path / 'mine'}", download=True)
    assert data.classes[0] == "T-shirt/top" and len(data.test) == 10
    assert (tmp_path / "mine" / "t10k-images-idx3-ubyte.gz").is_file()


def test_load_real_mnist_served_over_http(server, home, monkeypatch, mnist_dir):
    url, root, _ = server
    (root / "mnist").mkdir()
    for f in mnist_dir.glob("*.gz"):
        (root / "mnist" / f.name).symlink_to(f)
    # The shared copies were re-compressed (same content, other .gz bytes), so their md5s
    # stand in for the published ones here.
    md5s = {f.name: md5(f) for f in mnist_dir.glob("*.gz")}
    monkeypatch.setitem(SOURCES, "mnist", with_checksums("mnist", md5s))
    monkeypatch.setenv("DEEPSCOPE_MIRROR", url)
    data = load("mnist", download=True, val_fraction=0.0)
    assert (len(data.train), len(data.test)) == (60000, 10000)
    assert data.test.tensors[1][:3].tolist() == [7, 2, 1]


def cifar_tar_gz(path: Path) -> Path:
    """A small archive in the official layout: cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:

        def add(name: str, obj: object) -> None:
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            add(name, {b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8), b"labels": list(range(10))})
        add("batches.meta", {b"label_names": [f"class{i}".encode() for i in range(10)]})
    return path


def test_load_cifar10_downloads_and_extracts_the_archive(server, home, monkeypatch):
    url, root, _ = server
    (root / "cifar10").mkdir()
    archive = cifar_tar_gz(root / "cifar10" / "cifar-10-python.tar.gz")
    monkeypatch.setitem(SOURCES, "cifar10", with_checksums("cifar10", {archive.name: md5(archive)}))
    monkeypatch.setenv("DEEPSCOPE_MIRROR", url)
    data = load("cifar10", download=True, val_fraction=0.2)
    assert (len(data.train), len(data.val), len(data.test)) == (40, 10, 10)
    assert data.classes[3] == "class3"
    assert sorted(p.name for p in (home / "cifar10").iterdir()) == ["cifar-10-batches-py"]  # archive removed


def tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    with tarfile.open(path, "w") as tar:
        safe = tarfile.TarInfo("ok.txt")
        safe.size = 2
        tar.addfile(safe, io.BytesIO(b"ok"))
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt"])
def test_extraction_refuses_members_outside_the_target(tmp_path, name):
    archive = tar_with(tmp_path / "a.tar", tarfile.TarInfo(name))
    target = tmp_path / "out" / "inner"
    with pytest.raises(
        DataError,
        match=rf"Archive {archive} has a member outside its folder: '{name}'\. "
        r"Nothing was extracted\.",
    ):
        extract_tar(archive, target)
    assert not (tmp_path / "out" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_extraction_refuses_links(tmp_path, kind):
    link = tarfile.TarInfo("link")
    link.type, link.linkname = kind, "/etc/passwd"
    archive = tar_with(tmp_path / "a.tar", link)
    with pytest.raises(
        DataError,
        match=r"members must be regular files or folders\. Received: 'link' "
        r"\(a link or special file\)",
    ):
        extract_tar(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "link").exists()


def test_extraction_names_a_damaged_archive(tmp_path):
    archive = cifar_tar_gz(tmp_path / "c.tar.gz")
    archive.write_bytes(archive.read_bytes()[:300])
    with pytest.raises(
        DataError, match=rf"Archive {archive} could not be extracted: it must be a whole tar or tar\.gz file"
    ):
        extract_tar(archive, tmp_path / "out")
