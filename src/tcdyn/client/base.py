"""What the sync and async clients share: options, URLs, binding, validation, scopes.

Everything a client decides without I/O lives here (and in the ``call`` package), so
that ``Client`` and ``AsyncClient`` (in ``clients``) differ only in how they wait for I/O.
A built class knows its deployment only through ``_context`` (``classes.context.ClassContext``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..auth import provider
from ..auth.credentials import Credentials
from ..auth.provider import Fixed
from ..call import worker_payload
from ..call.bind import Call, bind, bind_arguments
from ..call.options import (
    OPTION_NAMES,
    UNSET,
    ClientOptions,
    LiveOptions,
    RetryPolicy,
    changed,
    given_options,
)
from ..call.paging import split_paging
from ..checks import root_url_form
from ..classes.meta import Extras
from ..errors import InsufficientScopes, InvalidResponse, UnknownMethodError
from ..errors import TaskclusterArgumentError as ArgumentError
from ..model.legacy import is_legacy_root, service_origin

if TYPE_CHECKING:
    import httpx

    from ..call.response import Result
    from ..classes.context import ClassContext
    from ..model.reference import EntryModel, ServiceModel
    from ..transport.base import AsyncTransport, Transport

#: How long a client trusts ``auth.currentScopes`` for its preflight checks.
SCOPES_TTL = 300.0
_C = TypeVar("_C", bound="ClientBase")


def api_base_url(root_url: str, service: str, api_version: str,
                 base_url: str | None = None) -> str:
    """``<rootUrl>/api/<service>/<apiVersion>``; for the legacy rootUrl
    ``https://taskcluster.net``, ``https://<service>.taskcluster.net/<apiVersion>``, the host
    taken from a 2018 reference's ``baseUrl`` when it names a ``*.taskcluster.net`` host."""
    root_url = root_url_form(root_url)
    if is_legacy_root(root_url):
        return f"{service_origin(service, base_url)}/{api_version}"
    import taskcluster_urls

    return taskcluster_urls.api(root_url, service, api_version, "").rstrip("/")  # no route


class ClientBase:
    """What sync and async clients share: configuration, binding, URLs, scopes, repr."""

    serviceName: ClassVar[str]
    apiVersion: ClassVar[str]
    _model: ClassVar[ServiceModel]
    _context: ClassVar[ClassContext]

    def __init__(self, options: Mapping[str, Any] | None = None, session: Any = None, *,
                 rootUrl: str | None = None, credentials: Any = UNSET,
                 authorizedScopes: list[str] | None = None, maxRetries: int | None = None,
                 retry: RetryPolicy | None = None, timeout: float | None = UNSET,
                 client: Any = None, signedUrlExpiration: float | None = None,
                 proxyUrl: str | None = None, validate: bool | None = None,
                 validate_responses: bool = False, auth: Any = None,
                 max_response_size: int | None = None, traceId: str | None = None,
                 **unknown: Any) -> None:
        owner = type(self).__name__
        opts = ClientOptions.parse(
            owner, options, session, default_root_url=self._context.root_url,
            http_client_type=self._http_client_type, rootUrl=rootUrl,
            credentials=credentials, authorizedScopes=authorizedScopes,
            maxRetries=maxRetries, retry=retry, timeout=timeout, client=client,
            signedUrlExpiration=signedUrlExpiration, proxyUrl=proxyUrl, validate=validate,
            validate_responses=validate_responses, auth=auth,
            max_response_size=max_response_size, traceId=traceId, unknown=unknown)
        # What a change to ``options`` is parsed again with: the official options as given,
        # and the keyword-only ones as settled.
        self._given = given_options(
            options, rootUrl=rootUrl, credentials=credentials,
            authorizedScopes=authorizedScopes, maxRetries=maxRetries, timeout=timeout,
            signedUrlExpiration=signedUrlExpiration, proxyUrl=proxyUrl)
        self._keywords: dict[str, Any] = {
            "retry": retry, "client": opts.http_client, "validate": validate,
            "validate_responses": validate_responses, "auth": auth,
            "max_response_size": max_response_size, "traceId": traceId}
        self._settle(opts)
        # The subclass's own transport (sync or async), as what an options change retunes.
        self._tunable: Transport | AsyncTransport = self._make_transport(opts.http_client)

    def _settle(self, opts: ClientOptions) -> None:
        # Plain attributes, read on every call: no lookups via opts.
        self._root_url = opts.root_url
        self._proxy_url = opts.proxy_url
        self._base_url = api_base_url(self._root_url, self._model.serviceName,
                                      self._model.apiVersion, self._model.baseUrl)
        self._credentials_source = opts.credentials_source
        self._user_auth = opts.user_auth
        self._max_response_size = opts.max_response_size
        self._retry = opts.retry
        self._signed_url_expiration = opts.signed_url_expiration
        self._timeout = opts.timeout
        self._validate = opts.validate
        self._validate_responses = opts.validate_responses
        self._trace_id = opts.trace_id
        self._options = opts.as_dict()
        self._scopes_cache: tuple[float, Any, tuple[str, ...]] | None = None

    def _change_option(self, key: str, value: Any) -> None:
        """``options[key] = value`` (``DELETE``: ``del``): parsed again with the others as
        the constructor parses them, then in force from the next call."""
        owner = type(self).__name__
        given = changed(self._given, owner, key, value, OPTION_NAMES)
        opts = ClientOptions.parse(owner, given, None, default_root_url=self._context.root_url,
                                   http_client_type=self._http_client_type, **self._keywords)
        self._given = given
        self._settle(opts)
        transport = self._tunable
        transport.policy = opts.retry
        transport.timeout = opts.timeout
        transport.max_response_size = opts.max_response_size
        transport.auth = self._auth()

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
    def options(self) -> LiveOptions:
        """The official client's options dict: ``rootUrl``, ``credentials`` (the
        ``Credentials``, whose repr hides the secrets, or the provider; never a raw dict),
        ``authorizedScopes``, ``maxRetries``, ``signedUrlExpiration``, ``timeout``,
        ``proxyUrl``. Setting or deleting one is checked as the constructor checks it and
        takes effect from the next call (``LiveOptions``)."""
        return LiveOptions(lambda: self._options, self._change_option)

    @property
    def retry(self) -> RetryPolicy:
        return self._retry

    @property
    def timeout(self) -> float | None:
        return self._timeout

    @property
    def max_response_size(self) -> int:
        """The largest response body read into memory (bytes); also the default ``maxSize``
        of the ``*ToBuf`` downloads given this client."""
        return self._max_response_size

    def sibling(self, name: str, *, asynchronous: bool, **options: Any) -> ClientBase:
        """A client of service ``name`` from the same deployment (sync or async), with this
        client's rootUrl and timeout unless ``options`` say otherwise: the object client
        of an ``object`` artifact (``tcdyn.download``, ``tcdyn.artifacts``)."""
        cls = self._context.sibling(name, asynchronous)
        options.setdefault("rootUrl", self._root_url)
        options.setdefault("timeout", self._timeout)
        client: ClientBase = cls(**options)
        return client

    @property
    def signedUrlExpiration(self) -> float:
        return self._signed_url_expiration

    @property
    def validate(self) -> bool | None:
        return self._validate

    @property
    def validate_responses(self) -> bool:
        return self._validate_responses

    @staticmethod
    def _http_client_type(httpx: ModuleType) -> type[Any]:
        raise NotImplementedError

    @classmethod
    def from_env(cls: type[_C], **kwargs: Any) -> _C:
        """A client configured from TASKCLUSTER_ROOT_URL, TASKCLUSTER_CLIENT_ID,
        TASKCLUSTER_ACCESS_TOKEN and TASKCLUSTER_CERTIFICATE, then the config file
        (``tcdyn.auth.config_file``: its credentials only for its own rootUrl); keywords
        override both.

        Inside a task with no credentials in the environment but TASKCLUSTER_PROXY_URL set,
        requests go to the taskcluster-proxy, unsigned (the proxy signs them)."""
        from ..auth.config_file import resolve

        if "proxyUrl" in kwargs:
            return cls(**kwargs)
        given = "credentials" in kwargs
        found = resolve(kwargs.get("rootUrl"), None) if given else resolve(kwargs.get("rootUrl"))
        if found.proxy_url and not given:
            kwargs["proxyUrl"] = found.proxy_url
            return cls(**kwargs)
        if not given:
            kwargs["credentials"] = found.credentials
        kwargs.setdefault("rootUrl", found.root_url)
        return cls(**kwargs)

    def _make_transport(self, client: Any) -> Transport | AsyncTransport:
        raise NotImplementedError

    def _auth(self) -> httpx.Auth | None:
        from ..transport.hawk import HawkAuth, origin_of

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
        return provider.now(self._credentials_source)

    def _bind(self, entry: EntryModel, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        worker = None
        if kwargs and worker_payload.KEYWORD in kwargs and worker_payload.takes_worker(entry):
            kwargs = dict(kwargs)  # tcdyn's own keyword: never sent
            worker = kwargs.pop(worker_payload.KEYWORD)
        call = bind(self._model.serviceName, self._base_url, entry, args, kwargs)
        if self._trace_id is not None:
            call.trace_id = self._trace_id
        if call.body is not None and self._validate is not False:
            # The payload as sent (datetimes as strings), without decoding the body again.
            self._context.validator.check_payload(self._model.serviceName, entry,
                                                  call.payload, call.body)
        if worker is not None:  # asked for by name: checked even with validate=False
            worker_payload.check_call(self._context.validator, entry, call, worker)
        return call

    def _checked_result(self, entry: EntryModel, result: Any) -> Any:
        if self._validate_responses and entry.output and result is not None:
            self._context.validator.check(self._model.serviceName, entry.output, result,
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
        from ..auth.bewit import signed_url

        entry = self._entry(methodName)
        if entry.http_method != "GET" or entry.input is not None:
            raise ArgumentError(f"{methodName}() is {entry.http_method}: only GET entries without "
                                "a payload can be signed into a URL")
        credentials = self._current_credentials()
        if credentials is None:
            raise ArgumentError(f"{type(self).__name__} has no credentials to sign a URL with")
        url = ClientBase.buildUrl(self, methodName, *args, **kwargs)
        return signed_url(credentials, url, self._signed_url_expiration
                          if expiration is None else expiration)

    def _scopes_request(self, creds: Credentials | None) -> tuple[Call, Any]:
        """``auth.currentScopes`` of this deployment (or through the proxy), for this
        client's own transport, and the auth that signs it with exactly ``creds``."""
        call = self._context.auth_call(self._root_url, "currentScopes")
        call.trace_id = self._trace_id
        if creds is None:  # anonymous, through the proxy, or with the user's own auth
            return call, None
        from ..transport.hawk import HawkAuth, origin_of

        return call, HawkAuth(Fixed(creds), origin_of(call.url))

    def _fresh_scopes(self, creds: Credentials | None) -> tuple[str, ...] | None:
        cached = self._scopes_cache
        if cached is None or time.monotonic() - cached[0] > SCOPES_TTL:
            return None
        return cached[2] if cached[1] == creds else None

    def _keep_scopes(self, creds: Credentials | None, call: Call, answer: Result
                     ) -> tuple[str, ...]:
        """The scopes of ``auth.currentScopes``' answer, kept a while for ``creds``."""
        scopes = answer.get("scopes") if isinstance(answer, dict) else None
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise InvalidResponse("auth.currentScopes answered without a list of scopes",
                                  status_code=200, service=call.service,
                                  method_name=call.name, http_method=call.http_method,
                                  url=call.url)
        held = tuple(scopes)
        self._scopes_cache = (time.monotonic(), creds, held)
        return held

    def _check_scopes(self, entry: EntryModel, args: tuple[Any, ...], kwargs: dict[str, Any],
                      held: tuple[str, ...]) -> Any:
        from ..auth.scopes import call_params, check

        values, payload, _ = bind_arguments(entry, args, split_paging(entry, kwargs)[0])
        params = call_params(self._model.serviceName, entry.name,
                             dict(zip(entry.args, values, strict=True)), payload)
        return check(held, entry.scopes if entry.scopes is not None else {"AllOf": []}, params)

    def _whoami(self, creds: Credentials | None, held: tuple[str, ...] | None,
                refused: InsufficientScopes | None = None) -> dict[str, Any]:
        """What ``whoami`` says: known locally, and the deployment's ``held`` scopes (None
        when ``auth.currentScopes`` was ``refused``: then why)."""
        cert = creds.certificate if creds else None
        unavailable = None
        if refused is not None:
            missing = "auth:current-scopes" if "auth:current-scopes" in (
                refused.message or "") else "its scope"
            unavailable = (f"the deployment would not tell these credentials' scopes: "
                           f"auth.currentScopes answered HTTP {refused.status_code} "
                           f"{refused.code or ''} (they lack {missing}); the certificate's "
                           "scopes and authorizedScopes above bound them").replace("  ", " ")
        return {"rootUrl": self._root_url, "proxy": self._proxy_url,
                "clientId": creds.clientId if creds else None,
                "temporary": bool(creds and creds.is_temporary()),
                "expires": creds.expires if creds else None,
                "certificateScopes": list(cert["scopes"]) if cert else None,
                "authorizedScopes": list(creds.authorizedScopes)
                if creds and creds.authorizedScopes is not None else None,
                "scopes": list(held) if held is not None else None,
                "scopesUnavailable": unavailable}

    def __repr__(self) -> str:
        # Never calls a credentials provider: repr must not fail nor have side effects.
        source = self._credentials_source
        if self._proxy_url:
            who = "via taskcluster-proxy (unsigned)"
        elif source is None:
            who = "no credentials"
        elif isinstance(source, Fixed):
            who = f"clientId={source.credentials.clientId!r}"
        else:
            who = "credentials from a provider"
        return (f"<tcdyn.{type(self).__name__} rootUrl={self._root_url!r} "
                f"references={self._context.provenance()!r} {who}>")


def cannot_check(exc: InsufficientScopes) -> Any:
    from ..auth.scopes import Check

    return Check(None, None, (), reason="cannot read this client's scopes: auth.currentScopes "
                 f"answered {exc.code or exc.status_code}: {exc.message}")
