"""A worker's side of a run with a live log, as generic-worker v106 does it, for the tests of
log followers: claim the run, publish ``public/logs/live.log`` as a ``reference`` to a
livelog (``tcdyn.testing.livelog.LiveLog``), write the log there, finish it, publish the
whole log as ``public/logs/live_backing.log``, turn ``live.log`` into a ``link`` to it,
resolve the run. Everything goes through the queue's real API."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

import tcdyn
from tcdyn.testing.livelog import LiveLog

LIVE, BACKING = "public/logs/live.log", "public/logs/live_backing.log"


def put_s3(queue: Any, task_id: str, run_id: int, name: str, data: bytes, expires: str
           ) -> None:
    """An ``s3`` artifact (the local deployment's storage host)."""
    answer = queue.createArtifact(task_id, run_id, name, {
        "storageType": "s3", "contentType": "text/plain", "expires": expires})
    httpx.put(answer["putUrl"], content=data,
              headers={"Content-Type": "text/plain"}).raise_for_status()


class LogWorker:
    """One run of a task, done in a thread (``start``) or at once (``run``)."""

    def __init__(self, queue: Any, task_queue_id: str, *,
                 put: Callable[[Any, str, int, str, bytes, str], None] = put_s3) -> None:
        self.queue, self.task_queue_id, self.put = queue, task_queue_id, put
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        #: The claimed run (task id, run id) and its task's expiry (artifacts' limit).
        self.claimed: tuple[str, int] | None = None
        self.expires = ""

    def claim(self, task_id: str) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            claims = self.queue.claimWork(self.task_queue_id, {
                "workerGroup": "tcdyn", "workerId": "logworker", "tasks": 1})["tasks"]
            if claims:
                assert claims[0]["status"]["taskId"] == task_id
                self.claimed = (task_id, int(claims[0]["runId"]))
                self.expires = claims[0]["task"]["expires"]
                return self.claimed[1]
            time.sleep(0.1)
        raise AssertionError(f"{task_id} was not claimed")

    def run(self, task_id: str, live: LiveLog, chunks: Iterable[bytes], *,
            after: bytes = b"", resolve: str = "completed", reason: str = "malformed-payload",
            pause: float = 0.0, wait_before: float = 0.0, misbehave: Callable[[int], None]
            | None = None, backing: bool = True) -> int:
        """Run it: claim, stream ``chunks`` to ``live`` (``misbehave(i)`` before chunk
        ``i``), finish, publish the backing log (the live log plus ``after``), link, and
        resolve as ``resolve``; returns the run id."""
        time.sleep(wait_before)
        run_id = self.claim(task_id)
        expires = self.expires
        self.queue.createArtifact(task_id, run_id, LIVE, {
            "storageType": "reference", "url": live.url, "expires": expires,
            "contentType": "text/plain; charset=utf-8"})
        for i, chunk in enumerate(chunks):
            if misbehave is not None:
                misbehave(i)
            live.write(chunk)
            time.sleep(pause)
        live.finish()
        if backing:
            self.put(self.queue, task_id, run_id, BACKING, live.data + after, expires)
            self.queue.createArtifact(task_id, run_id, LIVE, {
                "storageType": "link", "artifact": BACKING, "expires": expires,
                "contentType": "text/plain; charset=utf-8"})
        if resolve == "completed":
            self.queue.reportCompleted(task_id, run_id)
        elif resolve == "failed":
            self.queue.reportFailed(task_id, run_id)
        else:
            self.queue.reportException(task_id, run_id, {"reason": reason})
        return run_id

    def start(self, *args: Any, **kwargs: Any) -> LogWorker:
        def work() -> None:
            try:
                self.run(*args, **kwargs)
            except BaseException as exc:
                self.error = exc
                if self.claimed is not None:  # end the run, so that no follower waits
                    with contextlib.suppress(Exception):
                        self.queue.reportException(*self.claimed, {"reason": "internal-error"})

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()
        return self

    def join(self) -> None:
        assert self._thread is not None
        self._thread.join(60)
        if self.error is not None:
            raise self.error


def task(task_queue_id: str, **overrides: Any) -> dict[str, Any]:
    definition = {
        "taskQueueId": task_queue_id, "created": tcdyn.fromNowJSON("0 seconds"),
        "deadline": tcdyn.fromNowJSON("1 hour"), "payload": {},
        "metadata": {"name": "log test", "description": "a log followed",
                     "owner": "tcdyn@example.com", "source": "https://example.com/tcdyn"}}
    definition.update(overrides)
    return definition


def log_lines(n: int, seed: int = 0) -> list[bytes]:
    """``n`` lines of varied lengths (and bytes that are not ASCII), as chunks that cut lines
    anywhere."""
    import random

    rng = random.Random(seed)
    text = b"".join(f"line {i} {'é' * rng.randint(0, 3)}{'x' * rng.randint(0, 200)}\n"
                    .encode() for i in range(n))
    chunks, at = [], 0
    while at < len(text):
        size = rng.randint(1, 700)
        chunks.append(text[at:at + size])
        at += size
    return chunks
