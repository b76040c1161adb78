"""The tcdyn command end to end: subprocesses against `tcdyn serve`, real stdout, stderr and
exit codes (0 ok, 1 failure, 2 usage, 3 HTTP 4xx, 4 5xx/connection, 5 validation, 6 auth)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import tcdyn as tcdyn_lib
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment, error

SECRET = "cli-test-token-never-shown"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    env["TCDYN_CONFIG"] = str(tmp / "no-config.toml")
    env.update(extra)
    return env


def tcdyn(*args: str, env: dict[str, str], input: str | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env, input=input,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict[str, str]]:
    """`tcdyn serve` in a subprocess; the environment its export lines give."""
    tmp = tmp_path_factory.mktemp("serve")
    proc = subprocess.Popen([sys.executable, "-m", "tcdyn", "serve"], env=_env(tmp),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    exports = {}
    try:
        for _ in range(3):
            line = proc.stdout.readline()
            m = re.match(r"^export (TASKCLUSTER_\w+)=(.*)$", line.strip())
            assert m, line
            exports[m.group(1)] = m.group(2)
        assert "Ctrl-C to stop" in proc.stderr.readline()
        yield _env(tmp, **exports)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0  # SIGTERM is a clean stop
    assert "stopped" in proc.stderr.read()


def _task(group: str) -> str:
    # created now, as the queue (and its imitation) refuse a task created in the future
    return json.dumps({
        "taskGroupId": group, "provisionerId": "p", "workerType": "w",
        "created": tcdyn_lib.fromNowJSON("0 seconds"),
        "deadline": tcdyn_lib.fromNowJSON("1 day"),
        "payload": {}, "metadata": {"name": "cli test", "description": "d",
                                    "owner": "me@example.com",
                                    "source": "https://example.com"}})


def _new_task(served: dict[str, str], group: str | None = None) -> str:
    task_id = tcdyn("slugid", env=served).stdout.strip()
    run = tcdyn("api", "queue", "createTask", task_id, env=served,
                input=_task(group or task_id))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"]["state"] == "pending"
    return task_id


def _lines(out: str) -> list[Any]:
    return [json.loads(line) for line in out.splitlines()]


def one_error(stderr: str) -> bool:
    """One error: ``tcdyn: ...`` first, further lines (a server's message) indented."""
    first, *rest = stderr.rstrip("\n").split("\n")
    return first.startswith("tcdyn: ") and all(not x or x.startswith("  ") for x in rest)


# -- small commands -------------------------------------------------------------------

def test_version_slugid_from_now(tmp_path):
    env = _env(tmp_path)
    # the installed metadata's version: one source, __version__, read by the build backend
    version = importlib.metadata.version("tcdyn")
    assert tcdyn("--version", env=env).stdout.strip() == f"tcdyn {version}"
    ids = tcdyn("slugid", "-n", "3", env=env).stdout.split()
    assert len(ids) == 3 and all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)
    assert not any(i.startswith("-") for i in ids)
    date = tcdyn("from-now", "2", "hours", env=env).stdout.strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", date)
    bad = tcdyn("from-now", "two hours", env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("tcdyn: from-now:")
    assert one_error(bad.stderr)


def test_small_commands_import_nothing_heavy():
    probe = ("import sys, io, contextlib\nfrom tcdyn.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    assert main(['slugid']) == 0\n"
             "print(sorted(m for m in ('httpx', 'jsonschema', 'aio_pika') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# -- tcdyn api --------------------------------------------------------------------------

def test_api_create_and_read_a_task(served):
    task_id = _new_task(served)
    run = tcdyn("api", "queue", "task", task_id, env=served)
    assert run.returncode == 0 and run.stderr == ""
    assert json.loads(run.stdout)["metadata"]["name"] == "cli test"
    assert len(run.stdout.splitlines()) == 1  # piped: one line


def test_api_payload_from_file_and_json(served, tmp_path):
    group = tcdyn("slugid", env=served).stdout.strip()
    (tmp_path / "task.json").write_text(_task(group))
    for spec in (f"@{tmp_path / 'task.json'}", _task(group)):
        task_id = tcdyn("slugid", env=served).stdout.strip()
        run = tcdyn("api", "queue", "createTask", task_id, "--payload", spec, env=served)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["status"]["taskGroupId"] == group


def test_api_all_follows_continuation_tokens(served):
    group = tcdyn("slugid", env=served).stdout.strip()
    ids = sorted(_new_task(served, group) for _ in range(5))
    run = tcdyn("api", "queue", "listTaskGroup", group, "--query", "limit=2", "--all",
                env=served)
    assert run.returncode == 0, run.stderr
    assert sorted(item["status"]["taskId"] for item in _lines(run.stdout)) == ids
    one = tcdyn("api", "queue", "listTaskGroup", group, "--query", "limit=2", env=served)
    assert len(json.loads(one.stdout)["tasks"]) == 2 and "continuationToken" in one.stdout


def test_api_help_from_the_references(served):
    run = tcdyn("api", "queue", "createTask", "--help", env=served)
    assert run.returncode == 0
    out = run.stdout
    assert "Create New Task" in out and "PUT /task/<taskId>" in out
    assert "queue:create-task:project:<projectId>" in out  # scopes
    assert "provisionerId: string (required)" not in out and "  provisionerId: string" in out
    assert "metadata: object (required)" in out
    assert "created: string (date-time) (required)" in out
    assert "--payload" in out
    service = tcdyn("api", "queue", "--help", env=served).stdout
    assert "createTask" in service and "Create New Task" in service
    services = tcdyn("api", "--help", env=served).stdout
    assert "queue" in services and "purge-cache" in services
    paged = tcdyn("api", "queue", "listTaskGroup", "-h", env=served).stdout
    assert "--all" in paged and "continuationToken, limit" in paged


@pytest.mark.parametrize(("args", "needle"), [
    (("api", "queu", "task", "x"), "did you mean 'queue'"),
    (("api", "queue", "tsk", "x"), "did you mean 'task'"),
    (("api", "queue", "listTaskGroup", "g", "--query", "limt=1"), "--query 'limt'"),
    (("api", "queue", "task"), "required: taskId"),
    (("api", "queue", "createTask", "x"), "needs a payload"),
    (("api", "queue", "createTask", "x", "--payload", "{nope"), "not JSON"),
    (("api", "queue", "task", "x", "--all"), "unrecognized arguments"),
    (("task", "sttus", "x"), "invalid choice"),
])
def test_usage_errors_exit_2(served, args, needle):
    run = tcdyn(*args, env=served)
    assert run.returncode == 2, run
    assert needle in run.stderr and run.stdout == ""


def test_exit_codes_for_http_validation_and_auth(served):
    unknown = tcdyn("slugid", env=served).stdout.strip()
    missing = tcdyn("api", "queue", "task", unknown, env=served)
    assert missing.returncode == 3
    assert one_error(missing.stderr) and "ResourceNotFound" in missing.stderr
    malformed = tcdyn("api", "queue", "task", "not-a-task-id", env=served)  # as the queue
    assert malformed.returncode == 3 and "InvalidRequestArguments" in malformed.stderr
    invalid = tcdyn("api", "queue", "createTask", "x", "--payload", '{"provisionerId": 3}',
                    env=served)
    assert invalid.returncode == 5 and one_error(invalid.stderr)
    assert "$.provisionerId: 3 is not of type 'string'" in invalid.stderr
    wrong = {**served, "TASKCLUSTER_ACCESS_TOKEN": "wrong-token"}
    denied = tcdyn("api", "queue", "task", "x", env=wrong)
    assert denied.returncode == 6 and "AuthenticationFailed" in denied.stderr
    assert served["TASKCLUSTER_ACCESS_TOKEN"] not in denied.stderr + denied.stdout
    nowhere = {**served, "TASKCLUSTER_ROOT_URL": "http://127.0.0.1:9"}
    gone = tcdyn("api", "--references", "bundled", "queue", "task", "x", env=nowhere)
    assert gone.returncode == 4 and one_error(gone.stderr)
    unset = {k: v for k, v in served.items() if k != "TASKCLUSTER_ROOT_URL"}
    no_root = tcdyn("task", "status", "x", env=unset)
    assert no_root.returncode == 2 and "no rootUrl" in no_root.stderr


def test_server_errors_exit_4(tmp_path, deployment_dir):
    with LocalDeployment(deployment_dir) as dep:
        dep.handle("queue", "task", lambda req: error(500, "InternalServerError", "boom"))
        run = tcdyn("api", "queue", "task", "x", env=_env(
            tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url), timeout=120)
    assert run.returncode == 4 and "InternalServerError" in run.stderr
    assert one_error(run.stderr)


# -- task, group, artifact -------------------------------------------------------------

def test_task_commands(served):
    task_id = _new_task(served)
    status = json.loads(tcdyn("task", "status", task_id, "--json", env=served).stdout)
    assert status["state"] == "pending" and status["runs"][0]["runId"] == 0
    assert json.loads(tcdyn("task", "def", task_id, env=served).stdout)["workerType"] == "w"
    done = tcdyn("task", "complete", task_id, "--yes", env=served)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "completed"
    log = tcdyn("task", "log", task_id, env=served)
    assert log.returncode == 0 and "run 0 claimed by tcdyn/cli" in log.stdout
    assert "run 0 completed" in log.stdout
    artifacts = _lines(tcdyn("task", "artifacts", task_id, "--json", env=served).stdout)
    assert [a["name"] for a in artifacts] == ["public/logs/live.log"]
    rerun = json.loads(tcdyn("task", "rerun", task_id, "--force", "--yes", env=served).stdout)
    assert [r["state"] for r in rerun["runs"]] == ["completed", "pending"]
    cancelled = json.loads(tcdyn("task", "cancel", task_id, "-y", env=served).stdout)
    assert cancelled["runs"][-1]["reasonResolved"] == "canceled"
    again = tcdyn("task", "complete", task_id, "--yes", env=served)
    assert again.returncode == 1 and "'exception', not pending or running" in again.stderr


def test_group_commands(served):
    group = tcdyn("slugid", env=served).stdout.strip()
    ids = [_new_task(served, group) for _ in range(3)]
    assert tcdyn("task", "complete", ids[0], "--yes", env=served).returncode == 0
    listed = _lines(tcdyn("group", "list", group, "--json", env=served).stdout)
    assert sorted(i["status"]["taskId"] for i in listed) == sorted(ids)
    status = json.loads(tcdyn("group", "status", group, "--json", env=served).stdout)
    assert status == {"taskGroupId": group, "tasks": 3,
                      "states": {"completed": 1, "pending": 2}}
    unsealed = tcdyn("group", "cancel", group, "--yes", env=served)  # v106 has cancelTaskGroup
    assert unsealed.returncode == 3 and "Cannot cancel unsealed task group" in unsealed.stderr
    sealed = tcdyn("api", "queue", "sealTaskGroup", group, env=served)
    assert sealed.returncode == 0 and "sealed" in json.loads(sealed.stdout)
    cancel = tcdyn("group", "cancel", group, "--yes", env=served)
    assert cancel.returncode == 0, cancel.stderr
    assert sorted(json.loads(cancel.stdout)["taskIds"]) == sorted(ids[1:])
    status = json.loads(tcdyn("group", "status", group, "--json", env=served).stdout)
    assert status["states"] == {"completed": 1, "exception": 2}


def test_artifact_get_to_a_file(served, tmp_path):
    task_id = _new_task(served)
    target = tmp_path / "live.log"
    run = tcdyn("artifact", "get", task_id, "public/logs/live.log", "-o", str(target),
                env=served)
    assert run.returncode == 0 and run.stdout == ""
    assert "run 0 scheduled" in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.log"]  # no partial file left
    missing = tcdyn("artifact", "get", task_id, "public/nope", "-o", str(tmp_path / "x"),
                    env=served)
    assert missing.returncode == 3 and not (tmp_path / "x").exists()


class _Storage:
    """A storage host on another port that records the headers it was sent."""

    def __init__(self, body: bytes) -> None:
        seen: list[dict[str, str]] = []
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                seen.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_log_goes_to_the_storage_host_without_credentials(tmp_path, deployment_dir):
    storage = _Storage(b"line 1\nline 2\n")
    clients = {"me": ClientRecord(SECRET, ("*",))}
    try:
        with LocalDeployment(deployment_dir, clients=clients) as dep:
            url = f"{storage.url}/logs/live.log?Signature=s3-secret"
            dep.handle("queue", "latestArtifact", lambda req: {"storageType": "s3",
                                                                "url": url})
            run = tcdyn("task", "log", "abc", env=_env(
                tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url, TASKCLUSTER_CLIENT_ID="me",
                TASKCLUSTER_ACCESS_TOKEN=SECRET))
            assert dep.requests[-1].params == {"taskId": "abc",
                                               "name": "public/logs/live.log"}
            assert dep.requests[-1].client_id == "me"  # the queue call was signed
    finally:
        storage.close()
    assert run.returncode == 0, run.stderr
    assert run.stdout == "line 1\nline 2\n"
    assert len(storage.seen) == 1 and "authorization" not in storage.seen[0]


def test_artifact_get_object_and_error_types(tmp_path, deployment_dir):
    import hashlib

    body = b"object bytes"
    storage = _Storage(body)
    good = hashlib.sha256(body).hexdigest()
    hashes = {"sha256": good}
    try:
        with LocalDeployment(deployment_dir,
                             clients={"obj": ClientRecord("obj-token", ("*",))}) as dep:
            dep.handle("queue", "latestArtifact", lambda req: {
                "storageType": "object", "name": "t/0/public/x",
                "credentials": {"clientId": "obj", "accessToken": "obj-token"}}
                if req.params["name"] == "public/x" else {
                "storageType": "error", "reason": "file-missing-on-worker",
                "message": "no such file"})
            dep.handle("object", "startDownload", lambda req: {
                "method": "getUrl", "url": f"{storage.url}/o", "hashes": dict(hashes),
                "expires": "2030-01-01T00:00:00.000Z"})
            env = _env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url)
            out = tmp_path / "out" / "x.bin"
            out.parent.mkdir()
            ok = tcdyn("artifact", "get", "t", "public/x", "-o", str(out), env=env)
            assert ok.returncode == 0, ok.stderr
            assert out.read_bytes() == body
            assert dep.requests[-1].client_id == "obj"  # the object call used its creds
            hashes["sha256"] = "0" * 64
            bad = tcdyn("artifact", "get", "t", "public/x", "-o", str(tmp_path / "out" / "y"),
                        env=env)
            assert bad.returncode == 1 and "sha256 hash failed; nothing written" in bad.stderr
            assert sorted(p.name for p in out.parent.iterdir()) == ["x.bin"]
            err = tcdyn("artifact", "get", "t", "public/err", env=env)
            assert err.returncode == 3
            assert "error artifact: file-missing-on-worker: no such file" in err.stderr
    finally:
        storage.close()


def test_artifact_put_without_the_helpers(tmp_path, monkeypatch, capsys):
    from tcdyn.cli import main

    monkeypatch.setitem(sys.modules, "tcdyn.artifacts", None)  # import fails
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("TCDYN_CONFIG", str(tmp_path / "none.toml"))
    assert main(["artifact", "put", "t", "0", "public/f", str(tmp_path / "f")]) == 1
    assert "needs the artifacts helpers" in capsys.readouterr().err


def test_explore_and_stubs_name_a_missing_module():
    from tcdyn.cli.extras import _module
    from tcdyn.cli.output import CommandError

    with pytest.raises(CommandError, match=r"needs tcdyn\.no_such_module"):
        _module("no_such_module", "explore")


# -- credentials commands ---------------------------------------------------------------

def test_signed_url_works_without_credentials(served):
    task_id = _new_task(served)
    url = tcdyn("signed-url", "queue", "task", task_id, "--expires", "1h",
                env=served).stdout.strip()
    assert "bewit=" in url and served["TASKCLUSTER_ACCESS_TOKEN"] not in url
    assert httpx.get(url).json()["metadata"]["name"] == "cli test"


def test_temp_creds_exports_work(served):
    run = tcdyn("temp-creds", "--scope", "queue:get-task:*", "--scope", "auth:current-scopes",
                "--expiry", "1h", env=served)
    assert run.returncode == 0, run.stderr
    exports = dict(re.match(r"^export (\w+)=(.*)$", line).groups()
                   for line in run.stdout.splitlines())
    assert set(exports) == {"TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID",
                            "TASKCLUSTER_ACCESS_TOKEN", "TASKCLUSTER_CERTIFICATE"}
    shell = subprocess.run(["bash", "-c", run.stdout + f'\n"{sys.executable}" -m tcdyn whoami'],
                           env=_env(Path("/nonexistent")), capture_output=True, text=True,
                           timeout=60)
    assert shell.returncode == 0, shell.stderr
    who = json.loads(shell.stdout)
    assert who["temporary"] is True and who["clientId"] == "tcdyn-serve"
    # every request holds assume:anonymous, as the auth service grants it
    assert who["scopes"] == ["assume:anonymous", "auth:current-scopes", "queue:get-task:*"]
    shell = subprocess.run(["bash", "-c", run.stdout + f'\n"{sys.executable}" -m tcdyn task '
                            'status x'], env=_env(Path("/nonexistent")), capture_output=True,
                           text=True, timeout=60)
    assert shell.returncode == 6 and "queue:status:x" in shell.stderr  # scopes are checked


def test_whoami_and_expand_scopes(served):
    who = json.loads(tcdyn("whoami", env=served).stdout)
    assert who["clientId"] == "tcdyn-serve" and who["scopes"] == ["*"]
    assert served["TASKCLUSTER_ACCESS_TOKEN"] not in json.dumps(who)
    run = tcdyn("expand-scopes", "queue:b", "queue:a", env=served)
    assert run.stdout.splitlines() == ["queue:a", "queue:b"]  # plain lines
    anonymous = {k: v for k, v in served.items() if k not in (
        "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN")}
    nobody = tcdyn("whoami", env=anonymous)
    assert nobody.returncode == 6 and "no credentials" in nobody.stderr


# -- the config file -------------------------------------------------------------------

def _config(path: Path, served: dict[str, str], mode: int) -> dict[str, str]:
    path.write_text(f'root_url = "{served["TASKCLUSTER_ROOT_URL"]}"\n[credentials]\n'
                    f'client_id = "{served["TASKCLUSTER_CLIENT_ID"]}"\n'
                    f'access_token = "{served["TASKCLUSTER_ACCESS_TOKEN"]}"\n')
    path.chmod(mode)
    env = {k: v for k, v in served.items() if not k.startswith("TASKCLUSTER_")}
    env["TCDYN_CONFIG"] = str(path)
    return env


def test_config_file_gives_root_url_and_credentials(served, tmp_path):
    env = _config(tmp_path / "config.toml", served, 0o600)
    who = tcdyn("whoami", env=env)
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["clientId"] == "tcdyn-serve"
    # the environment wins over the file
    over = tcdyn("whoami", env={**env, "TASKCLUSTER_CLIENT_ID": "other",
                                "TASKCLUSTER_ACCESS_TOKEN": "x"})
    assert over.returncode == 6


def test_config_file_readable_by_others_is_refused(served, tmp_path):
    path = tmp_path / "config.toml"
    env = _config(path, served, 0o644)
    run = tcdyn("whoami", env=env)
    assert run.returncode == 2
    assert f"chmod 600 {path}" in run.stderr and "mode 0644" in run.stderr
    assert served["TASKCLUSTER_ACCESS_TOKEN"] not in run.stderr
    path.write_text('root_url = "https://tc.example.com"\n')  # no secret: fine
    assert tcdyn("api", "--references", "bundled", "queue", "--help",
                 env=env).returncode == 0
    path.write_text('rooturl = "x"\n')
    typo = tcdyn("whoami", env=env)
    assert typo.returncode == 2 and "unknown key 'rooturl'" in typo.stderr
