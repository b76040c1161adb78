"""Trace ids and OpenTelemetry spans (tcdyn.tracing), over real HTTP to the local deployment
(which checks every Hawk signature), sync and async: the ``x-taskcluster-trace-id`` of every
request, a call's span with its retries, errors and trace id, transfers with their storage
attempts, no secret in any span, and no import of OpenTelemetry by tcdyn itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import re
import socket
import subprocess
import sys
import textwrap
from urllib.parse import parse_qs, urlsplit

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import tcdyn
from helpers import CREDS, SECRET, run
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment, error
from test_artifacts import api, env, put, world  # noqa: F401  (fixtures)
from tracing_helpers import attrs, everything, hex_trace_id, named, one, spans  # noqa: F401
from transfer_helpers import serve_artifact

FAST = tcdyn.RetryPolicy(max_retries=2, delay_factor=0.001)
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
HEX32 = re.compile(r"[0-9a-f]{32}")
#: A fresh id: a UUID v4; once a test has set a tracer provider in this process (sampling
#: nothing outside the tests that record), a sampled-out span's trace id.
FRESH = re.compile(f"{UUID4.pattern}|{HEX32.pattern}")
TASK = {"taskQueueId": "p/w", "schedulerId": "s", "projectId": "none",
        "created": "2030-01-01T00:00:00.000Z", "deadline": "2030-01-02T00:00:00.000Z",
        "payload": {}, "metadata": {"name": "n", "description": "d", "owner": "o@e.com",
                                    "source": "https://example.com/x"}}


@pytest.fixture(scope="module")
def local():
    with LocalDeployment(clients={"tester": ClientRecord(SECRET, ("*",))}) as dep:
        yield dep


@pytest.fixture
def dep(local):
    local.reset()
    return local


def flaky(dep, name, answer, failures=1, status=500):
    """``name`` answers ``status`` ``failures`` times, then ``answer``."""
    left = [failures]

    def handler(req):
        if left[0] > 0:
            left[0] -= 1
            return error(status, "InternalServerError", "try again")
        return answer(req) if callable(answer) else answer
    dep.handle("queue", name, handler)


def sent_ids(dep, name=None):
    return [r.headers.get("x-taskcluster-trace-id") for r in dep.requests
            if name is None or r.name == name]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- trace ids, without spans -------------------------------------------------------------

def test_every_call_sends_a_fresh_uuid_shared_by_its_retries(dep, flavour):
    flaky(dep, "task", lambda req: {"taskId": req.params["taskId"]})
    dep.handle("queue", "status", lambda req: {"status": {}})

    def calls(q):
        names = ("task", "status", "status")
        if flavour == "sync":
            return [getattr(q, name)("a") for name in names]

        async def each():
            return [await getattr(q, name)("a") for name in names]
        return each()
    run(flavour, "Queue", tcdyn, calls, rootUrl=dep.root_url, credentials=CREDS, retry=FAST)
    first, retried, one_status, other_status = sent_ids(dep)
    assert all(FRESH.fullmatch(i) for i in (first, one_status, other_status))
    assert retried == first  # a retry is the same call: the services log it under one id
    assert len({first, one_status, other_status}) == 3


def test_the_clients_trace_id_and_a_block_of_the_users(dep, flavour):
    dep.handle("queue", "status", lambda req: {"status": {}})
    options = {"rootUrl": dep.root_url, "credentials": CREDS, "traceId": "task/T1/run/0"}
    if flavour == "sync":
        with tcdyn.Queue(**options) as q:
            q.status("a")
            with tcdyn.trace_id("from-the-block"):
                q.status("a")
            q.status("a")
    else:
        async def main():
            async with tcdyn.aio.Queue(**options) as q:
                await q.status("a")
                with tcdyn.trace_id("from-the-block"):
                    await q.status("a")
                await q.status("a")
        asyncio.run(main())
    assert sent_ids(dep) == ["task/T1/run/0", "from-the-block", "task/T1/run/0"]


def test_the_clients_trace_id_outlives_a_change_of_its_options(dep):
    """``client.options`` is live (as the official client's): a change is parsed again with
    the constructor's keywords, ``traceId=`` among them."""
    dep.handle("queue", "status", lambda req: {"status": {}})
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=CREDS, traceId="task/T1/run/0") as q:
        q.options["maxRetries"] = 2
        q.status("a")
    assert sent_ids(dep) == ["task/T1/run/0"]


def test_a_block_without_an_id_gives_its_calls_one_fresh_id(dep):
    dep.handle("queue", "status", lambda req: {"status": {}})
    with tcdyn.Queue(rootUrl=dep.root_url) as q, tcdyn.trace_id() as tid:
        q.status("a")
        q.status("b")
    assert UUID4.fullmatch(tid) and sent_ids(dep) == [tid, tid]  # over any span's


@pytest.mark.parametrize("bad", ["", "two words", "line\r\nX-Injected: 1", "é", "x" * 257, 7])
def test_a_trace_id_that_cannot_be_a_header_is_refused_before_sending(dep, bad):
    with pytest.raises(tcdyn.TaskclusterArgumentError, match=r"Queue\(\) traceId"):
        tcdyn.Queue(rootUrl=dep.root_url, traceId=bad)
    with pytest.raises(tcdyn.TaskclusterArgumentError, match=r"tcdyn.trace_id\(\)"):
        tcdyn.trace_id(bad)
    assert dep.requests == []


def test_errors_carry_the_trace_id_also_when_pickled(dep, flavour):
    dep.handle("queue", "task", lambda req: error(404, "ResourceNotFound", "no task"))
    with pytest.raises(tcdyn.ResourceNotFound) as info:
        run(flavour, "Queue", tcdyn, lambda q: q.task("gone"), rootUrl=dep.root_url,
            credentials=CREDS)
    [sent] = sent_ids(dep)
    assert info.value.trace_id == sent and FRESH.fullmatch(sent)
    assert pickle.loads(pickle.dumps(info.value)).trace_id == sent
    with pytest.raises(tcdyn.TaskclusterConnectionError) as refused:
        run(flavour, "Queue", tcdyn, lambda q: q.ping(),
            rootUrl=f"http://127.0.0.1:{closed_port()}", retry=FAST, traceId="refused-1")
    assert refused.value.trace_id == "refused-1"
    assert pickle.loads(pickle.dumps(refused.value)).trace_id == "refused-1"


def test_an_error_no_request_went_with_has_no_trace_id(dep):
    with pytest.raises(tcdyn.TaskclusterArgumentError) as info:
        tcdyn.Queue(rootUrl=dep.root_url).task()
    assert info.value.trace_id is None


# -- spans ----------------------------------------------------------------------------------

def test_a_call_is_a_client_span_with_its_retry(dep, flavour, spans):  # noqa: F811
    flaky(dep, "createTask", lambda req: {"status": {"taskId": req.params["taskId"]}})
    run(flavour, "Queue", tcdyn, lambda q: q.createTask("T1", TASK), rootUrl=dep.root_url,
        credentials=CREDS, retry=FAST)
    span = one(spans, "queue.createTask")
    port = int(dep.root_url.rsplit(":", 1)[1])
    assert span.kind is SpanKind.CLIENT
    assert attrs(span) == {
        "taskcluster.service": "queue", "taskcluster.method": "createTask",
        "http.request.method": "PUT", "url.template": "/task/<taskId>",
        "server.address": "127.0.0.1", "server.port": port,
        "url.full": f"{dep.root_url}/api/queue/v1/task/T1",
        "taskcluster.trace_id": hex_trace_id(span),
        "http.response.status_code": 200, "taskcluster.attempts": 2,
        "http.request.resend_count": 1}
    [retry] = span.events
    assert retry.name == "retry"
    assert dict(retry.attributes or {}).keys() == {
        "taskcluster.attempt", "taskcluster.retry.reason", "taskcluster.retry.sleep_s"}
    assert retry.attributes["taskcluster.attempt"] == 1
    assert retry.attributes["taskcluster.retry.reason"] == "HTTP 500"
    assert 0 < retry.attributes["taskcluster.retry.sleep_s"] < 0.01
    assert span.status.status_code is StatusCode.UNSET
    # the header is the span's trace id, on both attempts
    assert sent_ids(dep) == [hex_trace_id(span)] * 2 and HEX32.fullmatch(hex_trace_id(span))


def test_a_call_inside_a_span_of_the_users_is_its_child(dep, flavour, spans):  # noqa: F811
    dep.handle("queue", "status", lambda req: {"status": {}})
    tracer = trace.get_tracer("user")
    with tracer.start_as_current_span("user work") as parent:
        run(flavour, "Queue", tcdyn, lambda q: q.status("a"), rootUrl=dep.root_url)
    span = one(spans, "queue.status")
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert sent_ids(dep) == [trace.format_trace_id(parent.get_span_context().trace_id)]
    assert trace.get_current_span() is trace.INVALID_SPAN  # the call's context was restored


def test_an_error_answer_ends_the_span_with_its_class(dep, flavour, spans):  # noqa: F811
    dep.handle("queue", "task", lambda req: error(404, "ResourceNotFound", "no such task"))
    with pytest.raises(tcdyn.ResourceNotFound) as info:
        run(flavour, "Queue", tcdyn, lambda q: q.task("gone"), rootUrl=dep.root_url,
            credentials=CREDS, traceId="mine-404")
    span = one(spans, "queue.task")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "ResourceNotFound"
    assert attrs(span)["http.response.status_code"] == 404
    assert attrs(span)["taskcluster.trace_id"] == "mine-404" == info.value.trace_id
    [event] = [e for e in span.events if e.name == "exception"]
    assert dict(event.attributes or {}) == {"exception.type": "tcdyn.errors.ResourceNotFound"}
    assert "no such task" not in everything([span])  # the class, never the message


def test_a_refused_connection_is_retried_then_fails_the_span(flavour, spans):  # noqa: F811
    with pytest.raises(tcdyn.TaskclusterConnectionError) as info:
        run(flavour, "Queue", tcdyn, lambda q: q.ping(),
            rootUrl=f"http://127.0.0.1:{closed_port()}", retry=FAST)
    span = one(spans, "queue.ping")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "TaskclusterConnectionError"
    assert attrs(span)["taskcluster.attempts"] == 3
    assert "http.response.status_code" not in attrs(span)
    assert [e.attributes["taskcluster.retry.reason"] for e in span.events
            if e.name == "retry"] == ["ConnectError", "ConnectError"]
    assert info.value.trace_id == hex_trace_id(span)


def test_an_upload_and_a_download_are_spans_with_bytes_and_attempts(api, env, spans):  # noqa: F811
    _, storage, _ = env
    data = os.urandom(100_000)
    storage.fault("fail", "PUT", status=503)
    obj = api.client("Object", retry=FAST)
    put(api, obj, data)
    storage.fault("fail", "GET", status=500)
    got, _ = api.call(api.download.downloadToBuf, name="my/object", objectService=obj)
    assert got == data
    upload = one(spans, "tcdyn.upload")
    assert attrs(upload)["taskcluster.transfer.bytes"] == 100_000
    assert attrs(upload)["taskcluster.attempts"] == 2
    assert attrs(upload)["taskcluster.object.name"] == "my/object"
    children = {s.name: s for s in spans.get_finished_spans()
                if s.parent is not None and s.parent.span_id == upload.context.span_id}
    assert {"object.createUpload", "object.finishUpload", "PUT"} <= children.keys()
    failed, done = sorted((s for s in named(spans, "PUT")), key=lambda s: s.start_time)
    assert attrs(failed)["error.type"] == "503" and attrs(failed)["taskcluster.attempt"] == 1
    assert attrs(done)["taskcluster.attempt"] == 2 and "error.type" not in attrs(done)
    shown = attrs(done)["url.full"]  # without the presigned query
    assert shown.startswith(storage.base_url) and shown.endswith("/my%2Fobject")
    assert "?" not in shown
    assert done.kind is SpanKind.CLIENT
    assert [e.name for e in upload.events] == ["retry"]
    download = one(spans, "tcdyn.download")
    assert attrs(download)["taskcluster.transfer.bytes"] == 100_000
    assert attrs(download)["taskcluster.attempts"] == 2
    assert len(named(spans, "GET")) == 2
    for span in (upload, download):  # the duration: the span's own length, around its parts
        inner = [s for s in spans.get_finished_spans()
                 if s.parent is not None and s.parent.span_id == span.context.span_id]
        assert inner and span.start_time <= min(s.start_time for s in inner)
        assert span.end_time >= max(s.end_time for s in inner) > span.start_time


def test_no_secret_in_any_span(api, env, spans):  # noqa: F811
    dep, storage, _ = env
    storage.fault("fail", "PUT", status=500)
    obj = api.client("Object", retry=FAST)
    put(api, obj, os.urandom(20_000))
    with pytest.raises(tcdyn.TaskclusterAuthFailure):
        tcdyn.Queue(rootUrl=dep.root_url, credentials={"clientId": "tester",
                                                       "accessToken": "wrong" * 9}).task("x")
    queue = api.client("Queue")
    with contextlib.suppress(tcdyn.TaskclusterRestFailure):  # a query: never shown
        api.call(queue.listTaskGroup, "g", query={"continuationToken": "tok-secret-123"})
    found = spans.get_finished_spans()
    shown = everything(found)
    assert len(found) >= 6
    for secret in (SECRET, "wrong" * 9, "X-Amz-Signature", "X-Amz-Credential", "Hawk ",
                   "tok-secret-123"):
        assert secret not in shown


def test_no_bewit_in_any_span(api, env, spans):  # noqa: F811
    """A reference artifact whose URL carries a bewit (a signed ``queue.task`` URL): the
    attempts' spans, the failed one's error and the download's failure show no bewit."""
    dep, _, _ = env
    queue = api.client("Queue")
    signed = queue.buildSignedUrl("task", "T1")
    bewit = parse_qs(urlsplit(signed).query)["bewit"][0]
    serve_artifact(dep, signed)
    flaky(dep, "task", {"taskId": "T1"})
    data, _ = api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/ref",
                       queueService=queue, maxRetries=1)
    assert b'"T1"' in data
    dep.handle("queue", "task", lambda req: error(503, "InternalServerError", signed))
    with pytest.raises(tcdyn.TaskclusterFailure):
        api.call(api.download.downloadArtifactToBuf, taskId="T", name="public/ref",
                 queueService=queue, maxRetries=1)
    found = spans.get_finished_spans()
    gets = named(spans, "GET")
    assert len(gets) == 4 and [attrs(s).get("error.type") for s in gets] == [
        "500", None, "503", "503"]
    assert {attrs(s)["url.full"] for s in gets} == {signed.partition("?")[0]}
    assert [s.status.status_code for s in named(spans, "tcdyn.downloadArtifact")] == [
        StatusCode.UNSET, StatusCode.ERROR]
    shown = everything(found)
    assert bewit not in shown and "bewit" not in shown


@pytest.mark.parametrize(("url", "shown"), [
    ("https://u:pw@h.example:8443/a/b?X-Amz-Signature=s&bewit=b#f", "https://h.example:8443/a/b"),
    ("http://[::1]:9000/bucket/k?sig=1", "http://[::1]:9000/bucket/k"),
    ("http://h/p", "http://h/p"),
    ("http://h:99999/p", "<unparseable URL>"),
])
def test_a_url_is_shown_without_user_query_or_fragment(url, shown):
    from tcdyn.redact import safe_url
    from tcdyn.tracing import _server

    assert safe_url(url) == shown
    assert _server(url).get("url.full", "<unparseable URL>") == shown


def test_the_sync_and_async_paths_start_spans_in_one_place():
    """Both drivers run a call inside ``tracing.traced`` (which alone calls ``begin``) and
    note its attempts through one flow wrapper; no transport starts a span of its own."""
    import inspect

    from tcdyn import tracing
    from tcdyn.transport import aiohttp_transport, drive, httpcore_transport, httpx_transport

    for module in (aiohttp_transport, httpcore_transport, httpx_transport):
        assert "tracing.begin" not in inspect.getsource(module)
        assert "start_span" not in inspect.getsource(module)
    for driver in (drive.drive, drive.adrive):
        source = inspect.getsource(driver)
        assert "with traced(call) as traces:" in source
        assert "flow = _noted(flow, traces.span)" in source
    source = inspect.getsource(tracing)
    assert source.count("begin(call)") == 1 and "self.trace, self.span = begin(call)" in source


# -- without OpenTelemetry ----------------------------------------------------------------

_CHILD = """
import asyncio, sys
{block}
import tcdyn
from tcdyn.testing.server import LocalDeployment
with LocalDeployment() as dep:
    dep.handle("queue", "status", lambda req: {{"status": {{}}, "id": req.headers.get(
        "x-taskcluster-trace-id")}})
    with tcdyn.Queue(rootUrl=dep.root_url) as q:
        sync_id = q.status("a")["id"]
    async def main():
        async with tcdyn.aio.Queue(rootUrl=dep.root_url) as q:
            return (await q.status("a"))["id"]
    async_id = asyncio.run(main())
print(sync_id, async_id, sorted(m for m in sys.modules if m.startswith("opentelemetry")),
      TRIED)
"""
_ABSENT = """
TRIED = []
class Absent:  # as if not installed; and every attempt to import it is noted
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "opentelemetry":
            TRIED.append(name)
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Absent())
"""


@pytest.mark.parametrize("block", [
    "TRIED = 'not watched'",  # installed (in this venv), never imported by tcdyn
    _ABSENT,  # absent: an import of it fails, and is noted
])
def test_tcdyn_never_imports_opentelemetry(block):
    """``import tcdyn`` and a sync and an async call: no module of OpenTelemetry loaded,
    none even looked for; the calls still send a trace id."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD.format(block=block))],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    sync_id, async_id, modules = out.split(" ", 2)
    assert UUID4.fullmatch(sync_id) and UUID4.fullmatch(async_id)
    assert modules.strip() in ("[] not watched", "[] []")


def test_opentelemetry_imported_without_a_provider_costs_no_span():
    """Imported but unused (no tracer provider): no span is made, and a user's current
    span context (from a propagator, say) still gives the trace id."""
    code = textwrap.dedent("""
        import opentelemetry.trace as t
        from tcdyn import tracing
        from tcdyn.call.bind import Call
        call = Call("queue", "ping", "GET", "http://h/api/queue/v1/ping", None, None)
        trace, span = tracing.begin(call)
        assert span is None and len(trace) == 36, (trace, span)
        ctx = t.SpanContext(0xABC, 0xDEF, is_remote=True)
        with t.use_span(t.NonRecordingSpan(ctx)):
            trace, span = tracing.begin(call)
        assert span is None and trace == "%032x" % 0xABC, trace
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
