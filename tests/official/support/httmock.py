"""A stand-in for the ``httmock`` package the official tests use (the parts they use).

``httmock`` answers ``requests`` calls with handler functions by replacing
``requests.Session.send``. tcdyn does not use requests, so this stand-in replaces the sending
method of the HTTP library beneath each client instead: httpcore's connection pool (tcdyn's
own sync transport), httpx's transport (a client given ``client=``) and ``requests`` (the
official client, for ``TCDYN_OFFICIAL_TARGET=taskcluster``). A handler is called as with
httmock, ``handler(urllib.parse.SplitResult, request)`` where ``request`` has ``method``,
``url``, ``headers`` and ``body``, and answers with a str or bytes (a 200 with that body), a
dict (``status_code``, ``content``, ``headers``) or ``response(...)``. These tests fake hosts
of the public internet (``tc-tests.example.com``): nothing else is mocked.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """What a handler sees of a request (the attributes the official tests read)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | str | None  # requests' own (a str for form data)


@dataclass
class Response:
    """A handler's answer."""

    status_code: int = 200
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def response(status_code: int = 200, content: Any = "", headers: Any = None, reason: Any = None,
             elapsed: Any = 0, request: Any = None, **_: Any) -> Response:
    """httmock's ``response()``: a dict or list is sent as JSON."""
    if isinstance(content, (dict, list)):
        content = json.dumps(content).encode()
    if isinstance(content, str):
        content = content.encode()
    return Response(status_code, content or b"", dict(headers or {}))


def all_requests(func: Callable[..., Any]) -> Callable[..., Any]:
    """httmock's decorator for a handler of every request (here: every handler is one)."""
    return func


def _answer(handlers: tuple[Callable[..., Any], ...], request: Request) -> Response:
    url = urllib.parse.urlsplit(request.url)
    for handler in handlers:
        res = handler(url, request)
        if res is None:
            continue
        if isinstance(res, Response):
            return res
        if isinstance(res, dict):
            return response(res.get("status_code", 200), res.get("content", ""),
                            res.get("headers"))
        if isinstance(res, (str, bytes)):
            return response(content=res)
        raise TypeError(f"Dont know how to handle response of type {type(res)}")
    raise AssertionError(f"no handler answered {request.method} {request.url}")


class HTTMock:
    """``with HTTMock(handler, ...):`` requests are answered by the handlers."""

    def __init__(self, *handlers: Callable[..., Any]) -> None:
        self.handlers = handlers
        self._undo: list[Callable[[], None]] = []

    def __enter__(self) -> HTTMock:
        self._patch_httpcore()
        self._patch_httpx()
        self._patch_requests()
        return self

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            self._undo.pop()()

    def _replace(self, owner: Any, name: str, new: Any) -> None:
        old = owner.__dict__[name]
        setattr(owner, name, new)
        self._undo.append(lambda: setattr(owner, name, old))

    def _patch_httpcore(self) -> None:
        import httpcore

        handlers = self.handlers

        def handle_request(pool: Any, request: httpcore.Request) -> httpcore.Response:
            url = bytes(request.url).decode()
            headers = {k.decode(): v.decode() for k, v in request.headers}
            body = b"".join(request.stream) if request.stream is not None else None  # type: ignore[arg-type]
            res = _answer(handlers, Request(request.method.decode(), url, headers, body or None))
            return httpcore.Response(res.status_code, headers=list(res.headers.items()),
                                     content=res.content)

        self._replace(httpcore.ConnectionPool, "handle_request", handle_request)

    def _patch_httpx(self) -> None:
        import httpx

        handlers = self.handlers

        def handle_request(transport: Any, request: httpx.Request) -> httpx.Response:
            res = _answer(handlers, Request(request.method, str(request.url),
                                            dict(request.headers), request.read() or None))
            return httpx.Response(res.status_code, headers=res.headers, content=res.content)

        self._replace(httpx.HTTPTransport, "handle_request", handle_request)

    def _patch_requests(self) -> None:
        try:
            import requests
        except ImportError:
            return
        handlers = self.handlers

        def send(session: Any, prepared: Any, **kwargs: Any) -> Any:
            res = _answer(handlers, Request(prepared.method, prepared.url,
                                            dict(prepared.headers), prepared.body))
            out = requests.Response()
            out.status_code = res.status_code
            out._content = res.content
            out.headers.update(res.headers)
            out.request = prepared
            out.url = prepared.url
            return out

        self._replace(requests.Session, "send", send)
