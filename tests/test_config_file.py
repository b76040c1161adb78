"""``tcdyn.auth.config_file``: the config file the library and the command share, read one
way, and the one rule for rootUrl and credentials (arguments, environment, config file);
``Client.from_env()`` follows it against a local deployment."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from pathlib import Path

import pytest

import tcdyn
from tcdyn.auth import config_file
from tcdyn.errors import ConfigFileError, CredentialsError
from tcdyn.testing.auth import ClientRecord

FILE_CREDS = tcdyn.Credentials("from-file", "file-token-never-shown-in-output")
ENV_CREDS = tcdyn.Credentials("from-env", "env-token-never-shown-in-output-0")


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def _config(tmp_path: Path, root: str = "https://tc.example.com", mode: int = 0o600) -> Path:
    return _write(tmp_path / "config.toml", f'root_url = "{root}"\n\n[credentials]\n'
                  f'client_id = "{FILE_CREDS.clientId}"\n'
                  f'access_token = "{FILE_CREDS.accessToken}"\n', mode)


def test_where_the_file_is():
    assert config_file.config_path({"TCDYN_CONFIG": "~/x.toml"}) == Path.home() / "x.toml"
    assert config_file.config_path({"XDG_CONFIG_HOME": "/cfg"}) == Path(
        "/cfg/tcdyn/config.toml")
    assert config_file.config_path({}) == Path.home() / ".config" / "tcdyn" / "config.toml"


def test_a_missing_file_is_empty(tmp_path):
    config = config_file.read(tmp_path / "nope.toml")
    assert (config.root_url, config.credentials, config.pulse_url) == (None, {}, None)


@pytest.mark.parametrize(("text", "message"), [
    ("root_url = [", "not valid TOML"),
    ("rooturl = 'x'", "unknown key 'rooturl' (known: credentials, pulse, references, "
                      "root_url)"),
    ("root_url = 3", "root_url must be a string"),
    ("credentials = 'x'", "credentials must be a table"),
    ("[credentials]\nclientid = 'x'", "unknown key credentials.clientid (known: "
                                      "access_token, certificate, client_id)"),
    ("[pulse]\nurl = 1", "pulse.url must be a string"),
])
def test_malformed_files_are_refused_by_name(tmp_path, text, message):
    path = _write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigFileError, match=re.escape(message)) as caught:
        config_file.read(path)
    assert caught.value.path == str(path) and str(path) in str(caught.value)


def test_a_secret_others_may_read_is_refused(tmp_path):
    path = _config(tmp_path, mode=0o640)
    with pytest.raises(ConfigFileError, match=r"group or others may read it \(mode 0640\); "
                                              rf"run: chmod 600 {path}"):
        config_file.read(path)
    _write(path, 'root_url = "https://x.example"\n', 0o644)  # no secret: fine
    assert config_file.read(path).root_url == "https://x.example"


def test_a_secret_in_another_users_file_is_refused(tmp_path, monkeypatch):
    path = _config(tmp_path)
    monkeypatch.setattr(config_file.os, "getuid", lambda: path.stat().st_uid + 1)
    with pytest.raises(ConfigFileError, match="owned by another user"):
        config_file.read(path)


def test_an_oversized_file_is_refused(tmp_path):
    path = _write(tmp_path / "c.toml", "# " + "x" * config_file.MAX_SIZE)
    with pytest.raises(ConfigFileError, match="larger than"):
        config_file.read(path)


def test_the_repr_shows_no_secret(tmp_path):
    config = config_file.read(_config(tmp_path))
    assert FILE_CREDS.accessToken not in repr(config)
    resolved = config_file.resolve(environ={}, path=_config(tmp_path))
    assert FILE_CREDS.accessToken not in repr(resolved) and "from-file" in repr(resolved)


# -- the rule ------------------------------------------------------------------------------

ENV = {"TASKCLUSTER_CLIENT_ID": ENV_CREDS.clientId,
       "TASKCLUSTER_ACCESS_TOKEN": ENV_CREDS.accessToken}


def test_precedence_arguments_environment_config_file(tmp_path):
    path = _config(tmp_path)
    got = config_file.resolve(environ={}, path=path)
    assert (got.root_url, got.credentials, got.credentials_from) == (
        "https://tc.example.com", FILE_CREDS, "config file")
    got = config_file.resolve(environ={**ENV, "TASKCLUSTER_ROOT_URL": "https://tc.example.com"},
                              path=path)
    assert (got.credentials, got.credentials_from) == (ENV_CREDS, "environment")
    got = config_file.resolve("https://tc.example.com", {"clientId": "arg", "accessToken": "t"},
                              environ=ENV, path=path)
    assert (got.credentials.clientId, got.credentials_from) == ("arg", "arguments")
    got = config_file.resolve(None, None, environ=ENV, path=path)  # explicitly none
    assert (got.root_url, got.credentials) == ("https://tc.example.com", None)
    got = config_file.resolve(environ={"TASKCLUSTER_ROOT_URL": "https://tc.example.com/"},
                              path=path)
    assert got.credentials == FILE_CREDS  # the same deployment, written differently


def test_file_credentials_never_go_to_another_deployment(tmp_path):
    path = _config(tmp_path)
    for other in ("https://evil.example.com", "http://tc.example.com",
                  "https://tc.example.com:8443", "https://tc.example.com/other"):
        got = config_file.resolve(other, environ={}, path=path)
        assert (got.root_url, got.credentials) == (other, None), other
        got = config_file.resolve(environ={"TASKCLUSTER_ROOT_URL": other}, path=path)
        assert got.credentials is None, other


def test_the_file_is_not_read_when_arguments_and_environment_suffice(tmp_path):
    broken = _write(tmp_path / "c.toml", "not = [toml")
    env = {**ENV, "TASKCLUSTER_ROOT_URL": "https://tc.example.com"}
    assert config_file.resolve(environ=env, path=broken).credentials == ENV_CREDS
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        config_file.resolve(environ=ENV, path=broken)  # it is asked for the rootUrl


def test_inside_a_task_the_proxy_comes_before_the_file(tmp_path):
    got = config_file.resolve(environ={"TASKCLUSTER_PROXY_URL": "http://taskcluster/"},
                              path=_config(tmp_path))
    assert (got.proxy_url, got.credentials) == ("http://taskcluster", None)


def test_half_a_set_is_an_error_naming_what_is_missing(tmp_path):
    path = _write(tmp_path / "c.toml", '[credentials]\nclient_id = "me"\n')
    with pytest.raises(ConfigFileError, match=r"\[credentials\] needs both client_id and "
                                              "access_token"):
        config_file.resolve(environ={}, path=path)
    with pytest.raises(CredentialsError, match="TASKCLUSTER_ACCESS_TOKEN is not set"):
        config_file.resolve(environ={"TASKCLUSTER_CLIENT_ID": "x"}, path=path)


# -- writing -------------------------------------------------------------------------------

def test_write_is_private_atomic_and_keeps_other_settings(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    path.parent.mkdir()
    _write(path, 'references = "/mirror \\"x\\""\n[pulse]\nurl = "amqp://u:p@h/"\n')
    old_umask = os.umask(0)  # the file is private however permissive the umask
    try:
        temp = ENV_CREDS.create_temporary(["queue:*"], expiry=dt.timedelta(hours=1))
        config_file.write(path, root_url="https://tc.example.com", credentials=temp)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = config_file.read(path)
    assert (config.root_url, config.references, config.pulse_url) == (
        "https://tc.example.com", '/mirror "x"', "amqp://u:p@h/")
    assert config.credentials_for("https://tc.example.com") == temp
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = _config(tmp_path)
    before = path.read_text()

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(config_file.os, "replace", fail)
    with pytest.raises(ConfigFileError, match="cannot write: No space left on device"):
        config_file.write(path, root_url="https://x.example", credentials=ENV_CREDS)
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_write_leaves_a_file_it_cannot_read(tmp_path):
    path = _config(tmp_path, mode=0o644)
    with pytest.raises(ConfigFileError, match="chmod 600"):
        config_file.write(path, root_url="https://x.example", credentials=ENV_CREDS)
    assert "from-file" in path.read_text()


def test_quotes_and_control_characters_are_written_as_toml_escapes(tmp_path):
    path = _write(tmp_path / "c.toml", 'references = "/m\\u0007ir\\\\ror"\n')
    odd = tcdyn.Credentials('odd', 'tok"en\\0123456789abcdef')
    config_file.write(path, root_url="https://tc.example.com", credentials=odd)
    assert "\u0007" not in path.read_text()
    config = config_file.read(path)
    assert config.references == "/m\u0007ir\\ror"
    assert config.credentials_for("https://tc.example.com") == odd


# -- from_env: the library reads the same file --------------------------------------------

@pytest.fixture
def served(tcdyn_deployment):
    """The pytest plugin's deployment, knowing the client the config files name."""
    tcdyn_deployment.clients[FILE_CREDS.clientId] = ClientRecord(FILE_CREDS.accessToken,
                                                                 ("*",))
    return tcdyn_deployment


def test_from_env_falls_back_on_the_config_file(served, tmp_path, monkeypatch):
    path = _config(tmp_path, root=served.root_url)
    for name in ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN",
                 "TASKCLUSTER_CERTIFICATE", "TASKCLUSTER_PROXY_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TCDYN_CONFIG", str(path))
    with tcdyn.Auth.from_env() as auth:
        assert auth.rootUrl == served.root_url
        assert auth.currentScopes()["scopes"] == ["*"]
    assert served.requests[-1].client_id == "from-file"
    # another rootUrl, by argument or environment: not the file's credentials
    with tcdyn.Auth.from_env(rootUrl="http://127.0.0.1:9") as auth:
        assert auth.credentials is None
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", "http://127.0.0.1:9")
    with tcdyn.Auth.from_env() as auth:
        assert (auth.rootUrl, auth.credentials) == ("http://127.0.0.1:9", None)
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", served.root_url)
    with tcdyn.Auth.from_env(credentials=None) as auth:  # keywords win
        assert auth.credentials is None


async def test_async_from_env_reads_it_too(served, tmp_path, monkeypatch):
    monkeypatch.setenv("TCDYN_CONFIG", str(_config(tmp_path, root=served.root_url)))
    for name in ("TASKCLUSTER_ROOT_URL", "TASKCLUSTER_CLIENT_ID", "TASKCLUSTER_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    async with tcdyn.aio.Auth.from_env() as auth:
        assert (await auth.currentScopes())["scopes"] == ["*"]


def test_a_refused_file_is_a_typed_error_from_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TCDYN_CONFIG", str(_config(tmp_path, mode=0o604)))
    monkeypatch.delenv("TASKCLUSTER_ROOT_URL", raising=False)
    with pytest.raises(ConfigFileError, match="mode 0604"):
        tcdyn.Queue.from_env()
