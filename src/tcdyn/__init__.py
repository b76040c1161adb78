"""tcdyn: Taskcluster clients built at runtime from a deployment's API references.

``tcdyn.Queue``, ``tcdyn.Auth``, ``tcdyn.QueueEvents``, ... are built on first access from the
bundled references (or ``$TASKCLUSTER_REFERENCES``); ``tcdyn.aio.Queue`` is the async twin;
``tcdyn.load(rootUrl)`` builds the classes of any deployment from its own references.
Importing tcdyn is cheap: nothing is parsed, and neither httpx, jsonschema nor aio-pika is
imported, until a class or function is used.
"""

from __future__ import annotations

from .errors import (
    AuthenticationFailed,
    ClientClosedError,
    CredentialsError,
    InputError,
    InputTooLarge,
    InputValidationError,
    InsufficientScopes,
    InternalServerError,
    InvalidRequestArguments,
    InvalidResponse,
    MalformedPayload,
    ObjectHashVerificationError,
    PaginationLoopError,
    ProxyConfigurationError,
    ReferenceLoadError,
    RequestConflict,
    ResourceExpired,
    ResourceNotFound,
    ResponseTooLarge,
    SchemaNotAvailable,
    SchemaValidationError,
    ScopeExpressionError,
    ServiceNotFound,
    TaskclusterArgumentError,
    TaskclusterArtifactError,
    TaskclusterAuthFailure,
    TaskclusterConnectionError,
    TaskclusterFailure,
    TaskclusterRestFailure,
    TaskclusterTopicExchangeFailure,
)

#: ``typing.TYPE_CHECKING`` without importing ``typing`` (type checkers read any
#: ``TYPE_CHECKING`` as true): ``import tcdyn`` is on the path of every ``tcdyn`` command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # What the module ``__getattr__`` below makes on first access, spelled out for type
    # checkers (which then do not see that ``__getattr__``, so a misspelled name is an
    # error): the service classes of the bundled references come from the generated stubs
    # in ``_services/__init__.pyi``.
    from typing import Any

    import slugid as slugid

    from . import aio as aio
    from . import artifacts as artifacts
    from . import credentials as credentials
    from . import deployment as deployment
    from . import download as download
    from . import errors as errors
    from . import exceptions as exceptions
    from . import exchanges as exchanges
    from . import logs as logs
    from . import payloads as payloads
    from . import pulse as pulse
    from . import references as references
    from . import schemas as schemas
    from . import scopes as scopes
    from . import testing as testing
    from . import tracing as tracing
    from . import types as types
    from . import upload as upload
    from . import utils as utils
    from . import workflow as workflow
    from ._services import *  # noqa: F403
    from .auth.credentials import Credentials as Credentials
    from .auth.credentials import createTemporaryCredentials as createTemporaryCredentials
    from .call.options import RetryPolicy as RetryPolicy
    from .client.events import Binding as Binding
    from .deployment import Deployment as Deployment
    from .deployment import load as load
    from .tracing import trace_id as trace_id
    from .utils import createSession as createSession
    from .utils import dumpJson as dumpJson
    from .utils import encodeStringForB64Header as encodeStringForB64Header
    from .utils import fromNow as fromNow
    from .utils import fromNowJSON as fromNowJSON
    from .utils import isExpired as isExpired
    from .utils import makeB64UrlSafe as makeB64UrlSafe
    from .utils import makeB64UrlUnsafe as makeB64UrlUnsafe
    from .utils import optionsFromEnvironment as optionsFromEnvironment
    from .utils import scopeMatch as scopeMatch
    from .utils import slugId as slugId
    from .utils import slugIdV4 as slugIdV4
    from .utils import stableSlugId as stableSlugId
    from .utils import stringDate as stringDate
    from .views.timeline import timeline as timeline
    from .workflow.tasks import new_task as new_task

__version__ = "0.1.0"

# A library's log records reach only the handlers its application configures: the
# ``tcdyn`` logger gets its ``NullHandler`` from ``tcdyn.logger``, when a module that logs
# is imported (``logging`` costs the quick commands more than all of their own work).

# name -> module that defines it, imported on first access.
_LAZY = {
    "load": "deployment",
    "Deployment": "deployment",
    "Credentials": "auth.credentials",
    "createTemporaryCredentials": "auth.credentials",
    "RetryPolicy": "call.options",
    "Binding": "client.events",
    "slugid": "utils",  # the slugid package, as taskcluster.slugid
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
    "timeline": "views.timeline",
    "new_task": "workflow.tasks",
    "trace_id": "tracing",
}
_SUBMODULES = {"aio", "artifacts", "credentials", "deployment", "download", "errors",
               "exceptions", "exchanges", "logs", "payloads", "pulse", "references", "schemas",
               "scopes", "testing", "tracing", "types", "upload", "utils", "workflow"}

__all__ = [
    "AuthenticationFailed",
    "Binding",
    "ClientClosedError",
    "Credentials",
    "CredentialsError",
    "Deployment",
    "InputError",
    "InputTooLarge",
    "InputValidationError",
    "InsufficientScopes",
    "InternalServerError",
    "InvalidRequestArguments",
    "InvalidResponse",
    "MalformedPayload",
    "ObjectHashVerificationError",
    "PaginationLoopError",
    "ProxyConfigurationError",
    "ReferenceLoadError",
    "RequestConflict",
    "ResourceExpired",
    "ResourceNotFound",
    "ResponseTooLarge",
    "RetryPolicy",
    "SchemaNotAvailable",
    "SchemaValidationError",
    "ScopeExpressionError",
    "ServiceNotFound",
    "TaskclusterArgumentError",
    "TaskclusterArtifactError",
    "TaskclusterAuthFailure",
    "TaskclusterConnectionError",
    "TaskclusterFailure",
    "TaskclusterRestFailure",
    "TaskclusterTopicExchangeFailure",
    "createSession",
    "createTemporaryCredentials",
    "dumpJson",
    "encodeStringForB64Header",
    "fromNow",
    "fromNowJSON",
    "isExpired",
    "load",
    "makeB64UrlSafe",
    "makeB64UrlUnsafe",
    "new_task",
    "optionsFromEnvironment",
    "scopeMatch",
    "slugId",
    "slugIdV4",
    "stableSlugId",
    "stringDate",
    "timeline",
    "trace_id",
]
if TYPE_CHECKING:  # and the bundled service classes (a star import of _services)
    from . import _services

    __all__ += _services.__all__


if not TYPE_CHECKING:
    def __getattr__(name: str) -> Any:
        import importlib

        if name in _LAZY:
            value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        elif name in _SUBMODULES:
            value = importlib.import_module(f".{name}", __name__)
        elif name[:1].isupper():
            from .default import default_class

            value = default_class(name)
        else:
            raise AttributeError(f"module 'tcdyn' has no attribute {name!r}")
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    from .default import default

    public = {n for n in globals() if not n.startswith("_")} - {"annotations", "TYPE_CHECKING"}
    return sorted({*public, *_LAZY, *_SUBMODULES, *default().references.names()})
