"""Uploads to the object service, as the official client's ``taskcluster.upload``.

Data comes from a *reader* (``read(max_size) -> bytes``, ``b""`` at the end) made by a
*reader factory* (called again for every attempt)::

    upload.uploadFromBuf(projectId="p", name="n", contentType="text/plain",
                         contentLength=len(data), expires=fromNow("1 day"),
                         objectService=tcdyn.Object(...), data=data)

``createUpload`` proposes ``dataInline`` under ``DATA_INLINE_MAX_SIZE`` bytes and ``putUrl``
always; the PUT carries exactly the headers the service returned (no Taskcluster
credentials, through a separate plain HTTP client) and streams the reader's bytes while
hashing them (sha256, sha512), which ``finishUpload`` then records. A failed PUT (connection
error, 5xx, stall) is retried ``maxRetries`` times with the same ``uploadId``, asking
``createUpload`` for a fresh URL when the old one expired. ``progress(done, total)`` is called
as bytes go out; ``deadline`` bounds each whole attempt in seconds (every socket wait is
bounded by the object client's ``timeout`` in any case).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import slugid

from ..errors import TaskclusterArgumentError, TaskclusterRestFailure
from ..transport import bulk as storage
from ..transport.clients import sync_client
from ..transport.deadline import Deadline, bounded
from . import common as tr
from .common import DATA_INLINE_MAX_SIZE

__all__ = ["DATA_INLINE_MAX_SIZE", "upload", "uploadFromBuf", "uploadFromFile"]


def uploadFromBuf(*, data: bytes, **kwargs: Any) -> None:
    """``upload`` of an in-memory buffer (``bytes``, ``bytearray`` or ``memoryview``)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TaskclusterArgumentError(f"uploadFromBuf() argument 'data' must be bytes, got "
                                       f"{type(data).__name__}")
    return upload(readerFactory=lambda: tr.BufReader(data), **kwargs)


def uploadFromFile(*, file: Any, **kwargs: Any) -> None:
    """``upload`` of a binary file object, read from its start in chunks (seekable)."""
    return upload(readerFactory=tr.file_reader_factory("uploadFromFile", file),
                  **kwargs)


class _Plan:
    """The checked arguments of an upload and what ``createUpload`` is asked."""

    def __init__(self, func: str, projectId: Any, name: Any, contentType: Any,
                 contentLength: Any, expires: Any, readerFactory: Any, maxRetries: Any,
                 uploadId: Any, objectService: Any, progress: Any, deadline: Any) -> None:
        self.projectId = tr.check_str(func, "projectId", projectId)
        self.name = tr.check_str(func, "name", name)
        self.contentType = tr.check_str(func, "contentType", contentType)
        self.contentLength: int = tr.check_count(func, "contentLength", contentLength)  # type: ignore[assignment]
        if expires is None:
            raise TaskclusterArgumentError(f"{func}() argument 'expires' is required")
        self.expires = expires
        self.readerFactory = tr.check_callable(func, "readerFactory", readerFactory)
        self.policy = tr.policy(tr.check_count(func, "maxRetries", maxRetries))  # type: ignore[arg-type]
        self.uploadId = uploadId if uploadId is not None else slugid.nice()
        tr.check_str(func, "uploadId", self.uploadId)
        self.service = tr.check_service(func, "objectService", objectService,
                                        ("createUpload", "finishUpload"))
        self.progress = tr.Reporter(tr.check_callable(func, "progress", progress,
                                                      optional=True), self.contentLength)
        self.deadline = tr.check_timeouts(func, deadline)
        self.timeout = tr.service_timeout(objectService)

    @property
    def inline(self) -> bool:
        return self.contentLength < DATA_INLINE_MAX_SIZE

    def request(self, methods: dict[str, Any]) -> dict[str, Any]:
        return {"projectId": self.projectId, "uploadId": self.uploadId,
                "expires": self.expires, "proposedUploadMethods": methods}

    def put_method(self) -> dict[str, Any]:
        return {"putUrl": {"contentType": self.contentType,
                           "contentLength": self.contentLength}}

    def inline_method(self, data: bytes) -> dict[str, Any]:
        return {"dataInline": {"contentType": self.contentType,
                               "objectData": base64.b64encode(data).decode()}}

    def finish(self, hashes: tr.Hashes) -> dict[str, Any]:
        if hashes.count != self.contentLength:
            raise TaskclusterArgumentError(self.length_error(hashes.count))
        return {"projectId": self.projectId, "uploadId": self.uploadId,
                "hashes": hashes.hexdigests()}

    def length_error(self, count: int) -> str:
        return (f"the reader gave {count}{'+' if count > self.contentLength else ''} bytes "
                f"but contentLength is {self.contentLength}")

    def chosen(self, answer: Any) -> tuple[str, Any]:
        method = answer.get("uploadMethod") if isinstance(answer, dict) else None
        if isinstance(method, dict) and method.get("dataInline") is True:
            return "dataInline", None
        if isinstance(method, dict) and isinstance(method.get("putUrl"), dict):
            put = method["putUrl"]
            return "putUrl", (tr.check_url("createUpload", put.get("url")),
                              tr.put_headers(put, self.contentLength), put.get("expires"))
        raise TaskclusterRestFailure("createUpload: could not negotiate an upload method "
                                     f"(the service answered {method!r:.200})",
                                     service="object", method_name="createUpload")

    def chunks(self, reader: Any, hashes: tr.Hashes, first: bytes = b"") -> Iterator[bytes]:
        """The reader's bytes, hashed and counted; never more than ``contentLength``."""
        chunk = first
        while True:
            if not chunk:
                chunk = reader.read(tr.CHUNK_SIZE)
                if not chunk:
                    break
            if not isinstance(chunk, bytes):
                chunk = bytes(chunk)
            self.account(hashes, chunk)
            yield chunk
            chunk = b""
        if hashes.count != self.contentLength:
            raise TaskclusterArgumentError(self.length_error(hashes.count))

    def account(self, hashes: tr.Hashes, chunk: bytes) -> None:
        if hashes.count + len(chunk) > self.contentLength:
            raise TaskclusterArgumentError(self.length_error(hashes.count + len(chunk)))
        hashes.update(chunk)
        self.progress.add(len(chunk))


def upload(*, projectId: str, name: str, contentType: str, contentLength: int, expires: Any,
           readerFactory: Callable[[], Any], maxRetries: int = 5, uploadId: str | None = None,
           objectService: Any, progress: tr.Progress | None = None,
           deadline: float | None = None) -> None:
    """Upload what ``readerFactory()``'s reader gives to the object service (see the module
    documentation). Raises ``TaskclusterArgumentError`` when the reader's length is not
    ``contentLength``."""
    plan = _Plan("upload", projectId, name, contentType, contentLength, expires,
                 readerFactory, maxRetries, uploadId, objectService, progress, deadline)
    methods = plan.put_method()
    inline_hashes = None
    if plan.inline:
        inline_hashes = tr.Hashes()
        plan.progress.restart(plan.contentLength)
        data = b"".join(plan.chunks(plan.readerFactory(), inline_hashes))
        methods = {**plan.inline_method(data), **methods}
    answer = objectService.createUpload(plan.name, plan.request(methods))
    kind, put = plan.chosen(answer)
    if kind == "dataInline":
        hashes = inline_hashes if inline_hashes is not None else tr.Hashes()
    else:
        hashes = _put(plan, put)
    objectService.finishUpload(plan.name, plan.finish(hashes))


def _put(plan: _Plan, put: tuple[str, dict[str, str], Any]) -> tr.Hashes:
    url, headers, expires = put
    with storage.bulk(sync_client(**tr.client_kwargs(plan.timeout))) as client:
        attempt = 0
        while True:
            attempt += 1
            hashes = tr.Hashes()
            plan.progress.restart(plan.contentLength)
            try:
                _attempt(client, plan, url, headers, hashes)
                return hashes
            except (*tr.TRANSIENT, tr.StorageStatus) as exc:
                wait = tr.retrying(plan.policy, attempt, f"PUT {tr.safe_url(url)}", exc)
                if wait is None:
                    raise tr.give_up("PUT", url, exc, attempt) from None
            except tr.FATAL as exc:  # redirect loops, undecodable bodies: not retried
                raise tr.give_up("PUT", url, exc, attempt) from None
            time.sleep(wait)
            if tr.expired(expires):  # the same uploadId: the service renews the URL
                answer = plan.service.createUpload(plan.name, plan.request(plan.put_method()))
                _, (url, headers, expires) = plan.chosen(answer)


def _attempt(client: Any, plan: _Plan, url: str, headers: dict[str, str],
             hashes: tr.Hashes) -> None:
    try:
        _stream(client, plan, url, headers, hashes)
    except BaseException:
        hashes.close()
        raise


def _stream(client: Any, plan: _Plan, url: str, headers: dict[str, str],
            hashes: tr.Hashes) -> None:
    limit = Deadline(plan.deadline) if plan.deadline is not None else None
    reader = plan.readerFactory()

    def body() -> Iterator[bytes]:
        for chunk in plan.chunks(reader, hashes):
            if limit is not None and limit.expired():
                raise tr.Expired(f"the upload took more than {plan.deadline:g} s")
            yield chunk

    request = client.build_request("PUT", url, content=body(), headers=headers,
                                   extensions={"timeout": limit} if limit else {})
    tr.exact_headers(request, headers)
    if limit is None:
        _send(client, request)
        return
    limit.start()
    with bounded(limit):
        _send(client, request)


def _send(client: Any, request: Any) -> None:
    response = client.send(request, stream=True, follow_redirects=False)
    try:
        reader = tr.error_body(response.headers.get("content-encoding"))
        for raw in response.iter_raw():
            if not reader.feed(raw):
                break
        if response.status_code >= 300:
            raise tr.StorageStatus("PUT", str(request.url), response.status_code,
                                   tr.error_text(reader))
    finally:
        response.close()
