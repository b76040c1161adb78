"""The drivers of ``logs.follow_flow``: ``follow`` (sync) and ``afollow`` (async).

Each performs the flow's queue calls and sleeps with ``flow``'s drivers, a ``Stream`` as
one GET of a livelog URL (no credentials: it goes to the worker, not the rootUrl; through
the proxy the environment names; no compressed body; ``idle`` seconds without a byte end
it), and a ``Download`` with the library's ``downloadArtifact`` (storage types, hashes and
retries as there) run beside the iteration: a thread for the sync driver, a task for the
async one, handing over the bytes through a small queue so nothing waits in memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any

from ..logger import logger
from .flow import ado_step, do_step
from .logs import (
    Download,
    FollowOptions,
    LogData,
    Note,
    Outcome,
    Stream,
    StreamEnd,
    follow_flow,
)

__all__ = ["AsyncFollower", "Follower", "afollow", "follow"]

log = logger("tcdyn.logs")
#: Chunks handed from a download to the iteration at most at once.
_HANDOVER = 16
#: Redirects a livelog URL may take (to the worker's tunnel, say).
_MAX_REDIRECTS = 5


def _default_note(text: str) -> None:
    log.info("%s", text)


def _timeout(idle: float) -> Any:
    import httpx

    return httpx.Timeout(connect=30.0, read=idle, write=30.0, pool=30.0)


def _refusal(response: Any) -> str | None:
    if response.status_code >= 300:
        return f"answered HTTP {response.status_code}"
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return "answered a compressed body (asked for none)"
    return None


def _transport_error(exc: BaseException) -> StreamEnd | None:
    import httpx

    if isinstance(exc, httpx.ReadTimeout):
        return StreamEnd("stalled", "nothing received for a while")
    if isinstance(exc, (httpx.TransportError, httpx.TooManyRedirects)):
        return StreamEnd("dropped", f"connection lost ({type(exc).__name__})")
    return None


class _Stop(BaseException):
    """The iteration stopped: the download thread leaves (not an error of the download)."""


def follow(queue: Any, taskId: str, *, runId: int | None = None,
           note: Note | None = None, **options: Any) -> Follower:
    """Follow task ``taskId``'s log to its end with a sync ``queue``: iterate the result for
    ``LogData`` (bytes in order, each shown once); then its ``outcome`` says how the task
    ended (``outcome.exit_code``). ``note`` is told what happens (reconnects, a new run),
    else it is logged (``tcdyn.logs``, INFO). ``options``: those of ``FollowOptions``."""
    return Follower(queue, taskId, FollowOptions(run_id=runId, **options), note)


def afollow(queue: Any, taskId: str, *, runId: int | None = None,
            note: Note | None = None, **options: Any) -> AsyncFollower:
    """:func:`follow` with an async queue (``tcdyn.aio.Queue``): ``async for`` it."""
    return AsyncFollower(queue, taskId, FollowOptions(run_id=runId, **options), note)


class _Base:
    def __init__(self, queue: Any, task_id: str, options: FollowOptions,
                 note: Note | None) -> None:
        from ..errors import TaskclusterArgumentError

        if not isinstance(task_id, str) or not task_id:
            raise TaskclusterArgumentError(f"follow: taskId must be a task's id, not "
                                           f"{task_id!r}")
        self.queue = queue
        self.task_id = task_id
        self.options = options
        self.note: Note = note or _default_note
        #: How the task ended, once the iteration is over.
        self.outcome: Outcome | None = None


class Follower(_Base):
    """A task's log as it is written (``follow``): iterate it once."""

    def __iter__(self) -> Iterator[LogData]:
        from ..transport.clients import sync_client

        flow = follow_flow(self.task_id, self.options, self.note)
        clients = {"queue": self.queue}
        with sync_client(timeout=_timeout(self.options.idle), follow_redirects=True,
                         max_redirects=_MAX_REDIRECTS) as http:
            answer: Any = None
            error: BaseException | None = None
            while True:
                try:
                    step = flow.throw(error) if error is not None else flow.send(answer)
                except StopIteration as done:
                    self.outcome = done.value
                    return
                answer, error = None, None
                try:
                    if isinstance(step, Stream):
                        answer = yield from self._stream(http, step)
                    elif isinstance(step, Download):
                        answer = yield from self._download(step)
                    else:
                        answer = do_step(step, clients)
                except Exception as exc:
                    error = exc

    def _stream(self, http: Any, step: Stream) -> Generator[LogData, None, StreamEnd]:
        attempt = step.cursor.attempt("the live log")
        try:
            with http.stream("GET", step.url, headers={"Accept-Encoding": "identity"},
                             timeout=_timeout(step.idle)) as response:
                refused = _refusal(response)
                if refused is not None:
                    return attempt.end("refused", refused)
                for raw in response.iter_raw():
                    data = attempt.feed(raw)
                    if data:
                        yield LogData(step.task_id, step.run_id, data)
        except Exception as exc:
            end = _transport_error(exc)
            if end is None:
                raise
            return attempt.end(end.kind, end.detail)
        return attempt.end("ended")

    def _download(self, step: Download) -> Generator[LogData, None, StreamEnd]:
        import queue as queues
        import threading

        from ..download import downloadArtifact

        channel: queues.Queue[tuple[str, Any]] = queues.Queue(_HANDOVER)
        stop = threading.Event()

        def put(item: tuple[str, Any]) -> None:
            while not stop.is_set():
                try:
                    channel.put(item, timeout=0.1)
                    return
                except queues.Full:
                    continue
            raise _Stop

        class Writer:
            def write(self, chunk: bytes) -> None:
                put(("data", bytes(chunk)))

        def writer() -> Writer:
            put(("begin", None))
            return Writer()

        def work() -> None:
            try:
                downloadArtifact(taskId=step.task_id, runId=step.run_id, name=step.name,
                                 queueService=self.queue, writerFactory=writer,
                                 maxSize=step.max_size)
                put(("done", None))
            except _Stop:
                pass
            except BaseException as exc:
                with contextlib.suppress(_Stop):
                    put(("error", exc))

        thread = threading.Thread(target=work, name="tcdyn-log-download", daemon=True)
        thread.start()
        attempt = step.cursor.attempt(step.name)
        try:
            while True:
                kind, value = channel.get()
                if kind == "begin":
                    attempt = step.cursor.attempt(step.name)
                elif kind == "data":
                    data = attempt.feed(value)
                    if data:
                        yield LogData(step.task_id, step.run_id, data)
                elif kind == "done":
                    return attempt.end("ended")
                else:
                    raise value
        finally:
            stop.set()
            thread.join()


class AsyncFollower(_Base):
    """A task's log as it is written (``afollow``): ``async for`` it once."""

    def __aiter__(self) -> AsyncIterator[LogData]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[LogData]:
        from ..transport.clients import async_client

        flow = follow_flow(self.task_id, self.options, self.note)
        clients = {"queue": self.queue}
        async with async_client(timeout=_timeout(self.options.idle), follow_redirects=True,
                                max_redirects=_MAX_REDIRECTS) as http:
            answer: Any = None
            error: BaseException | None = None
            while True:
                try:
                    step = flow.throw(error) if error is not None else flow.send(answer)
                except StopIteration as done:
                    self.outcome = done.value
                    return
                answer, error = None, None
                ended: list[StreamEnd] = []
                try:
                    if isinstance(step, Stream):
                        async for piece in self._stream(http, step, ended.append):
                            yield piece
                        answer = ended[0]
                    elif isinstance(step, Download):
                        async for piece in self._download(step, ended.append):
                            yield piece
                        answer = ended[0]
                    else:
                        answer = await ado_step(step, clients)
                except Exception as exc:
                    error = exc

    async def _stream(self, http: Any, step: Stream, done: Callable[[StreamEnd], None]
                      ) -> AsyncIterator[LogData]:
        attempt = step.cursor.attempt("the live log")
        try:
            async with http.stream("GET", step.url, headers={"Accept-Encoding": "identity"},
                                   timeout=_timeout(step.idle)) as response:
                refused = _refusal(response)
                if refused is not None:
                    done(attempt.end("refused", refused))
                    return
                async for raw in response.aiter_raw():
                    data = attempt.feed(raw)
                    if data:
                        yield LogData(step.task_id, step.run_id, data)
        except Exception as exc:
            end = _transport_error(exc)
            if end is None:
                raise
            done(attempt.end(end.kind, end.detail))
            return
        done(attempt.end("ended"))

    async def _download(self, step: Download, done: Callable[[StreamEnd], None]
                        ) -> AsyncIterator[LogData]:
        import asyncio

        from ..aio.download import downloadArtifact

        channel: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(_HANDOVER)

        class Writer:
            async def write(self, chunk: bytes) -> None:
                await channel.put(("data", bytes(chunk)))

        async def writer() -> Writer:
            await channel.put(("begin", None))
            return Writer()

        async def work() -> None:
            try:
                await downloadArtifact(taskId=step.task_id, runId=step.run_id,
                                       name=step.name, queueService=self.queue,
                                       writerFactory=writer, maxSize=step.max_size)
                await channel.put(("done", None))
            except Exception as exc:
                await channel.put(("error", exc))

        task = asyncio.create_task(work())
        attempt = step.cursor.attempt(step.name)
        try:
            while True:
                kind, value = await channel.get()
                if kind == "begin":
                    attempt = step.cursor.attempt(step.name)
                elif kind == "data":
                    data = attempt.feed(value)
                    if data:
                        yield LogData(step.task_id, step.run_id, data)
                elif kind == "done":
                    done(attempt.end("ended"))
                    return
                else:
                    raise value
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
