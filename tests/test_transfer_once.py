"""Transfers written once (issue 20 item 2): one storage flow, sans-IO, for every PUT and GET;
one source for the sync and async forms; transfer code reads clients only through their
public surface and imports no private name of another module."""

from __future__ import annotations

import ast
import asyncio
import inspect
from pathlib import Path

import httpx
import pytest

import tcdyn
import tcdyn.aio
from tcdyn.call.options import RetryPolicy
from tcdyn.call.retry import Sleep
from tcdyn.transfer import flow, hosts
from test_artifacts import CREDS, EXPIRES, env, put, world  # noqa: F401  (fixtures)

TRANSFER = Path(tcdyn.__file__).parent / "transfer"
POLICY = RetryPolicy(max_retries=2)


def source(url="https://s3.example/b/k?X-Amz-Signature=s3cr3t", expires=None):
    return hosts.Source(url, expires=expires)


def test_the_flow_retries_transient_failures_then_returns_the_result():
    steps = flow.storage_flow("GET", source(), POLICY, renewable=False)
    first = next(steps)
    assert isinstance(first, flow.Attempt) and first.number == 1
    assert isinstance(steps.send(httpx.ReadError("reset")), Sleep)
    second = steps.send(None)
    assert isinstance(second, flow.Attempt) and second.number == 2
    with pytest.raises(StopIteration) as done:
        steps.send("the result")
    assert done.value.value == "the result"


def test_the_flow_renews_an_expired_url_after_the_sleep():
    old = source(expires="2000-01-01T00:00:00.000Z")
    steps = flow.storage_flow("PUT", old, POLICY, renewable=True)
    next(steps)
    assert isinstance(steps.send(hosts.StorageStatus("PUT", old.url, 503, "")), Sleep)
    assert steps.send(None) is flow.RENEW
    new = source("https://s3.example/b/k2", expires=EXPIRES)
    attempt = steps.send(new)
    assert isinstance(attempt, flow.Attempt) and attempt.source is new
    # not renewable (an s3 artifact's URL): no RENEW step
    steps = flow.storage_flow("GET", old, POLICY, renewable=False)
    next(steps)
    steps.send(httpx.ReadError("reset"))
    assert isinstance(steps.send(None), flow.Attempt)


@pytest.mark.parametrize("failure", [hosts.StorageStatus("GET", "u", 403, "Denied"),
                                     httpx.TooManyRedirects("loop")])
def test_the_flow_gives_up_at_once_on_what_a_retry_cannot_mend(failure):
    steps = flow.storage_flow("GET", source(), POLICY, renewable=True)
    next(steps)
    with pytest.raises(tcdyn.TaskclusterFailure) as info:
        steps.send(failure)
    assert info.value.attempts == 1 and "s3cr3t" not in str(info.value)


def test_the_flow_gives_up_after_max_retries_without_the_signature():
    steps = flow.storage_flow("GET", source(), POLICY, renewable=False)
    next(steps)
    for _ in range(POLICY.max_retries):
        assert isinstance(steps.send(httpx.ConnectError("refused")), Sleep)
        next(steps)
    with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
        steps.send(flow.Expired("the download took more than 1 s"))
    assert info.value.attempts == 3 and "s3cr3t" not in str(info.value)
    assert "https://s3.example/b/k" in str(info.value)


@pytest.mark.parametrize("module", ["upload", "download", "artifacts"])
def test_sync_and_async_forms_are_one_source_with_one_signature(module):
    sync, aio = getattr(tcdyn, module), getattr(tcdyn.aio, module)
    for name in sync.__all__:
        ours, theirs = getattr(sync, name), getattr(aio, name)
        if not inspect.isfunction(ours) or name in ("verifyHashes", "guess_content_type",
                                                    "progress_bar"):
            continue
        assert inspect.signature(ours) == inspect.signature(theirs), name
        assert not inspect.iscoroutinefunction(ours) and inspect.iscoroutinefunction(theirs)
        assert ours.__doc__ == theirs.__doc__ and ours.__doc__


def test_a_sync_transfer_refuses_an_async_client_with_a_typed_error(env):  # noqa: F811
    dep = env[0]

    async def main():
        async with tcdyn.aio.Object(rootUrl=dep.root_url, credentials=CREDS) as obj:
            with pytest.raises(tcdyn.TaskclusterArgumentError, match=r"tcdyn\.aio forms"):
                tcdyn.download.downloadToBuf(name="x", objectService=obj)

    asyncio.run(main())


def _transfer_trees():
    for path in sorted(TRANSFER.glob("*.py")):
        yield path.name, ast.parse(path.read_text())


def test_transfer_code_reads_no_private_attribute_of_a_client():
    private = {"_timeout", "_max_response_size", "_context", "_options", "_root_url",
               "_transport", "_credentials_source"}
    found = [(name, node.lineno, node.attr) for name, tree in _transfer_trees()
             for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr in private]
    found += [(name, node.lineno, node.args[1].value) for name, tree in _transfer_trees()
              for node in ast.walk(tree)
              if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "getattr"
              and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
              and node.args[1].value in private]
    assert found == []


def test_transfer_modules_import_no_private_name_of_another_module():
    found = [(name, node.lineno, alias.name) for name, tree in _transfer_trees()
             for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names if alias.name.startswith("_")]
    assert found == []


def test_an_upload_from_a_bytes_buffer_sends_views_not_copies(env):  # noqa: F811
    """``uploadFromBuf`` of ``bytes`` reads views of it (no copy per chunk); the bytes
    stored are the buffer's."""
    from tcdyn.transfer.targets import BufReader

    data = bytes(range(256)) * 12000
    chunk = BufReader(data).read(1024 * 1024)
    assert isinstance(chunk, memoryview) and chunk.obj is data
    mutable = BufReader(bytearray(data)).read(1024 * 1024)
    assert isinstance(mutable, bytes)  # a buffer that may change: copied before hashing
    dep, storage, _ = env
    put(tcdyn_api(dep), tcdyn.Object(rootUrl=dep.root_url, credentials=CREDS), data)
    assert storage.objects["my/object"][0] == data


def tcdyn_api(dep):
    from test_artifacts import Api

    return Api("sync", dep)


# -- the sync flavour's own storage connections (http.client when no proxy may apply):
# the rules tests/test_aio_storage.py checks for the async one

from test_aio_storage import redirector  # noqa: E402, F401  (fixture)


@pytest.fixture
def no_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def _sync_artifact(dep, url):
    dep.handle("queue", "artifact", lambda req: {"storageType": "s3", "url": url})
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDS) as queue:
        return tcdyn.download.downloadArtifactToBuf(taskId="T", runId=0, name="public/x",
                                                    queueService=queue, maxRetries=2)


def test_sync_gets_follow_redirects_without_credentials(env, redirector, no_proxy):  # noqa: F811
    dep, storage, _ = env
    storage.objects["k"] = (b"redirected bytes", "text/plain")
    data, ctype = _sync_artifact(dep, f"{redirector}/to?{storage.url('k')}")
    assert data == b"redirected bytes" and ctype == "text/plain"
    [get] = [s for s in storage.seen if s.method == "GET"]
    headers = {k.lower(): v for k, v in get.headers.items()}
    assert headers["accept-encoding"] == "identity"
    assert not {"authorization", "cookie", "proxy-authorization"} & set(headers)


def test_a_sync_redirect_loop_is_not_retried_and_hides_the_signature(env, redirector,  # noqa: F811
                                                                      no_proxy):
    with pytest.raises(tcdyn.TaskclusterConnectionError, match="TooManyRedirects") as info:
        _sync_artifact(env[0], f"{redirector}/loop?X-Amz-Signature=s3cr3t")
    assert info.value.attempts == 1
    assert "s3cr3t" not in str(info.value) + repr(info.value.__dict__)


def test_a_sync_refused_connection_is_retried_then_reported_without_the_query(env,  # noqa: F811
                                                                               no_proxy):
    with pytest.raises(tcdyn.TaskclusterConnectionError, match="ConnectError") as info:
        _sync_artifact(env[0], "http://127.0.0.1:9/x?X-Amz-Signature=s3cr3t")
    assert info.value.attempts == 3
    assert "s3cr3t" not in str(info.value) + repr(info.value.__dict__)


def test_a_sync_put_refused_before_its_body_is_read_gets_the_hosts_answer(env,  # noqa: F811
                                                                          no_proxy):
    """S3 refuses a badly signed PUT (403) without reading its body and hangs up: the
    upload reports that answer at once, not a write error retried five times. (The async
    PUT, through httpx on asyncio, loses that answer with the connection: it retries.)"""
    dep, storage, objects = env
    create = objects._createUpload

    def tampered(req):
        answer = create(req)
        put = answer["uploadMethod"]["putUrl"]
        put["url"] = put["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0")
        return answer

    dep.handle("object", "createUpload", tampered)
    from test_artifacts import Api

    api = Api("sync", dep)
    with pytest.raises(tcdyn.TaskclusterRestFailure) as info:
        put(api, api.client("Object"), bytes(16 * 1024 * 1024))
    assert info.value.status_code == 403 and "SignatureDoesNotMatch" in str(info.value)
    assert [s.method for s in storage.seen].count("PUT") == 1
