"""Base classes of every built HTTP client: options, credentials, URLs, sync and async calls.

``ServiceMeta`` (in ``meta``) subclasses ``Client`` or ``AsyncClient`` once per reference and
adds one method per entry; each method ends in ``_call`` here. Options follow the official
client: ``Queue({"rootUrl": ..., "credentials": {...}})`` or keywords.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from . import request as rq
from .credentials import Credentials
from .errors import CredentialsError, InsufficientScopes, UnknownMethodError
from .errors import TaskclusterArgumentError as ArgumentError
from .legacy import is_legacy_root, service_origin
from .meta import Extras

if TYPE_CHECKING:
    import httpx

    from .deployment import Deployment
    from .model import EntryModel, ServiceModel

_OPTION_NAMES = ("rootUrl", "credentials", "authorizedScopes", "maxRetries",
                 "signedUrlExpiration", "timeout", "proxyUrl")
#: Keyword-only options beyond the official ones.
_KEYWORD_NAMES = ("retry", "client", "session", "validate", "validate_responses", "auth",
                  "max_response_size")
#: How long a client trusts ``auth.currentScopes`` for its preflight checks.
SCOPES_TTL = 300.0
_UNSET: Any = object()
_C = TypeVar("_C", bound="_Base")
_S = TypeVar("_S", bound="Client")
_A = TypeVar("_A", bound="AsyncClient")


def api_base_url(root_url: str, service: str, api_version: str,
                 base_url: str | None = None) -> str:
    """``<rootUrl>/api/<service>/<apiVersion>``; for the legacy rootUrl
    ``https://taskcluster.net``, ``https://<service>.taskcluster.net/<apiVersion>``, the host
    taken from a 2018 reference's ``baseUrl`` when it names a ``*.taskcluster.net`` host."""
    root_url = root_url.rstrip("/")
    if is_legacy_root(root_url):
        return f"{service_origin(service, base_url)}/{api_version}"
    import taskcluster_urls

    return taskcluster_urls.api(root_url, service, api_version, "").rstrip("/")


class _Base:
    """What sync and async clients share: configuration, binding, URLs, repr."""

    serviceName: ClassVar[str]
    apiVersion: ClassVar[str]
    _model: ClassVar[ServiceModel]
    _deployment: ClassVar[Deployment]

    def __init__(self, options: Mapping[str, Any] | None = None, session: Any = None, *,
                 rootUrl: str | None = None, credentials: Any = _UNSET,
                 authorizedScopes: list[str] | None = None, maxRetries: int | None = None,
                 retry: rq.RetryPolicy | None = None, timeout: float | None = _UNSET,
                 client: Any = None, signedUrlExpiration: float | None = None,
                 proxyUrl: str | None = None, validate: bool | None = None,
                 validate_responses: bool = False, auth: Any = None,
                 max_response_size: int | None = None, **unknown: Any) -> None:
        name = type(self).__name__
        if options is not None and not isinstance(options, Mapping):
            raise ArgumentError(f"{name}() options must be a dict, got "
                                f"{type(options).__name__}")
        opts = dict(options or {})
        for key in (*opts, *unknown):
            if key not in (_OPTION_NAMES if key in opts else (*_OPTION_NAMES, *_KEYWORD_NAMES)):
                raise unknown_option(name, key, (*_OPTION_NAMES, *_KEYWORD_NAMES))
        proxy = proxyUrl or opts.get("proxyUrl")
        if proxy and (credentials not in (_UNSET, None) or opts.get("credentials")):
            raise ArgumentError(f"{name}() takes proxyUrl or credentials, not both: "
                                "the taskcluster-proxy signs requests itself")
        self._proxy_url = proxy.rstrip("/") if proxy else None
        root = proxy or rootUrl or opts.get("rootUrl") or self._deployment.root_url
        if not root:
            raise ArgumentError(f"{name}() needs a rootUrl (rootUrl=..., the "
                                "options dict, or from_env() with TASKCLUSTER_ROOT_URL)")
        if not isinstance(root, str) or not root.startswith(("http://", "https://")):
            raise ArgumentError(f"rootUrl must be an http(s) URL, got {root!r}")
        self._root_url = root.rstrip("/")
        self._base_url = api_base_url(self._root_url, self._model.serviceName,
                                      self._model.apiVersion, self._model.baseUrl)

        creds = opts.get("credentials") if credentials is _UNSET else credentials
        scopes = authorizedScopes if authorizedScopes is not None else opts.get(
            "authorizedScopes")
        self._credentials_source = _credentials_source(creds, scopes)
        self._user_auth = _user_auth(type(self).__name__, auth, self._credentials_source)
        self._max_response_size = _positive_int("max_response_size", max_response_size)

        retries = maxRetries if maxRetries is not None else opts.get("maxRetries")
        if retry is None:
            retry = rq.RetryPolicy(max_retries=5 if retries is None else retries)
        elif retries is not None:
            retry = dataclasses.replace(retry, max_retries=retries)
        self._retry = retry
        expiration = signedUrlExpiration if signedUrlExpiration is not None else opts.get(
            "signedUrlExpiration")
        self._signed_url_expiration = 15 * 60.0 if expiration is None else _positive(
            name, "signedUrlExpiration", expiration)
        self._timeout = opts.get("timeout", 30.0) if timeout is _UNSET else timeout
        if self._timeout is not None:
            self._timeout = _positive(name, "timeout", self._timeout)
        self._validate = validate
        self._validate_responses = validate_responses
        self._options = {"rootUrl": self._root_url, "credentials": creds,
                         "authorizedScopes": scopes, "maxRetries": retry.max_retries,
                         "signedUrlExpiration": self._signed_url_expiration,
                         "timeout": self._timeout, "proxyUrl": self._proxy_url}
        if isinstance(creds, Mapping):  # never a secret in a printable dict
            self._options["credentials"] = self._credentials_source()
        self._scopes_cache: tuple[float, Any, tuple[str, ...]] | None = None
        self._make_transport(self._http_client(name, client, session))

    # -- tcdyn's own public names: API entries of the same name take precedence on a
    # client; every one stays reachable as ``client.meta.<name>``.

    meta = property(Extras, doc="tcdyn's own attributes, apart from the API's names.")
    #: The same; no API entry can take a name starting with ``_``.
    _meta = meta

    @property
    def rootUrl(self) -> str:
        """The deployment's rootUrl (the taskcluster-proxy's URL when going through it)."""
        return self._root_url

    @property
    def proxyUrl(self) -> str | None:
        """The taskcluster-proxy requests go to (unsigned), or None."""
        return self._proxy_url

    @property
    def options(self) -> dict[str, Any]:
        """The official client's options dict (a copy); ``credentials`` is the
        ``Credentials`` (whose repr hides the secrets) or the provider, never a raw dict."""
        return dict(self._options)

    @property
    def retry(self) -> rq.RetryPolicy:
        return self._retry

    @property
    def timeout(self) -> float | None:
        return self._timeout

    @property
    def signedUrlExpiration(self) -> float:
        return self._signed_url_expiration

    @property
    def validate(self) -> bool | None:
        return self._validate

    @property
    def validate_responses(self) -> bool:
        return self._validate_responses

    def _http_client(self, name: str, client: Any, session: Any) -> Any:
        if client is not None and session is not None:
            raise ArgumentError(f"{name}() takes client= or session=, not both")
        given = client if client is not None else session
        if given is None:
            return None
        import httpx

        kind = self._http_client_type(httpx)
        if not isinstance(given, kind):
            hint = (" (tcdyn uses httpx, not requests)" if type(given).__module__.startswith(
                "requests") else "")
            raise ArgumentError(f"{name}() needs an {kind.__module__}.{kind.__name__} as "
                                f"client=/session=, got {type(given).__name__}{hint}")
        return given

    @staticmethod
    def _http_client_type(httpx: Any) -> type:
        raise NotImplementedError

    @classmethod
    def from_env(cls: type[_C], **kwargs: Any) -> _C:
        """A client configured from TASKCLUSTER_ROOT_URL, TASKCLUSTER_CLIENT_ID,
        TASKCLUSTER_ACCESS_TOKEN and TASKCLUSTER_CERTIFICATE (keywords override them).

        Inside a task with no credentials in the environment but TASKCLUSTER_PROXY_URL set,
        requests go to the taskcluster-proxy, unsigned (the proxy signs them)."""
        from . import environment as env

        if "credentials" not in kwargs and "proxyUrl" not in kwargs:
            creds = Credentials.from_env()
            proxy = env.value(env.PROXY_URL)
            if creds is None and proxy:
                kwargs["proxyUrl"] = proxy
            else:
                kwargs["credentials"] = creds
        if "proxyUrl" not in kwargs:
            kwargs.setdefault("rootUrl", env.value(env.ROOT_URL))
        return cls(**kwargs)

    def _make_transport(self, client: Any) -> None:
        raise NotImplementedError

    def _auth(self) -> httpx.Auth | None:
        from .hawk import HawkAuth, origin_of

        if self._user_auth is not None:
            return self._user_auth
        if self._credentials_source is None:
            return None
        # The origin requests go to: the rootUrl's, or a legacy service host of
        # https://taskcluster.net (https://queue.taskcluster.net), and no other.
        return HawkAuth(self._credentials_source, origin_of(self._base_url))

    @property
    def credentials(self) -> Credentials | None:
        """The credentials the next request will be signed with (never printed in full);
        asks the provider, if credentials come from one."""
        return self._current_credentials()

    def _current_credentials(self) -> Credentials | None:
        if not self._credentials_source:
            return None
        creds = self._credentials_source()
        if creds is not None and not isinstance(creds, Credentials):
            creds.close()  # an async provider's coroutine, never awaited
            raise CredentialsError("the credentials provider is async: its credentials are "
                                   "only known when a request is signed")
        return creds

    def _bind(self, entry: EntryModel, args: tuple, kwargs: dict) -> rq.Call:
        call = rq.bind(self._model.serviceName, self._base_url, entry, args, kwargs)
        if call.body is not None and self._validate is not False and \
                self._deployment.validating():
            # The JSON that will be sent, so that datetimes are checked as strings.
            self._deployment.check(self._model.serviceName, entry.input,
                                   json.loads(call.body), f"{entry.name} payload")
        return call

    def _checked_result(self, entry: EntryModel, result: Any) -> Any:
        if self._validate_responses and entry.output and result is not None:
            self._deployment.check(self._model.serviceName, entry.output, result,
                                   f"{entry.name} response")
        return result

    def _entry(self, method_name: str) -> EntryModel:
        try:
            return self._model.entries[method_name]
        except KeyError:
            raise UnknownMethodError(f"{type(self).__name__} has no method "
                                     f"{method_name!r}") from None

    def buildUrl(self, methodName: str, *args: Any, **kwargs: Any) -> str:
        """The unsigned URL of a call (query included), as the official client builds it."""
        entry = self._entry(methodName)
        call = self._bind(entry, args, kwargs)
        if call.query:
            import httpx

            return str(httpx.URL(call.url, params=call.query))
        return call.url

    def buildSignedUrl(self, methodName: str, *args: Any, expiration: float | None = None,
                       **kwargs: Any) -> str:
        """A URL carrying a Hawk bewit, valid ``expiration`` seconds (default 15 minutes),
        for a GET entry without payload."""
        from .credentials import signed_url

        entry = self._entry(methodName)
        if entry.method != "GET" or entry.input is not None:
            raise ArgumentError(f"{methodName}() is {entry.method}: only GET entries without "
                                "a payload can be signed into a URL")
        credentials = self._current_credentials()
        if credentials is None:
            raise ArgumentError(f"{type(self).__name__} has no credentials to sign a URL with")
        url = _Base.buildUrl(self, methodName, *args, **kwargs)
        return signed_url(credentials, url, self._signed_url_expiration
                          if expiration is None else expiration)

    def _auth_client_kwargs(self, creds: Credentials | None) -> dict[str, Any]:
        """How to reach this deployment's auth service as this client does."""
        if self._proxy_url:
            return {"proxyUrl": self._proxy_url}
        return {"rootUrl": self._root_url, "credentials": creds}

    def _fresh_scopes(self, creds: Credentials | None) -> tuple[str, ...] | None:
        cached = self._scopes_cache
        if cached is None or time.monotonic() - cached[0] > SCOPES_TTL:
            return None
        return cached[2] if cached[1] == creds else None

    def _keep_scopes(self, creds: Credentials | None, scopes: Any) -> tuple[str, ...]:
        held = tuple(scopes)
        self._scopes_cache = (time.monotonic(), creds, held)
        return held

    def _check_scopes(self, entry: EntryModel, args: tuple, kwargs: dict,
                      held: tuple[str, ...]) -> Any:
        from .scopes import call_params, check

        values, payload, _ = rq.bind_arguments(entry, args, _call_kwargs(kwargs)[0])
        params = call_params(self._model.serviceName, entry.name,
                             dict(zip(entry.args, values, strict=True)), payload)
        return check(held, entry.scopes if entry.scopes is not None else {"AllOf": []}, params)

    def _whoami(self, creds: Credentials | None, held: tuple[str, ...]) -> dict[str, Any]:
        return {"rootUrl": self._root_url, "proxy": self._proxy_url,
                "clientId": creds.clientId if creds else None,
                "temporary": bool(creds and creds.is_temporary()),
                "expires": creds.expires if creds else None,
                "authorizedScopes": list(creds.authorizedScopes)
                if creds and creds.authorizedScopes is not None else None,
                "scopes": list(held)}

    def __repr__(self) -> str:
        # Never calls a credentials provider: repr must not fail nor have side effects.
        source = self._credentials_source
        if self._proxy_url:
            who = "via taskcluster-proxy (unsigned)"
        elif source is None:
            who = "no credentials"
        elif isinstance(source, _Fixed):
            who = f"clientId={source.credentials.clientId!r}"
        else:
            who = "credentials from a provider"
        return (f"<tcdyn.{type(self).__name__} rootUrl={self._root_url!r} "
                f"references={self._deployment.references.describe()!r} {who}>")


def unknown_option(owner: str, key: Any, known: tuple[str, ...]) -> ArgumentError:
    """The error for an option ``owner`` does not know (keyword or options dict alike)."""
    import difflib

    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ArgumentError(f"{owner}() got an unknown option {key!r}{hint} "
                         f"(known: {', '.join(known)})")


def _positive(owner: str, name: str, value: Any) -> float:
    """A number of seconds > 0, or a clear error (0 is not silently a default)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 < value < float("inf"):
        raise ArgumentError(f"{owner}() {name} must be a number of seconds > 0, "
                            f"got {value!r}")
    return float(value)


def _call_kwargs(kwargs: dict) -> tuple[dict, Any]:
    """A call's keywords without the official ``paginationHandler`` / ``paginationLimit``,
    and (handler, limit)."""
    if "paginationHandler" not in kwargs and "paginationLimit" not in kwargs:
        return kwargs, None
    rest = dict(kwargs)
    handler = rest.pop("paginationHandler", None)
    limit = rest.pop("paginationLimit", None)
    if handler is not None and not callable(handler):
        raise ArgumentError(f"paginationHandler must be callable, got {type(handler).__name__}")
    return rest, (handler, limit)


def _with_limit(entry: EntryModel, kwargs: dict, limit: Any) -> dict:
    if limit is None or "limit" not in entry.query:
        return kwargs
    return {**kwargs, "query": {**(kwargs.get("query") or {}), "limit": limit}}


class _Fixed:
    """A credentials source that always gives the same credentials."""

    __slots__ = ("credentials",)

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def __call__(self) -> Credentials:
        return self.credentials


def _cannot_check(exc: InsufficientScopes) -> Any:
    from .scopes import Check

    return Check(None, None, (), reason="cannot read this client's scopes: auth.currentScopes "
                 f"answered {exc.code or exc.status_code}: {exc.message}")


def _credentials_source(value: Any, authorized_scopes: Any) -> Any:
    """A zero-argument callable returning the credentials to sign with, or None."""
    if value is None or value is _UNSET:
        return None
    if callable(value) and not isinstance(value, (Credentials, Mapping)):
        provider = value

        def finish(value: Any) -> Credentials | None:
            creds = Credentials.coerce(value)
            if creds is not None and authorized_scopes is not None:
                creds = creds.with_authorized_scopes(authorized_scopes)
            return creds

        def source() -> Any:
            value = provider()
            if inspect.isawaitable(value):  # an async provider: the async flow awaits it
                return _Pending(value, finish)
            return finish(value)

        return source
    creds = Credentials.coerce(value)
    if creds is None:
        return None
    if authorized_scopes is not None:
        creds = creds.with_authorized_scopes(authorized_scopes)
    return _Fixed(creds)


class _Pending:
    """An async provider's pending credentials: awaited by the async Hawk flow, closed
    (never awaited) where credentials are needed synchronously."""

    __slots__ = ("_awaitable", "_finish")

    def __init__(self, awaitable: Any, finish: Any) -> None:
        self._awaitable = awaitable
        self._finish = finish

    def __await__(self) -> Any:
        return self._run().__await__()

    async def _run(self) -> Credentials | None:
        return self._finish(await self._awaitable)

    def close(self) -> None:
        close = getattr(self._awaitable, "close", None)
        if close is not None:
            close()


def _user_auth(owner: str, auth: Any, credentials: Any) -> Any:
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


def _positive_int(name: str, value: Any) -> int:
    from .response import DEFAULT_MAX_RESPONSE_SIZE

    if value is None:
        return DEFAULT_MAX_RESPONSE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ArgumentError(f"{name} must be a positive int (bytes), got {value!r}")
    return value


class Client(_Base):
    """Base of every synchronous service client (``tcdyn.Queue``, ...)."""

    def _make_transport(self, client: httpx.Client | None) -> None:
        from .transport import SyncTransport

        self._transport = SyncTransport(self._auth(), self._retry, client=client,
                                        timeout=self._timeout,
                                        max_response_size=self._max_response_size)

    @staticmethod
    def _http_client_type(httpx: Any) -> type:
        return httpx.Client

    def _call(self, entry: EntryModel, args: tuple, kwargs: dict) -> Any:
        if kwargs:
            kwargs, paging = _call_kwargs(kwargs)
            if paging is not None:
                handler, limit = paging
                kwargs = _with_limit(entry, kwargs, limit)
                if handler is not None:  # the official form: each page to the handler
                    for page in self._pages(entry, args, kwargs):
                        handler(page)
                    return None
        result = self._transport.send(self._bind(entry, args, kwargs))
        return self._checked_result(entry, result) if self._validate_responses else result

    def _pages(self, entry: EntryModel, args: tuple, kwargs: dict,
               max_pages: int | None = None) -> Iterator[Any]:
        call: rq.Call | None = self._bind(entry, args, kwargs)
        count = 0
        while call is not None:
            page = self._checked_result(entry, self._transport.send(call))
            yield page
            count += 1
            call = rq.next_page(call, page, count, max_pages) if entry.paginated else None

    def _items(self, entry: EntryModel, args: tuple, kwargs: dict, key: str | None,
               max_items: int | None) -> Iterator[Any]:
        count = 0
        if max_items is not None and max_items <= 0:
            return
        for page in self._pages(entry, args, kwargs):
            for item in rq.page_items(entry, page, key):
                yield item
                count += 1
                if max_items is not None and count >= max_items:
                    return

    def current_scopes(self, *, refresh: bool = False) -> tuple[str, ...]:
        """The scopes this client's requests carry, as ``auth.currentScopes`` says (roles
        expanded by the server); kept for a few minutes."""
        return self._held(self._current_credentials(), refresh)

    def _held(self, creds: Credentials | None, refresh: bool) -> tuple[str, ...]:
        held = None if refresh else self._fresh_scopes(creds)
        if held is None:
            with self._deployment.build("Auth")(**self._auth_client_kwargs(creds)) as auth:
                held = self._keep_scopes(creds, auth.currentScopes()["scopes"])
        return held

    def _preflight(self, entry: EntryModel, args: tuple, kwargs: dict) -> Any:
        self._bind(entry, args, _call_kwargs(kwargs)[0])  # every argument check first
        try:
            held = self._held(self._current_credentials(), False)
        except InsufficientScopes as exc:
            return _cannot_check(exc)
        return self._check_scopes(entry, args, kwargs, held)

    def whoami(self) -> dict[str, Any]:
        """Who this client is to the deployment: clientId, temporary or not, expiry,
        authorizedScopes, and the effective scopes from ``auth.currentScopes``."""
        creds = self._current_credentials()  # once: a provider may rotate them
        return self._whoami(creds, self._held(creds, True))

    def close(self) -> None:
        """Close the HTTP client tcdyn created (a client you passed in stays open)."""
        self._transport.close()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        Client.close(self)  # not an API entry named close


class AsyncClient(_Base):
    """Base of every asynchronous service client (``tcdyn.aio.Queue``, ...)."""

    def _make_transport(self, client: httpx.AsyncClient | None) -> None:
        from .aiohttp_transport import async_transport  # aiohttp unless client= (or a proxy)

        self._transport = async_transport(self._auth(), self._retry, client=client,
                                          timeout=self._timeout,
                                          max_response_size=self._max_response_size)

    @staticmethod
    def _http_client_type(httpx: Any) -> type:
        return httpx.AsyncClient

    async def _call(self, entry: EntryModel, args: tuple, kwargs: dict) -> Any:
        if kwargs:
            kwargs, paging = _call_kwargs(kwargs)
            if paging is not None:
                handler, limit = paging
                kwargs = _with_limit(entry, kwargs, limit)
                if handler is not None:  # the official form: each page to the handler
                    async for page in self._pages(entry, args, kwargs):
                        done = handler(page)
                        if inspect.isawaitable(done):
                            await done
                    return None
        result = await self._transport.send(self._bind(entry, args, kwargs))
        return self._checked_result(entry, result) if self._validate_responses else result

    async def _pages(self, entry: EntryModel, args: tuple, kwargs: dict,
                     max_pages: int | None = None) -> AsyncIterator[Any]:
        call: rq.Call | None = self._bind(entry, args, kwargs)
        count = 0
        while call is not None:
            page = self._checked_result(entry, await self._transport.send(call))
            yield page
            count += 1
            call = rq.next_page(call, page, count, max_pages) if entry.paginated else None

    async def _items(self, entry: EntryModel, args: tuple, kwargs: dict, key: str | None,
                     max_items: int | None) -> AsyncIterator[Any]:
        count = 0
        if max_items is not None and max_items <= 0:
            return
        async for page in self._pages(entry, args, kwargs):
            for item in rq.page_items(entry, page, key):
                yield item
                count += 1
                if max_items is not None and count >= max_items:
                    return

    async def current_scopes(self, *, refresh: bool = False) -> tuple[str, ...]:
        """The scopes this client's requests carry, as ``auth.currentScopes`` says."""
        return await self._held(await self._acurrent_credentials(), refresh)

    async def _acurrent_credentials(self) -> Credentials | None:
        """The credentials the next request is signed with, an async provider awaited."""
        if not self._credentials_source:
            return None
        creds = self._credentials_source()
        return await creds if isinstance(creds, _Pending) else creds

    async def _held(self, creds: Credentials | None, refresh: bool) -> tuple[str, ...]:
        held = None if refresh else self._fresh_scopes(creds)
        if held is None:
            async with self._deployment.build("Auth", asynchronous=True)(
                    **self._auth_client_kwargs(creds)) as auth:
                held = self._keep_scopes(creds, (await auth.currentScopes())["scopes"])
        return held

    async def _preflight(self, entry: EntryModel, args: tuple, kwargs: dict) -> Any:
        self._bind(entry, args, _call_kwargs(kwargs)[0])
        try:
            held = await self._held(await self._acurrent_credentials(), False)
        except InsufficientScopes as exc:
            return _cannot_check(exc)
        return self._check_scopes(entry, args, kwargs, held)

    async def whoami(self) -> dict[str, Any]:
        """Who this client is to the deployment (see ``Client.whoami``)."""
        creds = await self._acurrent_credentials()  # once: a provider may rotate them
        return self._whoami(creds, await self._held(creds, True))

    async def aclose(self) -> None:
        """Close the HTTP client tcdyn created (a client you passed in stays open)."""
        await self._transport.aclose()

    async def __aenter__(self: _A) -> _A:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await AsyncClient.aclose(self)  # not an API entry named aclose
