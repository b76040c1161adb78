"""The only code that does HTTP I/O: it sends ``Call``s with httpx, sync or async.

Both transports drive the same ``request.exchange`` generator, so retries, backoff, error
mapping and redirects behave identically; they differ only in how they send and sleep.
Redirects are never followed (a 303's JSON body is the result, as with the official client),
which also keeps credentials from ever reaching another host.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

from .request import SEND, Call, RetryPolicy, exchange

log = logging.getLogger("tcdyn.transport")

DEFAULT_TIMEOUT = 30.0
_HEADERS = {"Content-Type": "application/json"}


def _request(client: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
    return client.build_request(call.method, call.url, params=call.query, content=call.body,
                                headers=_HEADERS if call.body is not None else None)


class _Transport:
    """What both transports share: the auth flow, the retry policy, the client's life."""

    def __init__(self, auth: httpx.Auth | None, policy: RetryPolicy, *,
                 client: Any = None, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        self.auth = auth
        self.policy = policy
        self.timeout = timeout
        self._client = client
        self._owns_client = client is None

    @staticmethod
    def _received(response: httpx.Response) -> tuple[int, httpx.Headers, bytes, str]:
        return response.status_code, response.headers, response.content, str(response.url)

    @staticmethod
    def _failed(call: Call, exc: httpx.TransportError) -> httpx.TransportError:
        log.warning("%s.%s: %s, will retry if allowed", call.service, call.name,
                    type(exc).__name__)
        return exc

    @staticmethod
    def _waiting(call: Call, seconds: float) -> float:
        log.info("%s.%s: retrying in %.2fs", call.service, call.name, seconds)
        return seconds


class SyncTransport(_Transport):
    """Sends calls with an ``httpx.Client`` (its own, created on first use, or the user's)."""

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        return self._client

    def send(self, call: Call) -> Any:
        client = self.client
        request = _request(client, call)
        flow = exchange(call, self.policy)
        step = next(flow)
        while True:
            if step is SEND:
                try:
                    outcome: Any = self._received(
                        client.send(request, auth=self.auth, follow_redirects=False))
                except httpx.TransportError as exc:
                    outcome = self._failed(call, exc)
            else:
                time.sleep(self._waiting(call, step.seconds))
                outcome = None
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None


class AsyncTransport(_Transport):
    """Sends calls with an ``httpx.AsyncClient``; the same decisions as ``SyncTransport``."""

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    async def send(self, call: Call) -> Any:
        client = self.client
        request = _request(client, call)
        flow = exchange(call, self.policy)
        step = next(flow)
        while True:
            if step is SEND:
                try:
                    outcome: Any = self._received(
                        await client.send(request, auth=self.auth, follow_redirects=False))
                except httpx.TransportError as exc:
                    outcome = self._failed(call, exc)
            else:
                await asyncio.sleep(self._waiting(call, step.seconds))
                outcome = None
            try:
                step = flow.send(outcome)
            except StopIteration as done:
                return done.value

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
