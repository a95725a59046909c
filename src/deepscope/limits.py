"""Resource caps for reading untrusted input, and the readers that honour them.

Hostile input is normal input: a 2 MB gzip that inflates to gigabytes, a CIFAR batch whose
header claims 200,000 images, a PNG of 40,000 x 40,000 pixels, a named pipe where a file
should be, a mirror that trickles one byte every 20 s. Every reader in deepscope checks
sizes against these caps *before* it allocates, opens only regular files, and ends in a
:class:`~deepscope.errors.DeepscopeError` that names the file and the cap.

The caps are settings with safe defaults; a user with a real 20 GB dataset raises them:

- environment variables (read at each use): ``DEEPSCOPE_MAX_MEMORY`` (e.g. ``24GB``),
  ``DEEPSCOPE_MAX_TEXT``, ``DEEPSCOPE_MAX_IMAGE_PIXELS``, ``DEEPSCOPE_DOWNLOAD_TIMEOUT`` (seconds);
- in Python, for a block: ``with deepscope.limits.override(memory="24GB"): ...``;
- on the command line: ``deepscope --max-memory 24GB train ...``.

A base module like ``errors``: every package may import it; it imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any

from deepscope.errors import DataError, DeepscopeError, InvalidArgumentError, closest, invalid

__all__ = [
    "Deadline",
    "Limits",
    "check_allocation",
    "check_regular",
    "current",
    "format_bytes",
    "open_regular",
    "override",
    "parse_size",
    "read_bytes",
    "read_text",
]

GiB = 1 << 30
MiB = 1 << 20


def _default_memory() -> int:
    """Half the machine's RAM, at most 8 GiB: a loader may build tensors this large."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not every platform reports it
        ram = 8 * GiB
    return int(min(8 * GiB, max(ram // 2, 512 * MiB)))


@dataclass(frozen=True)
class Limits:
    """The caps in force. Sizes are bytes, ``image_pixels`` a pixel count, ``download_seconds``
    an overall deadline for one file (not per read)."""

    memory: int  # the largest array one loader allocates (decoded images, tensors, inflated files)
    text: int = 512 * MiB  # the largest text / CSV / JSON file read whole
    image_pixels: int = 64 * MiB  # the most pixels one image may decode to (after draft/reduce)
    download_seconds: float = 6 * 3600.0  # the longest one download may take, start to finish

    ENV = {
        "memory": "DEEPSCOPE_MAX_MEMORY",
        "text": "DEEPSCOPE_MAX_TEXT",
        "image_pixels": "DEEPSCOPE_MAX_IMAGE_PIXELS",
        "download_seconds": "DEEPSCOPE_DOWNLOAD_TIMEOUT",
    }


_OVERRIDES: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("deepscope_limits", default=None)


def parse_size(value: str | int | float, *, arg: str = "size") -> int:
    """``'24GB'``, ``'512MiB'``, ``'1e9'`` or ``1000`` -> bytes (decimal and binary units)."""
    if isinstance(value, bool):
        raise invalid(arg, "a size such as 512MB, 24GB or a number of bytes", value)
    if isinstance(value, (int, float)):
        number, unit = float(value), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?i?[bB]?)\s*", str(value))
        if not match:
            raise invalid(arg, "a size such as 512MB, 24GB or a number of bytes", value)
        number, unit = float(match.group(1)), match.group(2).upper().rstrip("B")
    scale = {
        "": 1,
        "K": 10**3,
        "M": 10**6,
        "G": 10**9,
        "T": 10**12,
        "KI": 2**10,
        "MI": 2**20,
        "GI": 2**30,
        "TI": 2**40,
    }[unit]
    size = number * scale
    if not (size > 0 and size < 2**63):
        raise invalid(arg, "a positive size below 8 EiB", value)
    return int(size)


def _check_value(name: str, value: Any) -> int | float:
    if name == "download_seconds":
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise invalid(name, "a positive number of seconds", value) from None
        if not (seconds > 0 and seconds < float("inf")):
            raise invalid(name, "a positive number of seconds", value)
        return seconds
    if name == "image_pixels":
        return parse_size(value, arg=name)  # a count; units still help ('64M')
    return parse_size(value, arg=name)


def current() -> Limits:
    """The caps in force here: ``override`` blocks first, then environment variables, then
    the defaults."""
    values: dict[str, Any] = {"memory": _default_memory()}
    for name, env in Limits.ENV.items():
        if os.environ.get(env):
            values[name] = _check_value(env, os.environ[env])
    values.update(_OVERRIDES.get() or {})
    return Limits(**values)


@contextlib.contextmanager
def override(**caps: Any) -> Iterator[Limits]:
    """Raise or lower caps for a block: ``with override(memory="24GB", text="2GB"): ...``."""
    names = [f.name for f in fields(Limits)]
    checked = {}
    for name, value in caps.items():
        if name not in names:
            near = closest(name, names)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise InvalidArgumentError(f"Unknown limit {name!r}.{hint} Valid limits: {', '.join(names)}.")
        checked[name] = _check_value(name, value)
    token = _OVERRIDES.set({**(_OVERRIDES.get() or {}), **checked})
    try:
        yield current()
    finally:
        _OVERRIDES.reset(token)


def _cap(what: str) -> str:
    return what[:1].upper() + what[1:]


def format_bytes(n: float) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def check_allocation(nbytes: int, what: str, *, error: type[DeepscopeError] = DataError) -> None:
    """Refuse, before allocating, an array of ``nbytes`` larger than the memory cap."""
    cap = current().memory
    if nbytes > cap:
        raise error(
            f"{what} would need {format_bytes(nbytes)} of memory, more than the cap of {format_bytes(cap)}. "
            f"If the data is real, raise the cap: DEEPSCOPE_MAX_MEMORY=<size> or `deepscope --max-memory <size>`."
        )


_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular(path: str | Path, what: str = "file", *, error: type[DeepscopeError] = DataError) -> os.stat_result:
    """Stat ``path`` (following links) and refuse anything but a regular file, naming it.
    Does not open it: opening a FIFO would block."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{_cap(what)} {path} does not exist.") from None
    except OSError as oserror:
        raise error(f"{_cap(what)} {path} cannot be read ({oserror.strerror}).") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{_cap(what)} {path} must be a regular file. Received: {_kind(st.st_mode)}.")
    return st


def open_regular(path: str | Path, what: str = "file", *, error: type[DeepscopeError] = DataError) -> IO[bytes]:
    """Open ``path`` for binary reading only if it is a regular file. Opens non-blocking
    first, so a FIFO cannot hang us, then checks the open descriptor (no race with a swap)."""
    path = Path(path)
    check_regular(path, what, error=error)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as oserror:
        raise error(f"{_cap(what)} {path} cannot be read ({oserror.strerror}).") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # swapped for something else between stat and open
        os.close(fd)
        raise error(f"{_cap(what)} {path} must be a regular file. Received: {_kind(st.st_mode)}.")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bytes(
    path: str | Path, what: str = "file", *, limit: int | None = None, error: type[DeepscopeError] = DataError
) -> bytes:
    """A regular file's bytes, refused (before reading) when larger than ``limit`` (default:
    the memory cap). Reads at most ``limit + 1`` bytes even if the file grows meanwhile."""
    limit = current().memory if limit is None else limit
    with open_regular(path, what, error=error) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise error(
                f"{_cap(what)} {path} is {format_bytes(size)}, more than the cap of "
                f"{format_bytes(limit)} for this kind of file.{_RAISE_HINT}"
            )
        data = f.read(limit + 1)
    if len(data) > limit:
        raise error(f"{_cap(what)} {path} grew past the cap of {format_bytes(limit)} while being read.")
    return data


_RAISE_HINT = " If it is real, raise the cap (DEEPSCOPE_MAX_MEMORY / DEEPSCOPE_MAX_TEXT, or `deepscope --max-memory`)."


def read_text(
    path: str | Path,
    what: str = "file",
    *,
    limit: int | None = None,
    encoding: str = "utf-8",
    errors: str = "strict",
    error: type[DeepscopeError] = DataError,
) -> str:
    """A regular file's text, at most ``limit`` bytes (default: the text cap). Undecodable
    bytes raise ``error`` naming the file and the byte offset (with ``errors='strict'``)."""
    data = read_bytes(path, what, limit=current().text if limit is None else limit, error=error)
    try:
        return data.decode(encoding, errors=errors)
    except UnicodeDecodeError as decode_error:
        raise error(
            f"{_cap(what)} {path} is not valid {encoding} text (byte {decode_error.start}: "
            f"{data[decode_error.start : decode_error.start + 4]!r})."
        ) from None


class Deadline:
    """An overall time limit: ``Deadline(60).check('download of X')`` raises once 60 s have
    passed since creation; ``remaining()`` gives what is left (for socket timeouts)."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self._end = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(self._end - time.monotonic(), 0.0)

    def expired(self) -> bool:
        return time.monotonic() >= self._end

    def check(self, what: str, *, error: type[DeepscopeError] = DataError) -> None:
        if self.expired():
            raise error(f"{what} took longer than its limit of {self.seconds:g} s and was stopped.")
