"""Everything about an API call that needs no I/O, shared by the sync and async clients.

``bind`` turns a method's arguments into a ``Call`` (HTTP method, URL, query, body);
``retry_flow`` is the retry loop as a generator that asks its driver to ``Send`` or to
``Sleep``, so both transports run the very same decisions (``response.value`` gives a
success's value, ``error_for`` the typed error of the rest); a ``Pager`` decides the calls and
items of a paginated listing for both clients' ``pages`` / ``items``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .errors import (
    BY_CODE,
    PaginationLoopError,
    TaskclusterAuthFailure,
    TaskclusterConnectionError,
    TaskclusterRestFailure,
)
from .errors import (
    TaskclusterArgumentError as ArgumentError,
)
from .model import EntryModel
from .options import DEFAULT_MAX_RETRIES
from .response import Received, clip, error_text
from .response import value as response_value

log = logging.getLogger("tcdyn.request")

_MISSING = object()


@dataclass(slots=True)
class Call:
    """One API request, fully decided: what the transport sends (and re-sends)."""

    service: str
    name: str
    http_method: str
    url: str
    query: dict[str, str] | None
    body: bytes | None
    #: The payload ``body`` encodes, for validation to check without decoding ``body``.
    payload: Any = dataclasses.field(default=None, repr=False, compare=False)


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


# -- binding arguments ------------------------------------------------------------------

def encode_segment(entry: EntryModel, name: str, value: Any) -> str:
    """A route argument, percent-encoded so that it can never change the route."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ArgumentError(f"{entry.name}() argument {name!r} must be a str (or int), "
                        f"got {type(value).__name__}")
    value = str(value)
    if not value:
        raise ArgumentError(f"{entry.name}() argument {name!r} must not be empty")
    encoded = quote(value, safe="")
    # '.' and '..' are path segments of their own: a URL normaliser would remove them.
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def _encode_query(entry: EntryModel, query: Any) -> dict[str, str] | None:
    if query is None:
        return None
    if not entry.query:
        raise ArgumentError(f"{entry.name}() takes no query arguments")
    if not isinstance(query, Mapping):
        raise ArgumentError(f"{entry.name}() query must be a dict, got {type(query).__name__}")
    out = {}
    for key, value in query.items():
        if key not in entry.query:
            raise ArgumentError(f"{entry.name}() got an unknown query argument {key!r}; "
                            f"accepted: {', '.join(entry.query)}")
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif not isinstance(value, (str, int, float)):
            raise ArgumentError(f"{entry.name}() query argument {key!r} must be a str or number, "
                            f"got {type(value).__name__}")
        out[key] = str(value)
    return out or None


def encode_body(entry: EntryModel, payload: Any) -> bytes:
    """The payload as compact JSON, datetimes as Taskcluster expects (``utils.dumpJson``)."""
    from .utils import dumpJson

    try:
        return dumpJson(payload, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"{entry.name}() payload cannot be sent as JSON: {exc}") from None
    except RecursionError:  # a cycle is a ValueError: this is depth alone
        raise ArgumentError(f"{entry.name}() payload cannot be sent as JSON: it is nested "
                            "too deeply") from None


def _names(names: list[str]) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b', and 'c'``: as Python lists missing arguments."""
    quoted = [repr(n) for n in names]
    if len(quoted) < 3:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def bind_arguments(entry: EntryModel, args: tuple[Any, ...], kwargs: dict[str, Any]
                   ) -> tuple[list[Any], Any, Any]:
    """Match a call's arguments to the entry: (route values in ``args`` order, payload,
    query). Raises ``TaskclusterArgumentError`` (a ``TypeError``) in Python's own words.

    Accepted forms (those of the official client too): ``m(a, b, payload)``;
    ``m(a=..., b=..., payload=...)``; ``m(payload, a=..., b=...)``;
    ``m(payload=..., params={"a": ...}, query={...})``. Route arguments go either all
    positionally or all by keyword, as the official client requires.
    """
    n = entry.name
    names = list(entry.args)
    values: list[Any] = [_MISSING] * len(names)
    payload: Any = _MISSING
    query = None
    given: dict[str, Any] = {}
    if kwargs:
        kwargs = dict(kwargs)
        params = kwargs.pop("params", None)
        query = kwargs.pop("query", None)
        if "payload" in kwargs:
            if entry.input is None:
                raise ArgumentError(f"{n}() got an unexpected keyword argument 'payload' "
                                    "(it takes no payload)")
            payload = kwargs.pop("payload")
        if params is not None:
            if not isinstance(params, Mapping):
                raise ArgumentError(f"{n}() params must be a dict of route arguments, "
                                    f"got {type(params).__name__}")
            for key, value in params.items():
                if key in kwargs:
                    raise ArgumentError(f"{n}() got multiple values for argument {key!r}")
                kwargs[key] = value
        for key, value in kwargs.items():
            if key not in names:
                accepted = [*names, *(["payload"] if entry.input else []),
                            *(["query"] if entry.query else [])]
                raise ArgumentError(f"{n}() got an unexpected keyword argument {key!r}; "
                                    f"accepted: {', '.join(accepted) or 'none'}")
            given[key] = value
    takes_payload = entry.input is not None
    if given and args:
        # The official form m(payload, a=..., b=...): the one positional is the payload.
        route_like = isinstance(args[0], (str, int)) and bool(names) and names[0] in given
        if not (takes_payload and payload is _MISSING and len(args) == 1) or route_like:
            for i in range(min(len(args), len(names))):
                if names[i] in given:
                    raise ArgumentError(f"{n}() got multiple values for argument "
                                        f"{names[i]!r}")
            raise ArgumentError(
                f"{n}() takes its route arguments either positionally or by keyword, not "
                f"both (as the official client): got {len(args)} positionally and "
                f"{_names(list(given))} by keyword")
        payload, args = args[0], ()
    for key, value in given.items():
        values[names.index(key)] = value
    slots = len(names) + (takes_payload and payload is _MISSING)
    if len(args) > slots:
        if takes_payload and payload is not _MISSING and len(args) == len(names) + 1:
            raise ArgumentError(f"{n}() got multiple values for argument 'payload'")
        total = len(names) + takes_payload
        raise ArgumentError(f"{n}() takes {total} positional argument"
                            f"{'' if total == 1 else 's'} but {len(args)} "
                            f"{'was' if len(args) == 1 else 'were'} given")
    for i, value in enumerate(args[:len(names)]):
        values[i] = value
    if len(args) > len(names):
        payload = args[len(names)]
    missing = [names[i] for i, v in enumerate(values) if v is _MISSING]
    if takes_payload and payload is _MISSING:
        missing.append("payload")
    if missing:
        message = (f"{n}() missing {len(missing)} required positional argument"
                   f"{'' if len(missing) == 1 else 's'}: {_names(missing)}")
        stray = [names[i] for i, v in enumerate(args[:len(names)]) if isinstance(v, Mapping)]
        if stray:
            message += f" (a dict was given as {_names(stray)})"
        raise ArgumentError(message)
    return values, (None if payload is _MISSING else payload), query


def build_url(base_url: str, entry: EntryModel, values: list[Any]) -> str:
    """``<base_url><route>`` with each argument percent-encoded in place."""
    parts = [base_url]
    for part in entry.route_parts:
        parts.append(part if type(part) is str else
                     encode_segment(entry, entry.args[part], values[part]))  # type: ignore
    return "".join(parts)


def bind(service: str, base_url: str, entry: EntryModel, args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> Call:
    """A call's arguments -> ``Call``; every check happens here, before anything is sent."""
    if not kwargs and len(args) == len(entry.args) and entry.input is None:
        values: list[Any] = list(args)  # the common case: positional route arguments
        payload = query = None
    else:
        values, payload, query = bind_arguments(entry, args, kwargs)
    url = build_url(base_url, entry, values)
    if payload is None and entry.input is not None:
        raise ArgumentError(f"{entry.name}() payload must not be None")
    return Call(service, entry.name, entry.http_method, url, _encode_query(entry, query),
                None if payload is None else encode_body(entry, payload), payload)


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
    return cls(message, status_code=status, code=code if isinstance(code, str) else None,
               body=body, raw_body=raw, service=call.service, method_name=call.name,
               http_method=call.http_method, url=received.url or call.url, attempts=attempts)


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


def retry_flow(call: Call, policy: RetryPolicy) -> Generator[Send | Sleep, Any, Any]:
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


# -- pagination ---------------------------------------------------------------------------

def next_query(query: dict[str, str] | None, page: Any) -> dict[str, str] | None:
    """The query for the page after ``page``, or ``None`` when it was the last."""
    token = page.get("continuationToken") if isinstance(page, dict) else None
    if not token:
        return None
    return {**(query or {}), "continuationToken": str(token)}


def page_items(entry: EntryModel, page: Any, key: str | None = None) -> list[Any]:
    """The list of items one page carries (its only list-valued field, or ``key``)."""
    if not isinstance(page, dict):
        raise TypeError(f"{entry.name}() returned {type(page).__name__}, not a page object")
    if key is not None:
        if not isinstance(page.get(key), list):
            raise KeyError(f"{entry.name}() pages have no list field {key!r}")
        keyed: list[Any] = page[key]
        return keyed
    lists = [k for k, v in page.items() if isinstance(v, list)]
    if len(lists) != 1:
        raise TypeError(f"{entry.name}() pages have list fields {lists}: pass key=")
    only: list[Any] = page[lists[0]]
    return only


def _digest(token: str) -> bytes:
    """A fixed-size stand-in for a token: a walk remembers every token it was given."""
    import hashlib  # imported by the first paginated walk

    return hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class Pager:
    """The decisions of one listing, shared by the sync and async clients: which call
    fetches the next page (``after(call, page)``, until None), and which items of a page to
    hand out (``take(page)``, until ``done``). The clients only send and wait.

    A non-paginated entry is one page; ``max_pages`` / ``max_items`` stop early. A token
    seen before in the walk (the caller's own included) would repeat pages forever:
    ``after`` raises ``PaginationLoopError`` instead of following it."""

    __slots__ = ("_key", "_left", "_max_pages", "_pages", "_seen", "entry")

    def __init__(self, entry: EntryModel, *, max_pages: int | None = None,
                 key: str | None = None, max_items: int | None = None) -> None:
        self.entry = entry
        self._max_pages = max_pages
        self._pages = 0
        self._key = key
        self._left = max_items
        self._seen: dict[bytes, int] | None = None  # token digest -> the page that gave it

    def after(self, call: Call, page: Any) -> Call | None:
        """The call for the page after ``page`` (fetched by ``call``), or None."""
        self._pages += 1
        if not self.entry.paginated or (self._max_pages is not None
                                        and self._pages >= self._max_pages):
            return None
        query = next_query(call.query, page)
        if query is None:
            return None
        self._remember(call, query["continuationToken"])
        return dataclasses.replace(call, query=query)

    def _remember(self, call: Call, token: str) -> None:
        seen = self._seen
        if seen is None:
            own = (call.query or {}).get("continuationToken")
            seen = self._seen = {_digest(own): 0} if own else {}
        key = _digest(token)
        first = seen.setdefault(key, self._pages)
        if first == self._pages:
            return
        where = ("the continuationToken the caller passed" if first == 0 else
                 f"the continuationToken it gave on page {first}")
        raise PaginationLoopError(
            f"the server answered page {self._pages} with {where} (a {len(token)}-character "
            "token, not shown); following it would repeat pages forever, so the listing "
            "stops here", page=self._pages, first_page=first, service=call.service,
            method_name=call.name, http_method=call.http_method, url=call.url)

    @property
    def done(self) -> bool:
        """Whether ``max_items`` items were handed out (no more pages are needed)."""
        return self._left is not None and self._left <= 0

    def take(self, page: Any) -> list[Any]:
        """The items of ``page`` to hand out (all, or up to what ``max_items`` leaves)."""
        items = page_items(self.entry, page, self._key)
        if self._left is None:
            return items
        items = items[:max(self._left, 0)]
        self._left -= len(items)
        return items


def split_paging(entry: EntryModel, kwargs: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """A call's keywords without the official ``paginationHandler`` / ``paginationLimit``
    (the limit put into the query when the entry takes one), and the handler or None."""
    if "paginationHandler" not in kwargs and "paginationLimit" not in kwargs:
        return kwargs, None
    rest = dict(kwargs)
    handler = rest.pop("paginationHandler", None)
    limit = rest.pop("paginationLimit", None)
    if handler is not None and not callable(handler):
        raise ArgumentError(f"paginationHandler must be callable, got {type(handler).__name__}")
    if limit is not None and "limit" in entry.query:
        rest["query"] = {**(rest.get("query") or {}), "limit": limit}
    return rest, handler
