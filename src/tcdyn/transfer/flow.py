"""The retry loop of a storage transfer (a PUT of an upload, a GET of a download) as a sans-IO
generator, as ``call.retry.retry_flow`` is for API calls, and its one driver.

``storage_flow`` yields ``Attempt`` (move the bytes once, to or from ``step.source``; send
back the attempt's result, or the exception that ended it), ``Sleep`` between attempts, and
``RENEW`` (ask the service for a fresh URL, the old one having expired; send back the new
``hosts.Source``). Connection errors, stalls, truncated bodies, a whole-attempt deadline
passed, and 5xx, 408 and 429 answers are retried per ``RetryPolicy``; other statuses and
redirect loops are not. ``drive`` performs the steps with a ``flavours.Flavour``: the sync
and the async transfers run the very same decisions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from ..call.options import RetryPolicy
from ..call.retry import Sleep
from ..errors import TaskclusterConnectionError
from ..logger import logger
from ..tracing import Transfer
from .hosts import Source, StorageStatus, expired, safe_url

log = logger("tcdyn.transfer")


class Expired(Exception):
    """A whole-attempt deadline passed (internal: retried like a timeout)."""


#: What ends an attempt and is the flow's to judge (anything else is raised as it is).
ATTEMPT_FAILURES = (httpx.HTTPError, StorageStatus, Expired)


@dataclass(frozen=True, slots=True)
class Attempt:
    """Move the bytes once, to or from ``source``; this is attempt ``number`` (from 1)."""

    source: Source
    number: int


@dataclass(frozen=True, slots=True)
class Renew:
    """Ask the service for a fresh source (same upload or object): the URL expired."""


#: The one ``Renew`` step.
RENEW = Renew()

Step = Attempt | Sleep | Renew


def retried(exc: BaseException) -> bool:
    """Whether another attempt may succeed after ``exc``."""
    if isinstance(exc, StorageStatus):
        return exc.transient
    return isinstance(exc, (httpx.TransportError, Expired))


def give_up(method: str, url: str, exc: BaseException, attempts: int) -> Exception:
    """The error after the last attempt: the storage status, or a connection error. The
    original exception (whose request holds the signed URL) is not kept."""
    if isinstance(exc, StorageStatus):
        return exc.failure(attempts)
    return TaskclusterConnectionError(
        f"{method} {safe_url(url)} failed after {attempts} attempts: "
        f"{type(exc).__name__}: {exc}", superExc=None, url=safe_url(url), attempts=attempts)


def storage_flow(method: str, source: Source, policy: RetryPolicy, *, renewable: bool
                 ) -> Generator[Step, Any, Any]:
    """The attempts of one transfer (see the module documentation); returns the successful
    attempt's result. ``renewable``: the source comes from a service that can renew it."""
    number = 0
    while True:
        number += 1
        outcome = yield Attempt(source, number)
        if not isinstance(outcome, BaseException):
            return outcome
        if not retried(outcome) or number > policy.max_retries:
            raise give_up(method, source.url, outcome, number) from None
        seconds = policy.delay(number)
        log.debug("%s %s: %s; retry %d of %d in %.2fs", method, safe_url(source.url),
                  type(outcome).__name__, number, policy.max_retries, seconds)
        yield Sleep(seconds)
        if renewable and expired(source.expires):
            source = yield RENEW


async def drive(flow: Generator[Step, Any, Any], attempt: Callable[[Attempt], Awaitable[Any]],
                renew: Callable[[], Awaitable[Source]] | None,
                sleep: Callable[[float], Awaitable[None]], traced: Transfer,
                method: str) -> Any:
    """Run ``flow``: ``attempt(step)`` at each ``Attempt`` (its failures among
    ``ATTEMPT_FAILURES`` sent back), ``sleep`` at each ``Sleep``, ``renew()`` at ``RENEW``;
    returns the flow's result. Each attempt is a span under the transfer's (``traced``, a
    ``tracing.Transfer``: nothing without OpenTelemetry in use), each retry its event."""
    step = next(flow)
    failure: BaseException | None = None
    while True:
        outcome: Any = None
        if isinstance(step, Attempt):
            span = traced.attempt(method, step.source.url, step.number)
            try:
                outcome = await attempt(step)
            except ATTEMPT_FAILURES as exc:
                outcome = failure = exc
                if span is not None:
                    span.end(exc, getattr(exc, "status", None))
            except BaseException as exc:
                if span is not None:
                    span.end(exc)
                raise
            else:
                if span is not None:
                    span.end(None)
        elif isinstance(step, Sleep):
            if failure is not None:
                traced.retrying(step.seconds, failure)
            await sleep(step.seconds)
        elif renew is not None:
            outcome = await renew()
        try:
            step = flow.send(outcome)
        except StopIteration as done:
            return done.value
