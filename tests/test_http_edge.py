"""Issue 20 items 3, 4 and 5: one HTTP edge (a Transport protocol, one exception map, one
redaction, one rule for async credentials providers, one place that wraps httpcore's sockets,
no hidden global in Hawk signing) and one meaning per option (timeouts, seconds, rootUrl, the
environment); ``tcdyn api --help`` shows the library's payload outline."""

from __future__ import annotations

import ast
import asyncio
import math
import re
import socket
from pathlib import Path

import httpx
import pytest

import tcdyn
from helpers import SECRET
from tcdyn.credentials import Credentials, signed_url
from tcdyn.errors import CredentialsError
from tcdyn.redact import REDACTED
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

SRC = Path(tcdyn.__file__).resolve().parent
CREDS = {"clientId": "tester", "accessToken": SECRET}


def _modules() -> dict[str, ast.Module]:
    return {str(p.relative_to(SRC)): ast.parse(p.read_text()) for p in sorted(SRC.rglob("*.py"))}


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    return port


@pytest.fixture(scope="module")
def server(deployment_dir):
    with LocalDeployment(deployment_dir,
                         clients={"tester": ClientRecord(SECRET, ("queue:*",))}) as dep:
        yield dep


# -- item 3: one HTTP edge ----------------------------------------------------------------

def test_every_transport_implements_the_transport_protocol():
    from tcdyn.transport import aiohttp_transport, httpcore_transport
    from tcdyn.transport.base import AsyncTransport, Transport
    from tcdyn.transport.hawk import HawkAuth, origin_of
    from tcdyn.transport.httpx_transport import AsyncHttpxTransport, HttpxTransport

    policy = tcdyn.RetryPolicy()
    auth = HawkAuth(lambda: Credentials(**CREDS), origin_of("https://tc.example.com"))
    sync = [httpcore_transport.sync_transport(auth, policy),
            httpcore_transport.sync_transport(auth, policy, client=httpx.Client())]
    assert [type(t) for t in sync] == [httpcore_transport.PoolTransport, HttpxTransport]
    assert all(isinstance(t, Transport) for t in sync)
    asynchronous = [aiohttp_transport.async_transport(auth, policy),
                    aiohttp_transport.async_transport(auth, policy,
                                                      client=httpx.AsyncClient())]
    assert [type(t) for t in asynchronous] == [aiohttp_transport.AiohttpTransport,
                                               AsyncHttpxTransport]
    assert all(isinstance(t, AsyncTransport) for t in asynchronous)
    # the factories say what they return (no Any)
    assert httpcore_transport.sync_transport.__annotations__["return"] == "Transport"
    assert httpcore_transport.Transport is Transport
    assert aiohttp_transport.async_transport.__annotations__["return"] == "AsyncTransport"
    assert aiohttp_transport.AsyncTransport is AsyncTransport


def test_the_aiohttp_transport_reads_no_private_attribute_of_hawk():
    tree = _modules()["transport/aiohttp_transport.py"]
    private = {node.attr for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr.startswith("_")
               and not node.attr.startswith("__")
               and not (isinstance(node.value, ast.Name) and node.value.id == "self")}
    assert private == set()


def _sync_provider_failure(make) -> str:
    with pytest.raises(CredentialsError) as info:
        make()
    return str(info.value)


def test_an_async_provider_is_refused_by_sync_clients_with_one_message(server):
    async def provider() -> Credentials:
        return Credentials(**CREDS)

    def queue(**kw):
        return tcdyn.Queue(rootUrl=server.root_url, credentials=provider, maxRetries=0, **kw)

    messages = {
        "credentials": _sync_provider_failure(lambda: queue().credentials),
        "call (httpcore pool)": _sync_provider_failure(lambda: queue().task("t")),
        "call (httpx.Client)": _sync_provider_failure(
            lambda: queue(client=httpx.Client()).task("t")),
        "buildSignedUrl": _sync_provider_failure(lambda: queue().buildSignedUrl("task", "t")),
        "whoami": _sync_provider_failure(lambda: queue().whoami()),
    }
    assert len(set(messages.values())) == 1, messages
    assert "the credentials provider is async" in messages["credentials"]


def test_an_async_provider_is_awaited_by_every_async_path(server):
    async def provider() -> Credentials:
        return Credentials(**CREDS)

    async def main() -> None:
        for client in (None, httpx.AsyncClient()):
            async with tcdyn.aio.Queue(rootUrl=server.root_url, credentials=provider,
                                       client=client) as queue:
                assert (await queue.whoami())["clientId"] == "tester"
                assert await queue.current_scopes(refresh=True) == ("queue:*",)

    asyncio.run(main())


def test_every_transport_fails_with_the_same_httpx_error_redacted_one_way():
    root = f"http://127.0.0.1:{_closed_port()}"
    errors = []
    for client in (None, httpx.Client()):
        with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
            tcdyn.Queue(rootUrl=root, credentials=CREDS, maxRetries=0, client=client).task("t")
        errors.append(info.value.superExc)

    async def main() -> None:
        for client in (None, httpx.AsyncClient()):
            with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
                async with tcdyn.aio.Queue(rootUrl=root, credentials=CREDS, maxRetries=0,
                                           client=client) as queue:
                    await queue.task("t")
            errors.append(info.value.superExc)

    asyncio.run(main())
    assert [type(e) for e in errors] == [httpx.ConnectError] * 4
    assert [e.request.headers["authorization"] for e in errors] == [REDACTED] * 4
    assert not any(SECRET in repr(e.request.headers) for e in errors)


def test_redaction_is_written_once():
    """``<redacted>`` is ``redact.REDACTED``: no module writes the marker again."""
    found = [name for name, tree in _modules().items() if name != "redact.py"
             for node in ast.walk(tree) if isinstance(node, ast.Constant)
             and node.value in ("<redacted>", b"<redacted>")]
    assert found == []


def test_one_map_from_library_exceptions_to_httpx_ones():
    import aiohttp
    import httpcore

    from tcdyn.transport.errors import httpx_class

    key = aiohttp.client_reqrep.ConnectionKey("h", 80, False, True, None, None, None)
    cases = [
        (httpcore.ConnectError("x"), httpx.ConnectError),
        (httpcore.ConnectTimeout("x"), httpx.ConnectTimeout),
        (httpcore.ReadTimeout("x"), httpx.ReadTimeout),
        (httpcore.ReadError("x"), httpx.ReadError),
        (httpcore.WriteError("x"), httpx.WriteError),
        (httpcore.RemoteProtocolError("x"), httpx.RemoteProtocolError),
        (httpcore.ProxyError("x"), httpx.ProxyError),
        (httpcore.UnsupportedProtocol("x"), httpx.UnsupportedProtocol),
        (aiohttp.ClientConnectorError(key, OSError(111, "refused")), httpx.ConnectError),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.ServerTimeoutError("slow"), httpx.ReadTimeout),
        (aiohttp.ClientError("other"), httpx.TransportError),
        (OSError("anything else"), httpx.TransportError),
    ]
    assert [httpx_class(exc) for exc, _ in cases] == [cls for _, cls in cases]


def test_httpcores_network_backend_is_wrapped_in_one_place():
    assigned = [name for name, tree in _modules().items() for node in ast.walk(tree)
                if isinstance(node, ast.Assign) for target in node.targets
                if isinstance(target, ast.Attribute) and target.attr == "_network_backend"]
    assert assigned == ["transport/clients.py"]


def test_hawk_signing_keeps_no_global_state(server, monkeypatch):
    """Each client prepares its own credentials' key and ``ext`` once, whichever client
    signed last (no module-level cache shared by every client)."""
    from tcdyn.transport import hawk

    prepared = []
    real = Credentials.hawk_ext
    monkeypatch.setattr(Credentials, "hawk_ext", lambda self: prepared.append(self) or
                        real(self))
    a = tcdyn.Queue(rootUrl=server.root_url, credentials=CREDS)
    b = tcdyn.Queue(rootUrl=server.root_url, credentials=CREDS)
    for _ in range(3):
        for queue in (a, b):
            queue.ping()  # signed: the deployment checks the signature
    assert len(prepared) == 2
    assert not [name for name, value in vars(hawk).items()
                if not name.startswith("__") and isinstance(value, hawk.Prepared)]


# -- item 5: one meaning per option -------------------------------------------------------

def test_each_default_has_one_name_and_one_value():
    from tcdyn.call import options
    from tcdyn.references import fetch

    assert options.DEFAULT_TIMEOUT == 30.0  # one attempt of an API call
    assert fetch.DEFAULT_LOAD_TIMEOUT == 60.0  # a whole fetch of a deployment's references
    defined: dict[str, list[str]] = {}
    for name, tree in _modules().items():
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Name) and re.fullmatch(r"(DEFAULT|MAX)_[A-Z_]+",
                                                                 target.id):
                    defined.setdefault(target.id, []).append(name)
    assert {k: v for k, v in defined.items() if len(v) > 1} == {}


BAD_SECONDS = [0, -1, math.nan, math.inf, "5", True]


@pytest.mark.parametrize("value", BAD_SECONDS)
def test_one_rule_for_a_number_of_seconds(value, tmp_path):
    creds = Credentials(**CREDS)
    refusals = [
        lambda: tcdyn.Queue(rootUrl="https://tc.example.com", timeout=value),
        lambda: tcdyn.Queue(rootUrl="https://tc.example.com", signedUrlExpiration=value),
        lambda: tcdyn.Queue(rootUrl="https://tc.example.com", credentials=creds
                            ).buildSignedUrl("task", "t", expiration=value),
        lambda: tcdyn.load("https://tc.example.com", timeout=value),
        lambda: tcdyn.references.pull("https://tc.example.com", tmp_path, timeout=value),
    ]
    messages = []
    for refuse in refusals:
        with pytest.raises(ValueError) as info:
            refuse()
        assert isinstance(info.value, tcdyn.TaskclusterFailure)
        messages.append(str(info.value))
    with pytest.raises(CredentialsError) as info:
        signed_url(creds, "https://tc.example.com/x", value)
    messages.append(str(info.value))
    shown = re.compile(r"\b(timeout|signedUrlExpiration|expiration) must be a positive number "
                       r"of seconds, got ")
    assert all(shown.search(m) for m in messages), messages


BAD_ROOTS = ["https://", "ftp://tc.example.com", "tc.example.com", "https:///path", 5,
             "http:// tc.example.com"]


@pytest.mark.parametrize("value", BAD_ROOTS)
def test_one_rule_for_a_root_url(value, tmp_path, monkeypatch):
    from tcdyn.cli.config import settings
    from tcdyn.cli.output import UsageError

    refusals = [
        lambda: tcdyn.Queue(rootUrl=value),
        lambda: tcdyn.load(value) if isinstance(value, str) and "://" in value else
        tcdyn.references.ReferenceSet.from_root_url(value),  # a str without :// is a path
        lambda: tcdyn.references.pull(value, tmp_path),
    ]
    for refuse in refusals:
        with pytest.raises(ValueError, match=r"rootUrl must be an http\(s\) URL with a host"):
            refuse()
    if isinstance(value, str):
        monkeypatch.setenv("TCDYN_CONFIG", str(tmp_path / "none.toml"))
        with pytest.raises(UsageError, match="is not a rootUrl"):
            settings(value)


def test_a_root_url_is_normalised_one_way():
    from tcdyn.checks import root_url

    assert root_url("https://tc.example.com///") == "https://tc.example.com"
    q = tcdyn.Queue(rootUrl="https://tc.example.com/")
    assert q.rootUrl == "https://tc.example.com"
    assert tcdyn.utils.optionsFromEnvironment(
        environ={"TASKCLUSTER_ROOT_URL": "https://tc.example.com//"})["rootUrl"] == \
        "https://tc.example.com"


def test_the_environment_is_read_in_one_place():
    """Every ``TASKCLUSTER_*`` / ``TCDYN_*`` variable is named and read in
    ``tcdyn.environment`` only (messages may name them; code reads them there)."""
    named = sorted({(name, node.value) for name, tree in _modules().items()
                    for node in ast.walk(tree) if isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and re.fullmatch(r"(TASKCLUSTER|TCDYN)_[A-Z_]+", node.value)
                    and name != "environment.py"})
    assert named == []


def test_taskcluster_references_is_read_once_by_the_library_and_the_command(
        monkeypatch, tmp_path, deployment_dir):
    from tcdyn import default as default_module
    from tcdyn.cli.config import settings

    monkeypatch.setenv("TCDYN_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TASKCLUSTER_REFERENCES", str(deployment_dir))
    monkeypatch.setattr(default_module, "_default", None)
    assert default_module.default().references.references_dir.parent == deployment_dir
    assert settings().references == str(deployment_dir)
    monkeypatch.setenv("TASKCLUSTER_REFERENCES", "")  # empty: unset, for both
    monkeypatch.setattr(default_module, "_default", None)
    assert default_module.default().references.origin == "bundled"
    assert settings().references is None


# -- item 4: tcdyn api --help uses the library's outline ----------------------------------

def test_api_help_shows_the_payload_outline_that_help_shows(deployment_dir):
    from tcdyn.classes.outline import outline
    from tcdyn.cli import api

    deployment = tcdyn.load(str(deployment_dir))
    model = deployment.references.api_model("Queue")
    entry = model.entries["createTask"]
    text = api.method_description(model, entry, deployment)
    schema = deployment.Queue.createTask.input_schema
    lines = outline(schema)
    flat = " ".join(text.split())  # the help wraps long lines
    assert lines and all(" ".join(line.split()) in flat for line in lines)
    assert "created: string (date-time) (required)" in text
    assert "(* required)" not in text
