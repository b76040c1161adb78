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

from tcdyn.testing.server import LocalDeployment, error


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
        dep.handle("queue", "latestArtifact", lambda req: answers.pop() if answers else
                   {"storageType": "s3", "url": url})
        run = tcdyn("-v", "task", "log", "abc", "--references", "bundled",
                    env=_env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "a log line\n"
    assert "f00dfeedsig" not in run.stderr and "AKIDEXAMPLE" not in run.stderr
    assert "queue.latestArtifact: HTTP 500; retry 1 of 5" in run.stderr, run.stderr


# -- item 14: tcdyn serve: a storage host that checks signatures, tokens not in argv ---------

def _serve(tmp: Path, *args: str, **env: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``tcdyn serve ARGS`` and the variables of the export lines it prints."""
    proc = subprocess.Popen([sys.executable, "-m", "tcdyn", "serve", *args],
                            env=_env(tmp, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    assert "Ctrl-C to stop" in line, line + proc.stderr.read()
    exports = {}
    while "TASKCLUSTER_ROOT_URL" not in exports or (
            not args and not env and "TASKCLUSTER_ACCESS_TOKEN" not in exports):
        name, _, value = proc.stdout.readline().strip().removeprefix("export ").partition("=")
        exports[name] = value
    return proc, exports


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(30)


def _task(group: str) -> str:
    import tcdyn

    return json.dumps({
        "taskGroupId": group, "provisionerId": "p", "workerType": "w",
        "created": tcdyn.fromNowJSON("0 seconds"), "deadline": tcdyn.fromNowJSON("1 day"),
        "payload": {}, "metadata": {"name": "t", "description": "d", "owner": "me@example.com",
                                    "source": "https://example.com"}})


def test_serve_takes_client_tokens_from_a_file_or_the_environment(tmp_path):
    import httpx
    import slugid

    clients = tmp_path / "clients"
    clients.write_text("# id:token:scopes\nfrom-file:file-token-1:queue:*,auth:*\n")
    proc, exports = _serve(tmp_path, "--clients-file", str(clients),
                           TCDYN_SERVE_CLIENTS="from-env:env-token-2")
    root = exports["TASKCLUSTER_ROOT_URL"]
    try:
        assert "file-token-1" not in " ".join(proc.args)
        for who, token in (("from-file", "file-token-1"), ("from-env", "env-token-2")):
            run = tcdyn("whoami", env=_env(tmp_path, TASKCLUSTER_ROOT_URL=root,
                                           TASKCLUSTER_CLIENT_ID=who,
                                           TASKCLUSTER_ACCESS_TOKEN=token))
            assert run.returncode == 0, run.stderr
            assert json.loads(run.stdout)["clientId"] == who
        task_id = slugid.nice()
        made = tcdyn("api", "queue", "createTask", task_id, input=_task(task_id),
                     env=_env(tmp_path, TASKCLUSTER_ROOT_URL=root,
                              TASKCLUSTER_CLIENT_ID="from-file",
                              TASKCLUSTER_ACCESS_TOKEN="file-token-1"))
        assert made.returncode == 0, made.stderr
        httpx.get(f"{root}/api/queue/v1/ping").raise_for_status()
    finally:
        _stop(proc)
    refused = tcdyn("serve", "--client", "me:argv-token-3", env=_env(tmp_path))
    assert refused.returncode == 2 and "--clients-file" in refused.stderr
    assert "argv-token-3" not in refused.stderr


def test_serve_storage_refuses_unsigned_requests(tmp_path):
    import httpx
    import slugid

    proc, exports = _serve(tmp_path)  # the fresh client it prints
    env = _env(tmp_path, **exports)
    try:
        task_id = slugid.nice()
        assert tcdyn("api", "queue", "createTask", task_id, input=_task(task_id),
                     env=env).returncode == 0
        assert tcdyn("task", "complete", task_id, "--yes", env=env).returncode == 0
        where = tcdyn("api", "queue", "latestArtifact", task_id, "public/logs/live.log",
                      env=env)
        url = json.loads(where.stdout)["url"]
        log = httpx.get(url)
        assert log.status_code == 200 and b"run 0 completed" in log.content
        bare = url.split("?", 1)[0]
        assert httpx.get(bare).status_code == 403
        assert httpx.put(bare, content=b"overwritten").status_code == 403
        assert httpx.put(url, content=b"overwritten").status_code == 403  # a GET URL
        assert httpx.get(url).content == log.content
    finally:
        _stop(proc)


# -- item 21: an unreachable rootUrl, a server that is not Taskcluster -----------------------

def test_an_unreachable_root_url_exits_4_saying_so(tmp_path):
    run = tcdyn("task", "status", "abc", "--root-url", "http://127.0.0.1:9",
                env=_env(tmp_path))
    assert run.returncode == 4, run.stderr
    assert run.stderr.startswith("tcdyn: cannot reach http://127.0.0.1:9"), run.stderr
    assert "manifest.json" not in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(("status", "body"), [(404, b"<html>Not Found</html>"),
                                              (200, b"<html>Welcome to nginx!</html>")])
def test_a_server_that_is_not_taskcluster_is_named_so(tmp_path, status, body):
    server = _Plain(status, body)
    try:
        run = tcdyn("api", "queue", "task", "abc", "--root-url", server.url,
                    env=_env(tmp_path))
    finally:
        server.close()
    assert run.returncode == 2, run.stderr
    assert f"{server.url} does not look like a Taskcluster deployment" in run.stderr, run.stderr


# -- item 22: usage errors exit 2 in tcdyn's words, not Python's ------------------------------

def test_a_root_url_that_is_not_http_is_a_usage_error(tmp_path):
    for where in (("--root-url", "ftp://example.com"),):
        run = tcdyn("task", "status", "abc", *where, env=_env(tmp_path))
        assert run.returncode == 2, run.stderr
        assert "ValueError" not in run.stderr and "ftp://example.com" in run.stderr
    run = tcdyn("whoami", env=_env(tmp_path, TASKCLUSTER_ROOT_URL="example.com"))
    assert run.returncode == 2 and "ValueError" not in run.stderr, run.stderr
    assert "TASKCLUSTER_ROOT_URL" in run.stderr


def test_a_binary_payload_is_a_usage_error(tmp_path):
    (tmp_path / "task.bin").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    env = _env(tmp_path, TASKCLUSTER_ROOT_URL="http://127.0.0.1:9")
    run = tcdyn("api", "--references", "bundled", "queue", "createTask", "abc", "--payload",
                f"@{tmp_path / 'task.bin'}", env=env)
    assert run.returncode == 2, run.stderr
    assert "UnicodeDecodeError" not in run.stderr and "not UTF-8" in run.stderr
    piped = tcdyn("api", "--references", "bundled", "queue", "createTask", "abc",
                  input=b"\xff\xfe{}", env=env)
    assert piped.returncode == 2, piped.stderr
    assert b"UnicodeDecodeError" not in piped.stderr and b"stdin is not UTF-8" in piped.stderr


# -- item 24: what the command says ---------------------------------------------------------

def test_server_messages_keep_their_lines_indented(tmp_path, deployment_dir):
    message = "no task here\nAll of:\n  - queue:get-task:abc\n  - assume:x"
    with LocalDeployment(deployment_dir) as dep:
        dep.handle("queue", "task", lambda req: error(404, "ResourceNotFound", message))
        run = tcdyn("api", "--references", "bundled", "queue", "task", "abc",
                    env=_env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url))
    assert run.returncode == 3
    first, *rest = run.stderr.rstrip("\n").split("\n")
    assert first.startswith("tcdyn: queue.task: HTTP 404 ResourceNotFound (GET ")
    assert first.endswith("):") and "; " not in run.stderr
    assert rest == ["  no task here", "  All of:", "    - queue:get-task:abc", "    - assume:x"]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("served")
    (tmp / "clients").write_text("issuer:issuer-token:queue:*,auth:expand-scopes\n")
    proc, exports = _serve(tmp, "--clients-file", str(tmp / "clients"))
    try:
        yield _env(tmp, TASKCLUSTER_ROOT_URL=exports["TASKCLUSTER_ROOT_URL"],
                   TASKCLUSTER_CLIENT_ID="issuer", TASKCLUSTER_ACCESS_TOKEN="issuer-token")
    finally:
        _stop(proc)


def test_whoami_of_temporary_credentials_in_the_command(served):
    temp = tcdyn("temp-creds", "--scope", "queue:get-task:*", env=served)
    assert temp.returncode == 0, temp.stderr
    exports = dict(line.removeprefix("export ").split("=", 1)
                   for line in temp.stdout.splitlines())
    exports = {k: v.strip("'") for k, v in exports.items()}
    me = tcdyn("whoami", env={**served, **exports})
    assert me.returncode == 0, me.stderr  # the server refuses auth.currentScopes: 403
    who = json.loads(me.stdout)
    assert who["certificateScopes"] == ["queue:get-task:*"] and who["scopes"] is None
    assert "auth:current-scopes" in who["scopesUnavailable"]


def test_expired_temporary_credentials_get_a_local_hint(served):
    import datetime as dt

    from tcdyn.credentials import Credentials

    now = dt.datetime.now(dt.UTC)
    expired = Credentials("issuer", "issuer-token").create_temporary(
        ["queue:*"], start=now - dt.timedelta(hours=2), expiry=now - dt.timedelta(hours=1))
    env = {**served, "TASKCLUSTER_ACCESS_TOKEN": expired.accessToken,
           "TASKCLUSTER_CERTIFICATE": json.dumps(dict(expired.certificate or {}))}
    run = tcdyn("task", "status", "abc", env=env)
    assert run.returncode == 6, run.stderr
    when = expired.expires.strftime("%Y-%m-%dT%H:%M:%S") if expired.expires else "?"
    assert f"your certificate expired at {when}" in run.stderr, run.stderr


def test_cancelling_an_unsealed_group_says_to_seal_it(served):
    import slugid

    group = slugid.nice()
    made = tcdyn("api", "queue", "createTask", slugid.nice(), input=_task(group), env=served)
    assert made.returncode == 0, made.stderr
    run = tcdyn("group", "cancel", group, "--yes", env=served)
    assert run.returncode == 3
    assert "Cannot cancel unsealed task group" in run.stderr, run.stderr
    assert "seal it first (seal=True; tcdyn group cancel --seal)" in run.stderr
    sealed = tcdyn("group", "cancel", group, "--seal", "--yes", env=served)
    assert sealed.returncode == 0, sealed.stderr
    assert json.loads(sealed.stdout)["cancelledCount"] == 1


def test_a_payload_file_without_at_gets_a_suggestion(served, tmp_path):
    (tmp_path / "task.json").write_text(_task("g"))
    run = subprocess.run([sys.executable, "-m", "tcdyn", "api", "queue", "createTask", "abc",
                          "--payload", "task.json"], env=served, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "did you mean @task.json?" in run.stderr, run.stderr


def test_root_url_and_references_before_the_command(served):
    root = served["TASKCLUSTER_ROOT_URL"]
    env = {k: v for k, v in served.items() if k != "TASKCLUSTER_ROOT_URL"}
    for args in (("--references", "bundled", "--root-url", root, "task", "status", "x"),
                 ("--root-url", root, "api", "queue", "ping"),
                 ("-v", "--references=bundled", f"--root-url={root}", "whoami")):
        run = tcdyn(*args, env=env)
        assert run.returncode in (0, 3), (args, run.stderr)
        assert "invalid choice" not in run.stderr and "no rootUrl" not in run.stderr


def test_expand_scopes_prints_plain_lines(served):
    run = tcdyn("expand-scopes", "queue:get-task:a", "queue:get-task:b", env=served)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["queue:get-task:a", "queue:get-task:b"]


def test_help_text_fits_80_columns_without_rst(tmp_path, deployment_dir):
    import argparse

    from tcdyn.cli import api, build_parser
    from tcdyn.deployment import load

    os.environ["COLUMNS"] = "80"  # argparse wraps to it; restored below
    try:
        texts = {}

        def walk(parser: argparse.ArgumentParser, name: str) -> None:
            texts[name] = parser.format_help()
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for sub, child in action.choices.items():
                        walk(child, f"{name} {sub}")

        walk(build_parser(), "tcdyn")
        deployment = load(str(deployment_dir))
        texts["api --help"] = api.services_help(deployment)
        for service in api.api_services(deployment):
            model = deployment.references.api_model(service)
            texts[f"api {model.serviceName} --help"] = api.service_help(model)
            for entry in model.entries.values():
                parser = api.method_parser(model, entry, deployment=deployment)
                texts[f"api {model.serviceName} {entry.name} --help"] = parser.format_help()
    finally:
        del os.environ["COLUMNS"]
    # a line may pass 80 columns only for a word that is longer by itself (a route, a URL)
    bad = {name: line for name, text in texts.items() for line in text.splitlines()
           if "``" in line or (len(line) > 80 and max(map(len, line.split())) < 60)}
    assert bad == {}, f"{len(bad)} help texts with ``...`` or over 80 columns: {bad}"
    assert len(texts) > 200  # every command and every method of the bundled references
