"""Errors of the Pulse consumer. None carries the AMQP password."""

from __future__ import annotations

from ..errors import TaskclusterConnectionError, TaskclusterFailure


class PulseError(TaskclusterFailure):
    """The broker refused the consumer's setup (missing exchange, permissions, queue
    arguments that differ from the existing queue's, ...)."""


class PulseConnectionError(PulseError, TaskclusterConnectionError):
    """The broker could not be reached (or recovery gave up)."""

    def __init__(self, message: str, *, url: str | None = None, attempts: int = 1) -> None:
        TaskclusterConnectionError.__init__(self, message, url=url, attempts=attempts)
