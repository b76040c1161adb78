"""How many times a failed message may go back to its queue."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class RequeueBudget:
    """Counts handler failures per message; ``failed()`` says whether to requeue.

    The count comes from the broker when it keeps one (quorum queues'
    ``x-delivery-count``); otherwise from memory, keyed by the message's identity, where
    a redelivered message not seen before counts as having failed once (as Taskcluster's
    own consumer does).
    """

    def __init__(self, max_requeues: int, capacity: int = 10_000) -> None:
        self.max_requeues = max_requeues
        self._capacity = capacity
        self._failures: OrderedDict[Hashable, int] = OrderedDict()

    @property
    def tracking(self) -> bool:
        """Whether any message has failed and not yet been forgotten."""
        return bool(self._failures)

    def failed(self, key: Hashable, *, redelivered: bool,
               delivery_count: int | None = None) -> bool:
        """Record a failure; ``True`` to requeue, ``False`` to reject for good."""
        if delivery_count is not None:
            failures = delivery_count + 1
        else:
            failures = self._failures.pop(key, 1 if redelivered else 0) + 1
        if failures > self.max_requeues:
            self._failures.pop(key, None)
            return False
        self._failures[key] = failures
        while len(self._failures) > self._capacity:
            self._failures.popitem(last=False)
        return True

    def succeeded(self, key: Hashable) -> None:
        """Forget a message once handled."""
        self._failures.pop(key, None)
