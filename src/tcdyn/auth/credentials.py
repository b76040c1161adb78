"""Taskcluster credentials: permanent, temporary (certificates), authorizedScopes.

A :class:`Credentials` is immutable and never shows its ``accessToken`` (nor a certificate's
signature) in ``repr``, ``str`` or an exception message. Temporary credentials follow the
auth service's rules byte for byte (see ``NOTES.md``, "Temporary credentials").
"""

from __future__ import annotations

import binascii
import json
import logging
import re
from collections.abc import Iterable, Mapping
from types import EllipsisType, MappingProxyType
from typing import TYPE_CHECKING, Any

from ..errors import CredentialsError
from .scopes import valid_scope

if TYPE_CHECKING:  # datetime is imported where used: not every program needs it
    from datetime import datetime, timedelta

    MAX_TEMPORARY_DURATION: timedelta  # made by __getattr__ on first use

__all__ = [
    "MAX_TEMPORARY_DURATION",
    "Credentials",
    "certificate_signature",
    "createTemporaryCredentials",
    "temporary_access_token",
]

_MAX_DAYS = 31  # the longest a certificate may last (the auth service's limit)

_CLIENT_ID = re.compile(r"^[A-Za-z0-9!@/:.+|_-]+$")  # the auth service's clientId pattern
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
#: The millisecond timestamps a certificate may carry: those a ``datetime`` can hold
#: (0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z).
_MIN_MS = -62135596800000
_MAX_MS = 253402300799999
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_DICT_KEYS = {"clientId", "accessToken", "certificate", "authorizedScopes"}


class _NoMohawkDebug(logging.Filter):
    """mohawk's debug records print Hawk headers, MAC inputs and ext (with a certificate's
    signature); drop them so no secret reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


for _name in ("mohawk.base", "mohawk.util", "mohawk.sender", "mohawk.receiver", "mohawk.bewit"):
    logging.getLogger(_name).addFilter(_NoMohawkDebug())


# -- validation helpers -------------------------------------------------------------------

def _text(value: Any, field: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise CredentialsError(f"{field} is not valid UTF-8") from None
    if not isinstance(value, str):
        raise CredentialsError(f"{field} must be a string, got {type(value).__name__}")
    return value


def _client_id(value: Any, field: str = "clientId") -> str:
    text = _text(value, field)
    if not _CLIENT_ID.match(text):
        raise CredentialsError(
            f"{field} {text!r} is not a valid clientId (allowed: A-Z a-z 0-9 ! @ / : . + | _ -)")
    return text


def _access_token(value: Any) -> str:
    text = _text(value, "accessToken")
    if not _TOKEN.match(text):  # never echo the value
        raise CredentialsError("accessToken must be a non-empty printable-ASCII string "
                               "without whitespace")
    return text


def _scopes(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise CredentialsError(f"{field} must be a list of strings, got {type(value).__name__}")
    out = []
    for i, scope in enumerate(value):
        if not isinstance(scope, str):
            raise CredentialsError(f"{field}[{i}] must be a string, got {type(scope).__name__}")
        if not valid_scope(scope):
            raise CredentialsError(
                f"{field}[{i}] {scope!r} contains characters outside printable ASCII")
        out.append(scope)
    return tuple(out)


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (not a bool): a certificate's times are."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _certificate(value: Any, client_id: str) -> dict[str, Any] | None:
    """Parse and check a certificate; the result keeps the given key order."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        text = _text(value, "certificate")
        if not text.strip():
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:  # the message would quote the text: keep only the position
            raise CredentialsError(
                f"certificate is not valid JSON (line {exc.lineno}, column {exc.colno})"
                if isinstance(exc, json.JSONDecodeError) else "certificate is not valid JSON"
            ) from None
    if not isinstance(value, Mapping):
        raise CredentialsError(
            f"certificate must be a JSON object (or its JSON text), got {type(value).__name__}")
    cert = dict(value)
    if cert.get("version") != 1 or isinstance(cert.get("version"), bool):
        raise CredentialsError("certificate.version must be 1")
    for key in ("start", "expiry"):
        if not is_number(cert.get(key)):
            raise CredentialsError(f"certificate.{key} must be a number (milliseconds)")
        if not _MIN_MS <= cert[key] <= _MAX_MS:  # also False for NaN
            raise CredentialsError(
                f"certificate.{key} must be a finite number of milliseconds between years "
                f"1 and 9999, got {repr(cert[key])[:30]}")
    for key in ("seed", "signature"):
        if not isinstance(cert.get(key), str):
            raise CredentialsError(f"certificate.{key} must be a string")
    if len(cert["seed"]) != 44:
        raise CredentialsError("certificate.seed must be 44 characters")
    cert["scopes"] = _scopes(cert.get("scopes"), "certificate.scopes")
    if "issuer" in cert:
        issuer = _client_id(cert["issuer"], "certificate.issuer")
        if issuer == client_id:
            raise CredentialsError("certificate.issuer must differ from clientId "
                                   f"{client_id!r} (named credentials carry a new name)")
    return cert


def __getattr__(name: str) -> Any:
    if name == "MAX_TEMPORARY_DURATION":  #: the longest a certificate may last
        from datetime import timedelta

        return timedelta(days=_MAX_DAYS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _urlsafe_b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).decode("ascii")


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _epoch() -> datetime:
    from datetime import UTC, datetime

    return datetime(1970, 1, 1, tzinfo=UTC)


def _utc(value: datetime, field: str) -> datetime:
    from datetime import UTC, datetime

    if not isinstance(value, datetime):
        raise CredentialsError(f"{field} must be a datetime, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _ms(value: datetime) -> int:
    from datetime import timedelta

    return (value - _epoch()) // timedelta(milliseconds=1)


def from_ms(ms: float) -> datetime:
    """A certificate's time (milliseconds since the epoch) as a UTC datetime."""
    from datetime import timedelta

    return _epoch() + timedelta(milliseconds=ms)


def _iso(value: datetime) -> str:
    from ..utils import stringDate

    return stringDate(value)


# -- temporary credentials -----------------------------------------------------------------

def _issue(issuer: str, token: str, scopes: Any, start: datetime | None,
           expiry: timedelta | datetime, name: str | None, seed: str | None
           ) -> tuple[str, str, dict[str, Any]]:
    """(clientId, accessToken, certificate) of new temporary credentials."""
    from datetime import UTC, datetime, timedelta

    scope_list = list(_scopes(scopes, "scopes"))
    start = datetime.now(UTC) if start is None else _utc(start, "start")
    if isinstance(expiry, timedelta):
        expiry = start + expiry
    elif not isinstance(expiry, datetime):
        raise CredentialsError(
            f"expiry must be a datetime or a timedelta, got {type(expiry).__name__}")
    expiry = _utc(expiry, "expiry")
    if expiry <= start:
        raise CredentialsError(f"expiry {_iso(expiry)} must be after start {_iso(start)}")
    if expiry - start > timedelta(days=_MAX_DAYS):
        raise CredentialsError(
            f"temporary credentials may last at most 31 days; {expiry - start} was asked for")
    if name:
        name = _client_id(name, "name")
        if name == issuer:
            raise CredentialsError(
                f"name {name!r} must differ from the issuer's clientId")
    if seed is None:
        import slugid  # imported when first used: it loads uuid and platform

        seed = slugid.nice() + slugid.nice()
    elif not isinstance(seed, str) or len(seed) != 44:
        raise CredentialsError("seed must be a string of 44 characters (two slugids)")

    cert: dict[str, Any] = {"version": 1, "scopes": scope_list, "start": _ms(start),
                            "expiry": _ms(expiry), "seed": seed}
    cert["signature"] = certificate_signature(token, cert, name=name or None,
                                              issuer=issuer if name else None)
    if name:
        cert["issuer"] = issuer
    return name or issuer, temporary_access_token(token, seed), cert


def certificate_signature(issuer_token: str, cert: Mapping[str, Any], *,
                          name: str | None = None, issuer: str | None = None) -> str:
    """Standard base64 HMAC-SHA256 (keyed by the issuer's accessToken) over a certificate's
    signed lines; ``name`` and ``issuer`` only for named credentials."""
    lines = ["version:1"]
    if issuer is not None:
        lines += [f"clientId:{name}", f"issuer:{issuer}"]
    lines += [f"seed:{cert['seed']}", f"start:{_num(cert['start'])}",
              f"expiry:{_num(cert['expiry'])}", "scopes:", *cert["scopes"]]
    return _b64(_hmac_sha256(issuer_token, "\n".join(lines)))


def temporary_access_token(issuer_token: str, seed: str) -> str:
    """URL-safe base64 (no padding) of HMAC-SHA256(issuer accessToken, seed)."""
    return _urlsafe_b64(_hmac_sha256(issuer_token, seed)).rstrip("=")


def _hmac_sha256(key: str, message: str) -> bytes:
    import hashlib  # imported when first used (OpenSSL's loading is not free)
    import hmac

    return hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()


def _num(value: float) -> str:
    """A number as JavaScript prints it (integral floats without ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def createTemporaryCredentials(clientId: str, accessToken: str, start: datetime,
                               expiry: datetime | timedelta, scopes: Iterable[str],
                               name: str | None = None, *, seed: str | None = None
                               ) -> dict[str, str]:
    """Temporary credentials, in the official client's shape.

    Returns ``{"clientId", "accessToken", "certificate"}`` with the certificate as compact
    JSON text. Unlike the official client, times keep their milliseconds and the accessToken
    is a ``str``. Naive datetimes are taken as UTC.
    """
    issuer = _client_id(clientId)
    token = _access_token(accessToken)
    client_id, temp_token, cert = _issue(issuer, token, scopes, start, expiry, name, seed)
    return {"clientId": client_id, "accessToken": temp_token, "certificate": _compact(cert)}


# -- the credentials object ----------------------------------------------------------------

class Credentials:
    """A clientId and accessToken, with an optional certificate and authorizedScopes.

    Immutable and hashable. ``certificate`` is a read-only mapping (or ``None``);
    ``authorizedScopes`` a tuple (``None`` = unrestricted, ``()`` = no scopes at all).
    """

    __slots__ = ("_cert_json", "_ext", "accessToken", "authorizedScopes", "certificate",
                 "clientId")

    clientId: str
    accessToken: str
    certificate: Mapping[str, Any] | None
    authorizedScopes: tuple[str, ...] | None
    _cert_json: str | None
    _ext: str | EllipsisType | None  # ... until hawk_ext() computes it

    def __init__(self, clientId: str, accessToken: str,
                 certificate: Mapping[str, Any] | str | bytes | None = None,
                 authorizedScopes: Iterable[str] | None = None) -> None:
        client_id = _client_id(clientId)
        token = _access_token(accessToken)
        cert = _certificate(certificate, client_id)
        scopes = None if authorizedScopes is None else _scopes(authorizedScopes,
                                                               "authorizedScopes")
        set_ = object.__setattr__
        set_(self, "clientId", client_id)
        set_(self, "accessToken", token)
        set_(self, "certificate", None if cert is None else MappingProxyType(cert))
        set_(self, "_cert_json", None if cert is None else _compact(cert))
        set_(self, "authorizedScopes", scopes)
        set_(self, "_ext", ...)

    # immutability
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Credentials are immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Credentials are immutable (cannot delete {name!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.clientId, self.accessToken, self._cert_json,
                             self.authorizedScopes))

    def _key(self) -> tuple[Any, ...]:
        return (self.clientId, self.accessToken, self._cert_json, self.authorizedScopes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [f"clientId={self.clientId!r}"]
        if self.certificate is not None:
            parts.append("temporary")
            if "issuer" in self.certificate:
                parts.append(f"issuer={self.certificate['issuer']!r}")
            parts.append(f"expires {_iso(self.expires)}")  # type: ignore[arg-type]
        if self.authorizedScopes is not None:
            parts.append(f"authorizedScopes={list(self.authorizedScopes)!r}")
        return f"Credentials({', '.join(parts)})"

    __str__ = __repr__

    # construction
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials | None:
        """Credentials from ``TASKCLUSTER_CLIENT_ID`` / ``_ACCESS_TOKEN`` / ``_CERTIFICATE``;
        ``None`` when none is set (the rule of ``tcdyn.environment``)."""
        from .. import environment

        found = environment.credentials(environ)
        if found is None:
            return None
        try:
            return cls(*found)
        except CredentialsError as exc:
            raise CredentialsError(f"from the environment: {exc}") from None

    @classmethod
    def coerce(cls, value: Any) -> Credentials | None:
        """``Credentials``, the official dict ``{"clientId", "accessToken", "certificate"?}``
        (str or bytes values; ``authorizedScopes`` also accepted) or ``None``."""
        if value is None or isinstance(value, Credentials):
            return value
        if not isinstance(value, Mapping):
            raise CredentialsError(
                "credentials must be a Credentials, a dict with clientId and accessToken, "
                f"or None; got {type(value).__name__}")
        unknown = sorted(str(k) for k in value if k not in _DICT_KEYS)
        if unknown:
            raise CredentialsError(f"credentials dict has unknown keys {unknown} "
                                   f"(expected {sorted(_DICT_KEYS)})")
        client_id, token = value.get("clientId"), value.get("accessToken")
        if not client_id and not token:
            if value.get("certificate") or value.get("authorizedScopes") is not None:
                raise CredentialsError("credentials dict has no clientId and accessToken")
            return None  # the official client's "no credentials" form
        if not client_id:
            raise CredentialsError("credentials dict is missing clientId")
        if not token:
            raise CredentialsError("credentials dict is missing accessToken")
        return cls(client_id, token, value.get("certificate"), value.get("authorizedScopes"))

    def with_authorized_scopes(self, scopes: Iterable[str] | None) -> Credentials:
        """The same credentials restricted to ``scopes`` (``None`` lifts the restriction)."""
        return Credentials(self.clientId, self.accessToken, self._cert_json, scopes)

    def create_temporary(self, scopes: Iterable[str], expiry: timedelta | datetime,
                         start: datetime | None = None, name: str | None = None, *,
                         seed: str | None = None) -> Credentials:
        """Temporary credentials issued by these (permanent) credentials.

        ``expiry`` is a datetime or a duration from ``start`` (default: now); at most 31 days.
        ``name`` makes named temporary credentials (the issuer needs
        ``auth:create-client:<name>``). ``authorizedScopes`` carry over.
        """
        if self.certificate is not None:
            raise CredentialsError(
                f"cannot create temporary credentials from temporary credentials "
                f"({self.clientId!r}); issue them from permanent credentials")
        client_id, token, cert = _issue(self.clientId, self.accessToken, scopes, start,
                                        expiry, name, seed)
        return Credentials(client_id, token, cert, self.authorizedScopes)

    # Hawk
    def hawk_ext(self) -> str | None:
        """Hawk ``ext``: base64 of ``{"certificate", "authorizedScopes"}`` (each only when
        set), or ``None``. Computed once."""
        value = self._ext
        if isinstance(value, EllipsisType):
            ext: dict[str, Any] = {}
            if self.certificate is not None:
                ext["certificate"] = dict(self.certificate)
            if self.authorizedScopes is not None:
                ext["authorizedScopes"] = list(self.authorizedScopes)
            value = _urlsafe_b64(_compact(ext).encode()) if ext else None
            object.__setattr__(self, "_ext", value)
        return value

    def hawk_credentials(self) -> dict[str, str]:
        """A fresh ``{"id", "key", "algorithm"}`` dict for mohawk."""
        return {"id": self.clientId, "key": self.accessToken, "algorithm": "sha256"}

    # certificate facts
    def is_temporary(self) -> bool:
        return self.certificate is not None

    @property
    def issuer(self) -> str | None:
        """The clientId that issued these temporary credentials (``None`` if permanent)."""
        if self.certificate is None:
            return None
        issuer: str = self.certificate.get("issuer", self.clientId)
        return issuer

    @property
    def scopes(self) -> tuple[str, ...] | None:
        """The certificate's scopes (``None`` for permanent credentials)."""
        return None if self.certificate is None else tuple(self.certificate["scopes"])

    @property
    def start(self) -> datetime | None:
        return None if self.certificate is None else from_ms(self.certificate["start"])

    @property
    def expires(self) -> datetime | None:
        """When a certificate expires (UTC); ``None`` for permanent credentials."""
        return None if self.certificate is None else from_ms(self.certificate["expiry"])

    def is_expired(self, now: datetime | float | None = None,
                   margin: timedelta | float = 0) -> bool:
        """True when the certificate expires within ``margin`` of ``now`` (datetime or epoch
        seconds; default: the current time). Permanent credentials never expire here."""
        if self.certificate is None:
            return False
        from datetime import UTC, datetime, timedelta

        if now is None:
            now = datetime.now(UTC)
        elif is_number(now):
            now = _epoch() + timedelta(seconds=now)  # type: ignore[arg-type]
        now = _utc(now, "now")  # type: ignore[arg-type]
        if is_number(margin):
            margin = timedelta(seconds=margin)  # type: ignore[arg-type]
        elif not isinstance(margin, timedelta):
            raise CredentialsError("margin must be a timedelta or a number of seconds")
        try:
            return self.expires - margin <= now  # type: ignore[operator]
        except OverflowError:  # a margin past year 1 or 9999
            return margin > timedelta(0)


# -- bewits --------------------------------------------------------------------------------
