"""Schema names, as references write them, in one form.

A reference names a schema relative to its service (``v1/task.json#``), by abstract path
(``/schemas/queue/v1/task.json#``) or by URL (``<rootUrl>/schemas/...``, or 2018's
``http://schemas.taskcluster.net/queue/v1/task.json#``). ``abstract_path`` is the one rule that
turns each into ``/schemas/<service>/<file>``; the registry, the clients and exchange bindings
use it.
"""

from __future__ import annotations

import posixpath
from urllib.parse import urldefrag, urlsplit

from .legacy import LEGACY_SCHEMAS_HOST


def abstract_path(name: str, service: str | None = None) -> str:
    """Abstract path (``/schemas/<service>/<file>``, no fragment) of any form of schema name."""
    if not isinstance(name, str) or not name.strip("#"):
        raise ValueError(f"schema name must be a non-empty string, got {name!r}")
    base, fragment = urldefrag(name)
    if fragment:
        raise ValueError(f"schema name {name!r} has a fragment {fragment!r}: name a whole "
                         "document")
    parts = urlsplit(base)
    if parts.scheme or parts.netloc:
        path = parts.path
        if parts.netloc == LEGACY_SCHEMAS_HOST and not path.startswith("/schemas/"):
            path = "/schemas" + path
    elif base.startswith("/"):
        path = base
    else:
        if not service or "/" in service:
            raise ValueError(f"schema name {name!r} is relative: it needs a service name "
                             f"(got {service!r})")
        path = f"/schemas/{service}/{base}"
    normal = posixpath.normpath(path)
    if not normal.startswith("/schemas/") or normal.count("/") < 3:
        raise ValueError(f"schema name {name!r} is not under /schemas/<service>/")
    return normal


def entry_schema(service: str, name: str | None) -> str | None:
    """An entry's schema name as an abstract path that keeps a trailing ``#`` (the form
    ``Binding.schema`` shows); a name the rule cannot read is returned as it is."""
    if not name:
        return None
    try:
        path = abstract_path(name, service)
    except ValueError:
        return name
    return path + "#" if name.endswith("#") else path
