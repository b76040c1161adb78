"""``tcdyn.aio.download``: ``tcdyn.download`` with async streaming (aiohttp, or httpx
when the environment names a proxy: ``aio_storage``), as the official
``taskcluster.aio.download``.

Writer factories and writers' ``write`` may be sync or async; service clients may be
``tcdyn.aio.*`` or sync ones. Same targets (a path is written atomically), verification,
retries and progress as ``tcdyn.download``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ..transport.drive import within
from . import common as tr
from .aio_storage import Getter
from .common import aw, verifyHashes
from .download import Options, _Buf

__all__ = ["download", "downloadArtifact", "downloadArtifactToBuf", "downloadArtifactToFile",
           "downloadToBuf", "downloadToFile", "verifyHashes"]


async def downloadToBuf(*, maxSize: int | None = None, **kwargs: Any) -> tuple[bytes, str]:
    """``download`` into memory: ``(data, contentType)``."""
    buf = _Buf()
    if maxSize is None:
        maxSize = tr.service_max_size(kwargs.get("objectService"))
    content_type = await download(writerFactory=buf.factory, maxSize=maxSize, **kwargs)
    return buf.value(), content_type


async def downloadToFile(file: Any, **kwargs: Any) -> str:
    """``download`` to a path (atomically) or a binary file object."""
    target = tr.Target("downloadToFile", file)
    return await _into(target, download(writerFactory=target.writer, **kwargs))


async def download(*, name: str, maxRetries: int = 5, objectService: Any,
                   writerFactory: Callable[[], Any], progress: tr.Progress | None = None,
                   deadline: float | None = None, maxSize: int | None = None) -> str:
    """Download the object ``name`` into ``writerFactory()``'s writer; returns its content
    type."""
    opts = Options.for_object(name, objectService, writerFactory, maxRetries, progress,
                              deadline, maxSize)

    async def start() -> tr.Source:
        return tr.get_url_source(await aw(objectService.startDownload(name,
                                                                      tr.START_DOWNLOAD)))

    return await _fetch(opts, await start(), start, writerFactory)


async def downloadArtifactToBuf(*, maxSize: int | None = None, **kwargs: Any
                                ) -> tuple[bytes, str]:
    """``downloadArtifact`` into memory: ``(data, contentType)``."""
    buf = _Buf()
    if maxSize is None:
        maxSize = tr.service_max_size(kwargs.get("queueService"))
    content_type = await downloadArtifact(writerFactory=buf.factory, maxSize=maxSize,
                                          **kwargs)
    return buf.value(), content_type


async def downloadArtifactToFile(file: Any, **kwargs: Any) -> str:
    """``downloadArtifact`` to a path (atomically) or a binary file object."""
    target = tr.Target("downloadArtifactToFile", file)
    return await _into(target, downloadArtifact(writerFactory=target.writer, **kwargs))


async def downloadArtifact(*, taskId: str, name: str, runId: int | str | None = None,
                           maxRetries: int = 5, queueService: Any,
                           writerFactory: Callable[[], Any],
                           progress: tr.Progress | None = None,
                           deadline: float | None = None, maxSize: int | None = None) -> str:
    """Download an artifact of the task's run ``runId`` (default: latest) by its storage
    type; returns its content type."""
    opts = Options.for_artifact(taskId, name, queueService, writerFactory, maxRetries,
                                progress, deadline, maxSize)
    if runId is None:
        answer = await aw(queueService.latestArtifact(taskId, name))
    else:
        answer = await aw(queueService.artifact(taskId, runId, name))
    kind = tr.artifact_kind(answer)
    if kind != "object":
        return await _fetch(opts, tr.Source(tr.check_url(opts.func, answer.get("url"))), None,
                            writerFactory)
    service = tr.object_client(queueService, answer.get("credentials"), opts.maxRetries,
                               asynchronous=True)
    async with service:
        return await download(name=answer["name"], maxRetries=opts.maxRetries,
                              objectService=service, writerFactory=writerFactory,
                              progress=progress, deadline=deadline, maxSize=maxSize)


async def _into(target: tr.Target, run: Awaitable[str]) -> str:
    try:
        content_type = await run
        target.commit()
    except BaseException:
        target.discard()
        raise
    return content_type


async def _fetch(opts: Options, source: tr.Source,
                 renew: Callable[[], Awaitable[tr.Source]] | None,
                 writerFactory: Callable[[], Any]) -> str:
    async with Getter(opts.timeout) as client:
        attempt = 0
        while True:
            attempt += 1
            hashes = tr.Hashes(active=source.hashes is not None)
            try:
                writer = await aw(writerFactory())
                content_type = await _attempt(client, opts, source.url, writer, hashes,
                                              attempt)
                break
            except (*tr.TRANSIENT, tr.StorageStatus) as exc:
                wait = tr.retrying(opts.policy, attempt, f"GET {tr.safe_url(source.url)}",
                                   exc)
                if wait is None:
                    raise tr.give_up("GET", source.url, exc, attempt) from None
            except tr.FATAL as exc:
                raise tr.give_up("GET", source.url, exc, attempt) from None
            await asyncio.sleep(wait)
            if renew is not None and tr.expired(source.expires):
                source = await renew()
    if source.hashes is not None:
        verifyHashes(hashes.hexdigests(), source.hashes)
    return content_type


async def _attempt(client: Getter, opts: Options, url: str, writer: Any,
                   hashes: tr.Hashes, attempt: int) -> str:
    if opts.deadline is None:
        return await _get(client, opts, url, writer, hashes, attempt)
    try:
        return await within(opts.deadline, _get(client, opts, url, writer, hashes, attempt))
    except TimeoutError:
        raise tr.Expired(f"the download took more than {opts.deadline:g} s") from None


async def _get(client: Getter, opts: Options, url: str, writer: Any,
               hashes: tr.Hashes, attempt: int) -> str:
    try:
        return await _receive(client, opts, url, writer, hashes, attempt)
    except BaseException:
        hashes.close()
        raise


async def _receive(client: Getter, opts: Options, url: str, writer: Any,
                   hashes: tr.Hashes, attempt: int) -> str:
    """The body, decoded, into ``writer`` and ``hashes`` as the network gives it (no
    re-chunking; an encoded body in pieces of at most 1 MiB)."""
    async with client.get(url) as response:
        if response.status >= 300:
            reader = tr.error_body(response.encoding)
            async for raw in response.raw:
                if not reader.feed(raw):
                    break
            raise tr.StorageStatus("GET", url, response.status, tr.error_text(reader))
        reader = opts.begin_body(url, response.headers, attempt)
        progress = opts.progress
        async for raw in response.raw:
            for chunk in reader.pieces(raw):
                written = writer.write(chunk)
                if inspect.isawaitable(written):
                    await written
                hashes.update(chunk)
                progress.add(len(chunk))
            refused = tr.refusal(reader, url, attempt)
            if refused is not None:
                raise refused
        progress.finish()
        return tr.media(response.headers)
