"""What storage hosts (S3 and the like) and the services' answers about them say, without I/O:
the URLs to transfer with, the headers of a PUT, the decoding of a body within ``maxSize``,
and the errors they turn into.

Storage hosts are other hosts than the deployment: they get no Taskcluster credentials, and
their URLs (which carry signatures in the query) never appear whole in an exception: only
scheme, host and path do (``safe_url``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..call.response import BodyReader, clip, size_text
from ..errors import (
    InvalidResponse,
    ResponseTooLarge,
    TaskclusterArtifactError,
    TaskclusterFailure,
    TaskclusterRestFailure,
)
from ..redact import safe_url as safe_url  # here for the transfer code's importers
from .hashing import ACCEPTABLE_HASHES, no_acceptable_hashes

#: How much of a storage host's error body goes into the exception.
ERROR_BODY_LIMIT = 64 * 1024
#: The headers of every storage request (tcdyn decodes what a host sends anyway).
HEADERS = {"Accept-Encoding": "identity"}
#: What ``startDownload`` is asked.
START_DOWNLOAD = {"acceptDownloadMethods": {"getUrl": True}}


def client_kwargs(timeout: float | None) -> dict[str, Any]:
    """A storage client's settings: no credentials, redirects followed (storage hosts
    redirect among themselves), every socket wait bounded by ``timeout``."""
    return {"follow_redirects": True, "timeout": httpx.Timeout(timeout), "headers": HEADERS}


def exact_headers(request: httpx.Request, headers: dict[str, str]) -> httpx.Request:
    """``request`` carrying only ``Host`` and ``headers`` (plus the body's framing)."""
    given = httpx.Headers(headers)
    out = httpx.Headers({"Host": request.headers["host"]})
    for key in ("content-length", "transfer-encoding"):
        if key in request.headers and key not in given and not (
                key == "transfer-encoding" and "content-length" in given):
            out[key] = request.headers[key]
    out.update(given)
    request.headers = out
    return request


def check_url(func: str, url: Any) -> str:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise TaskclusterRestFailure(f"{func}: the service gave no http(s) URL to transfer "
                                     f"with (got {type(url).__name__})")
    return url


class Source:
    """Where an attempt goes: a URL, the headers a PUT must carry, the hashes a GET's bytes
    must have (None: unverified), and when the URL expires."""

    __slots__ = ("expires", "hashes", "headers", "url")

    def __init__(self, url: str, *, hashes: Mapping[str, str] | None = None,
                 expires: Any = None, headers: dict[str, str] | None = None) -> None:
        self.url, self.hashes, self.expires = url, hashes, expires
        self.headers = headers or {}


def get_url_source(answer: Any) -> Source:
    """A ``startDownload`` answer (method ``getUrl``) as a ``Source``."""
    if not isinstance(answer, dict) or answer.get("method") != "getUrl":
        method = answer.get("method") if isinstance(answer, dict) else answer
        raise TaskclusterRestFailure(f"startDownload: unknown download method {method!r:.100}",
                                     service="object", method_name="startDownload")
    hashes = answer.get("hashes")
    hashes = hashes if isinstance(hashes, dict) else {}
    if not any(algo in hashes for algo in ACCEPTABLE_HASHES):
        raise no_acceptable_hashes()  # ``verifyHashes`` would refuse it: do not download
    return Source(check_url("startDownload", answer.get("url")), hashes=hashes,
                  expires=answer.get("expires"))


def put_source(method: Mapping[str, Any], length: int) -> Source:
    """A ``createUpload`` answer's ``putUrl`` as a ``Source``: exactly the headers the
    service returned (and a ``Content-Length``: never a chunked PUT to storage)."""
    headers = method.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise TaskclusterRestFailure("createUpload answered putUrl headers that are not an "
                                     "object")
    out = {str(k): str(v) for k, v in headers.items()}
    if not any(k.lower() == "content-length" for k in out):
        out["Content-Length"] = str(length)
    return Source(check_url("createUpload", method.get("url")), headers=out,
                  expires=method.get("expires"))


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


def artifact_kind(answer: Any) -> str:
    """The storage type of a queue ``artifact``/``latestArtifact`` answer; raises for
    ``error`` artifacts and unknown types."""
    kind = answer.get("storageType") if isinstance(answer, dict) else None
    if kind == "error":
        raise TaskclusterArtifactError(str(answer.get("message") or "error artifact"),
                                       answer.get("reason"))
    if kind not in ("s3", "reference", "object"):
        raise TaskclusterFailure(f"Unknown storageType {kind!r:.100}")
    return str(kind)


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
    """The decoder of an error answer's body (kept up to ``ERROR_BODY_LIMIT``)."""
    return BodyReader(content_encoding, ERROR_BODY_LIMIT)


def status_error(method: str, url: str, status: int, reader: BodyReader) -> StorageStatus:
    text = clip(reader.content().decode("utf-8", "replace").strip(), 500)
    return StorageStatus(method, url, status, text)


def put_answered(url: str, status: int, content_encoding: str | None,
                 body: Iterable[bytes]) -> None:
    """Read the answer to a PUT (its body kept up to ``ERROR_BODY_LIMIT``);
    ``StorageStatus`` for an error status."""
    reader = error_body(content_encoding)
    for raw in body:
        if not reader.feed(raw):
            break
    if status >= 300:
        raise status_error("PUT", url, status, reader)


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
