"""The retry loop of an API call as a sans-IO generator, shared by every transport.

``retry_flow`` asks its driver (``tcdyn.transport.drive``) to ``Send`` or to ``Sleep``, so
every transport runs the very same decisions: ``response.value`` gives a success's value,
``error_for`` the typed error of the rest, and 5xx, 429 (after ``Retry-After``) and
connection errors are retried per ``RetryPolicy``.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from ..errors import (
    BY_CODE,
    DeploymentApiMismatch,
    TaskclusterAuthFailure,
    TaskclusterConnectionError,
    TaskclusterRestFailure,
)
from ..logger import logger
from .bind import Call
from .options import RetryPolicy
from .response import Received, Result, clip, error_text
from .response import value as response_value

log = logger("tcdyn.request")


# -- responses ----------------------------------------------------------------------------

_CLOCK_HINT = (" (Hawk timestamps are checked against the server's clock: check this "
               "machine's clock; local UTC time is {now})")


def error_for(call: Call, received: Received, attempts: int) -> TaskclusterRestFailure:
    """The typed exception for an error response. The server's message goes into the
    exception text cut to ``response.MESSAGE_LIMIT`` characters; ``.body`` / ``.raw_body``
    keep the whole (size-limited) body."""
    status = received.status
    body, raw, note = error_text(received)
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        message = raw or f"HTTP {status} with no message"
    message = clip(message)
    if note:
        message += f" [{note}]"
    if status == 401 and any(w in message.lower() for w in ("stale", "timestamp", "skew")):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        message += _CLOCK_HINT.format(now=now)
    cls = BY_CODE.get(code) if isinstance(code, str) else None
    if cls is None or (status == 401) != issubclass(cls, TaskclusterAuthFailure):
        cls = TaskclusterAuthFailure if status == 401 else TaskclusterRestFailure
    if status == 404 and not isinstance(code, str):  # no Taskcluster error: no such route
        said = body.get("error") if isinstance(body, dict) else None
        cls, message = DeploymentApiMismatch, api_mismatch(
            call, clip(said if isinstance(said, str) else message, 200))
    return cls(message, status_code=status, code=code if isinstance(code, str) else None,
               body=body, raw_body=raw, service=call.service, method_name=call.name,
               http_method=call.http_method, url=received.url or call.url, attempts=attempts)


def api_mismatch(call: Call, answer: str) -> str:
    """What to say when the deployment has no route for a method the client has."""
    root, api, _ = call.url.partition("/api/")
    load = f"tcdyn.load({root!r})" if api else "tcdyn.load(rootUrl)"
    diff = f"tcdyn references diff --root-url {root}" if api else "tcdyn references diff"
    return (f"the deployment has no route for {call.service}.{call.name} (it answered: "
            f"{answer}): its API differs from the references this client was built from; "
            f"build the client from the deployment's own references with {load} ('{diff}' "
            "lists the differences)")


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # imported when first used: it loads socket

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class Send:
    """Ask the driver to send the call once and resume with the outcome: a
    ``response.Received``, or the transport exception that prevented one."""


@dataclass(frozen=True, slots=True)
class Sleep:
    """Ask the driver to wait this many seconds, then resume."""

    seconds: float


#: The one ``Send`` step (it carries nothing).
SEND = Send()


def _retry(call: Call, policy: RetryPolicy, attempt: int, why: str,
           seconds: float | None = None) -> Sleep:
    """The wait before the next try, logged at DEBUG (only when a retry will happen)."""
    if seconds is None:
        seconds = policy.delay(attempt)
    log.debug("%s.%s: %s; retry %d of %d in %.2fs", call.service, call.name, why, attempt,
              policy.max_retries, seconds)
    return Sleep(seconds)


def retry_flow(call: Call, policy: RetryPolicy) -> Generator[Send | Sleep, Any, Result]:
    """The retry loop, as a generator shared by the sync and async transports.

    It yields ``SEND`` and expects back either a ``response.Received`` or the transport
    exception that prevented a response; it yields ``Sleep`` between tries. Its return value
    is the call's result; errors are raised from it. An error status whose body could not be
    decoded (or was too large) is retried like any other of its status.
    """
    attempt = 0
    while True:
        attempt += 1
        outcome = yield SEND
        retries_left = attempt <= policy.max_retries
        if isinstance(outcome, BaseException):
            if not retries_left:
                raise TaskclusterConnectionError(
                    f"{call.service}.{call.name}: {call.http_method} {call.url} failed after "
                    f"{attempt} attempts: {type(outcome).__name__}: {outcome}",
                    url=call.url, attempts=attempt, superExc=outcome) from outcome
            yield _retry(call, policy, attempt, type(outcome).__name__)
            continue
        status = outcome.status
        if status < 400:
            return response_value(call.service, call.name, call.http_method, outcome,
                                  attempt)
        if retries_left and status >= 500:
            yield _retry(call, policy, attempt, f"HTTP {status}")
            continue
        if retries_left and status == 429:
            wait = retry_after(outcome.headers.get("retry-after"))
            if wait is None or wait <= policy.max_retry_after:
                yield _retry(call, policy, attempt, "HTTP 429", wait)
                continue
        raise error_for(call, outcome, attempt)
