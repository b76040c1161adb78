"""Helpers with the official ``taskcluster.utils`` names: slugids, relative dates, JSON.

The dates (``fromNow``, ``fromNowJSON``, ``stringDate``) are ``tcdyn.dates``'s, named here.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

import slugid

from .dates import fromNow, fromNowJSON, stringDate

__all__ = [
    "createSession",
    "dumpJson",
    "encodeStringForB64Header",
    "fromNow",
    "fromNowJSON",
    "isExpired",
    "makeB64UrlSafe",
    "makeB64UrlUnsafe",
    "optionsFromEnvironment",
    "scopeMatch",
    "slugId",
    "slugIdV4",
    "stableSlugId",
    "stringDate",
]


def slugId() -> str:
    """A new "nice" slugid (22 characters, URL-safe, never starting with ``-``)."""
    return slugid.nice()


def slugIdV4() -> str:
    """A new v4 slugid (any of the 2**122 values; may start with ``-``)."""
    return slugid.v4()


def stableSlugId() -> Callable[[str], str]:
    """A function giving one fresh slugid per name, the same one each time it is asked."""
    cache: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in cache:
            cache[name] = slugid.nice()
        return cache[name]

    return get


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return stringDate(value)
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumpJson(obj: Any, **kwargs: Any) -> str:
    """Compact JSON (like ``JSON.stringify``), datetimes as :func:`stringDate`."""
    return json.dumps(obj, separators=(",", ":"), default=_json_default, **kwargs)


def optionsFromEnvironment(defaults: Mapping[str, Any] | None = None, *,
                           environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Client options from ``TASKCLUSTER_ROOT_URL``, ``TASKCLUSTER_CLIENT_ID``,
    ``TASKCLUSTER_ACCESS_TOKEN`` and ``TASKCLUSTER_CERTIFICATE`` over ``defaults`` (which is
    copied, not changed): ``{"rootUrl": ..., "credentials": {...}}``, as the official one
    gives them. Each variable that is set replaces its key, so a set may be completed by the
    defaults (a clientId from them, the access token from the environment); a set still
    incomplete is refused where it is used (the client's ``CredentialsError``)."""
    from . import environment
    from .checks import root_url_form

    root_url = environment.value(environment.ROOT_URL, environ)
    options = copy.deepcopy(dict(defaults or {}))
    credentials = dict(options.get("credentials") or {})
    if root_url:
        options["rootUrl"] = root_url_form(root_url)
    credentials.update(environment.credential_values(environ))
    if credentials:
        options["credentials"] = credentials
    return options


# -- the rest of the official ``taskcluster.utils`` names, with its behaviour ------------

def scopeMatch(assumedScopes: Iterable[str], requiredScopeSets: Iterable[Iterable[str]]
               ) -> bool:
    """Whether the held scopes satisfy any of the required scope sets (disjunctive normal
    form: ``[["a", "b"], ["c"]]`` is (a and b) or c), with the ``*`` suffix rule."""
    from .auth.scopes import scope_match

    held = list(assumedScopes)
    return any(all(any(scope_match(h, required) for h in held) for required in scope_set)
               for scope_set in requiredScopeSets)


def isExpired(certificate: str | Mapping[str, Any]) -> bool:
    """Whether a temporary-credentials certificate (JSON text or dict) has expired, as the
    official client decides it: ``expiry`` (ms) before now plus 1.2 s (its ``20 * 60``
    margin is in milliseconds); a certificate without ``expiry`` is expired."""
    if isinstance(certificate, (str, bytes)):
        certificate = json.loads(certificate)
    if not isinstance(certificate, Mapping):
        raise TypeError(f"a certificate must be a dict or JSON text, "
                        f"got {type(certificate).__name__}")
    expiry: float = certificate.get("expiry", 0)
    return expiry < int(time.time() * 1000) + 20 * 60


def createSession(*args: Any, **kwargs: Any) -> Any:
    """A new ``httpx.Client`` (the official client gives a ``requests.Session``), to pass
    as ``session=`` to several synchronous clients so that they share one pool."""
    import httpx

    return httpx.Client(*args, **kwargs)


def makeB64UrlSafe(b64str: str | bytes) -> bytes:
    """Standard base64 made URL-safe (``+`` -> ``-``, ``/`` -> ``_``), as bytes."""
    data = b64str.encode() if isinstance(b64str, str) else b64str
    return data.replace(b"+", b"-").replace(b"/", b"_")


def makeB64UrlUnsafe(b64str: str | bytes) -> bytes:
    """URL-safe base64 made standard (``-`` -> ``+``, ``_`` -> ``/``), as bytes."""
    data = b64str.encode() if isinstance(b64str, str) else b64str
    return data.replace(b"-", b"+").replace(b"_", b"/")


def encodeStringForB64Header(s: str | bytes) -> bytes:
    """Base64 of ``s`` on one line (no newlines), fit for an HTTP header, as bytes."""
    data = s.encode() if isinstance(s, str) else s
    return base64.b64encode(data)
