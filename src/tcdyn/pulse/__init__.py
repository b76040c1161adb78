"""Consume Taskcluster's Pulse messages (AMQP 0-9-1 via aio-pika).

``Consumer`` is asynchronous; ``SyncConsumer`` (``with``/``for``) and ``listen`` (a callback)
are its blocking forms for scripts. Importing this
package imports aio-pika; ``import tcdyn`` does not.
"""

from __future__ import annotations

from .consumer import Consumer, ConsumerStats
from .errors import PulseConnectionError, PulseError
from .message import Message, SyncMessage
from .sync import SyncConsumer, listen

__all__ = [
    "Consumer",
    "ConsumerStats",
    "Message",
    "PulseConnectionError",
    "PulseError",
    "SyncConsumer",
    "SyncMessage",
    "listen",
]
