"""`tcdyn listen` against the local RabbitMQ (scripts/rabbitmq.sh): one JSON line per
message, the password never printed. Skips without a broker unless TCDYN_REQUIRE_BROKER=1."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest
import slugid

AMQP_URL = os.environ.get("TCDYN_AMQP_URL", "amqp://tcdyn:tcdyn-pass@localhost:5672/")
ADMIN_URL = os.environ.get("TCDYN_AMQP_ADMIN_URL",
                           "amqp://tcdyn-admin:tcdyn-admin-pass@localhost:5672/")
EXCHANGE = "exchange/taskcluster-queue/v1/task-completed"


async def _publish(routing_key: str, payload: dict) -> None:
    import aio_pika

    connection = await aio_pika.connect(ADMIN_URL, timeout=10)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        await exchange.publish(aio_pika.Message(
            json.dumps(payload).encode(), content_type="application/json",
            headers={"CC": ["route.index.cli-test"]}), routing_key)
    finally:
        await connection.close()


@pytest.fixture
def broker() -> None:
    try:
        asyncio.run(_publish("primary.probe._._._._._._._._", {}))
    except Exception as exc:
        message = f"no RabbitMQ at localhost:5672 ({type(exc).__name__}); run " \
                  "scripts/rabbitmq.sh"
        if os.environ.get("TCDYN_REQUIRE_BROKER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _key(task: str, group: str) -> str:
    return ".".join(["primary", task, "0", "wg", "w1", "prov", "wt", "sched", group, "_"])


async def test_listen_prints_one_json_line_per_message(broker, tmp_path):
    group, task = slugid.nice(), slugid.nice()
    env = {**os.environ, "TCDYN_CONFIG": str(tmp_path / "none.toml"),
           "TCDYN_PULSE_URL": AMQP_URL}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcdyn", "listen", "queue", "taskCompleted",
        f"--taskGroupId={group}", "--count", "2", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        banner = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert b"listening on queue/tcdyn/" in banner and b"to 1 exchange" in banner
        await _publish(_key(slugid.nice(), slugid.nice()), {"other": "group"})  # not bound
        for n in range(2):
            await _publish(_key(task, group), {"status": {"taskId": task, "n": n}})
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [m["payload"]["status"]["n"] for m in lines] == [0, 1]
    first = lines[0]
    assert first["exchange"] == EXCHANGE and first["routingKey"] == _key(task, group)
    assert first["routing"]["taskGroupId"] == group and first["routing"]["runId"] == "0"
    assert first["routes"] == ["index.cli-test"]
    assert "tcdyn-pass" not in (out + err).decode()


def test_listen_refuses_unknown_words_and_missing_url(tmp_path):
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "TCDYN_PULSE_URL"}
    env["TCDYN_CONFIG"] = str(tmp_path / "none.toml")
    run = subprocess.run([sys.executable, "-m", "tcdyn", "listen", "queue", "taskCompleted",
                          "--taskGroupId=x"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and "no Pulse URL" in run.stderr
    env["TCDYN_PULSE_URL"] = "amqp://u:hidden-pass@localhost:1/"
    run = subprocess.run([sys.executable, "-m", "tcdyn", "listen", "queue", "taskCompleted",
                          "--taskGroup=x"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2 and "no routing-key word 'taskGroup'" in run.stderr
    assert "hidden-pass" not in run.stderr
