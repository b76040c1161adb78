"""The official client's ``taskcluster.helper`` on tcdyn: ``TaskclusterConfig``,
``load_secrets`` and the deprecated ``upload_artifact``, with the official names, arguments
and behaviour, so that a project moves over by changing ``taskcluster.helper`` to
``tcdyn.helper``::

    from tcdyn.helper import TaskclusterConfig

    tc = TaskclusterConfig("https://community-tc.services.mozilla.com")
    tc.auth()                                   # arguments, environment, proxy, or none
    queue = tc.get_service("queue")             # tcdyn.Queue(tc.options)
    hooks = tc.get_service("hooks", use_async=True)
    secrets = tc.load_secrets("project/foo/prod-config", prefixes=["common", "bot"])

Where tcdyn goes further, said once here: the rootUrl and credentials may also come from
tcdyn's config file (``tcdyn.auth.config_file``; its credentials only for its own rootUrl);
``TASKCLUSTER_CERTIFICATE`` is used with the other credential variables (temporary
credentials work); half a set of credentials is a ``CredentialsError`` naming what is
missing (the official helper silently went on without); failed checks raise typed tcdyn
errors (``TaskclusterArgumentError``, ``MissingSecretError``, ``ServiceNotFound``) where the
official helper used ``assert`` or a bare ``Exception``; any class name tcdyn builds is a
service (``"purge-cache"``, ``"workerManager"``, ``"queueEvents"``).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import (
    CredentialsError,
    InvalidResponse,
    MissingSecretError,
    ServiceNotFound,
    TaskclusterArgumentError,
    TaskclusterConnectionError,
    TaskclusterRestFailure,
)
from .logger import logger as get_logger

__all__ = ["TaskclusterConfig", "load_secrets", "upload_artifact"]

logger = get_logger(__name__)

#: The taskcluster-proxy inside a task, when ``TASKCLUSTER_PROXY_URL`` does not say.
DEFAULT_PROXY_URL = "http://taskcluster"


class TaskclusterConfig:
    """Local configuration used to access Taskcluster services and objects: made once per
    project (no call is made then), authenticated once, then asked for services."""

    def __init__(self, url: str | None = None, *, deployment: Any = None) -> None:
        """``url``: the rootUrl (else ``TASKCLUSTER_ROOT_URL``, else the config file's).
        ``deployment``: build services from it (``tcdyn.load(...)``) instead of the
        default references."""
        from . import environment

        self.options: dict[str, Any] | None = None
        self.secrets: dict[str, Any] | None = None
        self.deployment = deployment
        default = url if url is not None else environment.value(environment.ROOT_URL)
        if default is None:
            from .auth import config_file

            default = config_file.read().root_url
        if not default:
            raise TaskclusterArgumentError(
                "You must specify a Taskcluster deployment url: TaskclusterConfig(url), "
                "TASKCLUSTER_ROOT_URL, or root_url in the tcdyn config file")
        self.default_url: str = default

    def __repr__(self) -> str:  # never the options' credentials
        how = "not authenticated yet" if self.options is None else (
            f"as {self.options['credentials']['clientId']}" if "credentials" in self.options
            else f"through {self.options['proxyUrl']}" if "proxyUrl" in self.options
            else "without credentials")
        return f"<TaskclusterConfig {self.default_url} {how}>"

    def auth(self, client_id: str | None = None, access_token: str | None = None,
             max_retries: int = 12) -> None:
        """Settle how services authenticate, by order of preference: the credentials
        given; the ``TASKCLUSTER_*`` variables; inside a task (``TASK_ID`` set), the
        taskcluster-proxy of ``TASKCLUSTER_PROXY_URL`` (default ``http://taskcluster``);
        tcdyn's config file (for this rootUrl); no authentication."""
        from . import environment

        self.options = {"maxRetries": max_retries}
        credentials: dict[str, str] | None = None
        if client_id is None and access_token is None:
            found = environment.credentials()
            if found is not None:
                logger.info("Using taskcluster credentials from environment")
                credentials = {"clientId": found.client_id, "accessToken": found.access_token}
                if found.certificate:
                    credentials["certificate"] = found.certificate
        elif client_id is None or access_token is None:
            raise CredentialsError("auth() needs both client_id and access_token (got only "
                                   f"{'client_id' if access_token is None else 'access_token'})")
        else:
            logger.info("Using taskcluster credentials from cli")
            credentials = {"clientId": client_id, "accessToken": access_token}
        if credentials is not None:
            self.options.update(credentials=credentials, rootUrl=self.default_url)
        elif "TASK_ID" in os.environ:
            logger.info("Taskcluster Proxy enabled")
            proxy = environment.value(environment.PROXY_URL) or DEFAULT_PROXY_URL
            self.options.update(rootUrl=proxy, proxyUrl=proxy)
        else:
            from .auth import config_file

            stored = config_file.read().credentials_for(self.default_url)
            if stored is not None:
                logger.info("Using taskcluster credentials from the config file")
                self.options["credentials"] = stored
            else:
                logger.info("No Taskcluster authentication.")
            self.options["rootUrl"] = self.default_url

    def get_service(self, service_name: str, use_async: bool = False) -> Any:
        """A client of ``service_name`` (``"queue"``, ``"secrets"``, ``"purge-cache"``...)
        with the current authentication (``auth()`` first if it was not called)."""
        if self.options is None:
            self.auth()
        assert self.options is not None
        cls = self._service_class(service_name, use_async)
        return cls(dict(self.options))

    def _service_class(self, service_name: str, use_async: bool) -> type:
        from .model.reference import class_name

        if not isinstance(service_name, str) or not service_name:
            raise TaskclusterArgumentError(f"Invalid Taskcluster service {service_name!r}")
        if "-" in service_name:
            kind = "exchanges" if service_name.endswith("-events") else "api"
            candidates = [class_name(service_name.removesuffix("-events"), kind)]
        else:
            candidates = [service_name[0].upper() + service_name[1:],
                          service_name.capitalize()]
        last: ServiceNotFound | None = None
        for name in dict.fromkeys(candidates):
            try:
                return self._class(name, use_async)
            except ServiceNotFound as exc:
                last = exc
        assert last is not None
        raise ServiceNotFound(service_name, "Invalid Taskcluster service: these references",
                              last.names) from None

    def _class(self, name: str, use_async: bool) -> type:
        deployment = self.deployment
        if deployment is None:
            from . import default

            deployment = default.default()
        cls: type = deployment.build(name, asynchronous=use_async)
        return cls

    def load_secrets(self, secret_name: str | None, prefixes: Iterable[str] = (),
                     required: Iterable[str] = (), existing: Mapping[str, Any] | None = None,
                     local_secrets: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``load_secrets`` with this configuration's ``Secrets`` service; kept in
        ``self.secrets``."""
        self.secrets = load_secrets(self.get_service("secrets"), secret_name, prefixes,
                                    required, existing, local_secrets)
        return self.secrets

    def upload_artifact(self, artifact_path: str, content: str | bytes, content_type: str,
                        ttl: datetime.timedelta) -> str:
        """``upload_artifact`` with this configuration's queue; the artifact's absolute
        URL under the rootUrl."""
        from urllib.parse import urljoin

        path = upload_artifact(self.get_service("queue"), artifact_path, content,
                               content_type, ttl)
        return urljoin(self.default_url, path)


def load_secrets(secrets_service: Any, secret_name: str | None, prefixes: Iterable[str] = (),
                 required: Iterable[str] = (), existing: Mapping[str, Any] | None = None,
                 local_secrets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Fetch the secret ``secret_name`` (or take ``local_secrets``, a dict, for local
    work), keep only what is under ``prefixes`` (all of it when none), over ``existing``
    defaults, and check that each ``required`` key is there (``MissingSecretError``)."""
    secrets: dict[str, Any] = dict(existing or {})
    if isinstance(local_secrets, Mapping):
        logger.info("Using provided local secrets")
        all_secrets: Any = local_secrets
    else:
        if secret_name is None:
            raise TaskclusterArgumentError("Missing Taskcluster secret secret_name")
        answer = secrets_service.get(secret_name)
        if not isinstance(answer, Mapping):
            raise TaskclusterArgumentError(
                "load_secrets needs a synchronous Secrets client (secrets_service.get() "
                f"returned {type(answer).__name__})")
        all_secrets = answer.get("secret", {})
        logger.info("Loaded Taskcluster secret %s", secret_name)
    if not isinstance(all_secrets, Mapping):
        raise InvalidResponse(f"secret {secret_name}: its value is a "
                              f"{type(all_secrets).__name__}, not an object of keys")
    prefixes = list(prefixes)
    if prefixes:
        for prefix in prefixes:
            part = all_secrets.get(prefix, {})
            if not isinstance(part, Mapping):
                raise InvalidResponse(f"secret {secret_name}: {prefix!r} holds a "
                                      f"{type(part).__name__}, not an object of keys")
            secrets.update(part)
    else:
        secrets.update(all_secrets)
    for required_secret in required:
        if required_secret not in secrets:
            raise MissingSecretError(f"Missing value {required_secret} in secrets.")
    return secrets


def upload_artifact(queue_service: Any, artifact_path: str, content: str | bytes,
                    content_type: str, ttl: datetime.timedelta) -> str:
    """DEPRECATED, as in the official client (use ``tcdyn.artifacts.publish``): inside a
    task with the taskcluster-proxy, create the ``s3`` artifact ``artifact_path`` of the
    task's run, PUT ``content`` to its URL, and return its path under the rootUrl."""
    from . import environment
    from .transfer.hosts import client_kwargs, safe_url
    from .transport.clients import sync_client
    from .utils import stringDate

    task_id, run_id = os.environ.get("TASK_ID"), os.environ.get("RUN_ID")
    if not (task_id and run_id and environment.value(environment.PROXY_URL)):
        raise TaskclusterArgumentError("Can only run in Taskcluster tasks with proxy "
                                       "(TASK_ID, RUN_ID and TASKCLUSTER_PROXY_URL)")
    if not isinstance(content, (str, bytes)):
        raise TaskclusterArgumentError(f"content must be str or bytes, got "
                                       f"{type(content).__name__}")
    if not isinstance(ttl, datetime.timedelta):
        raise TaskclusterArgumentError(f"ttl must be a datetime.timedelta, got "
                                       f"{type(ttl).__name__}")
    resp = queue_service.createArtifact(task_id, run_id, artifact_path, {
        "storageType": "s3", "contentType": content_type,
        "expires": stringDate(datetime.datetime.now(datetime.UTC) + ttl)})
    if not isinstance(resp, Mapping) or resp.get("storageType") != "s3" \
            or not isinstance(resp.get("putUrl"), str) or "contentType" not in resp:
        raise InvalidResponse("createArtifact: not an s3 artifact with a putUrl and a "
                              "contentType")
    url = resp["putUrl"]
    data = content.encode() if isinstance(content, str) else content
    with sync_client(**client_kwargs(60)) as client:
        try:
            pushed = client.put(url, content=data,
                                headers={"Content-Type": str(resp["contentType"])})
        except Exception as exc:
            raise TaskclusterConnectionError(f"upload_artifact: PUT {safe_url(url)}: "
                                             f"{type(exc).__name__}: {exc}", exc) from None
    if pushed.status_code >= 300:
        raise TaskclusterRestFailure(f"upload_artifact: PUT {safe_url(url)}: HTTP "
                                     f"{pushed.status_code}", status_code=pushed.status_code)
    return f"/api/queue/v1/task/{task_id}/runs/{run_id}/artifacts/{artifact_path}"
