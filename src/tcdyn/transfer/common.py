"""What uploads and downloads share, sync and async: hashing while streaming, progress,
retry decisions, argument checks, and the plain HTTP client for storage hosts.

Storage hosts (S3 and the like) are other hosts than the deployment: they are reached with a
separate httpx client that has no Taskcluster credentials, and their URLs (which carry
signatures in the query) never appear whole in an exception: only scheme, host and path do.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import sys
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..call.options import DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_TIMEOUT, RetryPolicy
from ..call.response import BodyReader, clip, size_text
from ..errors import (
    InvalidResponse,
    ObjectHashVerificationError,
    ResponseTooLarge,
    TaskclusterArgumentError,
    TaskclusterConnectionError,
    TaskclusterRestFailure,
)

log = logging.getLogger("tcdyn.transfer")

#: Objects smaller than this are proposed to the object service inline (the official value).
DATA_INLINE_MAX_SIZE = 8192
#: Bytes read from a reader, or from a response, at a time.
CHUNK_SIZE = 1024 * 1024
#: Bytes hashed at a time on the hashing threads, and how many such batches may be in flight.
HASH_BATCH = 1024 * 1024
HASH_DEPTH = 4
#: Progress is reported after at least this many more bytes (and at the end).
PROGRESS_STEP = 256 * 1024
#: How much of a storage host's error body goes into the exception.
ERROR_BODY_LIMIT = 64 * 1024
#: The hashes the object service accepts.
ACCEPTABLE_HASHES = ("sha256", "sha512")

Progress = Callable[[int, "int | None"], Any]


class Hashes:
    """sha256 and sha512 of every byte fed, and how many bytes that was.

    Chunks are hashed in batches of ``HASH_BATCH`` bytes on two worker threads (one per
    algorithm; hashlib releases the GIL), so hashing overlaps the caller's sending or
    writing and the two hashes run at once. At most ``HASH_DEPTH`` batches are in flight:
    ``update`` waits for the oldest beyond that, which bounds the memory held. Transfers
    that never fill a batch are hashed inline and start no thread. The chunks fed must not
    change afterwards (``bytes``). ``close`` stops the threads of an abandoned attempt.
    """

    __slots__ = ("_inflight", "_pending", "_pending_size", "_workers", "active", "count",
                 "sha256", "sha512")

    def __init__(self, active: bool = True) -> None:
        self.active = active  # False: only count (nothing to verify against)
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()
        self.count = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._workers: tuple[ThreadPoolExecutor, ThreadPoolExecutor] | None = None
        self._inflight: deque[tuple[Future[None], Future[None]]] = deque()

    def update(self, chunk: bytes) -> None:
        self.count += len(chunk)
        if not self.active:
            return
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= HASH_BATCH:
            self._dispatch()

    def _dispatch(self) -> None:
        batch, self._pending, self._pending_size = self._pending, [], 0
        if self._workers is None:
            self._workers = (ThreadPoolExecutor(1, thread_name_prefix="tcdyn-sha256"),
                             ThreadPoolExecutor(1, thread_name_prefix="tcdyn-sha512"))
        inflight = self._inflight
        while len(inflight) >= HASH_DEPTH:
            for future in inflight.popleft():
                future.result()
        inflight.append((self._workers[0].submit(_feed, self.sha256, batch),
                         self._workers[1].submit(_feed, self.sha512, batch)))

    def _drain(self) -> None:
        if self._workers is None:
            _feed(self.sha256, self._pending)
            _feed(self.sha512, self._pending)
            self._pending, self._pending_size = [], 0
            return
        if self._pending:
            self._dispatch()
        try:
            while self._inflight:
                for future in self._inflight.popleft():
                    future.result()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker threads (pending batches are dropped)."""
        workers, self._workers = self._workers, None
        self._inflight.clear()
        if workers is not None:
            for worker in workers:
                worker.shutdown(wait=False, cancel_futures=True)

    def hexdigests(self) -> dict[str, str]:
        self._drain()
        return {"sha256": self.sha256.hexdigest(), "sha512": self.sha512.hexdigest()}


def _feed(hasher: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:
        hasher.update(chunk)


def verifyHashes(observed: Mapping[str, str], expected: Mapping[str, str]) -> None:
    """Every hash present on both sides must agree, and at least one of them must be an
    acceptable one (sha256/sha512); else ``ObjectHashVerificationError``."""
    agreed = False
    for algo, value in observed.items():
        if algo in expected:
            if not hmac.compare_digest(str(value), str(expected[algo])):
                raise ObjectHashVerificationError(
                    f"Validation of object data's {algo} hash failed")
            agreed = agreed or algo in ACCEPTABLE_HASHES
    if not agreed:
        raise _no_acceptable_hashes()


def _no_acceptable_hashes() -> ObjectHashVerificationError:
    return ObjectHashVerificationError("No acceptable hashes found in object metadata")


class Reporter:
    """Calls the user's ``progress(done, total)``: at each new attempt (``restart``), after
    every ``PROGRESS_STEP`` bytes or more, and at the end (``add`` reaching ``total``, or
    ``finish``)."""

    __slots__ = ("callback", "done", "reported", "total")

    def __init__(self, callback: Progress | None, total: int | None = None) -> None:
        self.callback = callback
        self.total = total
        self.done = 0
        self.reported = 0

    def restart(self, total: int | None) -> None:
        self.total, self.done, self.reported = total, 0, 0
        if self.callback is not None:
            self.callback(0, total)

    def add(self, n: int) -> None:
        self.done += n
        if self.callback is not None and (self.done - self.reported >= PROGRESS_STEP
                                          or self.done == self.total):
            self.reported = self.done
            self.callback(self.done, self.total)

    def finish(self) -> None:
        """Report what was not reported yet (a body of unknown length has ended)."""
        if self.callback is not None and self.done != self.reported:
            self.reported = self.done
            self.callback(self.done, self.total)


# -- arguments ------------------------------------------------------------------------------

def check_str(func: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TaskclusterArgumentError(f"{func}() argument {name!r} must be a non-empty str, "
                                       f"got {value!r:.60}")
    return value


def check_count(func: str, name: str, value: Any, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TaskclusterArgumentError(f"{func}() argument {name!r} must be an int >= 0, "
                                       f"got {value!r:.60}")
    return value


def check_callable(func: str, name: str, value: Any, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not callable(value):
        raise TaskclusterArgumentError(f"{func}() argument {name!r} must be callable, got "
                                       f"{type(value).__name__}")
    return value


def file_reader_factory(func: str, file: Any) -> Callable[[], Any]:
    """A ``readerFactory`` reading a seekable binary file object from its start (each retry
    of an upload reads it again)."""
    if not callable(getattr(file, "read", None)) or not callable(getattr(file, "seek", None)):
        raise TaskclusterArgumentError(f"{func}() argument 'file' must be a binary file "
                                       f"object open for reading, got {type(file).__name__}")

    def readerFactory() -> Any:
        file.seek(0)
        return file

    return readerFactory


def check_service(func: str, name: str, value: Any, methods: tuple[str, ...]) -> Any:
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if value is None or missing:
        raise TaskclusterArgumentError(
            f"{func}() argument {name!r} must be a client with {', '.join(methods)} "
            f"(e.g. tcdyn.{'Queue' if 'Queue' in name or 'queue' in name else 'Object'}), "
            f"got {type(value).__name__}")
    return value


def check_timeouts(func: str, deadline: Any) -> float | None:
    if deadline is None:
        return None
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or deadline <= 0:
        raise TaskclusterArgumentError(f"{func}() argument 'deadline' must be a number of "
                                       f"seconds > 0, got {deadline!r:.60}")
    return float(deadline)


def service_timeout(service: Any) -> float | None:
    """The per-wait timeout of a tcdyn client (its ``timeout`` option), else the default."""
    value = getattr(service, "_timeout", DEFAULT_TIMEOUT)
    return value if value is None or isinstance(value, (int, float)) else DEFAULT_TIMEOUT


def service_max_size(service: Any) -> int:
    """The body ceiling of a tcdyn client (``max_response_size``), for in-memory results."""
    value = getattr(service, "_max_response_size", None)
    return value if isinstance(value, int) and value > 0 else DEFAULT_MAX_RESPONSE_SIZE


async def aw(value: Any) -> Any:
    """``value``, awaited when it is awaitable (sync or async clients, readers, writers)."""
    return await value if inspect.isawaitable(value) else value


# -- storage hosts --------------------------------------------------------------------------

def safe_url(url: str) -> str:
    """``url`` without its query and fragment (where presigned URLs keep their signature)
    and without user information."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<unparseable URL>"


def check_url(func: str, url: Any) -> str:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise TaskclusterRestFailure(f"{func}: the service gave no http(s) URL to transfer "
                                     f"with (got {type(url).__name__})")
    return url


def client_kwargs(timeout: float | None) -> dict[str, Any]:
    """A storage client: no credentials, redirects followed (storage hosts redirect among
    themselves), every socket wait bounded by ``timeout``."""
    return {"follow_redirects": True, "timeout": httpx.Timeout(timeout),
            "headers": {"Accept-Encoding": "identity"}}


def exact_headers(request: httpx.Request, headers: Mapping[str, str]) -> httpx.Request:
    """``request`` carrying only ``Host`` and ``headers`` (plus the body's framing)."""
    given = httpx.Headers({str(k): str(v) for k, v in headers.items()})
    out = httpx.Headers({"Host": request.headers["host"]})
    for key in ("content-length", "transfer-encoding"):
        if key in request.headers and key not in given and not (
                key == "transfer-encoding" and "content-length" in given):
            out[key] = request.headers[key]
    out.update(given)
    request.headers = out
    return request


def put_headers(method: Mapping[str, Any], length: int) -> dict[str, str]:
    headers = method.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise TaskclusterRestFailure("createUpload answered putUrl headers that are not an "
                                     "object")
    out = {str(k): str(v) for k, v in headers.items()}
    if not any(k.lower() == "content-length" for k in out):
        out["Content-Length"] = str(length)  # framing: never a chunked PUT to storage
    return out


class StorageStatus(Exception):
    """A storage host answered an error status (internal: becomes a retry or a failure)."""

    def __init__(self, method: str, url: str, status: int, text: str) -> None:
        self.method, self.url, self.status, self.text = method, url, status, text
        super().__init__(f"HTTP {status}")

    @property
    def transient(self) -> bool:
        return self.status >= 500 or self.status in (408, 429)

    def failure(self, attempts: int) -> TaskclusterRestFailure:
        return TaskclusterRestFailure(
            f"storage host answered {self.status} to {self.method} {safe_url(self.url)}"
            f"{f': {self.text}' if self.text else ''}",
            status_code=self.status, service="storage", http_method=self.method,
            url=safe_url(self.url), attempts=attempts)


def error_body(content_encoding: str | None) -> BodyReader:
    return BodyReader(content_encoding, ERROR_BODY_LIMIT)


def error_text(reader: BodyReader) -> str:
    return clip(reader.content().decode("utf-8", "replace").strip(), 500)


def too_large(url: str, limit: int, attempts: int, size: int | None = None
              ) -> ResponseTooLarge:
    """The refusal of a body past ``maxSize``: its size when announced, the cap, the way
    to raise it."""
    what = f"is {size} bytes, over" if size is not None else "is larger than"
    return ResponseTooLarge(
        f"the object {what} the download cap of {size_text(limit)} (maxSize; downloads "
        "into memory default to the client's max_response_size): pass maxSize=<bytes> to "
        "raise it, or download to a file", service="storage", http_method="GET",
        url=safe_url(url), attempts=attempts)


def body_reader(content_encoding: str | None, max_size: int | None) -> BodyReader:
    """The decoder of a storage body: storage hosts may label a body gzip or deflate
    although tcdyn asks for identity; it is inflated in bounded steps, stopping past
    ``max_size`` (None: no limit). Any other encoding is refused."""
    return BodyReader(content_encoding, max_size if max_size is not None else sys.maxsize)


def refusal(reader: BodyReader, url: str, attempts: int) -> Exception | None:
    """Why the body read so far cannot be the object (not retried): an encoding that
    cannot be decoded, or a size past ``maxSize``; None while it can."""
    if reader.undecodable:
        return InvalidResponse(f"{reader.undecodable} (tcdyn asked for identity)",
                               status_code=200, service="storage", http_method="GET",
                               url=safe_url(url), attempts=attempts)
    if reader.too_large:
        return too_large(url, reader.limit, attempts)
    return None


class BufReader:
    """A reader over a buffer, without copying it whole."""

    __slots__ = ("pos", "view")

    def __init__(self, data: Any) -> None:
        self.view = memoryview(data).cast("B")
        self.pos = 0

    def read(self, max_size: int = -1) -> bytes:
        end = len(self.view) if max_size is None or max_size < 0 else self.pos + max_size
        chunk = bytes(self.view[self.pos:end])
        self.pos += len(chunk)
        return chunk


class Expired(Exception):
    """A whole-attempt deadline passed (internal: retried like a timeout)."""


TRANSIENT = (httpx.TransportError, Expired)
FATAL = httpx.HTTPError


def give_up(what: str, url: str, exc: BaseException, attempts: int) -> Exception:
    """The error after the last attempt: the storage status, or a connection error. The
    original exception (whose request holds the signed URL) is not kept."""
    if isinstance(exc, StorageStatus):
        return exc.failure(attempts)
    return TaskclusterConnectionError(
        f"{what} {safe_url(url)} failed after {attempts} attempts: "
        f"{type(exc).__name__}: {exc}", superExc=None, url=safe_url(url), attempts=attempts)


def retrying(policy: RetryPolicy, attempt: int, what: str, exc: BaseException) -> float | None:
    """Seconds to wait before the next attempt after ``exc``, or None to stop."""
    if isinstance(exc, StorageStatus) and not exc.transient:
        return None
    if attempt > policy.max_retries:
        return None
    seconds = policy.delay(attempt)
    log.debug("%s: %s; retry %d of %d in %.2fs", what, type(exc).__name__, attempt,
              policy.max_retries, seconds)
    return seconds


def policy(maxRetries: int) -> RetryPolicy:
    return RetryPolicy(max_retries=maxRetries)


# -- download targets -----------------------------------------------------------------------

class Target:
    """Where a download to a file goes, and how to undo it.

    A path: a temporary file beside it (``.<name>.<random>.part``), renamed over the path
    only by ``commit`` (after the hashes were verified), removed by ``discard``. It is made
    with the mode the path will have: an existing file's permission bits (so content meant
    to be private is never readable by others, even while written), else what the umask
    leaves of 0666, as ``open()`` makes a new file. A file object: written from its start;
    ``discard`` truncates it back to empty.
    """

    def __init__(self, func: str, file: Any) -> None:
        import os
        from pathlib import Path

        self.path: Path | None = None
        self.tmp: Path | None = None
        self.file: Any = None
        if isinstance(file, (str, os.PathLike)):
            self.path = Path(file)
            if self.path.is_dir():
                raise TaskclusterArgumentError(f"{func}() target {str(file)!r} is a directory")
            if not self.path.parent.is_dir():
                raise TaskclusterArgumentError(f"{func}() target directory "
                                               f"{str(self.path.parent)!r} does not exist")
        elif all(callable(getattr(file, m, None)) for m in ("write", "seek", "truncate")):
            self.file = file
        else:
            raise TaskclusterArgumentError(
                f"{func}() argument 'file' must be a path or a binary file object open for "
                f"writing (seekable, truncatable), got {type(file).__name__}")

    def writer(self) -> Any:
        """A fresh, empty writer (called for every attempt)."""
        if self.file is None:
            self.file = self._create()
        self.file.seek(0)
        self.file.truncate()
        return self.file

    def _create(self) -> Any:
        import os
        import secrets
        import stat

        assert self.path is not None
        try:
            mode: int | None = stat.S_IMODE(self.path.stat().st_mode) & 0o777
        except OSError:
            mode = None  # a new file: 0666 less the umask
        while True:
            tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.part")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o666 if mode is None else mode)
                break
            except FileExistsError:
                continue
        self.tmp = tmp
        if mode is not None:
            os.fchmod(fd, mode)  # the umask does not apply to an existing file's mode
        return os.fdopen(fd, "wb")

    def commit(self) -> None:
        import os

        if self.path is None:
            return
        # no attempt wrote anything (not expected): an empty file
        file = self.writer() if self.file is None else self.file
        file.flush()
        os.fsync(file.fileno())
        file.close()
        assert self.tmp is not None
        os.replace(self.tmp, self.path)
        self.tmp = None

    def discard(self) -> None:
        import contextlib

        with contextlib.suppress(OSError, ValueError):
            if self.path is None:
                if self.file is not None:
                    self.file.seek(0)
                    self.file.truncate()
                return
            if self.file is not None:
                self.file.close()
            if self.tmp is not None:
                self.tmp.unlink()
                self.tmp = None


class Source:
    """What to GET: a URL, the hashes the bytes must have (None: unverified), and when the
    URL expires."""

    __slots__ = ("expires", "hashes", "url")

    def __init__(self, url: str, hashes: Mapping[str, str] | None = None,
                 expires: Any = None) -> None:
        self.url, self.hashes, self.expires = url, hashes, expires


def get_url_source(answer: Any) -> Source:
    """A ``startDownload`` answer (method ``getUrl``) as a ``Source``."""
    if not isinstance(answer, dict) or answer.get("method") != "getUrl":
        method = answer.get("method") if isinstance(answer, dict) else answer
        raise TaskclusterRestFailure(f"startDownload: unknown download method {method!r:.100}",
                                     service="object", method_name="startDownload")
    hashes = answer.get("hashes")
    hashes = hashes if isinstance(hashes, dict) else {}
    if not any(algo in hashes for algo in ACCEPTABLE_HASHES):
        raise _no_acceptable_hashes()  # ``verifyHashes`` would refuse it: do not download
    return Source(check_url("startDownload", answer.get("url")), hashes,
                  answer.get("expires"))


START_DOWNLOAD = {"acceptDownloadMethods": {"getUrl": True}}


def expired(when: Any) -> bool:
    """Whether an ISO ``expires`` from a service has passed (unparseable: not expired)."""
    import datetime as dt

    if not isinstance(when, str):
        return False
    try:
        moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment <= dt.datetime.now(dt.UTC)


def media(headers: Mapping[str, str]) -> str:
    """The content type as the official client returns it: the media type alone."""
    value = headers.get("content-type")
    return value.split(";", 1)[0].strip() if value else "application/octet-stream"


def content_length(headers: Mapping[str, str]) -> int | None:
    if headers.get("content-encoding", "identity").lower() not in ("identity", ""):
        return None
    try:
        value = int(headers.get("content-length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def artifact_kind(answer: Any) -> str:
    """The storage type of a queue ``artifact``/``latestArtifact`` answer; raises for
    ``error`` artifacts and unknown types."""
    from ..errors import TaskclusterArtifactError, TaskclusterFailure

    kind = answer.get("storageType") if isinstance(answer, dict) else None
    if kind == "error":
        raise TaskclusterArtifactError(str(answer.get("message") or "error artifact"),
                                       answer.get("reason"))
    if kind not in ("s3", "reference", "object"):
        raise TaskclusterFailure(f"Unknown storageType {kind!r:.100}")
    return str(kind)


def object_client(queue: Any, credentials: Any, maxRetries: int, asynchronous: bool) -> Any:
    """An object-service client for an ``object`` artifact's credentials, from the same
    deployment (and with the same rootUrl and timeout) as ``queue``."""
    context = getattr(type(queue), "_context", None)
    if context is not None:
        cls = context.sibling("Object", asynchronous)
    else:
        from ..default import default

        cls = default().build("Object", asynchronous=asynchronous)
    options = getattr(queue, "options", None)
    root = options.get("rootUrl") if isinstance(options, Mapping) else None
    return cls(rootUrl=root, credentials=credentials, maxRetries=maxRetries,
               timeout=service_timeout(queue))
