"""Issue 10 (core): no loop between client and deployment code, shared sync/async decisions
(sans-IO pager, scopes through the client's own transport), one place for the options'
defaults, names that say what they hold."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import tcdyn
from helpers import SECRET, run
from tcdyn.credentials import Credentials
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

SRC = Path(tcdyn.__file__).resolve().parent
#: Modules a built class runs on: none may import the deployment (not even for typing).
CLIENT_SIDE = ("client.base", "client.clients", "classes.context", "classes.meta",
               "call.options", "call.bind", "call.retry", "call.paging", "call.response",
               "transport.drive", "transport.httpx_transport", "transport.httpcore_transport",
               "transport.aiohttp_transport", "schemas.validation", "auth.credentials",
               "transport.hawk", "model.reference", "errors")
OWNER = Credentials("owner", SECRET)


@pytest.fixture(scope="module")
def server(deployment_dir):
    with LocalDeployment(deployment_dir,
                         clients={"owner": ClientRecord(SECRET, ("queue:*",))}) as dep:
        yield dep


def _imports(module: str) -> set[str]:
    """Every tcdyn module ``module`` imports (and each name it imports from one, which may be
    a module), relative to ``tcdyn``, at any level (functions, TYPE_CHECKING)."""
    tree = ast.parse(SRC.joinpath(*module.split(".")).with_suffix(".py").read_text())
    package = ["tcdyn", *module.split(".")[:-1]]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            source = ".".join(p for p in (base, node.module or "") if p)
            if source == "tcdyn" or source.startswith("tcdyn."):
                found.add(source.removeprefix("tcdyn").lstrip("."))
                found.update(f"{source}.{alias.name}".removeprefix("tcdyn.")
                             for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("tcdyn.") for a in node.names
                         if a.name.startswith("tcdyn."))
    return found


@pytest.mark.parametrize("module", CLIENT_SIDE)
def test_client_side_modules_never_import_the_deployment(module):
    assert not _imports(module) & {"deployment", "default"}, module


def test_client_modules_load_without_the_deployment():
    probe = ("import sys, tcdyn.client.clients, tcdyn.classes.meta, tcdyn.transport.drive, "
             "tcdyn.transport.httpx_transport, tcdyn.transport.httpcore_transport, "
             "tcdyn.transport.aiohttp_transport\n"
             "print(sorted(m for m in ('tcdyn.deployment', 'tcdyn.default') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out.replace("'", '"')) == []


def test_built_classes_carry_a_narrow_context_not_the_deployment():
    from tcdyn.classes.context import ClassContext
    from tcdyn.default import default

    for cls in (tcdyn.Queue, tcdyn.aio.Queue, tcdyn.QueueEvents):
        assert isinstance(cls._context, ClassContext)
        assert not hasattr(cls, "_deployment")
        assert cls._context is default().context
    assert tcdyn.Queue._context.provenance() == "bundled references"
    assert tcdyn.Queue._context.sibling("Object", True) is tcdyn.aio.Object
    call = tcdyn.Queue._context.auth_call("https://tc.example.com", "currentScopes")
    assert (call.http_method, call.url) == ("GET",
                                            "https://tc.example.com/api/auth/v1/scopes/current")


def test_one_path_hands_out_classes():
    from tcdyn.default import default

    dep = default()
    assert dep.Queue is dep.service_class("Queue") is tcdyn.Queue
    assert dep.aio.Queue is dep.service_class("Queue", asynchronous=True) is tcdyn.aio.Queue
    for owner in (dep, dep.aio):
        with pytest.raises(AttributeError):
            owner._private  # noqa: B018
        with pytest.raises(AttributeError, match="have no service 'Nope'"):
            owner.Nope  # noqa: B018


def test_current_scopes_go_through_the_clients_own_transport(server, flavour):
    """Not a second Auth client with a connection pool of its own: the user's httpx client
    sees the auth.currentScopes request."""
    server.reset()
    seen: list[str] = []
    if flavour == "sync":
        http: httpx.Client | httpx.AsyncClient = httpx.Client(
            event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    else:
        async def hook(request: httpx.Request) -> None:
            seen.append(request.url.path)

        http = httpx.AsyncClient(event_hooks={"request": [hook]})
    held = run(flavour, "Queue", tcdyn, lambda q: q.current_scopes(), rootUrl=server.root_url,
               credentials=OWNER, client=http)
    assert held == ("queue:*",)
    assert seen == ["/api/auth/v1/scopes/current"]
    assert [r.client_id for r in server.requests] == ["owner"]


def test_pager_decides_pages_and_items_without_io():
    from tcdyn.call.bind import bind
    from tcdyn.call.paging import Pager

    entry = tcdyn.Queue._model.entries["listTaskGroup"]
    first = bind("queue", "https://tc/api/queue/v1", entry, ("g",), {})
    pager = Pager(entry, max_pages=2)
    second = pager.after(first, {"tasks": [], "continuationToken": "t1"})
    assert second is not None and second.query == {"continuationToken": "t1"}
    assert pager.after(second, {"tasks": [], "continuationToken": "t2"}) is None  # max_pages
    assert Pager(entry).after(first, {"tasks": []}) is None  # the last page

    items = Pager(entry, max_items=3)
    assert items.take({"tasks": [1, 2]}) == [1, 2] and not items.done
    assert items.take({"tasks": [3, 4]}) == [3] and items.done
    assert Pager(entry, max_items=0).done
    single = tcdyn.Queue._model.entries["task"]
    call = bind("queue", "https://tc/api/queue/v1", single, ("t",), {})
    assert Pager(single).after(call, {"continuationToken": "x"}) is None  # not paginated


def test_retry_flow_steps_are_typed_dataclasses():
    from tcdyn.call.retry import SEND, Send, Sleep, retry_after, retry_flow

    entry = tcdyn.Queue._model.entries["task"]
    call = tcdyn.Queue(rootUrl="https://tc.example.com")._bind(entry, ("t",), {})
    flow = retry_flow(call, tcdyn.RetryPolicy())
    step = next(flow)
    assert isinstance(step, Send) and step is SEND
    wait = flow.send(httpx.ConnectError("refused"))
    assert isinstance(wait, Sleep) and wait.seconds > 0
    assert isinstance(flow.send(None), Send)  # after the sleep, the next try
    assert list(inspect.signature(retry_after).parameters) == ["value"]


def test_the_options_defaults_live_in_one_place():
    from tcdyn.call import options
    from tcdyn.transport.httpx_transport import HttpxTransport

    assert (options.DEFAULT_TIMEOUT, options.DEFAULT_MAX_RETRIES,
            options.DEFAULT_SIGNED_URL_EXPIRATION, options.DEFAULT_MAX_RESPONSE_SIZE) == \
        (30.0, 5, 900.0, 64 * 1024 * 1024)
    q = tcdyn.Queue(rootUrl="https://tc.example.com")
    assert (q.timeout, q.retry.max_retries, q.signedUrlExpiration, q._max_response_size) == \
        (options.DEFAULT_TIMEOUT, options.DEFAULT_MAX_RETRIES,
         options.DEFAULT_SIGNED_URL_EXPIRATION, options.DEFAULT_MAX_RESPONSE_SIZE)
    assert tcdyn.RetryPolicy().max_retries == options.DEFAULT_MAX_RETRIES
    assert inspect.signature(HttpxTransport).parameters["timeout"].default == \
        options.DEFAULT_TIMEOUT
    settled = options.ClientOptions.parse(
        "Queue", {"rootUrl": "https://tc.example.com/", "maxRetries": 2}, None,
        default_root_url=None, http_client_type=lambda httpx: httpx.Client)
    assert settled.root_url == "https://tc.example.com" and settled.retry.max_retries == 2
    with pytest.raises(tcdyn.TaskclusterArgumentError,
                       match="timeout must be a positive number of seconds"):
        options.ClientOptions.parse("Queue", None, None, default_root_url="https://x",
                                    http_client_type=lambda httpx: httpx.Client, timeout=0)


def test_names_say_what_they_hold():
    from tcdyn.call.bind import Call
    from tcdyn.classes.meta import ExchangeEntry

    entry = tcdyn.Queue._model.entries["createTask"]
    assert entry.http_method == "PUT"
    assert not hasattr(entry, "method") and not hasattr(entry, "category")
    assert "http_method" in Call.__dataclass_fields__
    assert isinstance(vars(tcdyn.QueueEvents)["taskCompleted"], ExchangeEntry)
    assert not hasattr(tcdyn.credentials, "resolve")
    assert not hasattr(tcdyn.credentials, "aresolve")


def test_no_module_of_the_core_is_over_about_400_lines():
    for module in ("client/base", "client/clients", "classes/context", "deployment", "default",
                   "call/options", "transport/httpx_transport", "transport/drive",
                   "schemas/validation"):
        assert len((SRC / f"{module}.py").read_text().splitlines()) <= 400, module


def test_async_current_scopes_after_the_loop_changed(server):
    """The scopes call shares the async transport, which follows the running loop."""
    q = tcdyn.aio.Queue(rootUrl=server.root_url, credentials=OWNER)
    assert asyncio.run(q.current_scopes()) == ("queue:*",)
    assert asyncio.run(q.current_scopes(refresh=True)) == ("queue:*",)
