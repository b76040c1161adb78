"""Server-side authentication, as a Taskcluster auth service does it.

Used by the local deployment to check what clients send: Hawk headers (sha256, 15 minutes
of clock skew, no nonce check), certificates of temporary credentials, authorizedScopes and
bewits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import mohawk
import mohawk.exc

SKEW_SECONDS = 15 * 60


@dataclass(frozen=True)
class ClientRecord:
    """A client the deployment knows: its accessToken and the scopes it holds."""

    accessToken: str
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Authenticated:
    """Who made a request, and the scopes the request may use."""

    clientId: str
    scopes: tuple[str, ...] = field(default=())


class AuthRejected(Exception):
    """The request carried credentials that do not verify; the message says why."""


def authenticate(method: str, url: str, headers: Mapping[str, str], body: bytes,
                 clients: Mapping[str, ClientRecord]) -> Authenticated | None:
    """Check a request's Hawk ``Authorization`` header.

    ``url`` is the full URL as received (scheme, host, port, path and query). Returns
    ``None`` when the request carries no credentials at all.
    """
    header = headers.get("authorization")
    if not header:
        return None

    def lookup(sender_id: str) -> dict:
        record = clients.get(sender_id)
        if record is None:
            raise mohawk.exc.CredentialsLookupError(f"unknown clientId {sender_id!r}")
        return {"id": sender_id, "key": record.accessToken, "algorithm": "sha256"}

    try:
        receiver = mohawk.Receiver(
            lookup, header, url, method,
            content=body or b"", content_type=headers.get("content-type", ""),
            accept_untrusted_content=True, seen_nonce=None,
            timestamp_skew_in_seconds=SKEW_SECONDS,
        )
    except mohawk.exc.HawkFail as exc:
        raise AuthRejected(f"{type(exc).__name__}: {exc}") from None
    client_id = receiver.resource.credentials["id"]
    return Authenticated(client_id, tuple(clients[client_id].scopes))
