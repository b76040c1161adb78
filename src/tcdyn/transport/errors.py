"""Failures of the HTTP libraries in one vocabulary: httpx's exception classes, which the
retry flow retries and reports (``TaskclusterConnectionError``) whichever library sent."""

from __future__ import annotations

import aiohttp


def httpx_name(exc: aiohttp.ClientError) -> str:
    """The httpx exception class for an aiohttp failure."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "ConnectError"
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                        aiohttp.ClientResponseError)):
        return "RemoteProtocolError"
    if isinstance(exc, aiohttp.ClientOSError):
        return "ReadError"
    return "TransportError"
