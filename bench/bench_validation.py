"""How much client-side schema validation adds to a call, against a loopback HTTP request.

Run: ``python bench/bench_validation.py`` (reads the bundled v106 schemas). Prints median
times per call for a realistic createTask and createHook payload (``validate()``:
jsonschema-rs (or fastjsonschema), then the report's validator only if it does not accept;
and that validator alone for comparison), a call's createTask check (``Checker.sent``) and a
Pulse ``task-completed`` message's (``validate_message``), the first call's cost (load +
draft-06 check + the services' reading + both compilations), and the median
``httpx.Client.get`` against a tiny HTTP server in a child process, then the ratios.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from benchkit import Figure, Row, alternate

from tcdyn.errors import SchemaValidationError
from tcdyn.references import bundled_dir
from tcdyn.schemas import SchemaRegistry
from tcdyn.schemas.fast_path import fast_accepts as _fast_accepts
from tcdyn.testing.payloads import create_hook, create_task

DEPLOYMENT = bundled_dir()  # the bundled v106 set: references/ and schemas/
CREATE_TASK = "/schemas/queue/v1/create-task-request.json"
CREATE_HOOK = "/schemas/hooks/v1/create-hook-request.json"

SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        body = b'{"alive": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

TASK = create_task()
HOOK = create_hook()
TASK_STATUS = {
    "taskId": "fNUmq2ywTzSAlsRGnnAcNQ", "provisionerId": "proj-bench", "workerType": "ci",
    "taskQueueId": "proj-bench/ci", "schedulerId": "bench", "projectId": "none",
    "taskGroupId": "aNUmq2ywTzSAlsRGnnAcNQ", "deadline": "2030-01-02T00:00:00.000Z",
    "expires": "2031-01-01T00:00:00.000Z", "retriesLeft": 5, "state": "completed",
    "runs": [{"runId": 0, "state": "completed", "reasonCreated": "scheduled",
              "reasonResolved": "completed", "scheduled": "2030-01-01T00:00:00.000Z",
              "started": "2030-01-01T00:00:01.000Z", "resolved": "2030-01-01T00:05:00.000Z",
              "workerGroup": "wg-1", "workerId": "worker-3",
              "takenUntil": "2030-01-01T00:20:00.000Z"}]}
#: the payload of bench_pulse.py's task-completed messages
TASK_COMPLETED = {"version": 1, "status": TASK_STATUS, "runId": 0, "workerGroup": "wg-1",
                  "workerId": "worker-3"}


def load(path: str) -> dict[str, Any] | None:
    file = DEPLOYMENT / path.lstrip("/")
    return json.loads(file.read_text()) if file.is_file() else None


def median_us(call: Callable[[], Any], runs: int, warmup: int = 50) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def http_baseline(runs: int) -> float:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE,
                              text=True)
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/api/queue/v1/ping"
        with httpx.Client() as client:
            return median_us(lambda: client.get(url).raise_for_status(), runs)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    registry = SchemaRegistry(load, root_url="https://tc.example.com")
    start = time.perf_counter()
    registry.validate(CREATE_TASK, TASK, what="createTask payload")
    first = (time.perf_counter() - start) * 1000
    registry.validate(CREATE_HOOK, HOOK, what="createHook payload")

    bad = dict(TASK, provisionerId=3, priority="urgent")
    del bad["metadata"]

    def invalid() -> None:
        try:
            registry.validate(CREATE_TASK, bad, what="createTask payload")
        except SchemaValidationError:
            return
        raise AssertionError("the invalid payload passed")

    task = median_us(lambda: registry.validate(CREATE_TASK, TASK, what="x"), 5000)
    hook = median_us(lambda: registry.validate(CREATE_HOOK, HOOK, what="x"), 5000)
    # what a call does per createTask: before issue 11, decode the body it just encoded and
    # validate that; now check the payload object itself (plain JSON), no decoding
    body = json.dumps(TASK, separators=(",", ":")).encode()
    checker = registry.checker(CREATE_TASK, "createTask payload")
    decoded = median_us(lambda: registry.validate(CREATE_TASK, json.loads(body), what="x"),
                        5000)
    sent = median_us(lambda: checker.sent(TASK, body), 20000)
    import tcdyn

    deployment = tcdyn.load(DEPLOYMENT)
    binding = deployment.QueueEvents().taskCompleted()
    deployment.validate_message(binding, TASK_COMPLETED)
    message = median_us(lambda: deployment.validate_message(binding, TASK_COMPLETED), 20000)
    fast = registry._fast[CREATE_TASK]
    assert fast is not None and _fast_accepts(fast, TASK), "no fast path for createTask"
    fast_only = median_us(lambda: fast(TASK), 5000)
    plain_task = median_us(lambda: registry.validator(CREATE_TASK).is_valid(TASK), 500)
    plain_hook = median_us(lambda: registry.validator(CREATE_HOOK).is_valid(HOOK), 500)
    error = median_us(invalid, 200)
    http = http_baseline(1000)

    print(f"first createTask validation (load, draft-06 check, compile): {first:8.1f} ms")
    print(f"createTask payload, validate():              {task:8.1f} us  "
          f"({task / http:6.1%} of the HTTP call)")
    print(f"createHook payload, validate():              {hook:8.1f} us  "
          f"({hook / http:6.1%} of the HTTP call)")
    print(f"createTask in a call, body decoded (before):{decoded:8.1f} us")
    print(f"createTask in a call, the object (now):      {sent:8.1f} us  "
          f"({sent / http:6.1%} of the HTTP call)")
    print(f"task-completed message, validate_message:   {message:8.1f} us")
    print(f"createTask, the fast check alone:         {fast_only:8.1f} us")
    print(f"createTask, the report's is_valid():         {plain_task:8.1f} us  "
          f"({plain_task / http:6.1%}; validate() {plain_task / task:.0f}x quicker)")
    print(f"createHook, the report's is_valid():         {plain_hook:8.1f} us  "
          f"({plain_hook / http:6.1%}; validate() {plain_hook / hook:.0f}x quicker)")
    print(f"invalid createTask (3 errors, full report):  {error:8.1f} us")
    print(f"baseline: loopback httpx.Client.get:         {http:8.1f} us")


def measure(quick: bool) -> list[Row]:
    """bench/run.py's interface: a call's createTask check and a Pulse message's, per call,
    beside the loopback HTTP call they guard (context rows: issue 21 sets no target here)."""
    import tcdyn

    registry = SchemaRegistry(load, root_url="https://tc.example.com")
    body = json.dumps(TASK, separators=(",", ":")).encode()
    checker = registry.checker(CREATE_TASK, "createTask payload")
    deployment = tcdyn.load(DEPLOYMENT)
    binding = deployment.QueueEvents().taskCompleted()
    runs = 200 if quick else 20000
    samples = alternate({
        "sent": lambda: median_us(lambda: checker.sent(TASK, body), runs),
        "message": lambda: median_us(
            lambda: deployment.validate_message(binding, TASK_COMPLETED), runs),
        "http": lambda: http_baseline(50 if quick else 1000),
    }, 2 if quick else 5)
    http = Figure.of("loopback httpx.Client.get", samples["http"], "us")
    sent = Figure.of("tcdyn", samples["sent"], "us")
    message = Figure.of("tcdyn", samples["message"], "us")
    return [
        Row("validation.call", "createTask checked in a call (Checker.sent)", sent.median,
            "us", sent.low, sent.high, (sent, http),
            f"{sent.median / http.median:.1%} of the loopback call"),
        Row("validation.message", "a task-completed message, validate_message",
            message.median, "us", message.low, message.high, (message,)),
    ]


if __name__ == "__main__":
    main()
