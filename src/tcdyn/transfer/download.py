"""Downloads from the object service and of queue artifacts, as the official client's
``taskcluster.download``: written once (``flavours``), public as ``tcdyn.download`` and
``tcdyn.aio.download``.

Data goes to a *writer* (``write(chunk)``; for the async form ``write`` may be async) made by
a *writer factory* (called again for every attempt). ``downloadToFile``/
``downloadArtifactToFile`` take a binary file object (written from its start, truncated back
to empty on failure) or a **path**: then the bytes go to a temporary file beside it that
replaces the path only once they are complete and their hashes verified; on any failure
nothing is left behind.

Objects are fetched with ``startDownload`` (method ``getUrl``) and a plain GET with no
Taskcluster credentials; sha256 and sha512 are computed while streaming (on two threads) and
checked against the service's (``ObjectHashVerificationError`` on a mismatch, not retried).
Connection errors, stalls, truncated bodies and 5xx answers are retried ``maxRetries`` times
(``flow.storage_flow``), asking for a new URL when the old one expired. Artifacts follow
their storage type: ``object`` with the credentials the queue gives, ``s3`` and
``reference`` from their URL, ``error`` raising ``TaskclusterArtifactError`` with its reason.
Beyond the official keywords: ``progress(done, total)``, ``deadline`` (seconds for each whole
attempt) and ``maxSize`` (bytes; the ``*ToBuf`` forms default to the client's
``max_response_size``, 64 MiB unless set).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from .. import tracing
from ..call.response import BodyReader
from . import checks, hosts
from .flavours import Flavour, Limit, Storage, aw
from .flow import Attempt, drive, storage_flow
from .hashing import Hashes, Progress, Reporter, verifyHashes
from .hosts import Source
from .targets import Buf, Target

__all__ = ["download", "downloadArtifact", "downloadArtifactToBuf", "downloadArtifactToFile",
           "downloadToBuf", "downloadToFile", "verifyHashes"]


async def downloadToBuf(io: Flavour, /, *, maxSize: int | None = None, **kwargs: Any
                        ) -> tuple[bytes, str]:
    """``download`` into memory: ``(data, contentType)``; at most ``maxSize`` bytes (default:
    the object client's ``max_response_size``)."""
    buf = Buf()
    if maxSize is None:
        maxSize = checks.service_max_size(kwargs.get("objectService"))
    content_type = await download(io, writerFactory=buf.factory, maxSize=maxSize, **kwargs)
    return buf.value(), content_type


async def downloadToFile(io: Flavour, /, file: Any, **kwargs: Any) -> str:
    """``download`` to a path (atomically) or a binary file object; returns the content
    type."""
    target = Target("downloadToFile", file)
    return await _into(target, download(io, writerFactory=target.writer, **kwargs))


async def download(io: Flavour, /, *, name: str, maxRetries: int = 5, objectService: Any,
                   writerFactory: Callable[[], Any], progress: Progress | None = None,
                   deadline: float | None = None, maxSize: int | None = None) -> str:
    """Download the object ``name`` into ``writerFactory()``'s writer; returns its content
    type."""
    opts = DownloadOptions.for_object(name, objectService, writerFactory, maxRetries,
                                      progress, deadline, maxSize)

    async def start() -> Source:
        answer = await aw(objectService.startDownload(name, hosts.START_DOWNLOAD))
        return hosts.get_url_source(answer)

    with tracing.transfer("tcdyn.download", {"taskcluster.object.name": name}) as traced:
        return await _fetch(io, opts, await start(), start, writerFactory, traced)


async def downloadArtifactToBuf(io: Flavour, /, *, maxSize: int | None = None, **kwargs: Any
                                ) -> tuple[bytes, str]:
    """``downloadArtifact`` into memory: ``(data, contentType)``."""
    buf = Buf()
    if maxSize is None:
        maxSize = checks.service_max_size(kwargs.get("queueService"))
    content_type = await downloadArtifact(io, writerFactory=buf.factory, maxSize=maxSize,
                                          **kwargs)
    return buf.value(), content_type


async def downloadArtifactToFile(io: Flavour, /, file: Any, **kwargs: Any) -> str:
    """``downloadArtifact`` to a path (atomically) or a binary file object."""
    target = Target("downloadArtifactToFile", file)
    return await _into(target, downloadArtifact(io, writerFactory=target.writer, **kwargs))


async def downloadArtifact(io: Flavour, /, *, taskId: str, name: str,
                           runId: int | str | None = None, maxRetries: int = 5,
                           queueService: Any, writerFactory: Callable[[], Any],
                           progress: Progress | None = None, deadline: float | None = None,
                           maxSize: int | None = None) -> str:
    """Download artifact ``name`` of the task's run ``runId`` (default: its latest run)
    into ``writerFactory()``'s writer, by its storage type; returns its content type."""
    opts = DownloadOptions.for_artifact(taskId, name, queueService, writerFactory,
                                        maxRetries, progress, deadline, maxSize)
    attributes = {"taskcluster.task_id": taskId, "taskcluster.artifact.name": name}
    if runId is not None:
        attributes["taskcluster.run_id"] = str(runId)
    with tracing.transfer("tcdyn.downloadArtifact", attributes) as traced:
        if runId is None:
            answer = await aw(queueService.latestArtifact(taskId, name))
        else:
            answer = await aw(queueService.artifact(taskId, runId, name))
        if hosts.artifact_kind(answer) != "object":
            return await _fetch(io, opts, Source(hosts.check_url(opts.func, answer.get("url"))),
                                None, writerFactory, traced)
        service = checks.object_client(queueService, answer.get("credentials"),
                                       opts.maxRetries, asynchronous=io.asynchronous)
        try:
            return await download(io, name=answer["name"], maxRetries=opts.maxRetries,
                                  objectService=service, writerFactory=writerFactory,
                                  progress=progress, deadline=deadline, maxSize=maxSize)
        finally:
            await io.close(service)


class DownloadOptions:
    """The checked keywords every download shares."""

    def __init__(self, func: str, maxRetries: Any, progress: Any, deadline: Any,
                 maxSize: Any, service: Any) -> None:
        self.func = func
        self.policy = checks.policy(func, maxRetries)
        self.maxRetries: int = maxRetries
        self.progress = Reporter(checks.check_callable(func, "progress", progress,
                                                       optional=True))
        self.deadline = checks.check_deadline(func, deadline)
        self.max_size = (None if maxSize is None
                         else checks.check_count(func, "maxSize", maxSize))
        self.timeout = checks.service_timeout(service)

    @classmethod
    def for_object(cls, name: Any, objectService: Any, writerFactory: Any, maxRetries: Any,
                   progress: Any, deadline: Any, maxSize: Any) -> DownloadOptions:
        """``download``'s keywords checked (every form), before any request."""
        checks.check_str("download", "name", name)
        checks.check_service("download", "objectService", objectService, ("startDownload",))
        checks.check_callable("download", "writerFactory", writerFactory)
        return cls("download", maxRetries, progress, deadline, maxSize, objectService)

    @classmethod
    def for_artifact(cls, taskId: Any, name: Any, queueService: Any, writerFactory: Any,
                     maxRetries: Any, progress: Any, deadline: Any, maxSize: Any
                     ) -> DownloadOptions:
        """``downloadArtifact``'s keywords checked (every form), before any request."""
        func = "downloadArtifact"
        checks.check_str(func, "taskId", taskId)
        checks.check_str(func, "name", name)
        checks.check_service(func, "queueService", queueService, ("artifact",
                                                                  "latestArtifact"))
        checks.check_callable(func, "writerFactory", writerFactory)
        return cls(func, maxRetries, progress, deadline, maxSize, queueService)

    def begin_body(self, url: str, headers: Any, attempt: int) -> BodyReader:
        """The decoder of a 2xx body (``hosts.body_reader``), once its announced length and
        encoding are checked (refused before reading it); the progress restarted for this
        attempt."""
        total = hosts.content_length(headers)
        if self.max_size is not None and total is not None and total > self.max_size:
            raise hosts.too_large(url, self.max_size, attempt, total)
        reader = hosts.body_reader(headers.get("content-encoding"), self.max_size)
        refused = hosts.refusal(reader, url, attempt)
        if refused is not None:
            raise refused
        self.progress.restart(total)
        return reader


async def _into(target: Target, run: Awaitable[str]) -> str:
    try:
        content_type = await run
        target.commit()
    except BaseException:
        target.discard()
        raise
    return content_type


async def _fetch(io: Flavour, opts: DownloadOptions, source: Source,
                 renew: Callable[[], Awaitable[Source]] | None,
                 writerFactory: Callable[[], Any], traced: tracing.Transfer) -> str:
    """GET ``source`` into a fresh writer per attempt, retrying, then verify its hashes;
    the bytes received go to the transfer's span."""
    async with io.storage(opts.timeout) as storage:
        flow = storage_flow("GET", source, opts.policy, renewable=renew is not None)
        content_type, hashes, source = await drive(
            flow, lambda step: _attempt(io, storage, opts, step, writerFactory), renew,
            io.sleep, traced, "GET")
    traced.moved(hashes.count)
    if source.hashes is not None:
        verifyHashes(hashes.hexdigests(), source.hashes)
    return str(content_type)


async def _attempt(io: Flavour, storage: Storage, opts: DownloadOptions, step: Attempt,
                   writerFactory: Callable[[], Any]) -> tuple[str, Hashes, Source]:
    hashes = Hashes(active=step.source.hashes is not None)
    try:
        writer = await aw(writerFactory())
        async with io.limit(opts.deadline, "download") as limit:
            content_type = await _receive(storage, opts, step, writer, hashes, limit)
    except BaseException:
        hashes.close()
        raise
    return content_type, hashes, step.source


async def _receive(storage: Storage, opts: DownloadOptions, step: Attempt, writer: Any,
                   hashes: Hashes, limit: Limit) -> str:
    """The body, decoded, into ``writer`` and ``hashes`` as the network gives it (no
    re-chunking; an encoded body in pieces of at most 1 MiB)."""
    url = step.source.url
    async with storage.get(url, limit) as answer:
        if answer.status >= 300:
            error = hosts.error_body(answer.headers.get("content-encoding"))
            async for raw in answer.raw:
                if not error.feed(raw):
                    break
            raise hosts.status_error("GET", url, answer.status, error)
        reader = opts.begin_body(url, answer.headers, step.number)
        progress, write = opts.progress, writer.write
        async for raw in answer.raw:
            for chunk in reader.pieces(raw):
                limit.check()
                written = write(chunk)
                if inspect.isawaitable(written):
                    await written
                hashes.update(chunk)
                progress.add(len(chunk))
            refused = hosts.refusal(reader, url, step.number)
            if refused is not None:
                raise refused
        progress.finish()
        return hosts.media(answer.headers)
