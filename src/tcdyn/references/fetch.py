"""Bounded downloads of a deployment's references and schemas.

A deployment decides what tcdyn downloads, so nothing it serves may exhaust memory or hold the
caller: bodies are streamed and cut off past a per-file and a per-set cap (gzip is inflated
under the same cap), and every connect, read and write is given only what is left of one overall
deadline, so a server dripping a byte a second cannot keep ``tcdyn.load(rootUrl, timeout=...)``
waiting past it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .. import environment
from ..checks import seconds
from ..errors import ReferenceLoadError

if TYPE_CHECKING:
    import httpx

#: Default cap on one reference or schema file (read from a deployment or from disk).
MAX_FILE_BYTES = 32 * 1024 * 1024
#: Default cap on everything one fetch of a deployment downloads (``references.json`` too).
MAX_TOTAL_BYTES = 256 * 1024 * 1024
#: Default deadline, in seconds, for a whole fetch of a deployment's references and schemas
#: (``tcdyn.load``, ``tcdyn references pull``); not the API calls' ``DEFAULT_TIMEOUT`` (30 s
#: for each attempt of one call, ``tcdyn.call.options``).
DEFAULT_LOAD_TIMEOUT = 60.0
FILE_LIMIT_ENV = environment.REFERENCE_FILE_LIMIT
TOTAL_LIMIT_ENV = environment.REFERENCE_TOTAL_LIMIT
_PER_OPERATION = 30.0  # the longest single connect/read when no deadline is set


class BudgetExceeded(ReferenceLoadError):
    """The deadline passed or a size cap was reached: the whole fetch stops."""


def _env_bytes(name: str, default: int) -> int:
    text = environment.value(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"${name} must be a positive number of bytes, got {text!r}")
    return value


class Limits:
    """Size caps, in bytes: ``file`` for one file, ``total`` for one fetch of a deployment.
    Read-only (a plain class: a frozen dataclass costs more to make at import)."""

    __slots__ = ("file", "total")
    file: int
    total: int

    def __init__(self, file: int = MAX_FILE_BYTES, total: int = MAX_TOTAL_BYTES) -> None:
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "total", total)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Limits is read-only: cannot set {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Limits):
            return NotImplemented
        return (self.file, self.total) == (other.file, other.total)

    def __hash__(self) -> int:
        return hash((self.file, self.total))

    def __repr__(self) -> str:
        return f"Limits(file={self.file}, total={self.total})"

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, or ``$TCDYN_REFERENCE_FILE_LIMIT`` / ``$TCDYN_REFERENCE_TOTAL_LIMIT``."""
        return cls(_env_bytes(FILE_LIMIT_ENV, MAX_FILE_BYTES),
                   _env_bytes(TOTAL_LIMIT_ENV, MAX_TOTAL_BYTES))


def check_timeout(timeout: float | None) -> float | None:
    """``timeout`` if it is None or a number of seconds (``checks.seconds``)."""
    return None if timeout is None else seconds(timeout, "timeout")


class Budget:
    """What one fetch of a deployment may still spend: bytes and time."""

    def __init__(self, *, timeout: float | None = DEFAULT_LOAD_TIMEOUT,
                 limits: Limits | None = None) -> None:
        self.timeout = check_timeout(timeout)
        self.limits = limits or Limits.from_env()
        self.deadline = None if self.timeout is None else time.monotonic() + self.timeout
        self.used = 0

    def left(self, source: str) -> float | None:
        """Seconds left (None: no deadline); ReferenceLoadError once it has passed."""
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BudgetExceeded(source, f"timed out: fetching the references took longer "
                                     f"than timeout={self.timeout:g} s", unreachable=True)
        return left

    def operation_timeout(self, source: str) -> float:
        """The timeout for one connect/read/write: what is left, at most 30 s."""
        left = self.left(source)
        return _PER_OPERATION if left is None else min(left, _PER_OPERATION)

    def spend(self, size: int, source: str) -> None:
        self.used += size
        if self.used > self.limits.total:
            raise BudgetExceeded(source, f"the references exceed the {self.limits.total} "
                                     f"byte limit for one deployment (${TOTAL_LIMIT_ENV})")


def too_large(source: str, limit: int) -> BudgetExceeded:
    return BudgetExceeded(source, f"larger than the {limit} byte limit for one file "
                              f"(${FILE_LIMIT_ENV})")


def read_file(path: Path, limit: int | None = None) -> bytes:
    """A regular file's bytes, at most ``limit`` (default: the file cap) or ReferenceLoadError."""
    limit = Limits.from_env().file if limit is None else limit
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block us
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ReferenceLoadError(str(path), "file not found") from None
    except OSError as exc:
        raise ReferenceLoadError(str(path), f"cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ReferenceLoadError(str(path), "not a regular file")
        if info.st_size > limit:
            raise too_large(str(path), limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise too_large(str(path), limit)
    return data


def get(client: httpx.Client, url: str, budget: Budget, *, limit: int | None = None) -> bytes:
    """GET ``url`` (status 200 expected) within ``budget``; at most ``limit`` bytes
    (default: the file cap) after inflating gzip."""
    import httpx

    from ..transport.deadline import Deadline, bounded

    limit = budget.limits.file if limit is None else limit
    timeout = budget.operation_timeout(url)
    scope = (contextlib.nullcontext() if budget.deadline is None
             else bounded(Deadline.ending_at(budget.deadline)))
    try:
        with scope, client.stream("GET", url, timeout=timeout,
                                  headers={"Accept-Encoding": "gzip"}) as response:
            if response.status_code != 200:
                raise ReferenceLoadError(url, f"HTTP {response.status_code}",
                                         status_code=response.status_code)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise too_large(url, limit)
            return _body(response, url, budget, limit)
    except httpx.TimeoutException:
        budget.left(url)  # says "timed out: ... timeout=" when it is the deadline
        raise BudgetExceeded(url, "timed out: no data for too long", unreachable=True) from None
    except httpx.TransportError as exc:  # no answer: refused, reset, DNS, ...
        raise ReferenceLoadError(url, f"could not be fetched: {exc}", unreachable=True) from None
    except httpx.HTTPError as exc:
        raise ReferenceLoadError(url, f"could not be fetched: {exc}") from None


def _body(response: httpx.Response, url: str, budget: Budget, limit: int) -> bytes:
    """The body, inflated by the same capped reader API responses use."""
    from ..call.response import BodyReader

    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ReferenceLoadError(url, f"unsupported Content-Encoding {encoding!r}")
    reader = BodyReader(encoding, limit)
    for raw in response.iter_raw():
        budget.left(url)
        if not reader.feed(raw):
            break
    if reader.undecodable:
        raise ReferenceLoadError(url, reader.undecodable)
    if reader.too_large:
        raise too_large(url, limit)
    data = reader.content()
    budget.spend(len(data), url)
    return data


def client() -> httpx.Client:
    """The httpx client of reference fetches (``transport.clients.sync_client``: no redirects,
    the proxy rule, the shared TLS context); each ``get`` bounds its every socket wait by its
    budget's deadline (``transport.deadline``, as API calls are)."""
    from ..transport.clients import sync_client

    return sync_client(follow_redirects=False, timeout=_PER_OPERATION)
