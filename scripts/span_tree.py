"""Print the OpenTelemetry spans of a ``createTask`` retried once and an upload, made against
the real Taskcluster stack (``scripts/taskcluster.sh up``): the README's span tree.

A local HTTP proxy (tcdyn follows ``HTTP_PROXY``) answers the first ``createTask`` with a 503,
so the retry is a real one; everything else it forwards. Spans are read back with the SDK's
in-memory exporter and printed as a tree (``--json``: as the console exporter writes them).

    .venv/bin/python scripts/span_tree.py [--json]
"""

from __future__ import annotations

import http.client
import os
import shlex
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def stack_env() -> dict[str, str]:
    path = Path(os.environ.get("TCDYN_STACK_DIR", "/var/tmp/tcdyn-stack")) / "stack.env"
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            words = shlex.split(line)
            key, _, value = words[words[0] == "export"].partition("=")
            env[key] = value
    return env


class Proxy(BaseHTTPRequestHandler):
    """Forwards absolute-form requests; the first ``createTask`` gets a 503."""

    protocol_version = "HTTP/1.1"
    failed: list[bool] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = urlsplit(self.path)
        if (self.command == "PUT" and "/api/queue/v1/task/" in target.path
                and not Proxy.failed):
            Proxy.failed.append(True)
            answer = b'{"code": "InternalServerError", "message": "injected by the proxy"}'
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        path = target.path + (f"?{target.query}" if target.query else "")
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("proxy-connection", "connection")}
        upstream.request(self.command, path, body=body or None, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = _forward


def tree(spans: list[ReadableSpan]) -> str:
    start = min(s.start_time or 0 for s in spans)
    children: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans if s.context}
    for s in sorted(spans, key=lambda s: s.start_time or 0):
        parent = s.parent.span_id if s.parent and s.parent.span_id in ids else None
        children.setdefault(parent, []).append(s)
    lines: list[str] = []

    def show(span: ReadableSpan, depth: int) -> None:
        pad = "  " * depth
        at = ((span.start_time or 0) - start) / 1e6
        took = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        status = span.status.status_code.name
        lines.append(f"{pad}{span.name}  [{span.kind.name}, +{at:.1f} ms, {took:.1f} ms, "
                     f"{status}]")
        for key, value in (span.attributes or {}).items():
            lines.append(f"{pad}    {key} = {value!r}")
        for event in span.events:
            at_event = (event.timestamp - start) / 1e6
            shown = ", ".join(f"{k}={v!r}" for k, v in (event.attributes or {}).items()
                              if not k.startswith("exception.stacktrace"))
            lines.append(f"{pad}    event {event.name} at +{at_event:.1f} ms: {shown}")
        for child in children.get(span.context.span_id if span.context else None, []):
            show(child, depth + 1)

    for root in children.get(None, []):
        show(root, 0)
    return "\n".join(lines)


def main() -> None:
    env = stack_env()
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    os.environ["HTTP_PROXY"] = f"http://127.0.0.1:{proxy.server_address[1]}"
    os.environ.pop("NO_PROXY", None)
    os.environ.pop("no_proxy", None)

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    import slugid

    import tcdyn
    from tcdyn import upload

    options = {"rootUrl": env["TASKCLUSTER_ROOT_URL"],
               "credentials": {"clientId": env["TASKCLUSTER_CLIENT_ID"],
                               "accessToken": env["TASKCLUSTER_ACCESS_TOKEN"]}}
    task_id = slugid.nice()
    with trace.get_tracer("release-script").start_as_current_span("release"), \
            tcdyn.Queue(**options) as queue, tcdyn.Object(**options) as objects:
        queue.createTask(task_id, {
            "taskQueueId": "tcdyn-real/span-tree", "schedulerId": "tcdyn-real",
            "projectId": "tcdyn-real", "created": tcdyn.fromNowJSON("0 seconds"),
            "deadline": tcdyn.fromNowJSON("1 hour"), "payload": {},
            "metadata": {"name": "span tree", "description": "scripts/span_tree.py",
                         "owner": "tcdyn@example.com", "source": "https://example.com/t"}})
        upload.uploadFromBuf(projectId="tcdyn-real", name=f"span-tree/{task_id}",
                             contentType="application/octet-stream", contentLength=100_000,
                             expires=tcdyn.fromNow("1 day"), objectService=objects,
                             data=os.urandom(100_000))
    spans = list(exporter.get_finished_spans())
    if "--json" in sys.argv:
        print("\n".join(s.to_json() for s in spans))
    else:
        print(tree(spans))
    proxy.shutdown()


if __name__ == "__main__":
    main()
