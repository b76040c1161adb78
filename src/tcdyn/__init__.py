"""tcdyn: Taskcluster clients built at runtime from a deployment's API references.

``tcdyn.Queue``, ``tcdyn.Auth``, ``tcdyn.QueueEvents``, ... are built on first access from the
bundled references (or ``$TASKCLUSTER_REFERENCES``); ``tcdyn.aio.Queue`` is the async twin;
``tcdyn.load(rootUrl)`` builds the classes of any deployment from its own references.
Importing tcdyn is cheap: nothing is parsed, and neither httpx, jsonschema nor aio-pika is
imported, until a class or function is used.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .errors import (
    BY_CODE,
    ClientClosedError,
    CredentialsError,
    InvalidResponse,
    ObjectHashVerificationError,
    ReferenceLoadError,
    ResponseTooLarge,
    SchemaNotAvailable,
    SchemaValidationError,
    ScopeExpressionError,
    TaskclusterArgumentError,
    TaskclusterArtifactError,
    TaskclusterAuthFailure,
    TaskclusterConnectionError,
    TaskclusterFailure,
    TaskclusterRestFailure,
    TaskclusterTopicExchangeFailure,
)

if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

# A library's log records reach only the handlers its application configures.
logging.getLogger("tcdyn").addHandler(logging.NullHandler())

# name -> module that defines it, imported on first access.
_LAZY = {
    "load": "deployment",
    "Deployment": "deployment",
    "Credentials": "credentials",
    "createTemporaryCredentials": "credentials",
    "RetryPolicy": "request",
    "Binding": "exchanges",
    "slugId": "utils",
    "slugIdV4": "utils",
    "stableSlugId": "utils",
    "fromNow": "utils",
    "fromNowJSON": "utils",
    "optionsFromEnvironment": "utils",
    "stringDate": "utils",
    "dumpJson": "utils",
    "scopeMatch": "utils",
    "isExpired": "utils",
    "createSession": "utils",
    "encodeStringForB64Header": "utils",
    "makeB64UrlSafe": "utils",
    "makeB64UrlUnsafe": "utils",
}
_SUBMODULES = {"aio", "artifacts", "credentials", "deployment", "download", "errors",
               "exchanges", "pulse", "references", "schemas", "scopes", "testing", "upload",
               "utils"}

globals().update({name: cls for name, cls in
                  ((c.__name__, c) for c in BY_CODE.values())})

__all__ = [
    "ClientClosedError", "CredentialsError", "InvalidResponse", "ObjectHashVerificationError",
    "ReferenceLoadError", "TaskclusterArtifactError",
    "ResponseTooLarge", "SchemaNotAvailable", "SchemaValidationError",
    "ScopeExpressionError", "TaskclusterArgumentError",
    "TaskclusterAuthFailure", "TaskclusterConnectionError", "TaskclusterFailure",
    "TaskclusterRestFailure", "TaskclusterTopicExchangeFailure", *BY_CODE, *_LAZY,
]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name[:1].isupper():
        from .deployment import default_class

        value = default_class(name)
    else:
        raise AttributeError(f"module 'tcdyn' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    from .deployment import default

    public = {n for n in globals() if not n.startswith("_")} - {"annotations", "TYPE_CHECKING"}
    return sorted({*public, *_LAZY, *_SUBMODULES, *default().references.names()})
