"""``tcdyn.aio.upload``: ``tcdyn.upload`` with ``httpx.AsyncClient`` streaming, as the
official ``taskcluster.aio.upload``.

The reader factory may be sync or async, and so may the reader's ``read(max_size)``; the
object service client may be ``tcdyn.aio.Object`` or a sync one. Same checks, retries, hashes
and progress as ``tcdyn.upload``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ..transport import bulk as storage
from ..transport.clients import async_client
from ..transport.drive import within
from . import common as tr
from .common import DATA_INLINE_MAX_SIZE, aw
from .upload import _Plan

__all__ = ["DATA_INLINE_MAX_SIZE", "upload", "uploadFromBuf", "uploadFromFile"]


async def uploadFromBuf(*, data: bytes, **kwargs: Any) -> None:
    """``upload`` of an in-memory buffer."""
    from ..errors import TaskclusterArgumentError

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TaskclusterArgumentError(f"uploadFromBuf() argument 'data' must be bytes, got "
                                       f"{type(data).__name__}")
    return await upload(readerFactory=lambda: tr.BufReader(data), **kwargs)


async def uploadFromFile(*, file: Any, **kwargs: Any) -> None:
    """``upload`` of a binary file object, read from its start in chunks (seekable)."""
    return await upload(readerFactory=tr.file_reader_factory("uploadFromFile", file),
                        **kwargs)


async def upload(*, projectId: str, name: str, contentType: str, contentLength: int,
                 expires: Any, readerFactory: Any, maxRetries: int = 5,
                 uploadId: str | None = None, objectService: Any,
                 progress: tr.Progress | None = None, deadline: float | None = None) -> None:
    """Upload what ``readerFactory()``'s reader gives to the object service."""
    plan = _Plan("upload", projectId, name, contentType, contentLength, expires,
                 readerFactory, maxRetries, uploadId, objectService, progress, deadline)
    methods = plan.put_method()
    inline_hashes = None
    if plan.inline:
        inline_hashes = tr.Hashes()
        plan.progress.restart(plan.contentLength)
        reader = await aw(plan.readerFactory())
        data = b"".join([c async for c in _chunks(plan, reader, inline_hashes)])
        methods = {**plan.inline_method(data), **methods}
    answer = await aw(objectService.createUpload(plan.name, plan.request(methods)))
    kind, put = plan.chosen(answer)
    if kind == "dataInline":
        hashes = inline_hashes if inline_hashes is not None else tr.Hashes()
    else:
        hashes = await _put(plan, put)
    await aw(objectService.finishUpload(plan.name, plan.finish(hashes)))


async def _chunks(plan: _Plan, reader: Any, hashes: tr.Hashes) -> AsyncIterator[bytes]:
    while True:
        chunk = await aw(reader.read(tr.CHUNK_SIZE))
        if not chunk:
            break
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)
        plan.account(hashes, chunk)
        yield chunk
    if hashes.count != plan.contentLength:
        from ..errors import TaskclusterArgumentError

        raise TaskclusterArgumentError(plan.length_error(hashes.count))


async def _put(plan: _Plan, put: tuple[str, dict[str, str], Any]) -> tr.Hashes:
    url, headers, expires = put
    async with storage.abulk(async_client(**tr.client_kwargs(plan.timeout))) as client:
        attempt = 0
        while True:
            attempt += 1
            hashes = tr.Hashes()
            plan.progress.restart(plan.contentLength)
            try:
                await _attempt(client, plan, url, headers, hashes)
                return hashes
            except (*tr.TRANSIENT, tr.StorageStatus) as exc:
                wait = tr.retrying(plan.policy, attempt, f"PUT {tr.safe_url(url)}", exc)
                if wait is None:
                    raise tr.give_up("PUT", url, exc, attempt) from None
            except tr.FATAL as exc:
                raise tr.give_up("PUT", url, exc, attempt) from None
            await asyncio.sleep(wait)
            if tr.expired(expires):
                answer = await aw(plan.service.createUpload(plan.name,
                                                            plan.request(plan.put_method())))
                _, (url, headers, expires) = plan.chosen(answer)


async def _attempt(client: httpx.AsyncClient, plan: _Plan, url: str,
                   headers: dict[str, str], hashes: tr.Hashes) -> None:
    try:
        await _stream(client, plan, url, headers, hashes)
    except BaseException:
        hashes.close()
        raise


async def _stream(client: httpx.AsyncClient, plan: _Plan, url: str,
                  headers: dict[str, str], hashes: tr.Hashes) -> None:
    reader = await aw(plan.readerFactory())
    request = client.build_request("PUT", url, content=_chunks(plan, reader, hashes),
                                   headers=headers)
    tr.exact_headers(request, headers)
    if plan.deadline is None:
        await _send(client, request)
        return
    try:
        await within(plan.deadline, _send(client, request))
    except TimeoutError:
        raise tr.Expired(f"the upload took more than {plan.deadline:g} s") from None


async def _send(client: httpx.AsyncClient, request: httpx.Request) -> None:
    response = await client.send(request, stream=True, follow_redirects=False)
    try:
        reader = tr.error_body(response.headers.get("content-encoding"))
        async for raw in response.aiter_raw():
            if not reader.feed(raw):
                break
        if response.status_code >= 300:
            raise tr.StorageStatus("PUT", str(request.url), response.status_code,
                                   tr.error_text(reader))
    finally:
        await response.aclose()
