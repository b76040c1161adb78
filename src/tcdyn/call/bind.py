"""A method's arguments bound into a ``Call`` (HTTP method, URL, query, body), without I/O.

``bind`` checks every argument as Python would bind it (``TaskclusterArgumentError``
otherwise), percent-encodes route segments and encodes the payload as JSON bytes, before
anything is sent; the sync and async clients share it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..errors import TaskclusterArgumentError as ArgumentError
from ..model.reference import EntryModel

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
    #: The entry's route template (``/task/<taskId>``), for telemetry.
    route: str = dataclasses.field(default="", repr=False, compare=False)
    #: The trace id the client was given (``traceId=``), else None (``tcdyn.tracing``).
    trace_id: str | None = dataclasses.field(default=None, repr=False, compare=False)


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
    from ..utils import dumpJson

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
                None if payload is None else encode_body(entry, payload), payload,
                entry.route)
