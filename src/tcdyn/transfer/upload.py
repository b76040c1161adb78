"""Uploads to the object service, as the official client's ``taskcluster.upload``: written once
(``flavours``), public as ``tcdyn.upload`` and ``tcdyn.aio.upload``.

Data comes from a *reader* (``read(max_size) -> bytes``, ``b""`` at the end; for the async
form ``read`` may be async) made by a *reader factory* (called again for every attempt)::

    upload.uploadFromBuf(projectId="p", name="n", contentType="text/plain",
                         contentLength=len(data), expires=fromNow("1 day"),
                         objectService=tcdyn.Object(...), data=data)

``createUpload`` proposes ``dataInline`` under ``DATA_INLINE_MAX_SIZE`` bytes and ``putUrl``
always; the PUT carries exactly the headers the service returned (no Taskcluster
credentials, through a separate plain HTTP client) and streams the reader's bytes while
hashing them (sha256, sha512, on two threads), which ``finishUpload`` then records. A failed
PUT (connection error, 5xx, stall) is retried ``maxRetries`` times with the same
``uploadId`` (``flow.storage_flow``), asking ``createUpload`` for a fresh URL when the old one
expired. ``progress(done, total)`` is called as bytes go out; ``deadline`` bounds each whole
attempt in seconds (every socket wait is bounded by the object client's ``timeout`` in any
case).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import slugid

from .. import tracing
from ..errors import TaskclusterArgumentError, TaskclusterRestFailure
from . import checks
from .flavours import Flavour, Limit, Storage, aw
from .flow import Attempt, drive, storage_flow
from .hashing import Chunk, Hashes, Progress, Reporter
from .hosts import Source, put_source
from .targets import BufReader, check_buffer, file_reader_factory

__all__ = ["DATA_INLINE_MAX_SIZE", "upload", "uploadFromBuf", "uploadFromFile"]

#: Objects smaller than this are proposed to the object service inline (the official value).
DATA_INLINE_MAX_SIZE = 8192
#: Bytes asked of a reader at a time.
CHUNK_SIZE = 1024 * 1024


async def uploadFromBuf(io: Flavour, /, *, data: bytes | bytearray | memoryview,
                        **kwargs: Any) -> None:
    """``upload`` of an in-memory buffer (``bytes``, ``bytearray`` or ``memoryview``)."""
    check_buffer(data)
    return await upload(io, readerFactory=lambda: BufReader(data), **kwargs)


async def uploadFromFile(io: Flavour, /, *, file: Any, **kwargs: Any) -> None:
    """``upload`` of a binary file object, read from its start in chunks (seekable)."""
    return await upload(io, readerFactory=file_reader_factory("uploadFromFile", file),
                        **kwargs)


async def upload(io: Flavour, /, *, projectId: str, name: str, contentType: str,
                 contentLength: int, expires: Any, readerFactory: Callable[[], Any],
                 maxRetries: int = 5, uploadId: str | None = None, objectService: Any,
                 progress: Progress | None = None, deadline: float | None = None) -> None:
    """Upload what ``readerFactory()``'s reader gives to the object service (see the module
    documentation). Raises ``TaskclusterArgumentError`` when the reader's length is not
    ``contentLength``."""
    plan = UploadPlan("upload", projectId, name, contentType, contentLength, expires,
                      readerFactory, maxRetries, uploadId, objectService, progress, deadline)
    with tracing.transfer("tcdyn.upload", {
            "taskcluster.object.name": plan.name, "taskcluster.project_id": plan.projectId,
            "taskcluster.transfer.content_length": plan.contentLength}) as traced:
        methods = plan.put_method()
        hashes = Hashes()
        if plan.inline:
            plan.progress.restart(plan.contentLength)
            reader = await aw(plan.readerFactory())
            data = b"".join([chunk async for chunk in plan.body(reader, hashes)])
            methods = {**plan.inline_method(data), **methods}
        answer = await aw(objectService.createUpload(plan.name, plan.request(methods)))
        put = plan.chosen(answer)
        if put is not None:
            async with io.storage(plan.timeout) as storage:
                hashes = await drive(storage_flow("PUT", put, plan.policy, renewable=True),
                                     lambda step: _attempt(io, storage, plan, step),
                                     lambda: _renew(plan), io.sleep, traced, "PUT")
        await aw(objectService.finishUpload(plan.name, plan.finish(hashes)))
        traced.moved(hashes.count)


async def _attempt(io: Flavour, storage: Storage, plan: UploadPlan, step: Attempt) -> Hashes:
    hashes = Hashes()
    plan.progress.restart(plan.contentLength)
    try:
        reader = await aw(plan.readerFactory())
        async with io.limit(plan.deadline, "upload") as limit:
            await storage.put(step.source, plan.body(reader, hashes, limit), limit)
    except BaseException:
        hashes.close()
        raise
    return hashes


async def _renew(plan: UploadPlan) -> Source:
    """A fresh PUT URL for the same ``uploadId``."""
    answer = await aw(plan.service.createUpload(plan.name, plan.request(plan.put_method())))
    put = plan.chosen(answer)
    if put is None:
        raise TaskclusterRestFailure("createUpload answered dataInline when asked for a new "
                                     "putUrl", service="object", method_name="createUpload")
    return put


class UploadPlan:
    """The checked arguments of an upload, what ``createUpload`` is asked, and the bytes
    the reader gives, hashed and counted."""

    def __init__(self, func: str, projectId: Any, name: Any, contentType: Any,
                 contentLength: Any, expires: Any, readerFactory: Any, maxRetries: Any,
                 uploadId: Any, objectService: Any, progress: Any, deadline: Any) -> None:
        self.projectId = checks.check_str(func, "projectId", projectId)
        self.name = checks.check_str(func, "name", name)
        self.contentType = checks.check_str(func, "contentType", contentType)
        self.contentLength = checks.check_count(func, "contentLength", contentLength)
        if expires is None:
            raise TaskclusterArgumentError(f"{func}() argument 'expires' is required")
        self.expires = expires
        self.readerFactory = checks.check_callable(func, "readerFactory", readerFactory)
        self.policy = checks.policy(func, maxRetries)
        self.uploadId = uploadId if uploadId is not None else slugid.nice()
        checks.check_str(func, "uploadId", self.uploadId)
        self.service = checks.check_service(func, "objectService", objectService,
                                            ("createUpload", "finishUpload"))
        self.progress = Reporter(checks.check_callable(func, "progress", progress,
                                                       optional=True), self.contentLength)
        self.deadline = checks.check_deadline(func, deadline)
        self.timeout = checks.service_timeout(objectService)

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

    def chosen(self, answer: Any) -> Source | None:
        """The PUT ``createUpload`` chose, or None for ``dataInline`` (already stored)."""
        method = answer.get("uploadMethod") if isinstance(answer, dict) else None
        if isinstance(method, dict) and method.get("dataInline") is True:
            return None
        if isinstance(method, dict) and isinstance(method.get("putUrl"), dict):
            return put_source(method["putUrl"], self.contentLength)
        raise TaskclusterRestFailure("createUpload: could not negotiate an upload method "
                                     f"(the service answered {method!r:.200})",
                                     service="object", method_name="createUpload")

    def finish(self, hashes: Hashes) -> dict[str, Any]:
        if hashes.count != self.contentLength:
            raise TaskclusterArgumentError(self.length_error(hashes.count))
        return {"projectId": self.projectId, "uploadId": self.uploadId,
                "hashes": hashes.hexdigests()}

    def length_error(self, count: int) -> str:
        return (f"the reader gave {count}{'+' if count > self.contentLength else ''} bytes "
                f"but contentLength is {self.contentLength}")

    async def body(self, reader: Any, hashes: Hashes, limit: Limit | None = None
                   ) -> AsyncIterator[Chunk]:
        """The reader's bytes, hashed, counted and reported; never more than
        ``contentLength``; ``limit`` checked between chunks."""
        views = isinstance(reader, BufReader)  # views of bytes: never changed
        while True:
            chunk = await aw(reader.read(CHUNK_SIZE))
            if not chunk:
                break
            if not isinstance(chunk, bytes) and not views:
                chunk = bytes(chunk)  # hashed on other threads: must not change
            if hashes.count + len(chunk) > self.contentLength:
                raise TaskclusterArgumentError(self.length_error(hashes.count + len(chunk)))
            hashes.update(chunk)
            self.progress.add(len(chunk))
            if limit is not None:
                limit.check()
            yield chunk
        if hashes.count != self.contentLength:
            raise TaskclusterArgumentError(self.length_error(hashes.count))
