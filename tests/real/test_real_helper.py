"""``tcdyn.helper`` against the real v106 secrets and queue services, as a project using
``taskcluster.helper`` runs it: credentials from the environment, a secret shared by
prefixes (the official README's example), an async service."""

from __future__ import annotations

import pytest
from real_helpers import slug

import tcdyn
from tcdyn.errors import MissingSecretError
from tcdyn.helper import TaskclusterConfig

SECRET = {"common": {"environment": "production", "remote_log": "https://log.xx.com/payload"},
          "backend": {"bugzilla_token": "XXXX"},
          "task": {"backend_url": "https://backend.foo.mozilla.com"}}


@pytest.fixture
def secret_name(root_url, root):
    name = f"tcdyn-real/helper/{slug()}"
    with tcdyn.Secrets(rootUrl=root_url, credentials=root) as secrets:
        secrets.set(name, {"secret": SECRET, "expires": tcdyn.fromNowJSON("1 hour")})
        yield name
        secrets.remove(name)


async def test_taskcluster_config_with_the_real_services(root_url, root, secret_name,
                                                        monkeypatch):
    for name in ("TASK_ID", "TASKCLUSTER_PROXY_URL", "TASKCLUSTER_CERTIFICATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TASKCLUSTER_ROOT_URL", root_url)
    monkeypatch.setenv("TASKCLUSTER_CLIENT_ID", root.clientId)
    monkeypatch.setenv("TASKCLUSTER_ACCESS_TOKEN", root.accessToken)
    tc = TaskclusterConfig()
    config = tc.load_secrets(secret_name, prefixes=["common", "backend"],
                             required=["bugzilla_token"], existing={"environment": "dev"})
    assert config == {"environment": "production", "remote_log": "https://log.xx.com/payload",
                      "bugzilla_token": "XXXX"}
    with pytest.raises(MissingSecretError, match="Missing value github_token in secrets"):
        tc.load_secrets(secret_name, required=["github_token"])
    assert tc.get_service("queue").ping()["alive"] is True
    async with tc.get_service("secrets", use_async=True) as secrets:
        assert (await secrets.get(secret_name))["secret"] == SECRET
