"""tcdyn's pytest plugin (entry point ``pytest11``: loaded by pytest wherever tcdyn is
installed): a local Taskcluster deployment per test, its queue, and clients holding the
scopes a test gives them, sync and async::

    def test_my_tool_creates_a_task(tcdyn_client, tcdyn_queue):
        queue = tcdyn_client("Queue", "queue:create-task:*")      # only that scope
        my_tool.submit(queue)
        assert [t.definition["metadata"]["name"] for t in tcdyn_queue.tasks.values()] == [...]

Fixtures (none is autouse, and nothing of tcdyn beyond this module is imported until a test
asks for one, so projects that do not use them pay nothing):

- ``tcdyn_deployment``: a started ``tcdyn.testing.server.LocalDeployment`` behaving as the
  v106 services do (``imitate=True``, scopes checked), with ``InMemoryQueue`` installed and
  each run's ``public/logs/live.log`` on a loopback storage host; new for each test.
- ``tcdyn_queue``: that deployment's ``InMemoryQueue`` (its ``tasks``, ``groups``).
- ``tcdyn_credentials(*scopes, client_id=None)``: a new client of the deployment holding
  ``scopes`` (default ``*``), as ``tcdyn.Credentials``.
- ``tcdyn_client(name, *scopes, credentials=..., **options)``: a client of class ``name``
  (``"Queue"``) at the deployment, with new credentials holding ``scopes`` (default ``*``;
  ``credentials=None``: none); closed after the test. ``tcdyn_async_client``: the same,
  asynchronous (``await``, ``async with``; its connections close with its event loop).
- ``tcdyn_env(*scopes)``: ``TASKCLUSTER_ROOT_URL``, ``_CLIENT_ID`` and ``_ACCESS_TOKEN``
  set for code that reads them (undone after the test); returns them.
- ``tcdyn_classes``: the service classes of the references in use (a ``tcdyn.Deployment``).

Which references: the ``tcdyn_references`` ini option (a mirror directory, relative to the
rootdir; default: the bundled set), or override the ``tcdyn_references`` fixture. Other
``LocalDeployment`` options: override ``tcdyn_deployment_options`` (default
``{"imitate": True, "check_scopes": True}``); the queue's: ``tcdyn_queue_options`` (default
``{"live_log": True}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..auth.credentials import Credentials
    from ..deployment import Deployment
    from ..references.index import ReferenceSet
    from .queue import InMemoryQueue
    from .server import LocalDeployment

_INI = "tcdyn_references"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(_INI, "tcdyn: the references the local deployment serves (a mirror "
                  "directory, relative to the rootdir; default: the bundled set)",
                  default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tcdyn: uses tcdyn's local deployment fixtures")


@pytest.fixture(scope="session")
def tcdyn_references(pytestconfig: pytest.Config) -> ReferenceSet:
    """The references the deployment serves and the clients are built from."""
    from ..references.index import ReferenceSet

    given = str(pytestconfig.getini(_INI) or "")
    if not given:
        return ReferenceSet.bundled()
    path = Path(given).expanduser()
    return ReferenceSet.from_directory(path if path.is_absolute()
                                       else pytestconfig.rootpath / path)


@pytest.fixture(scope="session")
def tcdyn_classes(tcdyn_references: ReferenceSet) -> Deployment:
    """The service classes of ``tcdyn_references`` (built once per session)."""
    from ..deployment import Deployment

    return Deployment(tcdyn_references)


@pytest.fixture
def tcdyn_deployment_options() -> dict[str, Any]:
    return {"imitate": True, "check_scopes": True}


@pytest.fixture
def tcdyn_queue_options() -> dict[str, Any]:
    return {"live_log": True}


@pytest.fixture
def tcdyn_deployment(tcdyn_references: ReferenceSet, tcdyn_deployment_options: dict[str, Any],
                     tcdyn_queue_options: dict[str, Any]) -> Iterator[LocalDeployment]:
    """A local deployment for this test, with the queue imitation installed."""
    from .objects import Storage
    from .queue import InMemoryQueue
    from .server import LocalDeployment

    options = dict(tcdyn_queue_options)
    with Storage() as storage, LocalDeployment(tcdyn_references,
                                               **tcdyn_deployment_options) as deployment:
        deployment.tcdyn_queue = InMemoryQueue(  # type: ignore[attr-defined]
            storage if options.get("live_log") else None, **options).install(deployment)
        yield deployment


@pytest.fixture
def tcdyn_queue(tcdyn_deployment: LocalDeployment) -> InMemoryQueue:
    """The deployment's in-memory queue service (``tasks``, ``groups``, ``artifacts``)."""
    queue: InMemoryQueue = tcdyn_deployment.tcdyn_queue  # type: ignore[attr-defined]
    return queue


@pytest.fixture
def tcdyn_credentials(tcdyn_deployment: LocalDeployment) -> Callable[..., Credentials]:
    """``tcdyn_credentials(*scopes, client_id=None)``: a new client holding ``scopes``."""
    import secrets

    from ..auth.credentials import Credentials
    from .auth import ClientRecord

    def make(*scopes: str, client_id: str | None = None) -> Credentials:
        if client_id is None:
            client_id = f"tcdyn-pytest/{secrets.token_hex(6)}"
        if client_id in tcdyn_deployment.clients:
            raise ValueError(f"the deployment already has a client {client_id!r}")
        token = secrets.token_urlsafe(33)
        tcdyn_deployment.clients[client_id] = ClientRecord(token, tuple(scopes or ("*",)))
        return Credentials(client_id, token)

    return make


_UNSET: Any = object()


def _clients(tcdyn_deployment: LocalDeployment, tcdyn_classes: Deployment,
             tcdyn_credentials: Callable[..., Credentials], asynchronous: bool
             ) -> tuple[Callable[..., Any], list[Any]]:
    made: list[Any] = []

    def make(name: str, *scopes: str, credentials: Any = _UNSET, **options: Any) -> Any:
        cls = tcdyn_classes.build(name, asynchronous=asynchronous)
        if credentials is _UNSET:
            credentials = tcdyn_credentials(*scopes)
        options.setdefault("rootUrl", tcdyn_deployment.root_url)
        if tcdyn_classes.references.model(name).kind == "exchanges":
            return cls(**options)  # exchanges: no I/O, no credentials
        client = cls(credentials=credentials, **options)
        made.append(client)
        return client

    return make, made


@pytest.fixture
def tcdyn_client(tcdyn_deployment: LocalDeployment, tcdyn_classes: Deployment,
                 tcdyn_credentials: Callable[..., Credentials]) -> Iterator[Callable[..., Any]]:
    """``tcdyn_client("Queue", *scopes, **options)``: a sync client at the deployment."""
    make, made = _clients(tcdyn_deployment, tcdyn_classes, tcdyn_credentials, False)
    yield make
    for client in made:
        client.close()


@pytest.fixture
def tcdyn_async_client(tcdyn_deployment: LocalDeployment, tcdyn_classes: Deployment,
                       tcdyn_credentials: Callable[..., Credentials]) -> Callable[..., Any]:
    """``tcdyn_async_client("Queue", *scopes, **options)``: an async client at the
    deployment (use it in the test's event loop; ``async with`` closes it)."""
    return _clients(tcdyn_deployment, tcdyn_classes, tcdyn_credentials, True)[0]


@pytest.fixture
def tcdyn_env(tcdyn_deployment: LocalDeployment, tcdyn_credentials: Callable[..., Credentials],
              monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, str]]:
    """``tcdyn_env(*scopes)``: the ``TASKCLUSTER_*`` variables of a new client (default
    ``*``) at the deployment, set for this test."""
    def set_env(*scopes: str) -> dict[str, str]:
        from .. import environment as env

        creds = tcdyn_credentials(*scopes)
        variables = {env.ROOT_URL: tcdyn_deployment.root_url, env.CLIENT_ID: creds.clientId,
                     env.ACCESS_TOKEN: creds.accessToken}
        monkeypatch.delenv(env.CERTIFICATE, raising=False)
        monkeypatch.delenv(env.PROXY_URL, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return variables

    return set_env

