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


# -- issue 18 item 13: no password on the command line, none in an error --------------------

def _run(args: list[str], env: dict[str, str], timeout: float = 60):
    import subprocess

    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _clean_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TCDYN_PULSE", "TASKCLUSTER_"))}
    env["TCDYN_CONFIG"] = str(tmp_path / "none.toml")
    env.update(extra)
    return env


@pytest.mark.parametrize("option", [["--url", AMQP_URL], [f"--url={AMQP_URL}"]])
def test_listen_refuses_a_password_on_the_command_line(broker, tmp_path, option):
    """argv is readable by every user (/proc/<pid>/cmdline): refused before connecting,
    with where to put the password instead."""
    run = _run(["listen", "queue", "taskCompleted", *option, "--count", "1"],
               _clean_env(tmp_path), timeout=30)
    assert run.returncode == 2, run.stderr
    assert run.stdout == "" and len(run.stderr.splitlines()) == 1, run.stderr
    assert "--url must not hold a password" in run.stderr
    assert "TCDYN_PULSE_PASSWORD" in run.stderr and "TCDYN_PULSE_URL" in run.stderr
    assert "tcdyn-pass" not in run.stderr


async def test_listen_takes_the_password_from_the_environment(broker, tmp_path):
    """``--url`` without a password, the password in $TCDYN_PULSE_PASSWORD: it never
    appears in the process's command line."""
    from urllib.parse import urlsplit

    parts = urlsplit(AMQP_URL)
    bare = AMQP_URL.replace(f":{parts.password}@", "@")
    env = _clean_env(tmp_path, TCDYN_PULSE_PASSWORD=parts.password or "")
    group, task = slugid.nice(), slugid.nice()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tcdyn", "listen", "queue", "taskCompleted", "--url", bare,
        f"--taskGroupId={group}", "--count", "1", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        banner = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert b"listening on queue/tcdyn/" in banner, banner
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            assert parts.password.encode() not in f.read()
        await _publish(_key(task, group), {"status": {"taskId": task}})
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["payload"]["status"]["taskId"] == task


@pytest.mark.parametrize("char", ["/", "#", "?"])
def test_unencoded_character_in_the_password_is_a_usage_error(tmp_path, char):
    """``amqp://user:se/cret@host/``: the parser reads part of the password as the path
    (or query, fragment); an exit-2 error that shows no part of it."""
    password = f"hid{char}den-pass"
    env = _clean_env(tmp_path, TCDYN_PULSE_URL=f"amqp://tcdyn:{password}@localhost:1/")
    run = _run(["listen", "queue", "taskCompleted"], env, timeout=30)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert "percent-encode" in run.stderr and "$TCDYN_PULSE_URL" in run.stderr
    assert "hid" not in run.stderr and "den-pass" not in run.stderr


def test_config_file_with_such_a_password_must_be_private(tmp_path):
    """A password that ``urlsplit`` does not see is still a password: the config file
    holding it is refused when others may read it."""
    config = tmp_path / "config.toml"
    config.write_text('[pulse]\nurl = "amqp://tcdyn:hid/den-pass@localhost:1/"\n')
    config.chmod(0o644)
    env = _clean_env(tmp_path, TCDYN_CONFIG=str(config))
    run = _run(["listen", "queue", "taskCompleted"], env, timeout=30)
    assert run.returncode == 2, run.stderr
    assert "chmod 600" in run.stderr and "den-pass" not in run.stderr
    config.chmod(0o600)
    run = _run(["listen", "queue", "taskCompleted"], env, timeout=30)
    assert run.returncode == 2 and "percent-encode" in run.stderr, run.stderr
    assert "den-pass" not in run.stderr


# -- issue 18 item 24: the references in use, no raw library log lines -----------------------

@pytest.fixture(scope="module")
def smaller_deployment(tmp_path_factory):
    """A served deployment: the v106 references without the github service."""
    import shutil
    from pathlib import Path

    from tcdyn.testing.server import LocalDeployment

    root = tmp_path_factory.mktemp("deployment")
    shutil.copytree(Path(__file__).resolve().parents[2] / "references", root,
                    dirs_exist_ok=True)
    shutil.rmtree(root / "references" / "github")
    manifest = root / "references" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["references"] = [r for r in doc["references"] if "/github/" not in r]
    manifest.write_text(json.dumps(doc))
    (root / "references" / "references.json").unlink(missing_ok=True)
    with LocalDeployment(root) as dep:
        yield dep.root_url


@pytest.mark.parametrize("how", ["env", "option"])
def test_listen_uses_and_names_the_root_urls_references(tmp_path, smaller_deployment, how):
    env = _clean_env(tmp_path, TCDYN_PULSE_URL="amqp://u:hidden-pass@127.0.0.1:1/")
    args = ["listen", "github"]
    if how == "env":
        env["TASKCLUSTER_ROOT_URL"] = smaller_deployment
    else:
        args += ["--root-url", smaller_deployment]
    run = _run(args, env, timeout=60)
    import re

    named = f"(references fetched from|cached references of) {re.escape(smaller_deployment)}"
    assert run.returncode == 2, run.stderr
    assert "unknown service 'github'" in run.stderr, run.stderr
    assert re.search(f"{named} have: auth, hooks,", run.stderr), run.stderr
    assert "bundled" not in run.stderr
    run = _run(["listen", "queue", "taskNope", *args[2:]], env, timeout=60)
    assert run.returncode == 2, run.stderr
    assert re.search(f"no exchange 'taskNope' in {named}; it has: taskDefined",
                     run.stderr), run.stderr
    assert "hidden-pass" not in run.stderr


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_no_raw_library_log_line_reaches_the_terminal(tmp_path, verbose):
    """A broker not reached: tcdyn's one error line (exit 4), not aiormq's own
    ``ERROR aiormq.connection: ...`` as well."""
    env = _clean_env(tmp_path, TCDYN_PULSE_URL="amqp://tcdyn:hidden-pass@127.0.0.1:1/")
    run = _run([*verbose, "listen", "queue", "taskCompleted", "--references", "bundled"],
               env, timeout=60)
    assert run.returncode == 4, run.stderr
    assert "aiormq" not in run.stderr and "aio_pika" not in run.stderr, run.stderr
    assert run.stderr.splitlines()[-1].startswith("tcdyn: cannot connect to amqp://tcdyn:***@")
    if not verbose:
        assert len(run.stderr.splitlines()) == 1, run.stderr
    assert "hidden-pass" not in run.stderr


@pytest.mark.parametrize(("option", "says"), [
    (["--queue", "queue/someone-else/q"], "--queue: queue_name 'queue/someone-else/q' belongs"),
    (["--queue", ""], "--queue: queue_name must be 1 to"),
    (["--prefetch", "0"], "--prefetch: prefetch must be >= 1, got 0"),
])
def test_listen_checks_queue_and_prefetch_before_connecting(tmp_path, option, says):
    """Issue 21: ``--queue NAME`` (a durable queue shared by several listeners) and
    ``--prefetch N`` are checked as the library checks them, as usage errors, before any
    connection (the broker here does not exist)."""
    env = _clean_env(tmp_path, TCDYN_PULSE_URL="amqp://tcdyn:hidden-pass@localhost:1/")
    run = _run(["listen", "queue", "taskCompleted", *option], env, timeout=30)
    assert run.returncode == 2, run.stderr
    assert says in run.stderr and len(run.stderr.splitlines()) == 1, run.stderr
    assert "hidden-pass" not in run.stderr
