"""The local deployment in process: an ``httpx.MockTransport`` over the same
``Dispatcher.respond`` the socket server calls, for unit tests that need no socket::

    dep = LocalDeployment(clients=..., serve=False)       # no thread, no port
    queue = tcdyn.Queue(rootUrl=dep.root_url, credentials=...,
                        client=httpx.Client(transport=dep.transport()))

The same transport serves ``httpx.AsyncClient``. Handlers run in the caller's thread (in the
event loop, for async clients); a handler raising ``DropConnection`` becomes the
``httpx.RemoteProtocolError`` a closed connection gives.
"""

from __future__ import annotations

import httpx

from .dispatch import Dispatcher
from .replies import DropConnection


def transport(dispatcher: Dispatcher) -> httpx.MockTransport:
    """A transport answering every request with ``dispatcher``, as its socket would."""

    def handle(request: httpx.Request) -> httpx.Response:
        host = request.headers.get("Host", request.url.netloc.decode("ascii"))
        url = f"http://{host}{request.url.raw_path.decode('ascii')}"
        try:
            status, headers, body = dispatcher.respond(request.method, url, request.headers,
                                                       request.read())
        except DropConnection:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request) from None
        # a stream, not content: the client reads (and decodes) it as it would a socket's
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body),
                              request=request)

    return httpx.MockTransport(handle)
