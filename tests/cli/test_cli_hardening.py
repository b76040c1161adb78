"""Issue 18: the command as a new user meets it (items 12, 14, 21, 22, 24), end to end in
subprocesses against loopback servers: real stdout, stderr and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tcdyn.testing.server import LocalDeployment, Reply, error


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TASKCLUSTER_", "TCDYN_")) and "PROXY" not in k.upper()}
    env.update({"TCDYN_CONFIG": str(tmp / "none.toml"), "TCDYN_CACHE_DIR": str(tmp / "cache")})
    env.update(extra)
    return env


def tcdyn(*args: str, env: dict[str, str], input: str | bytes | None = None,
          timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env, input=input,
                          capture_output=True, text=not isinstance(input, bytes),
                          timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


class _Plain:
    """A loopback HTTP server answering every GET with ``status`` and ``body``."""

    def __init__(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def plain() -> Iterator[_Plain]:
    server = _Plain(200, b"a log line\n", "text/plain")
    yield server
    server.close()


# -- item 12: -v shows tcdyn's retries, never a presigned URL's signature -------------------

def test_verbose_shows_retries_and_no_signature(tmp_path, deployment_dir, plain):
    url = f"{plain.url}/live.log?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=f00dfeedsig"
    answers = [error(500, "InternalServerError", "try again")]
    with LocalDeployment(deployment_dir) as dep:
        dep.handle("queue", "getLatestArtifact", lambda req: answers.pop() if answers else
                   Reply({"storageType": "s3", "url": url}, 303, {"Location": url}))
        run = tcdyn("-v", "task", "log", "abc", "--references", "bundled",
                    env=_env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "a log line\n"
    assert "f00dfeedsig" not in run.stderr and "AKIDEXAMPLE" not in run.stderr
    assert "queue.getLatestArtifact: HTTP 500; retry 1 of 5" in run.stderr, run.stderr
