"""Broker fixtures for the Pulse tests: a real RabbitMQ (see scripts/rabbitmq.sh).

Without a reachable broker these tests skip with the reason, unless
``TCDYN_REQUIRE_BROKER=1`` (CI), where they fail.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import slugid
from pulse_helpers import ADMIN_URL, AMQP_URL, Publisher

from tcdyn.exchanges import BaseEvents, Binding

# -- the broker -----------------------------------------------------------------------

def _probe(url: str) -> str | None:
    """``None`` if an AMQP login at ``url`` works, else why not."""
    import aio_pika

    async def attempt() -> None:
        connection = await aio_pika.connect(url, timeout=3)
        await connection.close()

    try:
        asyncio.run(attempt())
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


@pytest.fixture(scope="session")
def broker(deployment_dir: Path) -> dict[str, str]:
    """URLs of a reachable broker (skips, or fails under TCDYN_REQUIRE_BROKER=1), where
    every exchange of the deployment exists, as Taskcluster's services declare them."""
    for url in (AMQP_URL, ADMIN_URL):
        why = _probe(url)
        if why is not None:
            from tcdyn.pulse.options import mask_url

            message = (f"no RabbitMQ at {mask_url(url)} ({why}); "
                       "run scripts/rabbitmq.sh to install and start one")
            if os.environ.get("TCDYN_REQUIRE_BROKER") == "1":
                pytest.fail(message)
            pytest.skip(message)
    asyncio.run(_declare_exchanges(deployment_dir))
    return {"url": AMQP_URL, "admin": ADMIN_URL}


async def _declare_exchanges(deployment_dir: Path) -> None:
    import aio_pika

    connection = await aio_pika.connect(ADMIN_URL, timeout=10)
    try:
        channel = await connection.channel()
        for path in sorted((deployment_dir / "references").glob("*/v1/exchanges.json")):
            reference = json.loads(path.read_text())
            for entry in reference["entries"]:
                await channel.declare_exchange(reference["exchangePrefix"] + entry["exchange"],
                                               aio_pika.ExchangeType.TOPIC, durable=True)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def deployment(deployment_dir: Path) -> Any:
    """The v106 deployment's classes and schemas, read in place."""
    import tcdyn

    return tcdyn.load(deployment_dir)


@pytest.fixture(scope="session")
def queue_events(deployment: Any) -> BaseEvents:
    return deployment.QueueEvents()


@pytest.fixture(scope="session")
def hooks_events(deployment: Any) -> BaseEvents:
    return deployment.HooksEvents()


@pytest.fixture(scope="session")
def schema_validator(deployment: Any) -> Callable[[Binding, Any], None]:
    """``validate(binding, payload)`` with the deployment's schema registry."""
    return deployment.validate_message


@pytest.fixture
async def publisher(broker: dict[str, str]) -> AsyncIterator[Publisher]:
    import aio_pika

    connection = await aio_pika.connect(broker["admin"], timeout=10)
    channel = await connection.channel(publisher_confirms=True)
    try:
        yield Publisher(connection, channel)
    finally:
        await connection.close()


@pytest.fixture
async def queue_name(broker: dict[str, str]) -> AsyncIterator[str]:
    """A fresh queue name; the queue (and its dead-letter sibling) is deleted afterwards."""
    import aio_pika

    name = f"test-{slugid.nice()}"
    yield name
    connection = await aio_pika.connect(broker["admin"], timeout=10)
    try:
        for full in (f"queue/tcdyn/{name}", f"queue/tcdyn/{name}-dead"):
            channel = await connection.channel()
            await channel.queue_delete(full)
            await channel.close()
    finally:
        await connection.close()


