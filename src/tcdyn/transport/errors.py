"""Failures of the HTTP libraries in one vocabulary, shown one way.

tcdyn speaks three HTTP libraries (httpcore's pool, aiohttp, httpx); the retry flow retries
and reports (``TaskclusterConnectionError.superExc``) httpx's exception classes, whichever
library sent. ``httpx_class`` is the one map from an httpcore or aiohttp failure to its httpx
class; ``shown_request`` is the one way a request appears on an exception: its Authorization
replaced by ``redact.REDACTED``. ``failure`` and ``expired`` build the exceptions the
transports give back to the retry flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..redact import REDACTED

if TYPE_CHECKING:
    import httpx

#: aiohttp's failures, most specific first, by class name (aiohttp is imported only by the
#: async transports; these names are looked up on the failure's own classes).
_AIOHTTP = (("TooManyRedirects", "TooManyRedirects"),
            ("ConnectionTimeoutError", "ConnectTimeout"),  # aiohttp >= 3.10
            ("ServerTimeoutError", "ReadTimeout"),
            ("ClientConnectorError", "ConnectError"),
            ("ServerDisconnectedError", "RemoteProtocolError"),
            ("ClientPayloadError", "RemoteProtocolError"),
            ("ClientResponseError", "RemoteProtocolError"),
            ("ClientOSError", "ReadError"))


def httpx_class(exc: BaseException) -> type[httpx.RequestError]:
    """httpx's exception class for a failure of httpcore (the class of the same name, as
    httpx maps them) or of aiohttp; ``httpx.TransportError`` for anything else."""
    import httpx

    classes = type(exc).__mro__
    library = type(exc).__module__.partition(".")[0]
    if library == "httpcore":
        for cls in classes:
            mapped = getattr(httpx, cls.__name__, None)
            if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
                return mapped
    elif library == "aiohttp":
        names = {cls.__name__ for cls in classes}
        for name, httpx_name in _AIOHTTP:
            if name in names:
                found: type[httpx.RequestError] = getattr(httpx, httpx_name)
                return found
    return httpx.TransportError


def httpx_name(exc: BaseException) -> str:
    """The name of ``httpx_class(exc)``."""
    return httpx_class(exc).__name__


def shown_request(method: str, url: str | httpx.URL,
                  headers: Mapping[str, str] | list[tuple[bytes, bytes]],
                  content: bytes | None) -> httpx.Request:
    """The ``httpx.Request`` an exception carries for a request sent with ``headers``: the
    same, its Authorization redacted."""
    import httpx

    if isinstance(headers, list):
        redacted = REDACTED.encode()
        sent = [(k, redacted if k.lower() == b"authorization" else v) for k, v in headers]
        return httpx.Request(method, url, headers=sent, content=content)
    named = [(k, REDACTED if k.lower() == "authorization" else v) for k, v in headers.items()]
    return httpx.Request(method, url, headers=named, content=content)


def failure(exc: BaseException, request: httpx.Request) -> httpx.RequestError:
    """httpx's exception for ``exc`` (``httpx_class``), carrying ``request`` (made by
    ``shown_request``), ``exc`` its cause."""
    error = httpx_class(exc)(str(exc) or type(exc).__name__, request=request)
    error.__cause__ = exc
    return error


def expired(total: float, request: httpx.Request) -> httpx.ReadTimeout:
    """The exception of an attempt whose deadline (``total`` seconds) passed."""
    import httpx

    return httpx.ReadTimeout(f"no whole response within the {total:g} s timeout",
                             request=request)
