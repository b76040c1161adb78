"""``tcdyn explore`` (tcdyn.repl), driven through a pseudo-terminal with pexpect against the
local deployment: calls, help() on an instance's method, pretty printing, tab completion."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pexpect
import pytest

from helpers import one_line_signatures
from tcdyn.repl import Completer, client_name, namespace
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

PROMPT = ">>> "


@pytest.fixture(scope="module")
def local() -> Iterator[LocalDeployment]:
    clients = {"explorer": ClientRecord("explorer-token", ("queue:*",))}
    with LocalDeployment(clients=clients) as dep:
        yield dep


@pytest.fixture
def shell(local: LocalDeployment) -> Iterator[pexpect.spawn]:
    local.reset()
    env = {**os.environ, "TCDYN_SHELL": "python", "PAGER": "cat", "TERM": "dumb",
           "TASKCLUSTER_CLIENT_ID": "explorer", "TASKCLUSTER_ACCESS_TOKEN": "explorer-token",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("TASKCLUSTER_CERTIFICATE", None)
    child = pexpect.spawn(sys.executable, ["-m", "tcdyn.repl", "--root-url", local.root_url],
                          env=env, encoding="utf-8", timeout=30, dimensions=(50, 200))
    child.expect_exact(PROMPT)
    yield child
    child.sendline("exit()")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def run(child: pexpect.spawn, line: str) -> str:
    child.sendline(line)
    child.expect_exact(PROMPT)
    return str(child.before).replace("\r\n", "\n")


def test_banner_names_the_clients(local: LocalDeployment) -> None:
    names, banner = namespace(local.root_url, None)
    assert f"rootUrl {local.root_url}" in banner
    assert "queue" in names and "purgeCache" in names and "queueEvents" in names
    assert names["queue"].rootUrl == local.root_url
    assert client_name("WorkerManager") == "workerManager"


def test_call_and_pretty_print(shell: pexpect.spawn, local: LocalDeployment) -> None:
    out = run(shell, "queue.ping()")
    assert "'name': 'ping'" in out and "'service': 'queue'" in out
    out = run(shell, "queue.task('abcTask')")
    assert "'params': {'taskId': 'abcTask'}" in out
    assert [r.name for r in local.requests] == ["ping", "task"]
    assert all(r.client_id == "explorer" for r in local.requests)


def test_help_on_an_instance_method(shell: pexpect.spawn) -> None:
    out = run(shell, "help(queue.createTask)")
    out = one_line_signatures(out)  # Python 3.13 wraps a long signature
    assert ("createTask(taskId: str, payload: dict, *, workerImplementation: str | None = None)"
            " -> Any") in out
    assert "Create New Task" in out
    assert "PUT /task/<taskId>" in out
    assert "Payload (required fields first):" in out
    assert "created: string (date-time) (required)" in out
    assert "metadata: object (required)" in out


def test_tab_completes_methods_and_keywords(shell: pexpect.spawn) -> None:
    shell.send("queue.createT\t")
    shell.expect_exact("queue.createTask(")
    shell.send("ta\t")
    shell.expect_exact("taskId=")
    shell.sendline("'x1', payload={'a': 1})")  # fails validation: the error is printed
    shell.expect_exact(PROMPT)
    assert "SchemaValidationError" in str(shell.before)


def test_completer_keywords_unit() -> None:
    names, _ = namespace("https://tc.example.com", None)
    complete = Completer(names, lambda: "queue.listTaskGroup('g', ").complete
    assert [complete("", i) for i in range(3)] == ["taskGroupId=", "query=", None]
    assert Completer(names, lambda: "queue.nope(").keywords("queue.nope(", "") == []
