"""``tcdyn signin`` with the real v106 auth service: a "user" client (as a person signed in
to the web UI would be, with a ``|`` in their clientId) saves the UI's create-client form
(``tests/ui_signin.py``, what ``ViewClient`` does), the real auth service creates the
client, and the UI's redirect carries its real credentials to the callback; refused
callbacks carry them too and are not taken. Then ``signin --check`` with the stored file,
and again once the client is deleted."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from real_helpers import slug

import tcdyn
from tcdyn.auth import signin
from tcdyn.errors import ResourceNotFound, SigninError

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
from ui_signin import browser_url, follow, qs_parse, save_form  # noqa: E402


@pytest.fixture
def user(root_url, root):
    """A person's credentials, as the UI holds them once they signed in; removed after,
    with every client made under it."""
    user_id = f"tcdyn-real/ad|signin-{slug()}"
    scopes = [f"auth:create-client:{user_id}/*", f"auth:get-client:{user_id}/*",
              "auth:current-scopes", "queue:get-task:*"]
    with tcdyn.Auth(rootUrl=root_url, credentials=root) as auth:
        made = auth.createClient(user_id, {
            "expires": tcdyn.fromNowJSON("1 hour"), "description": "tests/real signin user",
            "scopes": scopes, "deleteOnExpiration": True})
    yield tcdyn.Credentials(user_id, made["accessToken"])
    with tcdyn.Auth(rootUrl=root_url, credentials=root) as auth:
        for client in auth.listClients.items(query={"prefix": user_id}):
            auth.deleteClient(client["clientId"])


def _ui(root_url: str, user: tcdyn.Credentials):
    def open_url(url: str) -> None:
        with tcdyn.Auth(rootUrl=root_url, credentials=user) as auth:
            redirect, _ = save_form(url, auth, user.clientId)
        assert follow(browser_url(redirect))[0] == 200
    return open_url


def test_signin_with_the_real_auth_service(root_url, user):
    creds = signin.signin(root_url, name="laptop+1", expires="2 hours",
                          open_url=_ui(root_url, user), timeout=60)
    assert re.fullmatch(re.escape(user.clientId) + r"/laptop\+1-[0-9a-f]{6}", creds.clientId)
    result = signin.check(root_url, creds)
    assert result.ok and result.client_id == creds.clientId
    assert set(result.scopes or ()) >= {"queue:get-task:*", "auth:current-scopes"}
    left = result.expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=1, minutes=58) < left <= dt.timedelta(hours=2)
    with tcdyn.Queue(rootUrl=root_url, credentials=creds) as queue, \
            pytest.raises(ResourceNotFound):  # authenticated: the task just does not exist
        queue.task(tcdyn.slugId())


def test_refused_callbacks_with_real_credentials_are_not_taken(root_url, user):
    with signin.CallbackServer() as server, \
            tcdyn.Auth(rootUrl=root_url, credentials=user) as auth:
        url = signin.login_url(root_url, server.callback_url, name="refused-" + slug()[:6],
                               scopes=["queue:get-task:*"])
        redirect, client_id = save_form(url, auth, user.clientId)
        query = redirect.split("?", 1)[1]
        base = f"http://localhost:{server.port}"
        hostile = [(f"{base}/{'x' * 43}?{query}", "GET", None),
                   (f"{base}/?{query}", "GET", None),
                   (f"{base}/{server.nonce}?{query}", "POST", None),
                   (f"{base}/{server.nonce}?{query}", "GET", f"attacker.example:{server.port}"),
                   (f"{base}/{server.nonce}?{query}&{'p' * 5000}=1", "GET", None)]
        for target, method, host in hostile:
            assert follow(browser_url(target), method=method, host=host)[0] in (400, 404, 405,
                                                                                 414)
        with pytest.raises(SigninError):
            server.wait(0.2)
        assert [r.split(":")[0] for r in server.refused] == ["404", "404", "405", "400", "414"]
        assert follow(browser_url(redirect))[0] == 200
        creds = server.wait(5)
    assert creds.clientId == client_id
    assert signin.check(root_url, creds).ok
    assert qs_parse(url.split("?", 1)[1])["scope"] == "queue:get-task:*"


def test_signin_command_then_check(root_url, root, user, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    config = tmp_path / "config.toml"
    env.update(TCDYN_CONFIG=str(config), TCDYN_CACHE_DIR=str(tmp_path / "cache"),
               BROWSER=f"{sys.executable} {TESTS / 'ui_signin.py'} %s",
               SIGNIN_UI_CLIENT_ID=user.clientId, SIGNIN_UI_ACCESS_TOKEN=user.accessToken)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tcdyn", *args], env=env, text=True,
                              capture_output=True, timeout=120, stdin=subprocess.DEVNULL)

    made = run("signin", "--root-url", root_url, "--name", "cli", "--expires", "2 hours")
    assert made.returncode == 0, made.stderr
    client_id = re.search(r"signed in as (\S+) until", made.stderr).group(1)
    assert client_id.startswith(f"{user.clientId}/cli-")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    check = run("signin", "--check")  # rootUrl and credentials from the file
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"signed in to {root_url} as {client_id} (from the config "
                                   f"file {config}), ")
    assert re.search(r"^expires \S+ \S+ UTC \(in (1 hours|1\d\d minutes)\)$", check.stdout,
                     re.M), check.stdout
    who = run("whoami")
    assert who.returncode == 0 and f'"clientId":"{client_id}"' in who.stdout.replace(" ", "")
    with tcdyn.Auth(rootUrl=root_url, credentials=root) as auth:
        auth.deleteClient(client_id)
    gone = run("signin", "--check")
    assert gone.returncode == 6
    assert f"the credentials of {client_id} (from the config file {config}) do not work on " \
        f"{root_url}" in gone.stderr
    assert user.accessToken not in gone.stderr + check.stdout + made.stderr
