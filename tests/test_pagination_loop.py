"""Issue 18 item 4: a server that repeats a continuationToken must not make ``items()``,
``pages()``, ``paginationHandler`` or ``tcdyn api ... --all`` loop forever. The one sans-IO
``Pager`` stops at the first token it has seen before (a repeat or a longer cycle) with a
typed ``PaginationLoopError`` naming the method and the pages, never the token itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import tcdyn
from helpers import CREDS, SECRET, collect, run
from tcdyn.call.bind import bind
from tcdyn.call.options import RetryPolicy
from tcdyn.call.paging import Pager
from tcdyn.errors import InvalidResponse, PaginationLoopError
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

FAST = RetryPolicy(delay_factor=0.001, max_delay=0.01)
#: A token that looks like a secret: it must never be shown.
TOKEN = "c2VjcmV0LXN0YXRlLW9mLXRoZS1zZXJ2ZXI9PT0K"


@pytest.fixture(scope="module")
def server(deployment_dir):
    with LocalDeployment(deployment_dir,
                         clients={"tester": ClientRecord(SECRET, ("queue:*",))}) as dep:
        yield dep


@pytest.fixture(scope="module")
def tc(server):
    return tcdyn.load(server.root_url)


def _tokens(server, *tokens: str) -> None:
    """``listTaskGroup`` answers page n with ``tokens[n]`` (the last one after that), and
    ends the listing at page 10 so that a regression fails instead of hanging."""
    def page(request):
        n = len([r for r in server.requests if r.name == "listTaskGroup"]) - 1
        body = {"taskGroupId": "G", "tasks": [{"n": n}]}
        if n < 10:
            body["continuationToken"] = tokens[min(n, len(tokens) - 1)]
        return body

    server.reset()
    server.handle("queue", "listTaskGroup", page)


def _listed(server) -> int:
    return len([r for r in server.requests if r.name == "listTaskGroup"])


def _walks():
    return {
        "items": lambda q: collect(q.listTaskGroup.items("G")),
        "pages": lambda q: collect(q.listTaskGroup.pages("G")),
        "handler": lambda q: q.listTaskGroup("G", paginationHandler=lambda page: None),
    }


@pytest.mark.parametrize("walk", ["items", "pages", "handler"])
def test_a_repeated_token_ends_every_walk_with_a_typed_error(server, tc, flavour, walk):
    _tokens(server, TOKEN)  # the same token on every page
    with pytest.raises(PaginationLoopError) as info:
        run(flavour, "Queue", tc, _walks()[walk], rootUrl=server.root_url,
            credentials=CREDS, retry=FAST)
    assert _listed(server) == 2  # the repeat is seen on the second page, not the 69th
    error = info.value
    assert isinstance(error, InvalidResponse) and isinstance(error, tcdyn.TaskclusterFailure)
    assert error.service == "queue" and error.method_name == "listTaskGroup"
    assert (error.page, error.first_page) == (2, 1)
    text = error.describe()
    assert "queue.listTaskGroup" in text and "continuationToken" in text
    assert "page 2" in text and "page 1" in text
    assert TOKEN not in text and TOKEN not in repr(error) and TOKEN[:12] not in text
    assert SECRET not in text


def test_a_longer_cycle_and_the_callers_own_token_are_caught(server, tc, flavour):
    _tokens(server, "A", "B", "C", "A")
    with pytest.raises(PaginationLoopError, match=r"page 4 .*page 1"):
        run(flavour, "Queue", tc, _walks()["items"], rootUrl=server.root_url,
            credentials=CREDS, retry=FAST)
    assert _listed(server) == 4
    _tokens(server, "B", "START")  # the server leads back to the token the caller passed
    with pytest.raises(PaginationLoopError, match="the continuationToken the caller passed"):
        run(flavour, "Queue", tc,
            lambda q: collect(q.listTaskGroup.items("G", query={"continuationToken": "START"})),
            rootUrl=server.root_url, credentials=CREDS, retry=FAST)
    assert _listed(server) == 2


def test_the_pager_remembers_every_token_of_its_walk():
    entry = tcdyn.Queue._model.entries["listTaskGroup"]
    first = bind("queue", "https://tc/api/queue/v1", entry, ("g",), {})
    pager = Pager(entry)
    call = first
    for token in ("t1", "t2", "t3"):
        nxt = pager.after(call, {"tasks": [], "continuationToken": token})
        assert nxt is not None and nxt.query == {"continuationToken": token}
        call = nxt
    with pytest.raises(PaginationLoopError) as info:
        pager.after(call, {"tasks": [], "continuationToken": "t2"})
    assert (info.value.page, info.value.first_page) == (4, 2)
    assert info.value.url == first.url and "?" not in info.value.url  # no token in the URL
    # A fresh walk (a new Pager) may see the same tokens again.
    assert Pager(entry).after(first, {"tasks": [], "continuationToken": "t2"}) is not None
    # The last page (no token) and max_pages still end the walk quietly.
    assert Pager(entry).after(first, {"tasks": []}) is None


def test_the_command_exits_instead_of_printing_forever(server, tmp_path):
    _tokens(server, TOKEN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    env.update(TCDYN_CONFIG=str(tmp_path / "none.toml"), TASKCLUSTER_ROOT_URL=server.root_url,
               TASKCLUSTER_CLIENT_ID="tester", TASKCLUSTER_ACCESS_TOKEN=SECRET)
    done = subprocess.run([sys.executable, "-m", "tcdyn", "api", "queue", "listTaskGroup", "G",
                           "--all"], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 4, done.stderr  # the server misbehaved (as 5xx, exit 4)
    assert [line for line in done.stdout.splitlines()] == ['{"n":0}', '{"n":1}']
    assert "listTaskGroup" in done.stderr and "continuationToken" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert TOKEN not in done.stderr and SECRET not in done.stderr
    assert _listed(server) == 2
