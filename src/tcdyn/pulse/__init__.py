"""Consume Taskcluster's Pulse messages (AMQP 0-9-1 via aio-pika).

``Consumer`` is asynchronous; ``listen`` is its blocking form for scripts. Importing this
package imports aio-pika; ``import tcdyn`` does not.
"""

from __future__ import annotations

from .consumer import Consumer, ConsumerStats
from .errors import PulseConnectionError, PulseError
from .message import Message
from .sync import listen

__all__ = [
    "Consumer",
    "ConsumerStats",
    "Message",
    "PulseConnectionError",
    "PulseError",
    "listen",
]
