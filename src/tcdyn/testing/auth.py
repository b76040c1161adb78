"""Server-side authentication, as a Taskcluster auth service does it.

Used by the local deployment to check what clients send: Hawk headers (sha256, 15 minutes
of clock skew, no nonce check, payload hash checked only when sent), bewits (GET/HEAD),
certificates of temporary credentials and authorizedScopes. Rejections carry the auth
service's messages (``Unauthorized: Bad mac``, ``ext.certificate.expiry < now``, ...) and
never a token, signature or MAC.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import mohawk
import mohawk.base
import mohawk.exc
import mohawk.util

from ..auth.credentials import certificate_signature, from_ms, is_number, temporary_access_token
from ..auth.scopes import scope_match, valid_scope

SKEW_SECONDS = 15 * 60
#: How far a certificate's start may lie in the future / its expiry in the past.
CERT_SKEW_MS = 5 * 60 * 1000
MAX_CERT_DURATION_MS = 31 * 24 * 60 * 60 * 1000

# hawk's own pattern: the resource, the separator before bewit, the bewit, what follows
_BEWIT = re.compile(r"^(/.*)([?&])bewit=([^&$]*)(?:&(.+))?$")
_BEWIT_CHARS = re.compile(r"^[\w-]*$")


@dataclass(frozen=True)
class ClientRecord:
    """A client the deployment knows: its accessToken and the scopes it holds."""

    accessToken: str
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"ClientRecord(scopes={list(self.scopes)!r})"


@dataclass(frozen=True)
class Authenticated:
    """Who made a request, and the scopes the request may use.

    ``scopes`` are the effective ones: the certificate's for temporary credentials, then
    ``authorizedScopes`` when given. ``scheme`` is ``"hawk"`` or ``"bewit"``; ``expires`` the
    certificate's expiry (``None`` for permanent credentials).
    """

    clientId: str
    scopes: tuple[str, ...] = field(default=())
    scheme: str = "hawk"
    expires: datetime | None = None


class AuthRejected(Exception):
    """The request carried credentials that do not verify; the message says why."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, item in headers.items():
            if key.lower() == name:
                return item
    return value


def authenticate(method: str, url: str, headers: Mapping[str, str], body: bytes,
                 clients: Mapping[str, ClientRecord], *,
                 now: float | None = None) -> Authenticated | None:
    """Check a request's Hawk ``Authorization`` header or its ``bewit``.

    ``url`` is the full URL as received (scheme, host, port, path and query); ``now`` (epoch
    seconds) defaults to the current time. Returns ``None`` when the request carries no
    credentials; raises :class:`AuthRejected` when they do not verify.
    """
    now = time.time() if now is None else now
    header = _header(headers, "authorization")
    parts = urllib.parse.urlsplit(url)
    resource = parts.path + (f"?{parts.query}" if parts.query else "")
    has_bewit = re.match(r"^/.*[?&]bewit=", resource) is not None
    if header and has_bewit:
        raise AuthRejected("Bad Request: Multiple authentications")
    if header:
        return _hawk(method, url, header, body, _header(headers, "content-type") or "",
                     clients, now)
    if has_bewit:
        return _bewit(method, parts, resource, clients, now)
    return None


# -- Hawk header ---------------------------------------------------------------------------

def _hawk(method: str, url: str, header: str, body: bytes, content_type: str,
          clients: Mapping[str, ClientRecord], now: float) -> Authenticated:
    if not header.lower().startswith("hawk "):
        raise AuthRejected("Unauthorized: the Authorization scheme must be Hawk")
    try:
        attrs = mohawk.util.parse_authorization_header(header)
    except mohawk.exc.HawkFail:
        raise AuthRejected("Bad Request: Invalid header syntax") from None
    if not all(attrs.get(k) for k in ("id", "ts", "nonce", "mac")):
        raise AuthRejected("Bad Request: Missing attributes")
    client_id = attrs["id"]
    key, scopes, expires = _load(client_id, attrs.get("ext"), clients, now)
    try:
        mohawk.Receiver(
            lambda _id: {"id": client_id, "key": key, "algorithm": "sha256"},
            header, url, method, content=body or b"", content_type=content_type,
            accept_untrusted_content=True, seen_nonce=lambda *_: False,
            timestamp_skew_in_seconds=SKEW_SECONDS,
            localtime_offset_in_seconds=now - time.time(),
        )
    except mohawk.exc.MacMismatch:
        raise AuthRejected("Unauthorized: Bad mac") from None
    except mohawk.exc.MisComputedContentHash:
        raise AuthRejected("Unauthorized: Bad payload hash") from None
    except mohawk.exc.TokenExpired:
        raise AuthRejected("Unauthorized: Stale timestamp") from None
    except (mohawk.exc.HawkFail, ValueError) as exc:  # mohawk's texts may quote MACs
        raise AuthRejected(f"Unauthorized: {type(exc).__name__}") from None
    return Authenticated(client_id, scopes, "hawk", expires)


# -- bewit ---------------------------------------------------------------------------------

def _b64decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional (as Node's ``Buffer.from``)."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _bewit(method: str, parts: urllib.parse.SplitResult, resource: str,
           clients: Mapping[str, ClientRecord], now: float) -> Authenticated:
    m = _BEWIT.match(resource)
    if m is None:  # pragma: no cover - has_bewit implies a match
        raise AuthRejected("Unauthorized")
    if method.upper() not in ("GET", "HEAD"):
        raise AuthRejected("Unauthorized: Invalid method")
    raw = m.group(3)
    if not raw:
        raise AuthRejected("Unauthorized: Empty bewit")
    if not _BEWIT_CHARS.match(raw):
        raise AuthRejected("Bad Request: Invalid bewit encoding")
    try:
        decoded = _b64decode(raw).decode("utf-8")
    except (binascii.Error, ValueError):
        raise AuthRejected("Bad Request: Invalid bewit encoding") from None
    fields = decoded.split("\\")
    if len(fields) != 4:
        raise AuthRejected("Bad Request: Invalid bewit structure")
    client_id, exp, mac, ext = fields
    if not (client_id and exp and mac):
        raise AuthRejected("Bad Request: Missing bewit attributes")
    try:
        expires_at = int(exp)
    except ValueError:
        raise AuthRejected("Bad Request: Invalid bewit structure") from None
    if expires_at <= now:
        raise AuthRejected("Unauthorized: Access expired")
    stripped = m.group(1) + (m.group(2) + m.group(4) if m.group(4) else "")
    key, scopes, expires = _load(client_id, ext or None, clients, now)
    try:
        target = mohawk.base.Resource(
            credentials={"id": client_id, "key": key, "algorithm": "sha256"},
            method="GET", url=f"{parts.scheme}://{parts.netloc}{stripped}",
            timestamp=exp, nonce="", ext=ext or None)
    except (mohawk.exc.HawkFail, ValueError):
        raise AuthRejected("Bad Request: Invalid bewit structure") from None
    expected = mohawk.util.calculate_mac("bewit", target, None).decode("ascii")
    if not hmac.compare_digest(expected, mac):
        raise AuthRejected("Unauthorized: Bad mac")
    return Authenticated(client_id, scopes, "bewit", expires)


# -- ext: certificates and authorizedScopes ------------------------------------------------

def _load(client_id: str, ext_text: str | None, clients: Mapping[str, ClientRecord],
          now: float) -> tuple[str, tuple[str, ...], datetime | None]:
    """(Hawk key, effective scopes, expiry) for a clientId and its ``ext``, as the auth
    service's ``loadCredentials``/``limitClientWithExt`` compute them."""
    ext: dict[str, Any] = {}
    if ext_text:
        try:
            ext = json.loads(_b64decode(ext_text).decode("utf-8"))
        except (binascii.Error, ValueError):
            raise AuthRejected("Failed to parse ext") from None
        if not isinstance(ext, dict):
            raise AuthRejected("Failed to parse ext")
    cert = ext.get("certificate")
    issuer = client_id
    if isinstance(cert, dict) and cert.get("issuer"):
        issuer = cert["issuer"]
        if not isinstance(issuer, str):
            raise AuthRejected("ext.certificate.issuer must be a string")
        if issuer == client_id:
            raise AuthRejected("ext.certificate.issuer must differ from the supplied clientId")
    record = clients.get(issuer)
    if record is None:
        raise AuthRejected(f"Client with clientId '{issuer}' not found")
    key, scopes, expires = record.accessToken, tuple(record.scopes), None
    if _truthy(cert):
        key, scopes, expires = _certificate(cert, client_id, issuer, record, now)
    authorized = ext.get("authorizedScopes")
    if _truthy(authorized):
        if not isinstance(authorized, list):
            raise AuthRejected("ext.authorizedScopes must be an array")
        if not all(valid_scope(s) for s in authorized):
            raise AuthRejected("ext.authorizedScopes must be an array of valid scopes")
        if not all(any(scope_match(h, s) for h in scopes) for s in authorized):
            raise AuthRejected("\n".join([
                "Supplied credentials do not satisfy authorizedScopes; "
                "credentials have scopes:", "", "```", *scopes, "```", "",
                "authorizedScopes are:", "", "```", *authorized, "```"]))
        scopes = tuple(authorized)
    return key, scopes, expires


def _truthy(value: Any) -> bool:
    """JavaScript's truthiness, which the auth service applies to ext's fields."""
    return bool(value) or isinstance(value, (list, dict))


def _certificate(cert: Any, client_id: str, issuer: str, record: ClientRecord, now: float
                 ) -> tuple[str, tuple[str, ...], datetime]:
    if not isinstance(cert, dict):
        raise AuthRejected("ext.certificate must be a JSON object")
    if cert.get("version") != 1 or isinstance(cert.get("version"), bool):
        raise AuthRejected("ext.certificate.version must be 1")
    if not isinstance(cert.get("seed"), str):
        raise AuthRejected("ext.certificate.seed must be a string")
    if len(cert["seed"]) != 44:
        raise AuthRejected("ext.certificate.seed must be 44 characters")
    for key in ("start", "expiry"):
        if not is_number(cert.get(key)):
            raise AuthRejected(f"ext.certificate.{key} must be a number")
    if not isinstance(cert.get("scopes"), list):
        raise AuthRejected("ext.certificate.scopes must be an array")
    if not all(valid_scope(s) for s in cert["scopes"]):
        raise AuthRejected("ext.certificate.scopes must be an array of valid scopes")
    now_ms = now * 1000
    if cert["start"] > now_ms + CERT_SKEW_MS:
        raise AuthRejected("ext.certificate.start > now")
    if cert["expiry"] < now_ms - CERT_SKEW_MS:
        raise AuthRejected("ext.certificate.expiry < now")
    if cert["expiry"] - cert["start"] > MAX_CERT_DURATION_MS:
        raise AuthRejected("ext.certificate cannot last longer than 31 days!")
    if issuer != client_id:
        create = f"auth:create-client:{client_id}"
        if not any(scope_match(h, create) for h in record.scopes):
            raise AuthRejected(f"ext.certificate issuer `{issuer}` doesn't have `{create}` "
                               "for supplied clientId.")
    elif "clientId" in cert:
        raise AuthRejected("ext.certificate.clientId must only be used with "
                           "ext.certificate.issuer")
    if not all(any(scope_match(h, s) for h in record.scopes) for s in cert["scopes"]):
        raise AuthRejected(f"ext.certificate issuer `{issuer}` doesn't satisfy all certificate "
                           f"scopes {', '.join(cert['scopes'])}.  The temporary credentials "
                           "were not generated correctly.")
    named = "issuer" in cert and bool(cert["issuer"])
    expected = certificate_signature(record.accessToken, cert, name=client_id if named else None,
                                     issuer=issuer if named else None)
    signature = cert.get("signature")
    if not isinstance(signature, str) or not hmac.compare_digest(
            signature.encode(), expected.encode()):
        raise AuthRejected("ext.certificate.signature is not valid, or wrong clientId provided"
                           if named else "ext.certificate.signature is not valid")
    return (temporary_access_token(record.accessToken, cert["seed"]), tuple(cert["scopes"]),
            from_ms(cert["expiry"]))
