"""Downloads of the standard datasets: checksum-verified, atomic, cached, safe to extract.

Nothing is downloaded unless the user asks (``download=True`` / ``--download``). Files go to
the cache, ``$DEEPSCOPE_HOME/<dataset>/`` (default ``~/.cache/deepscope``). Where the files
come from is the one table :data:`SOURCES` below; ``$DEEPSCOPE_MIRROR`` (a base URL) replaces
every base URL by ``$DEEPSCOPE_MIRROR/<dataset>/`` — for a local mirror, a proxy, or tests.

torchvision's ``download_and_extract_archive`` does a similar job but writes in place (a
crash leaves a half file under the final name) and extracts archives without a filter, so
the few lines of streaming, hashing and renaming are written here.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import tarfile
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from deepscope import limits
from deepscope.errors import DataError, UnknownNameError, invalid

__all__ = [
    "SOURCES",
    "Source",
    "cache_dir",
    "deepscope_home",
    "download",
    "download_dataset",
    "extract_tar",
    "file_digest",
    "published_file",
]

CHUNK = 1 << 20  # 1 MiB per read while streaming and hashing
TIMEOUT_S = 60.0  # per network operation; the whole file has limits.current().download_seconds


@dataclass(frozen=True)
class Source:
    """Where a standard dataset is published: ``base_url + filename`` for each file, with the
    md5 the publisher (and torchvision) lists and, where published, its size (a download
    stops there instead of writing whatever a mirror sends). ``archive`` files are extracted
    after download."""

    base_url: str
    files: tuple[tuple[str, str], ...]  # (filename, md5)
    archive: bool = False
    sizes: tuple[tuple[str, int], ...] = ()  # (filename, bytes) as published: a download stops there

    def size(self, filename: str) -> int | None:
        """The published size of ``filename`` in bytes, or None when not known."""
        return dict(self.sizes).get(filename)


# The one table of download locations and published checksums (md5s as torchvision lists them).
SOURCES: dict[str, Source] = {
    "mnist": Source(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        (
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        ),
        sizes=(
            ("train-images-idx3-ubyte.gz", 9912422),
            ("train-labels-idx1-ubyte.gz", 28881),
            ("t10k-images-idx3-ubyte.gz", 1648877),
            ("t10k-labels-idx1-ubyte.gz", 4542),
        ),
    ),
    "fashion-mnist": Source(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        (
            ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
            ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
        ),
        sizes=(
            ("train-images-idx3-ubyte.gz", 26421880),
            ("train-labels-idx1-ubyte.gz", 29515),
            ("t10k-images-idx3-ubyte.gz", 4422102),
            ("t10k-labels-idx1-ubyte.gz", 5148),
        ),
    ),
    "cifar10": Source(
        "https://www.cs.toronto.edu/~kriz/",
        (("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),),
        archive=True,
        sizes=(("cifar-10-python.tar.gz", 170498071),),
    ),
}


def deepscope_home() -> Path:
    """The cache root: ``$DEEPSCOPE_HOME``, else ``~/.cache/deepscope`` (read at each call)."""
    return Path(os.environ.get("DEEPSCOPE_HOME") or Path.home() / ".cache" / "deepscope").expanduser()


def cache_dir(name: str) -> Path:
    """The cache folder of dataset ``name``: ``<home>/<name>`` (not created here)."""
    return deepscope_home() / name


def published_file(url: str, name: str, sha256: str, *, folder: str = "weights", download: bool = False) -> Path:
    """A published file (pretrained weights) from deepscope's cache, ``<home>/<folder>/<name>``,
    checked against ``sha256`` (or its first 8+ digits); downloaded into the cache when absent
    and ``download`` is true, else a DataError says how to get it."""
    path = deepscope_home() / folder / name
    if path.is_file() and file_digest(path, "sha256").startswith(sha256.lower()):
        return path
    if not download:
        raise DataError(
            f"{name} is not in the cache ({path}). Allow the download with --download (download=True), "
            f"or pass the published file with --weights FILE."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return _download(url, path, sha256=sha256)


def base_url(name: str) -> str:
    """The base URL files of ``name`` are fetched from, honouring ``$DEEPSCOPE_MIRROR``."""
    mirror = os.environ.get("DEEPSCOPE_MIRROR")
    if mirror:
        return f"{mirror.rstrip('/')}/{name}/"
    return _source(name).base_url


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks (``algorithm`` is 'md5' or 'sha256')."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class _Terminated(BaseException):
    """SIGTERM arrived during a download: raised in the main thread so that ``finally``
    blocks remove the partial file; the signal is delivered again once they have run."""


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM raises :class:`_Terminated` instead
    of killing the process at once, so the block's cleanup runs; afterwards the previous
    handler is restored and the signal re-delivered to it (by default: the process ends)."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main else None
    if previous in (None, signal.SIG_IGN):  # not ours to handle (other thread, or ignored)
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)  # to the previous handler, or the default: exit
        raise DataError("The download was stopped by SIGTERM; its partial file was deleted.") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Sockets(list):
    """The sockets a download opened (redirects may open several), to time out its reads and
    to shut them when its deadline passes, even in the middle of reading headers."""

    fired = False

    def shut(self) -> None:
        self.fired = True
        for sock in self:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _check_deadline(deadline: limits.Deadline, sockets: _Sockets, url: str) -> None:
    """Raise once the download's deadline has passed (or its watchdog shut the connection)."""
    if sockets.fired or deadline.expired():
        raise DataError(
            f"Download of {url} took longer than its limit of {deadline.seconds:g} s and was stopped; "
            "the partial file was deleted. If the server is just slow, raise the limit: "
            "DEEPSCOPE_DOWNLOAD_TIMEOUT=<seconds>."
        )


def _tracked(base: type[http.client.HTTPConnection], sockets: _Sockets) -> type[http.client.HTTPConnection]:
    class Tracked(base):  # type: ignore[valid-type, misc]
        def connect(self) -> None:
            super().connect()
            sockets.append(self.sock)

    return Tracked


def _opener(sockets: _Sockets) -> urllib.request.OpenerDirector:
    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_tracked(http.client.HTTPConnection, sockets), req)

    class HTTPS(urllib.request.HTTPSHandler):
        def __init__(self) -> None:
            self.ssl_context = ssl.create_default_context()  # certificates checked, as urllib does by default
            super().__init__(context=self.ssl_context)

        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_tracked(http.client.HTTPSConnection, sockets), req, context=self.ssl_context)

    return urllib.request.build_opener(HTTP, HTTPS)


def _cap(url: str, size: int | None, length: int | None) -> tuple[int, str]:
    """The most bytes a download may write, and why: the published size when known, else
    the Content-Length the server announces, else the memory cap. A server announcing more
    than that is refused before anything is written."""
    memory = limits.current().memory
    if size is not None:
        cap, why = size, "its published size"
    elif length is not None and length <= memory:
        cap, why = length, "the size the server announced"
    else:
        cap = memory
        why = f"the cap of {limits.format_bytes(memory)} for a download of unknown size (DEEPSCOPE_MAX_MEMORY)"
    if length is not None and length > cap:
        raise DataError(
            f"Download of {url} refused: the server announces {length:,} bytes, more than {why} ({cap:,} bytes)."
        )
    return cap, why


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    size: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch ``url`` to ``dest`` and verify its checksum; return ``dest``. ``sha256`` may be a
    prefix of 8+ hex digits (torchvision names weight files by their sha256's first digits).

    The body is streamed to a temporary file beside ``dest`` and renamed over it only once
    complete and verified, so ``dest`` is either absent or whole. A ``dest`` that already
    exists with the right checksum is kept (cache hit). A checksum mismatch deletes the
    download and raises :class:`DataError`. ``progress(done_bytes, total_bytes_or_None)`` is
    called after each chunk.

    Bounds: the whole download must finish within ``limits.current().download_seconds`` (a
    server that trickles bytes is cut off, even mid-headers); at most ``size`` bytes (the
    published size, when known), else the announced Content-Length, else the memory cap,
    are written. The temporary file is removed on every way out: an error, Ctrl-C, or
    SIGTERM (received in the main thread).
    """
    dest = Path(dest)
    if sha256 is not None and md5 is not None:
        raise invalid("sha256/md5", "one checksum, not both", (sha256, md5))
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise invalid("size", "a number of bytes >= 0 or None", size)
    algorithm, expected = ("sha256", sha256) if sha256 is not None else ("md5", md5)
    scheme = url.partition(":")[0].lower()
    if scheme not in ("http", "https", "file"):
        raise invalid("url", "an http://, https:// or file:// URL", url)
    if expected is not None and (len(expected) < 8 or len(expected) > 64):
        raise invalid(algorithm, "a hex digest (or, for torchvision's weight files, its first 8+ characters)", expected)
    if dest.is_file() and (expected is None or file_digest(dest, algorithm).startswith(expected.lower())):
        return dest

    deadline = limits.Deadline(limits.current().download_seconds)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sockets = _Sockets()
    watchdog = threading.Timer(deadline.remaining(), sockets.shut)  # unblocks a read stuck past the deadline
    watchdog.daemon = True
    tmp: Path | None = None
    with _terminate_cleanly():
        try:
            watchdog.start()
            fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as out:
                done, total = _fetch(url, dest, out, algorithm, expected, size, progress, deadline, sockets)
            if total is not None and done != total:
                raise DataError(f"Download of {url} is truncated: received {done:,} of {total:,} bytes.")
            os.replace(tmp, dest)
        except DataError:
            _check_deadline(deadline, sockets, url)  # a read cut short by the watchdog: say so
            raise
        finally:
            watchdog.cancel()
            if tmp is not None:
                tmp.unlink(missing_ok=True)
    return dest


_download = download  # for published_file, whose `download` argument shadows the function


def _fetch(
    url: str,
    dest: Path,
    out: IO[bytes],
    algorithm: str,
    expected: str | None,
    size: int | None,
    progress: Callable[[int, int | None], None] | None,
    deadline: limits.Deadline,
    sockets: _Sockets,
) -> tuple[int, int | None]:
    """Stream ``url`` into ``out`` within the deadline and the byte cap, verify the checksum;
    return (bytes written, Content-Length or None)."""
    h = hashlib.new(algorithm)
    try:
        response = _opener(sockets).open(url, timeout=max(min(TIMEOUT_S, deadline.remaining()), 0.001))
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        _check_deadline(deadline, sockets, url)
        reason = (
            f"HTTP {error.code} {error.reason}"
            if isinstance(error, urllib.error.HTTPError)
            else getattr(error, "reason", error)
        )
        raise DataError(
            f"Could not download {url}: {reason}. "
            f"Put the file at {dest} yourself, or set DEEPSCOPE_MIRROR to a base URL that serves it."
        ) from None
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        cap, why = _cap(url, size, total)
        read = getattr(response, "read1", response.read)  # read1: what has arrived, not a full chunk
        done = 0
        try:
            while True:
                _check_deadline(deadline, sockets, url)
                if sockets:
                    sockets[-1].settimeout(max(min(TIMEOUT_S, deadline.remaining()), 0.001))
                chunk = read(min(CHUNK, cap + 1 - done))
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                done += len(chunk)
                if done > cap:
                    raise DataError(
                        f"Download of {url} refused: it is longer than {why} ({cap:,} bytes); "
                        "the partial file was deleted."
                    )
                if progress is not None:
                    progress(done, total)
        except (OSError, http.client.HTTPException) as error:  # e.g. IncompleteRead, a timeout
            _check_deadline(deadline, sockets, url)
            raise DataError(f"Download of {url} broke off after {done:,} bytes: {error}.") from None
    _check_deadline(deadline, sockets, url)
    if expected is not None and not h.hexdigest().startswith(expected.lower()):
        raise DataError(
            f"Checksum mismatch for {url}: {algorithm} must be {expected.lower()}. "
            f"Received: {algorithm}={h.hexdigest()} ({done:,} bytes). The download was deleted; "
            "the file on the server differs from the published one."
        )
    return done, total


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise UnknownNameError("downloadable dataset", name, SOURCES)
    return SOURCES[name]


def download_dataset(
    name: str, folder: Path | None = None, *, progress: Callable[[int, int | None], None] | None = None
) -> Path:
    """Download the files of standard dataset ``name`` (a key of :data:`SOURCES`) into
    ``folder`` (default: its cache folder), verify them, extract archives; return the folder.
    Files already present with the right checksum are not fetched again."""
    source = _source(name)
    folder = Path(folder) if folder is not None else cache_dir(name)
    base = base_url(name)
    for filename, md5 in source.files:
        target = folder / filename
        download(base + filename, target, md5=md5, size=source.size(filename), progress=progress)
        if source.archive:
            extract_tar(target, folder)
            target.unlink()  # the extracted files are the cache; keep one copy only
    return folder


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Refuse members that could land outside the target: absolute or '..' paths, links,
    devices. (tarfile's 'data' filter refuses these too; this names the member clearly.)"""
    parts = PurePosixPath(member.name).parts
    if member.name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise DataError(f"Archive {archive} has a member outside its folder: {member.name!r}. Nothing was extracted.")
    if not (member.isfile() or member.isdir()):
        raise DataError(
            f"Archive {archive} members must be regular files or folders. "
            f"Received: {member.name!r} (a link or special file). Nothing was extracted."
        )


def extract_tar(archive: Path, target: Path) -> Path:
    """Extract a (gzipped) tar archive into ``target`` so that nothing can be written outside
    it: every member is checked first, then extracted with tarfile's 'data' filter into a
    temporary folder that is moved into place entry by entry."""
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, archive)
            staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target))
            try:
                tar.extractall(staging, members=members, filter="data")
                for entry in staging.iterdir():
                    final = target / entry.name
                    if final.is_dir() and not final.is_symlink():
                        shutil.rmtree(final)
                    elif final.exists() or final.is_symlink():
                        final.unlink()
                    os.replace(entry, final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(
            f"Archive {archive} could not be extracted: it must be a whole tar or tar.gz file ({error})."
        ) from None
    return target
