"""A client's options: the defaults and every check, done once when the client is made, and
the retry policy (``RetryPolicy``).

``ClientOptions.parse`` takes what ``Queue(options, rootUrl=..., ...)`` was given (the official
options dict and tcdyn's keywords alike) and returns the settled values, or raises a
``TaskclusterArgumentError`` naming the option before anything is sent. ``LiveOptions`` is
``client.options``: the official dict, whose changes are checked the same way and take
effect from the next call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .. import checks
from ..auth.provider import CredentialsSource, credentials_source
from ..errors import TaskclusterArgumentError as ArgumentError
from ..tracing import check_trace_id

if TYPE_CHECKING:
    import httpx

#: Seconds one attempt may take: connecting, sending and reading the whole body.
DEFAULT_TIMEOUT = 30.0
#: Retries after the first try (as the official clients).
DEFAULT_MAX_RETRIES = 5
#: Seconds a signed URL (``buildSignedUrl``) stays valid.
DEFAULT_SIGNED_URL_EXPIRATION = 15 * 60.0
#: Ceiling on a response body, after decompression (bytes).
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024

#: The official client's options (the dict and keywords alike).
OPTION_NAMES = ("rootUrl", "credentials", "authorizedScopes", "maxRetries",
                "signedUrlExpiration", "timeout", "proxyUrl")
#: Keyword-only options beyond the official ones.
KEYWORD_NAMES = ("retry", "client", "session", "validate", "validate_responses", "auth",
                 "max_response_size", "traceId")

#: "Not given", as opposed to an explicit ``None``: ``credentials=None`` means anonymous
#: even when the options dict has credentials, and ``timeout=None`` means no timeout.
UNSET: Any = object()
#: What ``LiveOptions`` passes to its ``change`` for ``del options[key]``.
DELETE: Any = object()


class LiveOptions(MutableMapping[str, Any]):
    """A client's options, read and changed as the official client's ``options`` dict:
    reading gives the values in force; ``options[key] = value`` (``update``, ``del``) is
    checked as the constructor checks it and takes effect from the next call, or raises
    ``TaskclusterArgumentError`` and changes nothing. Values are the ones in force (the
    credentials as a ``Credentials``, never a dict with the secret); change a value by
    setting it whole. ``dict(options)`` is a copy."""

    __slots__ = ("_change", "_read")

    def __init__(self, read: Callable[[], Mapping[str, Any]],
                 change: Callable[[str, Any], None]) -> None:
        self._read = read
        self._change = change

    def __getitem__(self, key: str) -> Any:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._read()))

    def __len__(self) -> int:
        return len(self._read())

    def __setitem__(self, key: str, value: Any) -> None:
        self._change(key, value)

    def __delitem__(self, key: str) -> None:
        self._change(key, DELETE)

    def copy(self) -> dict[str, Any]:
        """A plain dict of the values in force (as ``dict.copy`` of the official dict)."""
        return dict(self._read())

    def __repr__(self) -> str:
        return repr(dict(self._read()))


def given_options(options: Mapping[str, Any] | None, **keywords: Any) -> dict[str, Any]:
    """The official options as given: the options dict, with the official options given as
    keywords over it (a keyword not given is ``None``, or ``UNSET`` for ``credentials`` and
    ``timeout``, where ``None`` has a meaning). Parsed again, it settles the same options."""
    given = dict(options or {})
    for key, value in keywords.items():
        if value is not UNSET and (value is not None or key in ("credentials", "timeout")):
            given[key] = value
    return given


def changed(given: Mapping[str, Any], owner: str, key: str, value: Any,
            names: tuple[str, ...]) -> dict[str, Any]:
    """``given`` with ``key`` set to ``value`` (or removed: ``DELETE``), for an official
    option ``key`` of ``names``; an unknown key is refused as the constructor refuses it."""
    if key not in names:
        raise unknown_option(owner, key, names)
    out = dict(given)
    if value is DELETE:
        out.pop(key, None)
    else:
        out[key] = value
    return out


@dataclass(frozen=True)
class RetryPolicy:
    """The official clients' policy: 5 retries on 5xx and connection errors with exponential
    backoff (0.1 s factor, +-25 % jitter, 30 s cap), and on 429 after ``Retry-After``."""

    max_retries: int = DEFAULT_MAX_RETRIES
    delay_factor: float = 0.1
    randomization_factor: float = 0.25
    max_delay: float = 30.0
    #: The longest ``Retry-After`` honoured; a longer one ends the retries.
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {self.max_retries!r}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        import random  # imported when a call is first retried

        base = self.delay_factor * 2.0 ** (retry - 1)
        jitter = 1 + self.randomization_factor * (2 * random.random() - 1)
        return min(base * jitter, self.max_delay)


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """A client's settled options."""

    root_url: str
    proxy_url: str | None
    #: What was given (a ``Credentials``, a dict, a provider, or None), for ``options``.
    credentials: Any
    authorized_scopes: list[str] | None
    #: A zero-argument callable giving the credentials to sign with, or None.
    credentials_source: CredentialsSource | None
    #: The user's own ``httpx.Auth`` (replacing Hawk), or None.
    user_auth: httpx.Auth | None
    retry: RetryPolicy
    timeout: float | None
    signed_url_expiration: float
    max_response_size: int
    validate: bool | None
    validate_responses: bool
    #: The user's ``httpx.Client`` / ``httpx.AsyncClient``, or None (tcdyn makes one).
    http_client: Any
    #: The trace id every call sends (``traceId=``, as the JS client's), or None: each call
    #: its own (``tcdyn.tracing``).
    trace_id: str | None = None

    @classmethod
    def parse(cls, owner: str, options: Mapping[str, Any] | None, session: Any, *,
              default_root_url: str | None, http_client_type: Callable[[ModuleType], type[Any]],
              rootUrl: str | None = None, credentials: Any = UNSET,
              authorizedScopes: list[str] | None = None, maxRetries: int | None = None,
              retry: RetryPolicy | None = None, timeout: Any = UNSET, client: Any = None,
              signedUrlExpiration: float | None = None, proxyUrl: str | None = None,
              validate: bool | None = None, validate_responses: bool = False,
              auth: Any = None, max_response_size: int | None = None,
              traceId: str | None = None,
              unknown: Mapping[str, Any] | None = None) -> ClientOptions:
        """Check and settle ``owner()``'s options (keywords win over the options dict)."""
        if options is not None and not isinstance(options, Mapping):
            raise ArgumentError(f"{owner}() options must be a dict, got "
                                f"{type(options).__name__}")
        opts = dict(options or {})
        known = (*OPTION_NAMES, *KEYWORD_NAMES)
        for key in opts:
            if key not in OPTION_NAMES:
                raise unknown_option(owner, key, known)
        for key in unknown or ():
            raise unknown_option(owner, key, known)
        proxy = proxyUrl or opts.get("proxyUrl")
        if proxy and (credentials not in (UNSET, None) or opts.get("credentials")):
            raise ArgumentError(f"{owner}() takes proxyUrl or credentials, not both: "
                                "the taskcluster-proxy signs requests itself")
        root = proxy or rootUrl or opts.get("rootUrl") or default_root_url
        if not root:
            raise ArgumentError(f"{owner}() needs a rootUrl (rootUrl=..., the "
                                "options dict, or from_env() with TASKCLUSTER_ROOT_URL)")
        root = checks.root_url(root)

        creds = opts.get("credentials") if credentials is UNSET else credentials
        scopes = authorizedScopes if authorizedScopes is not None else opts.get(
            "authorizedScopes")
        source = credentials_source(creds, scopes)
        retries = maxRetries if maxRetries is not None else opts.get("maxRetries")
        expiration = signedUrlExpiration if signedUrlExpiration is not None else opts.get(
            "signedUrlExpiration")
        seconds = opts.get("timeout", DEFAULT_TIMEOUT) if timeout is UNSET else timeout
        return cls(
            root_url=root, proxy_url=root if proxy else None,
            credentials=creds, authorized_scopes=scopes, credentials_source=source,
            user_auth=_user_auth(owner, auth, source),
            retry=_retry_policy(retry, retries),
            timeout=None if seconds is None else checks.seconds(seconds, f"{owner}() timeout"),
            signed_url_expiration=DEFAULT_SIGNED_URL_EXPIRATION if expiration is None
            else checks.seconds(expiration, f"{owner}() signedUrlExpiration"),
            max_response_size=_positive_int("max_response_size", max_response_size),
            validate=validate, validate_responses=validate_responses,
            http_client=_http_client(owner, client, session, http_client_type),
            trace_id=None if traceId is None else check_trace_id(traceId, f"{owner}() traceId"))

    def as_dict(self) -> dict[str, Any]:
        """The official client's options dict; never a raw credentials dict (secrets)."""
        creds = self.credentials
        if isinstance(creds, Mapping):
            creds = self.credentials_source() if self.credentials_source else None
        return {"rootUrl": self.root_url, "credentials": creds,
                "authorizedScopes": self.authorized_scopes,
                "maxRetries": self.retry.max_retries,
                "signedUrlExpiration": self.signed_url_expiration,
                "timeout": self.timeout, "proxyUrl": self.proxy_url}


def unknown_option(owner: str, key: Any, known: tuple[str, ...]) -> ArgumentError:
    """The error for an option ``owner`` does not know (keyword or options dict alike)."""
    import difflib

    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ArgumentError(f"{owner}() got an unknown option {key!r}{hint} "
                         f"(known: {', '.join(known)})")


def _positive_int(name: str, value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_RESPONSE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArgumentError(f"{name} must be a positive int (bytes), got {value!r}")
    return value


def _retry_policy(retry: RetryPolicy | None, retries: Any) -> RetryPolicy:
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)
                                or retries < 0):
        raise ArgumentError(f"maxRetries must be an int >= 0, got {retries!r}")
    if retry is None:
        return RetryPolicy(max_retries=DEFAULT_MAX_RETRIES if retries is None else retries)
    return retry if retries is None else dataclasses.replace(retry, max_retries=retries)


def _http_client(owner: str, client: Any, session: Any,
                 http_client_type: Callable[[ModuleType], type[Any]]) -> Any:
    if client is not None and session is not None:
        raise ArgumentError(f"{owner}() takes client= or session=, not both")
    given = client if client is not None else session
    if given is None:
        return None
    import httpx

    kind = http_client_type(httpx)
    if not isinstance(given, kind):
        origin = type(given).__module__.partition(".")[0]
        hint = {"requests": " (tcdyn uses httpx, not requests: tcdyn.createSession() makes "
                            "an httpx.Client)",
                "aiohttp": " (tcdyn takes an httpx.AsyncClient, not an aiohttp session: "
                           "tcdyn.aio.createSession() makes one)"}.get(origin, "")
        raise ArgumentError(f"{owner}() needs an {kind.__module__}.{kind.__name__} as "
                            f"client=/session=, got {type(given).__name__}{hint}")
    return given


def _user_auth(owner: str, auth: Any, credentials: Any) -> httpx.Auth | None:
    """The user's own ``httpx.Auth`` (it replaces Hawk signing), checked."""
    if auth is None:
        return None
    import httpx

    if not isinstance(auth, httpx.Auth):
        raise ArgumentError(f"{owner}() auth must be an httpx.Auth, got "
                            f"{type(auth).__name__}")
    if credentials is not None:
        raise ArgumentError(f"{owner}() takes auth or credentials, not both: auth replaces "
                            "Hawk signing")
    return auth
