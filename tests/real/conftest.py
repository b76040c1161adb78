"""The real Taskcluster stack of ``scripts/taskcluster.sh up`` (marker ``real``).

The stack's env file (``$TCDYN_STACK_DIR/stack.env``, default ``/var/tmp/tcdyn-stack``) says
where it is. Without a running stack these tests skip with the reason, except in CI
(``CI=true``) or with ``TCDYN_REQUIRE_STACK=1``, where the conftest first runs
``scripts/taskcluster.sh up`` itself and then fails if the stack is still not there.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from real_helpers import SCRIPT

import tcdyn

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.real)


_TRIED_UP: list[bool] = []


def _env_file() -> Path:
    return Path(os.environ.get("TCDYN_STACK_DIR", "/var/tmp/tcdyn-stack")) / "stack.env"


def _read_stack() -> tuple[dict[str, str] | None, str]:
    path = _env_file()
    if not path.is_file():
        return None, f"{path} is absent"
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):  # KEY=value or export KEY=value
            words = shlex.split(line)
            key, _, value = words[words[0] == "export"].partition("=")
            env[key] = value
    url = f"{env.get('TASKCLUSTER_ROOT_URL')}/api/auth/v1/ping"
    try:
        httpx.get(url, timeout=5).raise_for_status()
    except httpx.HTTPError as e:
        return None, f"{url}: {e}"
    return env, ""


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    """The stack's env file as a dict (TASKCLUSTER_ROOT_URL, ..., TCDYN_STACK_PULSE_URL)."""
    required = os.environ.get("CI") == "true" or os.environ.get("TCDYN_REQUIRE_STACK") == "1"
    env, why = _read_stack()
    if env is None and required and not _TRIED_UP:
        _TRIED_UP.append(True)  # once per session, not once per test
        subprocess.run(["bash", str(SCRIPT), "up"], check=False)
        env, why = _read_stack()
    if env is None:
        message = f"no Taskcluster stack ({why}); run scripts/taskcluster.sh up"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return env


@pytest.fixture(scope="session")
def stack_logs(stack) -> Path:
    """The folder of the stack's service logs (``queue.log``: one JSON record a line, as
    the services' monitor writes them), beside its env file."""
    return _env_file().parent / "logs"


@pytest.fixture(scope="session")
def root_url(stack) -> str:
    return stack["TASKCLUSTER_ROOT_URL"]


@pytest.fixture(scope="session")
def root(stack) -> tcdyn.Credentials:
    """The stack's root client (scope ``*``)."""
    return tcdyn.Credentials(clientId=stack["TASKCLUSTER_CLIENT_ID"],
                             accessToken=stack["TASKCLUSTER_ACCESS_TOKEN"])


@pytest.fixture(scope="session")
def tc(root_url) -> Any:
    """``tcdyn.load(rootUrl)`` of the real stack: its references and schemas."""
    return tcdyn.load(root_url, refresh=True)


@pytest.fixture(params=["loaded", "bundled"])
def source(request, tc) -> Any:
    """Classes from the deployment (``tcdyn.load``) and the bundled ``tcdyn.Queue`` & co."""
    return tc if request.param == "loaded" else tcdyn


def _factory(flavour: str, classes: Any, root_url: str, made: list) -> Callable[..., Any]:
    def make(service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("rootUrl", root_url)
        if classes is not tcdyn:  # the deployment's schemas: hold its answers to them too
            kwargs.setdefault("validate_responses", True)
        cls = getattr(classes.aio if flavour == "async" else classes, service)
        client = cls(**kwargs)
        made.append(client)
        return client
    return make


async def _close(made: list) -> None:
    for client in made:
        if hasattr(client, "aclose"):
            await client.aclose()
        else:
            client.close()


@pytest.fixture
async def make(flavour, source, root_url):
    """``make("Queue", credentials=...)``: a sync or async client, from the loaded or the
    bundled classes, pointed at the stack; closed after the test. Loaded classes validate
    requests and responses with the deployment's schemas."""
    made: list = []
    yield _factory(flavour, source, root_url, made)
    await _close(made)


@pytest.fixture
async def make_loaded(flavour, tc, root_url):
    """Like ``make``, from the deployment's own classes only (schemas at hand)."""
    made: list = []
    yield _factory(flavour, tc, root_url, made)
    await _close(made)
