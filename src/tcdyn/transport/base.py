"""What a transport is: the contract between a client and the HTTP edge.

A ``Transport`` (sync) or ``AsyncTransport`` sends a ``call.bind.Call`` under its retry
policy (``call.retry.retry_flow``, driven by ``drive.drive`` / ``adrive``) and returns the
call's result, or raises tcdyn's typed error. ``auth`` replaces the transport's own signing
for one call (``OWN_AUTH``: the transport's; ``None``: unsigned). Every transport implements
one of them: ``httpcore_transport.PoolTransport`` and ``httpx_transport.HttpxTransport``
(sync), ``aiohttp_transport.AiohttpTransport`` and ``httpx_transport.AsyncHttpxTransport``
(async).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias, runtime_checkable

from ..errors import ClientClosedError

if TYPE_CHECKING:
    import httpx

    from ..call.bind import Call
    from ..call.options import RetryPolicy
    from ..call.response import Result
    from .proxies import ProxyRule


class _Own(enum.Enum):
    OWN_AUTH = "the transport's own auth"


#: ``send(call)`` signs with the transport's own auth (``auth=None`` sends unsigned).
OWN_AUTH = _Own.OWN_AUTH
#: What signs one call: the transport's own auth, an ``httpx.Auth`` (a ``hawk.HawkAuth`` for
#: the transports tcdyn creates), or None (unsigned).
CallAuth: TypeAlias = "httpx.Auth | Literal[_Own.OWN_AUTH] | None"


@runtime_checkable
class Transport(Protocol):
    """A sync client's transport."""

    policy: RetryPolicy
    timeout: float | None
    max_response_size: int
    #: What signs the calls (``OWN_AUTH``); a client sets it anew when its options change.
    auth: httpx.Auth | None

    def send(self, call: Call, auth: CallAuth = OWN_AUTH) -> Result:
        """The call's result (retried as the policy says), or tcdyn's typed error."""
        ...

    def close(self) -> None:
        """Close the connections tcdyn made; later calls raise ``ClientClosedError``."""
        ...


@runtime_checkable
class AsyncTransport(Protocol):
    """An async client's transport."""

    policy: RetryPolicy
    timeout: float | None
    max_response_size: int
    #: What signs the calls (``OWN_AUTH``); a client sets it anew when its options change.
    auth: httpx.Auth | None

    async def send(self, call: Call, auth: CallAuth = OWN_AUTH) -> Result:
        """The call's result (retried as the policy says), or tcdyn's typed error."""
        ...

    async def aclose(self) -> None:
        """Close the connections tcdyn made; later calls raise ``ClientClosedError``."""
        ...


class TransportBase:
    """What every transport keeps: the retry policy, the timeout of one attempt, the body
    size cap, the proxy rule of the environment when it was made (None for a user's own
    client, which has its own), and whether it was closed."""

    def __init__(self, policy: RetryPolicy, timeout: float | None, max_response_size: int,
                 proxies: ProxyRule | None) -> None:
        self.policy = policy
        self.timeout = timeout
        self.max_response_size = max_response_size
        self.proxies = proxies
        self._closed = False


def tcdyns_own(client: object, auth: object) -> bool:
    """Whether a client's calls go through tcdyn's own transports (httpcore's pool, aiohttp):
    made without a user's ``client=``, and signed by Hawk or not at all (a user's
    ``httpx.Auth`` runs on httpx)."""
    from .hawk import HawkAuth

    return client is None and (auth is None or type(auth) is HawkAuth)


def closed() -> ClientClosedError:
    """The error of a call on a closed client (every transport's)."""
    return ClientClosedError("this tcdyn client was closed: create a new one (a closed client "
                             "never reopens its connections)")
