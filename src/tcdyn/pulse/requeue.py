"""How many times a failed message may go back to its queue."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable


class RequeueBudget:
    """Counts handler failures per message; ``failed()`` says whether to requeue.

    The count comes from the broker when it keeps one (quorum queues'
    ``x-delivery-count``). Otherwise it is kept in memory, which must tell deliveries
    apart without a message-id (Taskcluster publishes none, so identical bodies are
    alike): a first delivery (``redelivered`` unset) has never failed, since a requeued
    message always comes back redelivered; each failed copy of a body that goes back to
    the queue leaves one count under the body's ``key``, and a redelivered copy that fails
    again takes one of them (oldest first). Identical bodies thus each get the whole
    budget. A redelivered message with no count left counts as having failed once (as
    Taskcluster's own consumer does).
    """

    def __init__(self, max_requeues: int, capacity: int = 10_000) -> None:
        self.max_requeues = max_requeues
        self._capacity = capacity
        self._failures: OrderedDict[Hashable, deque[int]] = OrderedDict()
        self._size = 0  # counts held, over all keys

    @property
    def tracking(self) -> bool:
        """Whether any failed copy is still counted."""
        return self._size > 0

    def failed(self, key: Hashable, *, redelivered: bool,
               delivery_count: int | None = None) -> bool:
        """Record a failure; ``True`` to requeue, ``False`` to reject for good."""
        if delivery_count is not None:
            return delivery_count + 1 <= self.max_requeues
        failures = ((self._take(key) or 1) if redelivered else 0) + 1
        if failures > self.max_requeues:
            return False
        self._failures.setdefault(key, deque()).append(failures)
        self._size += 1
        while self._size > self._capacity:
            oldest = next(iter(self._failures))
            self._take(oldest)
        return True

    def succeeded(self, key: Hashable, *, redelivered: bool) -> None:
        """Forget a redelivered copy once handled (a first delivery never failed)."""
        if redelivered:
            self._take(key)

    def _take(self, key: Hashable) -> int:
        """One count recorded under ``key`` (the oldest), or 0."""
        counts = self._failures.get(key)
        if not counts:
            return 0
        count = counts.popleft()
        self._size -= 1
        if not counts:
            del self._failures[key]
        return count
