"""`tcdyn explore` resolves what every other command resolves: the rootUrl and credentials of
the config file (not only of the environment), and by default the rootUrl's own references,
so a custom deployment's REPL has that deployment's API."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.server import LocalDeployment

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "explore-config-token-never-shown"


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    """A deployment whose queue has one method the bundled references do not."""
    mirror = tmp_path_factory.mktemp("custom") / "deployment"
    shutil.copytree(ROOT / "references", mirror)
    api_file = mirror / "references" / "queue" / "v1" / "api.json"
    api = json.loads(api_file.read_text())
    ping = next(e for e in api["entries"] if e["name"] == "ping")
    api["entries"].append({**ping, "name": "customPing", "route": "/custom-ping",
                           "title": "Ping this deployment only"})
    api_file.write_text(json.dumps(api))
    clients = {"explorer": ClientRecord(TOKEN, ("*",))}
    with LocalDeployment(mirror, clients=clients) as dep:
        yield dep


def _spawn(env: dict[str, str]) -> pexpect.spawn:
    child = pexpect.spawn(sys.executable, ["-m", "tcdyn", "explore"], env=env,
                          encoding="utf-8", timeout=60, dimensions=(50, 200))
    child.expect_exact(">>> ")
    return child


def _run(child: pexpect.spawn, line: str) -> str:
    child.sendline(line)
    child.expect_exact(">>> ")
    return str(child.before).replace("\r\n", "\n")


def test_explore_takes_root_url_credentials_and_api_from_the_config_file(
        custom: LocalDeployment, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'root_url = "{custom.root_url}"\n[credentials]\n'
                      f'client_id = "explorer"\naccess_token = "{TOKEN}"\n')
    config.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    env.update({"TCDYN_CONFIG": str(config), "TCDYN_SHELL": "python", "PAGER": "cat",
                "TERM": "dumb", "TCDYN_CACHE_DIR": str(tmp_path / "cache")})
    custom.reset()
    child = _spawn(env)
    try:
        banner = str(child.before)
        assert f"references fetched from {custom.root_url}" in banner, banner
        assert f"rootUrl {custom.root_url}, clientId explorer" in banner, banner
        # the deployment's own API, called with the config file's credentials
        assert "True" in _run(child, "hasattr(queue, 'customPing')")
        assert "'customPing'" in _run(child, "queue.customPing.__name__")
        _run(child, "queue.ping()")
        assert [r.client_id for r in custom.requests if r.name == "ping"] == ["explorer"]
        assert TOKEN not in banner
        child.sendline("exit()")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_explore_with_the_bundled_references_on_request(custom: LocalDeployment,
                                                       tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKCLUSTER_")}
    env.update({"TCDYN_CONFIG": str(tmp_path / "none.toml"), "TCDYN_SHELL": "python",
                "TERM": "dumb", "TASKCLUSTER_ROOT_URL": custom.root_url,
                "TASKCLUSTER_REFERENCES": "bundled"})
    child = _spawn(env)
    try:
        assert "bundled references" in str(child.before)
        assert "False" in _run(child, "hasattr(queue, 'customPing')")
        child.sendline("exit()")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
