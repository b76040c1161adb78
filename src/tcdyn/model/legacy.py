"""References in the 2018 format, as ``taskcluster-client`` 11.x and the Go client knew them.

Before Taskcluster moved to one rootUrl per deployment (late 2019), a reference named its
service by a ``baseUrl`` (``https://aws-provisioner.taskcluster.net/v1``), sometimes also a
``serviceName`` (or, for a while, ``name``), never an ``apiVersion``; its ``$schema`` and
schema names lived under ``http://schemas.taskcluster.net/``; scopes could be a list of scope
sets (``[["a", "b"], ["c"]]``: all scopes of any one set); and the
manifest at ``https://references.taskcluster.net/manifest.json`` mapped class names to
reference URLs (``{"EC2Manager": "https://references.taskcluster.net/ec2-manager/v1/api.json"}``).

``modernize`` turns such a reference into the current shape the way the official clients
read it (``taskcluster-client`` 11's ``createClient``): ``serviceName`` from ``serviceName``,
else ``name``, else the ``baseUrl`` host's first label, else the ``exchangePrefix``'s second
segment without ``taskcluster-``; ``apiVersion`` from the ``baseUrl`` path (or the
``exchangePrefix``), else ``v1``. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..checks import root_url_form

#: The rootUrl of the Taskcluster deployment that predates rootUrls.
LEGACY_ROOT_URL = "https://taskcluster.net"
#: Where the 2018 manifest's reference URLs point.
LEGACY_REFERENCES = "https://references.taskcluster.net/"
#: The host that served the 2018 schemas (``http://schemas.taskcluster.net/<service>/...``).
LEGACY_SCHEMAS_HOST = "schemas.taskcluster.net"
_OLD_SCHEMA = re.compile(
    r"^https?://schemas\.taskcluster\.net/base/v1/(api|exchanges)-reference\.json#?$")
_BASE_URL = re.compile(r"^https?://([A-Za-z0-9-]+)[.:/][^/]*?/?(?:(v[0-9]+)/?)?$")
_LEGACY_HOST = re.compile(r"^https://([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.taskcluster\.net"
                          r"(?::443)?(?:/.*)?$")
_PREFIX = re.compile(r"^exchange/([^/]+)/(v[0-9]+)/?$")
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def old_kind(schema: Any) -> str | None:
    """``"api"``/``"exchanges"`` for a 2018 ``$schema``
    (``http://schemas.taskcluster.net/base/v1/api-reference.json#``), else None."""
    m = _OLD_SCHEMA.match(schema) if isinstance(schema, str) else None
    return m.group(1) if m else None


def is_legacy(reference: Any) -> bool:
    """Whether a parsed reference is in the 2018 format (an old ``$schema`` or a ``baseUrl``)."""
    return isinstance(reference, Mapping) and (
        old_kind(reference.get("$schema")) is not None or "baseUrl" in reference)


def service_name(reference: Mapping[str, Any]) -> str | None:
    """The service a reference is for, derived as the official 2018 client did."""
    for key in ("serviceName", "name"):
        name = reference.get(key)
        if isinstance(name, str):
            return name
    base = reference.get("baseUrl")
    m = _BASE_URL.match(base) if isinstance(base, str) else None
    if m:
        return m.group(1)
    prefix = reference.get("exchangePrefix")
    m = _PREFIX.match(prefix) if isinstance(prefix, str) else None
    if m:
        return m.group(1).removeprefix("taskcluster-")
    return None


def api_version(reference: Mapping[str, Any]) -> str:
    """``apiVersion``, else the version in the ``baseUrl`` path or ``exchangePrefix``, else v1."""
    version = reference.get("apiVersion")
    if isinstance(version, str):
        return version
    base = reference.get("baseUrl")
    m = _BASE_URL.match(base) if isinstance(base, str) else None
    if m and m.group(2):
        return m.group(2)
    prefix = reference.get("exchangePrefix")
    m = _PREFIX.match(prefix) if isinstance(prefix, str) else None
    return m.group(2) if m else "v1"


def scope_sets_expression(sets: list[Any]) -> Any:
    """The old scope-set list (any one set, all scopes of it) as a scope expression."""
    if all(isinstance(s, list) and all(isinstance(x, str) for x in s) for s in sets):
        return {"AnyOf": [{"AllOf": list(s)} for s in sets]}
    return sets  # left for the shape check to report


def modernize(reference: Any) -> Any:
    """A 2018 reference in the current shape (a new dict; anything else as it is).

    ``serviceName`` and ``apiVersion`` are filled in when absent, list-of-sets ``scopes``
    become ``{"AnyOf": [{"AllOf": [...]}, ...]}``; ``baseUrl``, ``exchangePrefix`` and every
    schema name stay as they are (``tcdyn.schemas`` reads ``http://schemas.taskcluster.net``
    names).
    """
    if not is_legacy(reference):
        return reference
    out = dict(reference)
    service = service_name(reference)
    if service is not None:
        out["serviceName"] = service
    out["apiVersion"] = api_version(reference)
    entries = reference.get("entries")
    if isinstance(entries, list):
        out["entries"] = [
            {**e, "scopes": scope_sets_expression(e["scopes"])}
            if isinstance(e, dict) and isinstance(e.get("scopes"), list) else e
            for e in entries]
    return out


def legacy_host(base_url: Any) -> str | None:
    """``https://<label>.taskcluster.net`` of a reference's ``baseUrl``, or None when the
    ``baseUrl`` names no such host (the only hosts a legacy call may go to)."""
    if not isinstance(base_url, str):
        return None
    m = _LEGACY_HOST.match(base_url)
    return f"https://{m.group(1)}.taskcluster.net" if m else None


def is_legacy_root(root_url: str) -> bool:
    """Whether ``root_url`` is ``https://taskcluster.net``, whose services had their own hosts."""
    return root_url_form(root_url) == LEGACY_ROOT_URL


def service_origin(service: str, base_url: Any = None) -> str:
    """The origin a service of the legacy rootUrl answers at: the ``*.taskcluster.net`` host of
    its 2018 reference's ``baseUrl``, else ``https://<service>.taskcluster.net``."""
    return legacy_host(base_url) or f"https://{service}.taskcluster.net"


def schema_url(path: str) -> str:
    """Where the legacy deployment served an abstract schema path (``/schemas/queue/v1/x``)."""
    return f"https://{LEGACY_SCHEMAS_HOST}{path.removeprefix('/schemas')}"


def manifest_items(manifest: Any) -> list[tuple[str, str]] | None:
    """The 2018 manifest ``{"ClassName": "<reference URL>"}`` as (name, URL) pairs, or None
    when ``manifest`` is not one."""
    if not isinstance(manifest, dict) or not manifest or "references" in manifest:
        return None
    if not all(isinstance(k, str) and _CLASS_NAME.match(k) and isinstance(v, str)
               for k, v in manifest.items()):
        return None
    return list(manifest.items())


def reference_path(url: str) -> str:
    """A 2018 manifest URL (``https://references.taskcluster.net/auth/v1/api.json``) as an
    abstract path (``/references/auth/v1/api.json``); other values unchanged."""
    for prefix in (LEGACY_REFERENCES, "http://references.taskcluster.net/"):
        if url.startswith(prefix):
            return "/references/" + url[len(prefix):]
    return url
