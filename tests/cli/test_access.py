"""Credentials into a shell, end to end in subprocesses against a local deployment:
``temp-creds`` and ``task claim`` export lines for sh and fish (evaluated by a real sh,
then used), and ``tcdyn signin`` through a ``$BROWSER`` that is the v106 UI
(``tests/ui_signin.py``): the config file it writes (0600, other settings kept), the
``--check`` that reads it, and signin needing no credentials (taskcluster#6104)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import tcdyn
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import Storage
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
from ui_signin import AuthClients  # noqa: E402

ROOT = tcdyn.Credentials("cli-root", "cli-root-token-never-shown-000")
USER = tcdyn.Credentials("github/99|bob", "bob-token-never-shown-in-output-0")
USER_SCOPES = ("auth:create-client:github/99|bob/*", "auth:get-client:github/99|bob/*",
               "auth:current-scopes", "queue:get-task:*")


@pytest.fixture(scope="module")
def dep():
    clients = {ROOT.clientId: ClientRecord(ROOT.accessToken, ("*",)),
               USER.clientId: ClientRecord(USER.accessToken, USER_SCOPES)}
    with Storage() as storage, LocalDeployment(clients=clients, imitate=True,
                                               check_scopes=True) as d:
        InMemoryQueue(storage).install(d)
        d.auth_clients = AuthClients(d)
        yield d


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKCLUSTER_", "BROWSER"))}
    env.update(TCDYN_CONFIG=str(tmp / "config.toml"), TCDYN_CACHE_DIR=str(tmp / "cache"))
    env.update(extra)
    return env


def _as_root(dep: LocalDeployment, tmp: Path) -> dict[str, str]:
    return _env(tmp, TASKCLUSTER_ROOT_URL=dep.root_url, TASKCLUSTER_CLIENT_ID=ROOT.clientId,
                TASKCLUSTER_ACCESS_TOKEN=ROOT.accessToken)


def tcdyn_cmd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def sh_eval(lines: str, *names: str) -> dict[str, str]:
    """The variables as a real sh sees them after ``eval`` of ``lines``."""
    script = 'eval "$LINES"; for n in ' + " ".join(names) + \
        '; do eval "printf \'%s\\0\' \\"\\${$n}\\""; done'
    out = subprocess.run(["sh", "-c", script], env={"LINES": lines, "PATH": os.defpath},
                         capture_output=True, check=True).stdout.decode()
    return dict(zip(names, out.split("\0")[:-1], strict=True))


def fish_values(lines: str) -> dict[str, str]:
    """Each ``set -gx NAME '...'`` line read by fish's single-quote rule: ``\\'`` and
    ``\\\\`` are the only escapes."""
    values = {}
    for line in lines.splitlines():
        m = re.fullmatch(r"set -gx ([A-Z_][A-Z0-9_]*) '((?:[^'\\]|\\['\\])*)'", line)
        assert m, line
        values[m.group(1)] = re.sub(r"\\(['\\])", r"\1", m.group(2))
    return values


def _task(queue: tcdyn.Queue) -> str:
    task_id = tcdyn.slugId()
    queue.createTask(task_id, {
        "taskQueueId": "cli/access", "created": tcdyn.fromNowJSON("0 seconds"),
        "deadline": tcdyn.fromNowJSON("1 hour"), "payload": {},
        "metadata": {"name": "t", "description": "d", "owner": "me@example.com",
                     "source": "https://example.com"}})
    return task_id


NAMES = ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN",
         "TASKCLUSTER_CERTIFICATE")


def test_temp_creds_export_for_sh_and_fish(dep, tmp_path):
    env = _as_root(dep, tmp_path)
    args = ("temp-creds", "--scope", "queue:get-task:*", "--scope", "it's \\ odd")
    sh = tcdyn_cmd(*args, env=env)
    assert sh.returncode == 0, sh.stderr
    assert all(line.startswith("export ") for line in sh.stdout.splitlines())
    values = sh_eval(sh.stdout, *NAMES)
    assert values["TASKCLUSTER_ROOT_URL"] == dep.root_url
    creds = tcdyn.Credentials.from_env(values)
    assert creds is not None and creds.scopes == ("queue:get-task:*", "it's \\ odd")
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=ROOT) as queue:
        task_id = _task(queue)
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=creds) as queue:
        assert queue.task(task_id)["taskQueueId"] == "cli/access"  # they work
    fish = tcdyn_cmd(*args, "--export", "fish", env=env)
    assert fish.returncode == 0, fish.stderr
    got = fish_values(fish.stdout)
    assert list(got) == list(NAMES)
    assert json.loads(got["TASKCLUSTER_CERTIFICATE"])["scopes"] == list(creds.scopes)
    bad = tcdyn_cmd(*args, "--export", "csh", env=env)
    assert bad.returncode == 2 and "invalid choice: 'csh'" in bad.stderr


def test_task_claim_exports_the_runs_credentials(dep, tmp_path):
    env = _as_root(dep, tmp_path)
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=ROOT) as queue:
        task_id = _task(queue)
    run = tcdyn_cmd("task", "claim", task_id, "--worker-id", "w7", env=env)
    assert run.returncode == 0, run.stderr
    values = sh_eval(run.stdout, *NAMES, "TASK_ID", "RUN_ID")
    assert (values["TASK_ID"], values["RUN_ID"]) == (task_id, "0")
    creds = tcdyn.Credentials.from_env(values)
    assert creds is not None and creds.is_temporary()
    # the run's own credentials resolve the run
    with tcdyn.Queue(rootUrl=values["TASKCLUSTER_ROOT_URL"], credentials=creds) as queue:
        assert queue.reportCompleted(task_id, "0")["status"]["state"] == "completed"
    again = tcdyn_cmd("task", "claim", task_id, env=env)
    assert again.returncode == 3 and "409" in again.stderr  # not pending any more
    assert ROOT.accessToken not in again.stderr + again.stdout


def test_task_claim_fish_and_json(dep, tmp_path):
    env = _as_root(dep, tmp_path)
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=ROOT) as queue:
        first, second = _task(queue), _task(queue)
    fish = tcdyn_cmd("task", "claim", first, "--export", "fish", env=env)
    assert fish.returncode == 0, fish.stderr
    assert fish_values(fish.stdout)["TASK_ID"] == first
    whole = tcdyn_cmd("task", "claim", second, "--json", env=env)
    assert whole.returncode == 0, whole.stderr
    claim = json.loads(whole.stdout)
    assert claim["runId"] == 0 and claim["workerId"] == "cli"
    assert set(claim["credentials"]) == {"clientId", "accessToken", "certificate"}
    missing = tcdyn_cmd("task", "claim", tcdyn.slugId(), env=env)
    assert missing.returncode == 3 and "ResourceNotFound" in missing.stderr


# -- signin ------------------------------------------------------------------------------

def _signin_env(dep: LocalDeployment, tmp: Path, **extra: str) -> dict[str, str]:
    """``$BROWSER`` is the v106 UI signed in as USER (unless ``extra`` says otherwise)."""
    return _env(tmp, **{"TASKCLUSTER_ROOT_URL": dep.root_url,
                        "BROWSER": f"{sys.executable} {TESTS / 'ui_signin.py'} %s",
                        "SIGNIN_UI_CLIENT_ID": USER.clientId,
                        "SIGNIN_UI_ACCESS_TOKEN": USER.accessToken, **extra})


def test_signin_writes_a_private_config_file_that_the_library_reads(dep, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('references = "bundled"\n\n[pulse]\nurl = "amqp://me@pulse/"\n')
    env = _signin_env(dep, tmp_path)
    run = tcdyn_cmd("signin", "--name", "desk+1", "--expires", "2 hours", env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""  # the secret went to the file only
    m = re.search(r"signed in as (github/99\|bob/desk\+1-[0-9a-f]{6}) until (\S+ \S+) UTC; "
                  r"credentials written to (\S+)", run.stderr)
    assert m, run.stderr
    client_id = m.group(1)
    assert m.group(3) == str(config)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".config-")] == []
    text = config.read_text()
    assert f'root_url = "{dep.root_url}"' in text and f'client_id = "{client_id}"' in text
    assert 'references = "bundled"' in text and 'url = "amqp://me@pulse/"' in text
    assert "sign in at: " + dep.root_url + "/auth/clients/create?scope=%2A&name=desk%2B1-" \
        in run.stderr
    # the library reads the same file: arguments, environment, then the config file
    no_env = {k: v for k, v in env.items() if k != "TASKCLUSTER_ROOT_URL"}
    code = ("import tcdyn; q = tcdyn.Auth.from_env(); "
            "print(q.rootUrl, q.credentials.clientId, q.currentScopes()['scopes'][-1])")
    lib = subprocess.run([sys.executable, "-c", code], env=no_env, text=True,
                         capture_output=True, timeout=60)
    assert lib.stdout.split() == [dep.root_url, client_id, "queue:get-task:*"], lib.stderr
    check = tcdyn_cmd("signin", "--check", env=no_env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines()[0] == (
        f"signed in to {dep.root_url} as {client_id} (from the config file {config}), "
        "5 scopes")
    assert re.fullmatch(r"expires \S+ \S+ UTC \(in (1 hours|119 minutes|120 minutes)\)",
                        check.stdout.splitlines()[1])
    # revoked: --check says so, exit 6
    with tcdyn.Auth(rootUrl=dep.root_url, credentials=ROOT) as auth:
        auth.deleteClient(client_id)
    revoked = tcdyn_cmd("signin", "--check", env=no_env)
    assert revoked.returncode == 6
    assert f"the credentials of {client_id} (from the config file {config}) do not work" \
        in revoked.stderr


def test_signin_export_fish_and_sh(dep, tmp_path):
    env = _signin_env(dep, tmp_path)
    fish = tcdyn_cmd("signin", "--export", "fish", "--scope", "queue:get-task:*", env=env)
    assert fish.returncode == 0, fish.stderr
    values = fish_values(fish.stdout)
    assert list(values) == list(NAMES[:3])
    assert values["TASKCLUSTER_CLIENT_ID"].startswith("github/99|bob/tcdyn-")
    assert not (tmp_path / "config.toml").exists()
    sh = tcdyn_cmd("signin", "--export", "sh", "--scope", "queue:get-task:*", env=env)
    got = sh_eval(sh.stdout, *NAMES[:3])
    assert dep.auth_clients.records[got["TASKCLUSTER_CLIENT_ID"]]["scopes"] == [
        "queue:get-task:*"]
    with tcdyn.Queue(rootUrl=dep.root_url, credentials=ROOT) as queue:
        task_id = _task(queue)
    with tcdyn.Queue(rootUrl=got["TASKCLUSTER_ROOT_URL"],
                     credentials=tcdyn.Credentials.from_env(got)) as queue:
        assert queue.task(task_id)["taskQueueId"] == "cli/access"


def test_signin_version_and_help_need_no_credentials(dep, tmp_path):
    """taskcluster#6104: the Go shell refused these with half a set of credentials."""
    env = _signin_env(dep, tmp_path, TASKCLUSTER_CLIENT_ID="only-half-of-a-set")
    for args in (("--version",), ("signin", "--help"), ("--help",)):
        run = tcdyn_cmd(*args, env=env)
        assert run.returncode == 0, (args, run.stderr)
    run = tcdyn_cmd("signin", "--export", "sh", env=env)
    assert run.returncode == 0, run.stderr
    check = tcdyn_cmd("signin", "--check", env=env)
    assert check.returncode == 6
    assert "TASKCLUSTER_ACCESS_TOKEN is not set" in check.stderr


def test_signin_check_without_credentials(dep, tmp_path):
    run = tcdyn_cmd("signin", "--check", env=_env(tmp_path, TASKCLUSTER_ROOT_URL=dep.root_url))
    assert run.returncode == 6
    assert f"not signed in to {dep.root_url}: no credentials" in run.stderr


def test_signin_refuses_bad_input_before_opening_a_browser(dep, tmp_path):
    env = _signin_env(dep, tmp_path, BROWSER="false %s")
    for args, message in ((("--name", "a b"), "signin: name 'a b'"),
                          (("--expires", "forever"), "signin: expires 'forever'")):
        run = tcdyn_cmd("signin", *args, env=env)
        assert run.returncode == 2 and message in run.stderr, run.stderr
        assert "sign in at" not in run.stderr


def test_signin_times_out_when_no_browser_calls_back(dep, tmp_path):
    env = _signin_env(dep, tmp_path, BROWSER="true %s")
    run = tcdyn_cmd("signin", "--timeout", "0.5", env=env)
    assert run.returncode == 1
    assert "no sign-in came back within 0.5 seconds" in run.stderr


def test_signin_keeps_an_unreadable_config_file(dep, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("root_url = [not toml\n")
    run = tcdyn_cmd("signin", env=_signin_env(dep, tmp_path))
    assert run.returncode == 2 and "not valid TOML" in run.stderr
    assert config.read_text() == "root_url = [not toml\n"
