"""Trace ids the services log, and OpenTelemetry spans of calls, transfers and Pulse messages.

**Trace ids.** Every API request carries ``x-taskcluster-trace-id`` (``TRACE_HEADER``), as the
JS client's ``traceId`` option sends it; the services log it as the ``traceId`` of every line
about that request. Its value, decided once per call (retries share it): the one set by
``trace_id(...)`` around the call, else the client's ``traceId=``, else the trace id of the
current OpenTelemetry span (32 hex digits, as OpenTelemetry shows it), else a fresh UUID v4
(what a service makes for a request without one). The call's errors carry it as
``trace_id``.

**Spans.** tcdyn never imports OpenTelemetry: it uses ``opentelemetry.trace`` once the program
has imported it (setting up a tracer provider does, and so does ``opentelemetry-instrument``).
Then each API call is a CLIENT span named ``<service>.<method>`` (``begin``: one per call,
retries as ``retry`` events), each upload and download a span with its storage attempts as
CLIENT spans (``transfer``), and each Pulse message handled a CONSUMER span (``processing``).
Without it, a call costs one dictionary look-up and a fresh id; with it but no tracer
provider, one no-op span. Attributes never hold credentials, bewits or query strings (a
presigned URL's signature lives there), nor an error's message (only its class). Nothing
here can fail a call: a telemetry error is logged at DEBUG and dropped.
"""

from __future__ import annotations

import os
import re
import sys
from contextvars import ContextVar, Token
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import TaskclusterArgumentError, TaskclusterFailure
from .logger import logger
from .redact import safe_url

if TYPE_CHECKING:
    from .call.bind import Call
    from .call.retry import Sleep

__all__ = ["TRACE_HEADER", "CallSpan", "Transfer", "begin", "check_trace_id", "fresh_trace_id",
           "processing", "trace_id", "traced", "transfer"]

log = logger("tcdyn.tracing")

#: The request header of the trace id (the services answer it in ``x-for-trace-id``).
TRACE_HEADER = "x-taskcluster-trace-id"
#: The longest trace id a user may set (the services log it as given).
MAX_TRACE_ID = 256
#: The instrumentation scope of tcdyn's spans, and the semantic conventions they follow.
SCOPE = "tcdyn"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.27.0"

_modules = sys.modules
_given: ContextVar[str | None] = ContextVar("tcdyn_trace_id", default=None)
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_DEFAULT_PORTS = {"http": 80, "https": 443, "amqp": 5672, "amqps": 5671}


# -- trace ids ----------------------------------------------------------------------------

def fresh_trace_id() -> str:
    """A new random UUID v4, as the services make for a request that brings no trace id."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def check_trace_id(value: Any, what: str) -> str:
    """``value`` if it can be sent as a trace id: a str of 1 to ``MAX_TRACE_ID`` visible
    ASCII characters (no space or control character: it goes into a header)."""
    if not isinstance(value, str):
        raise TaskclusterArgumentError(f"{what} must be a str, got {type(value).__name__}")
    if not 0 < len(value) <= MAX_TRACE_ID or not all("!" <= c <= "~" for c in value):
        raise TaskclusterArgumentError(
            f"{what} must be 1 to {MAX_TRACE_ID} visible ASCII characters (no space or "
            f"control character), got {value[:40]!r}{'...' if len(value) > 40 else ''}")
    return value


class trace_id:  # named as the function it stands for: ``with tcdyn.trace_id(...):``
    """``with tcdyn.trace_id("my-id") as tid:``: every API call made inside the block (in
    this thread or task, and the tasks it starts) sends ``tid`` as its trace id, over a
    client's ``traceId=`` and the current OpenTelemetry span. Without an argument, a fresh
    UUID v4 shared by the block's calls. Blocks nest; the innermost wins."""

    __slots__ = ("_token", "value")

    def __init__(self, value: str | None = None) -> None:
        self.value = (fresh_trace_id() if value is None
                      else check_trace_id(value, "tcdyn.trace_id()"))
        self._token: Token[str | None] | None = None

    def __enter__(self) -> str:
        self._token = _given.set(self.value)
        return self.value

    def __exit__(self, *exc: object) -> None:
        token, self._token = self._token, None
        if token is not None:
            _given.reset(token)

    def __repr__(self) -> str:
        return f"tcdyn.trace_id({self.value!r})"


# -- API calls ----------------------------------------------------------------------------

def begin(call: Call) -> tuple[str, CallSpan | None]:
    """The trace id of ``call`` and, when OpenTelemetry records it, its span (started and
    made current: ``CallSpan.end`` ends it), once per call, through ``traced``."""
    otel = _modules.get("opentelemetry.trace")
    if otel is None:
        return _given.get() or call.trace_id or fresh_trace_id(), None
    try:
        return _begin(otel, call)
    except Exception as exc:  # a half-imported or broken OpenTelemetry: no span
        log.debug("no span for %s.%s: %r", call.service, call.name, exc)
        return _given.get() or call.trace_id or fresh_trace_id(), None


def _begin(otel: ModuleType, call: Call) -> tuple[str, CallSpan | None]:
    span = _tracer(otel).start_span(f"{call.service}.{call.name}",
                                    kind=otel.SpanKind.CLIENT)
    given = _given.get() or call.trace_id
    context = span.get_span_context()
    if given:
        trace = given
    elif context.is_valid:
        trace = otel.format_trace_id(context.trace_id)
    else:
        trace = fresh_trace_id()
    if not span.is_recording():
        return trace, None
    return trace, CallSpan(otel, span, call, trace)


class CallSpan:
    """The span of one API call, current from ``begin`` until ``end``: each attempt's
    outcome noted (``sent``), each retry an event (``retrying``), the result or error set
    once at the end."""

    __slots__ = ("_error", "_status", "_token", "attempts", "span")

    def __init__(self, otel: ModuleType, span: Any, call: Call, trace: str) -> None:
        self.span = span
        self.attempts = 0
        self._status: int | None = None
        self._error: str | None = None
        attributes: dict[str, Any] = {
            "taskcluster.service": call.service, "taskcluster.method": call.name,
            "http.request.method": call.http_method, "taskcluster.trace_id": trace}
        if call.route:
            attributes["url.template"] = call.route
        attributes.update(_server(call.url))
        span.set_attributes(attributes)
        self._token = _attach(otel, span)

    def sent(self, outcome: object) -> None:
        """An attempt ended: a ``Received`` or the exception that prevented one."""
        self.attempts += 1
        status = getattr(outcome, "status", None)
        if isinstance(outcome, BaseException) or not isinstance(status, int):
            self._status, self._error = None, type(outcome).__name__
        else:
            self._status, self._error = status, None

    def retrying(self, step: Sleep) -> None:
        """The event of a retry: why, which attempt failed, how long before the next."""
        why = (f"HTTP {self._status}" if self._status is not None else self._error) or "?"
        _quietly(self.span.add_event, "retry", {
            "taskcluster.attempt": self.attempts, "taskcluster.retry.reason": why,
            "taskcluster.retry.sleep_s": round(step.seconds, 6)})

    def end(self, error: BaseException | None) -> None:
        """Set the outcome (the last status, the attempts, the error's class), end the span
        and restore the context that was current before ``begin``."""
        span = self.span
        try:
            if self._status is not None:
                span.set_attribute("http.response.status_code", self._status)
            span.set_attribute("taskcluster.attempts", self.attempts)
            if self.attempts > 1:
                span.set_attribute("http.request.resend_count", self.attempts - 1)
            if error is not None:
                _failed_span(span, error)
            span.end()
        finally:
            _detach(self._token)


class traced:  # named as what it does: ``with traced(call) as t:``
    """``with traced(call) as t:`` around a driver's run of ``call``: ``t.trace`` is its
    trace id, ``t.span`` its ``CallSpan`` or None (``begin``). On the way out the span
    ends with the result or the error, and a tcdyn error gets ``trace_id``."""

    __slots__ = ("span", "trace")

    def __init__(self, call: Call) -> None:
        self.trace, self.span = begin(call)

    def __enter__(self) -> traced:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if error is not None:
            if isinstance(error, TaskclusterFailure):
                error.trace_id = self.trace
            if self.span is not None:
                _quietly(self.span.end, error)
        elif self.span is not None:
            _quietly(self.span.end, None)


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception as exc:  # telemetry never fails a call
        log.debug("span not recorded: %r", exc)


# -- transfers ----------------------------------------------------------------------------

class Transfer:
    """The span of an upload or a download (``transfer``), current inside ``with``; the
    storage flow's driver (``transfer.flow.drive``) makes each attempt a CLIENT span under
    it and each retry an event. Without OpenTelemetry in use every method does nothing."""

    __slots__ = ("_otel", "_outer", "_token", "attempts", "bytes", "span")

    def __init__(self, otel: ModuleType | None = None, span: Any = None) -> None:
        self._otel, self.span = otel, span
        self._token: object = None
        self._outer: Token[Transfer | None] | None = None
        self.attempts = 0
        self.bytes: int | None = None

    def __enter__(self) -> Transfer:
        if self.span is not None:
            self._token = _attach(self._otel, self.span)  # type: ignore[arg-type]
            self._outer = _transfer.set(self)
        return self

    def moved(self, count: int) -> None:
        """``count`` bytes went to or came from storage: this transfer's and those around it
        (an artifact's download around its object's)."""
        self.bytes = count
        outer = self._outer.old_value if self._outer is not None else None
        while isinstance(outer, Transfer):
            outer.bytes = count
            outer = outer._outer.old_value if outer._outer is not None else None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        span = self.span
        if span is None:
            return
        try:
            span.set_attribute("taskcluster.attempts", self.attempts)
            if self.bytes is not None:
                span.set_attribute("taskcluster.transfer.bytes", self.bytes)
            if error is not None:
                _failed_span(span, error)
            span.end()
        except Exception as exc:
            log.debug("transfer span not recorded: %r", exc)
        finally:
            if self._outer is not None:
                _transfer.reset(self._outer)
            _detach(self._token)

    def attempt(self, method: str, url: str, number: int) -> _Attempt | None:
        """The CLIENT span of storage attempt ``number`` (``url`` shown without its query:
        a presigned URL's signature is there), or None."""
        self.attempts = number
        if self.span is None:
            return None
        try:
            tracer = _tracer(self._otel)  # type: ignore[arg-type]
            attributes = {"http.request.method": method, "taskcluster.attempt": number,
                          **_server(url)}
            return _Attempt(tracer.start_span(method, kind=self._otel.SpanKind.CLIENT,  # type: ignore[union-attr]
                                              attributes=attributes))
        except Exception as exc:
            log.debug("attempt span not recorded: %r", exc)
            return None

    def retrying(self, seconds: float, error: BaseException) -> None:
        if self.span is not None:
            _quietly(self.span.add_event, "retry", {
                "taskcluster.attempt": self.attempts,
                "taskcluster.retry.reason": type(error).__name__,
                "taskcluster.retry.sleep_s": round(seconds, 6)})


class _Attempt:
    __slots__ = ("span",)

    def __init__(self, span: Any) -> None:
        self.span = span

    def end(self, error: BaseException | None, status: int | None = None) -> None:
        """End the attempt: done, or failed with ``error`` (an error ``status`` is the
        ``error.type``, as HTTP's conventions say; no message is recorded: a storage
        host's exceptions may quote its URL)."""
        def finish() -> None:
            if status is not None:
                self.span.set_attribute("http.response.status_code", status)
            if error is not None:
                _failed_span(self.span, error, str(status) if status is not None else None)
            self.span.end()
        _quietly(finish)


_NO_TRANSFER = Transfer()
_transfer: ContextVar[Transfer | None] = ContextVar("tcdyn_transfer", default=None)


def transfer(name: str, attributes: dict[str, Any]) -> Transfer:
    """The span of a transfer named ``name`` (``tcdyn.upload``, ...), to enter with
    ``with``; a do-nothing one without OpenTelemetry in use."""
    otel = _modules.get("opentelemetry.trace")
    if otel is None:
        return _NO_TRANSFER
    try:
        span = _tracer(otel).start_span(name, kind=otel.SpanKind.INTERNAL,
                                        attributes=attributes)
        return Transfer(otel, span) if span.is_recording() else _NO_TRANSFER
    except Exception as exc:
        log.debug("no span for %s: %r", name, exc)
        return _NO_TRANSFER


# -- Pulse messages -----------------------------------------------------------------------

class _Processing:
    """The CONSUMER span of one message, current inside ``with``."""

    __slots__ = ("_otel", "_span", "_token")

    def __init__(self, otel: ModuleType, span: Any) -> None:
        self._otel, self._span = otel, span
        self._token: object = None

    def __enter__(self) -> None:
        self._token = _attach(self._otel, self._span)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if error is not None:
                _failed_span(self._span, error)
            self._span.end()
        except Exception as exc:
            log.debug("message span not recorded: %r", exc)
        finally:
            _detach(self._token)


class _NoProcessing:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOT_PROCESSING = _NoProcessing()


def in_use() -> bool:
    """Whether the program imported OpenTelemetry, which makes calls, transfers and Pulse
    messages spans (one dict lookup: a path every message takes asks it first)."""
    return "opentelemetry.trace" in _modules


def processing(exchange: str, routing_key: str, *, queue: str, size: int | None = None,
               delivery_tag: Any = None, headers: Any = None, entry: str | None = None,
               broker: str | None = None) -> _Processing | _NoProcessing:
    """``with processing(...):`` around a handler's work on one Pulse message: a CONSUMER
    span ``process <exchange>`` (messaging semantic conventions, ``messaging.system``
    ``rabbitmq``), a new trace linked to the publisher's span when the message carries a
    W3C ``traceparent`` header; nothing without OpenTelemetry in use. ``broker`` is the
    AMQP URL: only its host and port are shown."""
    otel = _modules.get("opentelemetry.trace")
    if otel is None:
        return _NOT_PROCESSING
    try:
        attributes: dict[str, Any] = {
            "messaging.system": "rabbitmq", "messaging.operation.type": "process",
            "messaging.operation.name": "process", "messaging.destination.name": exchange,
            "messaging.destination.subscription.name": queue}
        if routing_key:
            attributes["messaging.rabbitmq.destination.routing_key"] = routing_key
        if isinstance(delivery_tag, int):
            attributes["messaging.rabbitmq.message.delivery_tag"] = delivery_tag
        if size is not None:
            attributes["messaging.message.body.size"] = size
        if entry:
            attributes["taskcluster.exchange.entry"] = entry
        host, port = _broker(broker) if broker else (None, None)
        if host:
            attributes["server.address"] = host
            if port:
                attributes["server.port"] = port
        span = _tracer(otel).start_span(f"process {exchange}", kind=otel.SpanKind.CONSUMER,
                                        attributes=attributes, links=_links(otel, headers))
        return _Processing(otel, span) if span.is_recording() else _NOT_PROCESSING
    except Exception as exc:
        log.debug("no span for a message of %s: %r", exchange, exc)
        return _NOT_PROCESSING


def _links(otel: ModuleType, headers: Any) -> list[Any] | None:
    """A link to the span a W3C ``traceparent`` header names (the header is the
    publisher's, untrusted: read only when it is exactly of that form)."""
    value = headers.get("traceparent") if isinstance(headers, dict) else None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    match = _TRACEPARENT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    trace, span, flags = (int(part, 16) for part in match.groups())
    context = otel.SpanContext(trace, span, is_remote=True,
                               trace_flags=otel.TraceFlags(flags & 1))
    return [otel.Link(context)] if context.is_valid else None


# -- shared -------------------------------------------------------------------------------

_tracer_of: dict[int, Any] = {}


def _tracer(otel: ModuleType) -> Any:
    """tcdyn's tracer (a proxy until a tracer provider is set, which it then follows)."""
    tracer = _tracer_of.get(id(otel))
    if tracer is None:
        from . import __version__

        tracer = _tracer_of[id(otel)] = otel.get_tracer(SCOPE, __version__,
                                                         schema_url=SCHEMA_URL)
    return tracer


def _server(url: str) -> dict[str, Any]:
    """``server.address``, ``server.port`` and ``url.full`` of ``url``: scheme, host, port
    and path only (``redact.safe_url``: no user information, query or fragment)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return {}
    out: dict[str, Any] = {"server.address": host, "url.full": safe_url(url)}
    if port:
        out["server.port"] = port
    return out


def _broker(url: str) -> tuple[str | None, int | None]:
    """The host and port of an AMQP URL (never its user or password)."""
    try:
        parts = urlsplit(url)
        return parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None, None


def _failed_span(span: Any, error: BaseException, kind: str | None = None) -> None:
    """``span`` failed with ``error``: its ``error.type`` (``kind``, else the error's
    class), status ERROR, and (without ``kind``) an ``exception`` event naming the class.
    Never the message or the traceback (``record_exception`` records both): a message can
    quote a server's or storage host's answer, which may echo a signed URL."""
    otel = _modules.get("opentelemetry.trace")
    name = kind or type(error).__name__
    span.set_attribute("error.type", name)
    if kind is None and isinstance(error, Exception):
        kind_of = type(error)
        span.add_event("exception", {
            "exception.type": f"{kind_of.__module__}.{kind_of.__qualname__}"})
    if otel is not None:
        span.set_status(otel.Status(otel.StatusCode.ERROR, name))


def _attach(otel: ModuleType, span: Any) -> object:
    context = _modules.get("opentelemetry.context")
    if context is None:
        return None
    return context.attach(otel.set_span_in_context(span))


def _detach(token: object) -> None:
    context = _modules.get("opentelemetry.context")
    if token is not None and context is not None:
        context.detach(token)
