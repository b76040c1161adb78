"""What the local deployment's handlers receive and answer, and how an answer is encoded.

Shared by the socket server (``tcdyn.testing.server``) and the in-process transport
(``tcdyn.testing.mock``): both send exactly the bytes ``encode`` makes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class DropConnection(Exception):
    """Raised by a handler: close the connection without answering."""


@dataclass
class ApiRequest:
    """What a handler receives."""

    service: str
    name: str
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    payload: Any
    body: bytes
    headers: dict[str, str]
    client_id: str | None
    scopes: tuple[str, ...]


@dataclass
class Reply:
    """A handler's answer, when it needs more than a JSON body with status 200.

    ``raw`` sends those bytes as they are instead of ``body`` as JSON (e.g. a proxy's HTML).
    """

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


Handler = Callable[[ApiRequest], Any]

#: An HTTP answer as sent: status, header pairs in order, body bytes.
Response = tuple[int, list[tuple[str, str]], bytes]


def error(status: int, code: str, message: str, **headers: str) -> Reply:
    """A Taskcluster-style error reply.

    Answering a routed request with ``imitate=True``, the deployment fills in
    ``requestInfo`` (the entry's name, the route parameters, the payload, the time) and
    appends the services' footer to the message, as every Taskcluster service does
    (``libraries/api/src/middleware/express-error.js``).
    """
    return Reply({"code": code, "message": message,
                  "requestInfo": {"method": "", "params": {}, "payload": {}, "time": ""}},
                 status, dict(headers))


def finish_error(reply: Reply, request: ApiRequest) -> Reply:
    """An ``error()`` reply with ``requestInfo`` and the services' footer filled in."""
    body = reply.body
    if not (reply.status >= 400 and isinstance(body, dict)
            and set(body) == {"code", "message", "requestInfo"}
            and isinstance(body["requestInfo"], dict)
            and body["requestInfo"].get("time") == ""):
        return reply
    stamp = js_now()
    payload = request.payload if isinstance(request.payload, dict) else {}
    message = (f"{body['message']}\n\n---\n\n* method:     {request.name}\n"
               f"* errorCode:  {body['code']}\n* statusCode: {reply.status}\n"
               f"* time:       {stamp}")
    info = {"method": request.name, "params": dict(request.params), "payload": payload,
            "time": stamp}
    return Reply({"code": body["code"], "message": message, "requestInfo": info},
                 reply.status, reply.headers)


def js_now() -> str:
    """The time as JavaScript's ``Date.toJSON()`` writes it (milliseconds, ``Z``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def encode(reply: Reply) -> Response:
    """The status, headers and bytes that answer ``reply`` (JSON unless ``raw``)."""
    if reply.raw is not None:
        data = reply.raw
    else:
        data = b"" if reply.body is None or reply.status == 204 else json.dumps(
            reply.body).encode()
    headers: list[tuple[str, str]] = []
    if data and reply.raw is None:
        headers.append(("Content-Type", "application/json"))
    headers.extend(reply.headers.items())
    headers.append(("Content-Length", str(len(data))))
    return reply.status, headers, data
