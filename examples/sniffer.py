"""Print every state change of a task group's tasks, as the queue announces them on Pulse.

    python examples/sniffer.py --url amqp://USER:PASSWORD@localhost:5672/ TASK_GROUP_ID

Binds an exclusive queue (gone when the sniffer stops) to every queue exchange whose
routing key carries the task group. ``--url`` defaults to ``$PULSE_URL``. The exchange
classes come from ``tcdyn.QueueEvents``, or from a deployment's own references given with
``--references`` (a rootUrl or a mirror directory, as ``tcdyn.load`` takes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime
from typing import Any

import tcdyn
from tcdyn.exchanges import BaseEvents
from tcdyn.pulse import Consumer, Message


def queue_events(references: str | None) -> BaseEvents:
    """``tcdyn.QueueEvents()``, or the one a deployment's own references build."""
    return (tcdyn.load(references) if references else tcdyn).QueueEvents()


def describe(message: Message) -> str:
    """One line for a message: time, exchange, task, run, worker, state."""
    routing = message.routing or {}
    payload: dict[str, Any] = message.payload if isinstance(message.payload, dict) else {}
    status = payload.get("status") or {}
    event = message.exchange.rsplit("/", 1)[-1]
    parts = [datetime.now().strftime("%H:%M:%S"), f"{event:<28}"]
    if routing.get("taskId"):
        parts.append(f"task {routing['taskId']}")
    if routing.get("runId") is not None:
        parts.append(f"run {routing['runId']}")
    if routing.get("workerId"):
        parts.append(f"on {routing.get('workerGroup')}/{routing['workerId']}")
    if status.get("state"):
        parts.append(f"-> {status['state']}")
    if event.startswith("artifact") and isinstance(payload.get("artifact"), dict):
        parts.append(payload["artifact"].get("name", ""))
    if message.routes:
        parts.append(f"(routes: {', '.join(message.routes)})")
    return "  ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task_group_id")
    parser.add_argument("--url", default=os.environ.get("PULSE_URL"),
                        help="AMQP URL of the Pulse broker (default: $PULSE_URL)")
    parser.add_argument("--references", help="rootUrl or directory to build the classes from")
    parser.add_argument("--count", type=int, help="exit after this many messages")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url (or $PULSE_URL) is required")
    events = queue_events(args.references)
    bindings = events.bindings_for(taskGroupId=args.task_group_id)

    try:
        asyncio.run(sniff(args.url, bindings, args.count))
    except KeyboardInterrupt:
        return 130
    return 0


async def sniff(url: str, bindings: list[Any], count: int | None) -> None:
    """Print each message until ``count`` were seen (or forever)."""
    async with Consumer(url, None, bindings) as consumer:
        print(f"listening on {consumer.queue_name} to {len(bindings)} exchanges",
              file=sys.stderr, flush=True)
        seen = 0
        async for message in consumer:
            print(describe(message), flush=True)
            seen += 1
            if count is not None and seen >= count:
                consumer.stop()  # ends the loop after this message, which is acked


if __name__ == "__main__":
    sys.exit(main())
