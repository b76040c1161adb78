"""Hashing what a transfer moves (sha256 and sha512, on worker threads), checking hashes, and
reporting progress: the per-byte work of uploads and downloads, sync and async alike."""

from __future__ import annotations

import hashlib
import hmac
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..errors import ObjectHashVerificationError

#: Bytes hashed at a time on the hashing threads, and how many such batches may be in flight.
HASH_BATCH = 1024 * 1024
HASH_DEPTH = 4
#: Progress is reported after at least this many more bytes (and at the end).
PROGRESS_STEP = 256 * 1024
#: The hashes the object service accepts.
ACCEPTABLE_HASHES = ("sha256", "sha512")

Progress = Callable[[int, "int | None"], Any]
#: A chunk of a transfer: bytes, or a read-only view of bytes (never changed afterwards).
Chunk = bytes | memoryview


class Hashes:
    """sha256 and sha512 of every byte fed, and how many bytes that was.

    Chunks are hashed in batches of ``HASH_BATCH`` bytes on two worker threads (one per
    algorithm; hashlib releases the GIL), so hashing overlaps the caller's sending or
    writing and the two hashes run at once. At most ``HASH_DEPTH`` batches of ``bytes`` are
    in flight: ``update`` waits for the oldest beyond that, which bounds the memory held
    (views of a caller's buffer, which hold none, are not waited for). Transfers
    that never fill a batch are hashed inline and start no thread. The chunks fed must not
    change afterwards (``bytes``, or views of ``bytes``). ``close`` stops the threads of an
    abandoned attempt.
    """

    __slots__ = ("_inflight", "_pending", "_pending_size", "_workers", "active", "count",
                 "sha256", "sha512")

    def __init__(self, active: bool = True) -> None:
        self.active = active  # False: only count (nothing to verify against)
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()
        self.count = 0
        self._pending: list[Chunk] = []
        self._pending_size = 0
        self._workers: tuple[ThreadPoolExecutor, ThreadPoolExecutor] | None = None
        self._inflight: deque[tuple[Future[None], Future[None]]] = deque()

    def update(self, chunk: Chunk) -> None:
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
        # views of a caller's buffer hold no memory of their own: the sender need not wait
        bounded = not all(type(chunk) is memoryview for chunk in batch)
        while bounded and len(inflight) >= HASH_DEPTH:
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


def _feed(hasher: Any, chunks: list[Chunk]) -> None:
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
        raise no_acceptable_hashes()


def no_acceptable_hashes() -> ObjectHashVerificationError:
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
