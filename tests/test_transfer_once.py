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
