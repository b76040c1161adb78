"""One competing consumer for tests/pulse/test_scale.py, run as a process of its own:
``python scale_worker.py DEPLOYMENT_DIR QUEUE_NAME TASK_GROUP_ID PREFETCH WORK``.

Consumes ``queue/<user>/QUEUE_NAME`` (``TCDYN_AMQP_URL``) with ``Consumer.run``, validating
each message with the deployment's schemas. Prints ``ready`` once consuming, then for each
message, before its handler returns (so before its ack), ``<taskId> <redelivered 0|1>``
in one unbuffered write (a line the parent read is a message this process handled), then
awaits WORK seconds, as a handler doing I/O would. SIGTERM
stops it after the current message; it then prints ``done <stats as JSON>``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys


async def main(deployment_dir: str, queue_name: str, group: str, prefetch: int,
               work: float) -> None:
    import tcdyn
    from tcdyn.pulse import Consumer, Message

    deployment = tcdyn.load(deployment_dir)
    binding = deployment.QueueEvents().taskCompleted(taskGroupId=group)
    url = os.environ.get("TCDYN_AMQP_URL", "amqp://tcdyn:tcdyn-pass@localhost:5672/")
    consumer = Consumer(url, queue_name, [binding], prefetch=prefetch,
                        validate=deployment.validate_message)

    async def handler(message: Message) -> None:
        task = message.payload["status"]["taskId"]
        os.write(1, f"{task} {int(message.redelivered)}\n".encode())
        if work:
            await asyncio.sleep(work)

    async with consumer:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, consumer.stop)
        os.write(1, b"ready\n")
        await consumer.run(handler)
    stats = consumer.stats
    os.write(1, ("done " + json.dumps({"delivered": stats.delivered, "acked": stats.acked,
                                        "rejected": stats.rejected,
                                        "requeued": stats.requeued,
                                        "recoveries": stats.recoveries}) + "\n").encode())


if __name__ == "__main__":
    directory, queue, task_group, window, seconds = sys.argv[1:6]
    asyncio.run(main(directory, queue, task_group, int(window), float(seconds)))
