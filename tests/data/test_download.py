"""Downloads against a real HTTP server on 127.0.0.1: checksums, atomic files, cache, archives."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from deepscope import limits
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
        if self.path in SLOW:
            try:
                SLOW[self.path](self)
            except OSError:  # the client gave up: what these endpoints are for
                pass
            self.close_connection = True
            return
        super().do_GET()


def _trickle_body(handler: _Handler) -> None:
    """A mirror that sends one byte at a time, forever (well within any per-read timeout)."""
    handler.send_response(200)
    handler.send_header("Content-Length", "1000000")
    handler.end_headers()
    for _ in range(TRICKLE_BYTES):
        handler.wfile.write(b"x")
        time.sleep(TRICKLE_S)


def _trickle_headers(handler: _Handler) -> None:
    """A server that never finishes its headers."""
    handler.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
    for _ in range(TRICKLE_BYTES):
        handler.wfile.write(b"a")
        time.sleep(TRICKLE_S)


def _endless(handler: _Handler) -> None:
    """A body without Content-Length that does not end (until the client hangs up)."""
    handler.send_response(200)
    handler.end_headers()
    for _ in range(4096):  # 256 MiB at most
        handler.wfile.write(bytes(1 << 16))


def _liar(handler: _Handler) -> None:
    """Announces a terabyte."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(10**12))
    handler.end_headers()
    handler.wfile.write(b"x" * 100)


SLOW = {"/trickle": _trickle_body, "/slow-headers": _trickle_headers, "/endless": _endless, "/liar": _liar}
TRICKLE_S = 0.1
TRICKLE_BYTES = 300  # 30 s at most: the server's own bound


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
    """SOURCES[name] with the same files but the given checksums (and sizes not published)."""
    return dataclasses.replace(SOURCES[name], files=tuple((f, md5s[f]) for f, _ in SOURCES[name].files), sizes=())


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


# ----------------------------------------------------------------------------- hostile mirrors


def test_a_trickling_mirror_is_cut_off_at_the_overall_deadline(server, tmp_path, hostile):
    url, _, _ = server
    dest = tmp_path / "cache" / "t.bin"
    with (
        limits.override(download_seconds=1),
        pytest.raises(
            DataError,
            match=rf"Download of {url}/trickle took longer than its limit of 1 s and was stopped; the partial file "
            r"was deleted\. If the server is just slow, raise the limit: DEEPSCOPE_DOWNLOAD_TIMEOUT=<seconds>\.",
        ),
    ):
        download(f"{url}/trickle", dest)
    assert list(dest.parent.iterdir()) == []
    with limits.override(download_seconds=0.5):
        assert hostile("download", lambda: download(f"{url}/trickle", dest), seconds=5) == "error"


def test_a_server_trickling_its_headers_is_cut_off_too(server, tmp_path, hostile):
    url, _, _ = server
    with limits.override(download_seconds=0.5):
        assert hostile("download", lambda: download(f"{url}/slow-headers", tmp_path / "h.bin"), seconds=5) == "error"
        with pytest.raises(DataError, match=r"slow-headers took longer than its limit of 0\.5 s"):
            download(f"{url}/slow-headers", tmp_path / "h.bin")
    assert list(tmp_path.glob("*.part")) == [] and list(tmp_path.glob(".*.part")) == []


def test_a_body_without_length_stops_at_the_memory_cap(server, tmp_path, hostile):
    url, _, _ = server
    dest = tmp_path / "cache" / "e.bin"
    with (
        limits.override(memory="1MB"),
        pytest.raises(
            DataError,
            match=rf"Download of {url}/endless refused: it is longer than the cap of 976\.6 KiB for a download of "
            r"unknown size \(DEEPSCOPE_MAX_MEMORY\) \(1,000,000 bytes\); the partial file was deleted\.",
        ),
    ):
        download(f"{url}/endless", dest)
    assert list(dest.parent.iterdir()) == []
    assert hostile("download", lambda: download(f"{url}/endless", dest), memory="2MB", max_rss_mib=64) == "error"


def test_a_known_size_caps_the_download(server, tmp_path):
    url, root, _ = server
    (root / "blob.bin").write_bytes(bytes(100))
    with pytest.raises(
        DataError, match=r"refused: the server announces 100 bytes, more than its published size \(10 bytes\)\."
    ):
        download(f"{url}/blob.bin", tmp_path / "b", size=10)
    with pytest.raises(DataError, match=r"endless refused: it is longer than its published size \(5,000 bytes\)"):
        download(f"{url}/endless", tmp_path / "e", size=5000)
    assert download(f"{url}/blob.bin", tmp_path / "b", size=100).read_bytes() == bytes(100)
    assert list(tmp_path.glob(".*.part")) == []


def test_a_server_announcing_more_than_the_cap_is_refused_before_reading(server, tmp_path):
    url, _, _ = server
    with pytest.raises(DataError, match=r"liar refused: the server announces 1,000,000,000,000 bytes, more than"):
        download(f"{url}/liar", tmp_path / "l")
    assert list(tmp_path.iterdir()) == [tmp_path / "served"]


def test_the_published_sources_have_sizes():
    assert SOURCES["mnist"].size("train-images-idx3-ubyte.gz") == 9912422
    assert SOURCES["fashion-mnist"].size("t10k-labels-idx1-ubyte.gz") == 5148
    assert SOURCES["cifar10"].size("cifar-10-python.tar.gz") == 170498071
    assert all(source.size(f) for source in SOURCES.values() for f, _ in source.files)


def test_ctrl_c_removes_the_partial_file_and_restores_sigterm(server, tmp_path):
    url, root, _ = server
    (root / "blob.bin").write_bytes(bytes(3 << 20))
    before = signal.getsignal(signal.SIGTERM)

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download(f"{url}/blob.bin", tmp_path / "cache" / "b", progress=interrupt)
    assert list((tmp_path / "cache").iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) is before


_DOWNLOAD_IN_A_CHILD = """
import importlib.util, sys
from pathlib import Path
# download.py alone (not deepscope.data, which imports torch): the child starts in well under a second
spec = importlib.util.spec_from_file_location("download", sys.argv[1])
module = sys.modules["download"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.download(sys.argv[2], Path(sys.argv[3]))
"""


def test_sigterm_mid_download_leaves_no_partial_file(server, tmp_path):
    module = sys.modules["deepscope.data.download"]  # the module; deepscope.data.download is the function
    url, _, _ = server
    folder = tmp_path / "cache"
    child = subprocess.Popen(
        [sys.executable, "-c", _DOWNLOAD_IN_A_CHILD, module.__file__, f"{url}/trickle", str(folder / "t.bin")],
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(300):  # until the partial file exists (30 s at most)
            if list(folder.glob(".t.bin.*.part")) or child.poll() is not None:
                break
            time.sleep(0.1)
        assert list(folder.glob(".t.bin.*.part")), child.stderr.read().decode() if child.poll() is not None else ""
        os.kill(child.pid, signal.SIGTERM)
        assert child.wait(timeout=20) == -signal.SIGTERM  # still ended by the signal, after cleaning up
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert list(folder.iterdir()) == []
