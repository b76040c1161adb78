"""Downloads from the object service and of queue artifacts, as the official client's
``taskcluster.download``.

Data goes to a *writer* (``write(chunk)``) made by a *writer factory* (called again for every
attempt). ``downloadToFile``/``downloadArtifactToFile`` take a binary file object (written
from its start, truncated back to empty on failure) or a **path**: then the bytes go to a
temporary file beside it that replaces the path only once they are complete and their hashes
verified; on any failure nothing is left behind.

Objects are fetched with ``startDownload`` (method ``getUrl``) and a plain GET with no
Taskcluster credentials; sha256 and sha512 are computed while streaming and checked against
the service's (``ObjectHashVerificationError`` on a mismatch, not retried). Connection
errors, stalls, truncated bodies and 5xx answers are retried ``maxRetries`` times, asking for
a new URL when the old one expired. Artifacts follow their storage type: ``object`` with the
credentials the queue gives, ``s3`` and ``reference`` from their URL, ``error`` raising
``TaskclusterArtifactError`` with its reason. Beyond the official keywords: ``progress(done,
total)``, ``deadline`` (seconds for each whole attempt) and ``maxSize`` (bytes; the ``*ToBuf``
forms default to the client's ``max_response_size``).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..transport import bulk as storage
from ..transport.clients import sync_client
from ..transport.deadline import Deadline, bounded
from . import common as tr
from .common import verifyHashes

if TYPE_CHECKING:
    from ..call.response import BodyReader

__all__ = ["download", "downloadArtifact", "downloadArtifactToBuf", "downloadArtifactToFile",
           "downloadToBuf", "downloadToFile", "verifyHashes"]


class Options:
    """The checked keywords every download shares."""

    def __init__(self, func: str, maxRetries: Any, progress: Any, deadline: Any,
                 maxSize: Any, service: Any) -> None:
        self.func = func
        self.maxRetries: int = tr.check_count(func, "maxRetries", maxRetries)  # type: ignore[assignment]
        self.policy = tr.policy(self.maxRetries)
        self.progress = tr.Reporter(tr.check_callable(func, "progress", progress,
                                                      optional=True))
        self.deadline = tr.check_timeouts(func, deadline)
        self.max_size = tr.check_count(func, "maxSize", maxSize, optional=True)
        self.timeout = tr.service_timeout(service)

    @classmethod
    def for_object(cls, name: Any, objectService: Any, writerFactory: Any, maxRetries: Any,
                   progress: Any, deadline: Any, maxSize: Any) -> Options:
        """``download``'s keywords checked (both forms), before any request."""
        tr.check_str("download", "name", name)
        tr.check_service("download", "objectService", objectService, ("startDownload",))
        tr.check_callable("download", "writerFactory", writerFactory)
        return cls("download", maxRetries, progress, deadline, maxSize, objectService)

    @classmethod
    def for_artifact(cls, taskId: Any, name: Any, queueService: Any, writerFactory: Any,
                     maxRetries: Any, progress: Any, deadline: Any, maxSize: Any) -> Options:
        """``downloadArtifact``'s keywords checked (both forms), before any request."""
        func = "downloadArtifact"
        tr.check_str(func, "taskId", taskId)
        tr.check_str(func, "name", name)
        tr.check_service(func, "queueService", queueService, ("artifact", "latestArtifact"))
        tr.check_callable(func, "writerFactory", writerFactory)
        return cls(func, maxRetries, progress, deadline, maxSize, queueService)

    def begin_body(self, url: str, headers: Any, attempt: int) -> BodyReader:
        """The decoder of a 2xx body (``common.body_reader``), once its announced length
        and encoding are checked (refused before reading it); the progress restarted for
        this attempt. Both the sync and the async download read the body with it."""
        total = tr.content_length(headers)
        if self.max_size is not None and total is not None and total > self.max_size:
            raise tr.too_large(url, self.max_size, attempt, total)
        reader = tr.body_reader(headers.get("content-encoding"), self.max_size)
        refused = tr.refusal(reader, url, attempt)
        if refused is not None:
            raise refused
        self.progress.restart(total)
        return reader


def downloadToBuf(*, maxSize: int | None = None, **kwargs: Any) -> tuple[bytes, str]:
    """``download`` into memory: ``(data, contentType)``; at most ``maxSize`` bytes (default:
    the object client's ``max_response_size``)."""
    buf = _Buf()
    if maxSize is None:
        maxSize = tr.service_max_size(kwargs.get("objectService"))
    content_type = download(writerFactory=buf.factory, maxSize=maxSize, **kwargs)
    return buf.value(), content_type


def downloadToFile(file: Any, **kwargs: Any) -> str:
    """``download`` to a path (atomically) or a binary file object; returns the content
    type."""
    target = tr.Target("downloadToFile", file)
    return _into(target, lambda: download(writerFactory=target.writer, **kwargs))


def download(*, name: str, maxRetries: int = 5, objectService: Any,
             writerFactory: Callable[[], Any], progress: tr.Progress | None = None,
             deadline: float | None = None, maxSize: int | None = None) -> str:
    """Download the object ``name`` into ``writerFactory()``'s writer; returns its content
    type."""
    opts = Options.for_object(name, objectService, writerFactory, maxRetries, progress,
                              deadline, maxSize)

    def start() -> tr.Source:
        return tr.get_url_source(objectService.startDownload(name, tr.START_DOWNLOAD))

    return _fetch(opts, start(), start, writerFactory)


def downloadArtifactToBuf(*, maxSize: int | None = None, **kwargs: Any) -> tuple[bytes, str]:
    """``downloadArtifact`` into memory: ``(data, contentType)``."""
    buf = _Buf()
    if maxSize is None:
        maxSize = tr.service_max_size(kwargs.get("queueService"))
    content_type = downloadArtifact(writerFactory=buf.factory, maxSize=maxSize, **kwargs)
    return buf.value(), content_type


def downloadArtifactToFile(file: Any, **kwargs: Any) -> str:
    """``downloadArtifact`` to a path (atomically) or a binary file object."""
    target = tr.Target("downloadArtifactToFile", file)
    return _into(target, lambda: downloadArtifact(writerFactory=target.writer, **kwargs))


def downloadArtifact(*, taskId: str, name: str, runId: int | str | None = None,
                     maxRetries: int = 5, queueService: Any,
                     writerFactory: Callable[[], Any], progress: tr.Progress | None = None,
                     deadline: float | None = None, maxSize: int | None = None) -> str:
    """Download artifact ``name`` of the task's run ``runId`` (default: its latest run)
    into ``writerFactory()``'s writer, by its storage type; returns its content type."""
    opts = Options.for_artifact(taskId, name, queueService, writerFactory, maxRetries,
                                progress, deadline, maxSize)
    if runId is None:
        answer = queueService.latestArtifact(taskId, name)
    else:
        answer = queueService.artifact(taskId, runId, name)
    kind = tr.artifact_kind(answer)
    if kind != "object":
        return _fetch(opts, tr.Source(tr.check_url(opts.func, answer.get("url"))), None,
                      writerFactory)
    service = tr.object_client(queueService, answer.get("credentials"), opts.maxRetries,
                               asynchronous=False)
    with service:
        return download(name=answer["name"], maxRetries=opts.maxRetries,
                        objectService=service, writerFactory=writerFactory,
                        progress=progress, deadline=deadline, maxSize=maxSize)


# -- internals ------------------------------------------------------------------------------

class _Buf:
    def __init__(self) -> None:
        self.buf: io.BytesIO | None = None

    def factory(self) -> io.BytesIO:
        self.buf = io.BytesIO()
        return self.buf

    def value(self) -> bytes:
        return self.buf.getvalue() if self.buf is not None else b""


def _into(target: tr.Target, run: Callable[[], str]) -> str:
    try:
        content_type = run()
        target.commit()
    except BaseException:
        target.discard()
        raise
    return content_type


def _fetch(opts: Options, source: tr.Source, renew: Callable[[], tr.Source] | None,
           writerFactory: Callable[[], Any]) -> str:
    """GET ``source`` into a fresh writer per attempt, retrying, then verify its hashes."""
    with storage.bulk(sync_client(**tr.client_kwargs(opts.timeout))) as client:
        attempt = 0
        while True:
            attempt += 1
            hashes = tr.Hashes(active=source.hashes is not None)
            try:
                content_type = _attempt(client, opts, source.url, writerFactory(), hashes,
                                        attempt)
                break
            except (*tr.TRANSIENT, tr.StorageStatus) as exc:
                wait = tr.retrying(opts.policy, attempt, f"GET {tr.safe_url(source.url)}",
                                   exc)
                if wait is None:
                    raise tr.give_up("GET", source.url, exc, attempt) from None
            except tr.FATAL as exc:  # redirect loops, undecodable bodies: not retried
                raise tr.give_up("GET", source.url, exc, attempt) from None
            time.sleep(wait)
            if renew is not None and tr.expired(source.expires):
                source = renew()
    if source.hashes is not None:
        verifyHashes(hashes.hexdigests(), source.hashes)
    return content_type


def _attempt(client: Any, opts: Options, url: str, writer: Any, hashes: tr.Hashes,
             attempt: int) -> str:
    limit = Deadline(opts.deadline) if opts.deadline is not None else None
    request = client.build_request("GET", url,
                                   extensions={"timeout": limit} if limit else {})
    if limit is not None:
        limit.start()
    with bounded(limit) if limit is not None else contextlib.nullcontext():
        response = client.send(request, stream=True)
        try:
            return _receive(opts, url, response, writer, hashes, attempt, limit)
        except BaseException:
            hashes.close()
            raise
        finally:
            response.close()


def _receive(opts: Options, url: str, response: Any, writer: Any, hashes: tr.Hashes,
             attempt: int, limit: Deadline | None) -> str:
    """The body, decoded, into ``writer`` and ``hashes`` as the network gives it (no
    re-chunking; an encoded body in pieces of at most 1 MiB)."""
    if response.status_code >= 300:
        reader = tr.error_body(response.headers.get("content-encoding"))
        for raw in response.iter_raw():
            if not reader.feed(raw):
                break
        raise tr.StorageStatus("GET", url, response.status_code,
                               tr.error_text(reader))
    reader = opts.begin_body(url, response.headers, attempt)
    progress = opts.progress
    write = writer.write
    for raw in response.iter_raw():
        for chunk in reader.pieces(raw):
            if limit is not None and limit.expired():
                raise tr.Expired(f"the download took more than {opts.deadline:g} s")
            write(chunk)
            hashes.update(chunk)
            progress.add(len(chunk))
        refused = tr.refusal(reader, url, attempt)
        if refused is not None:
            raise refused
    progress.finish()
    return tr.media(response.headers)
