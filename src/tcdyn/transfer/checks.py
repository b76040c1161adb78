"""The checks of a transfer's arguments (before anything is sent), and what a transfer asks of
the service clients it is given, through their public surface (``client.meta``): timeout,
in-memory ceiling, and the object client of an ``object`` artifact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..call.options import DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_TIMEOUT, RetryPolicy
from ..checks import seconds
from ..errors import TaskclusterArgumentError


def check_str(func: str, name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TaskclusterArgumentError(f"{func}() argument {name!r} must be a non-empty str, "
                                       f"got {value!r:.60}")
    return value


def check_count(func: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TaskclusterArgumentError(f"{func}() argument {name!r} must be an int >= 0, "
                                       f"got {value!r:.60}")
    return value


def check_callable(func: str, name: str, value: Any, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not callable(value):
        raise TaskclusterArgumentError(f"{func}() argument {name!r} must be callable, got "
                                       f"{type(value).__name__}")
    return value


def check_service(func: str, name: str, value: Any, methods: tuple[str, ...]) -> Any:
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if value is None or missing:
        raise TaskclusterArgumentError(
            f"{func}() argument {name!r} must be a client with {', '.join(methods)} "
            f"(e.g. tcdyn.{'Queue' if 'Queue' in name or 'queue' in name else 'Object'}), "
            f"got {type(value).__name__}")
    return value


def check_deadline(func: str, deadline: Any) -> float | None:
    if deadline is None:
        return None
    return seconds(deadline, f"{func}() argument 'deadline'")


def policy(func: str, maxRetries: Any) -> RetryPolicy:
    return RetryPolicy(max_retries=check_count(func, "maxRetries", maxRetries))


def _own(service: Any, name: str) -> Any:
    """A tcdyn client's own attribute ``name`` (``client.meta``: never an API entry of that
    name), or None for another kind of client."""
    return getattr(getattr(service, "meta", None), name, None)


def service_timeout(service: Any) -> float | None:
    """The per-wait timeout of a tcdyn client (its ``timeout`` option), else the default."""
    value = _own(service, "timeout") if _own(service, "serviceName") else DEFAULT_TIMEOUT
    return value if value is None or isinstance(value, (int, float)) else DEFAULT_TIMEOUT


def service_max_size(service: Any) -> int:
    """The body ceiling of a tcdyn client (``max_response_size``), for in-memory results."""
    value = _own(service, "max_response_size")
    return value if isinstance(value, int) and value > 0 else DEFAULT_MAX_RESPONSE_SIZE


def object_client(queue: Any, credentials: Any, maxRetries: int, asynchronous: bool) -> Any:
    """An object-service client for an ``object`` artifact's credentials, from the same
    deployment (and with the same rootUrl and timeout) as ``queue``."""
    options = {"credentials": credentials, "maxRetries": maxRetries}
    sibling = _own(queue, "sibling")
    if callable(sibling):
        return sibling("Object", asynchronous=asynchronous, **options)
    from ..default import default

    given = getattr(queue, "options", None)
    root = given.get("rootUrl") if isinstance(given, Mapping) else None
    return default().build("Object", asynchronous=asynchronous)(
        rootUrl=root, timeout=service_timeout(queue), **options)
