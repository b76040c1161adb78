"""What the queue imitation and its artifacts share: the queue's clock and time format, and
``paginateResults`` over a list of ids."""

from __future__ import annotations

import datetime as dt
import re

from .server import ApiRequest, Reply, error


def now() -> dt.datetime:
    """The queue's clock: now, in UTC."""
    return dt.datetime.now(dt.UTC)


def js(moment: dt.datetime) -> str:
    """As JavaScript's ``Date.toJSON()``: UTC, milliseconds, ``Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def parse_time(text: str) -> dt.datetime:
    """A time the queue was given (``Z`` or an offset; naive is UTC)."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def page(request: ApiRequest, ids: list[str]) -> tuple[list[str], str | None] | Reply:
    """``paginateResults``: ``limit`` (at most 1000) rows from the token's offset; a token
    when more rows follow."""
    limit, token = request.query.get("limit", "1000"), request.query.get("continuationToken")
    if not re.match(r"^[0-9]+$", limit) or (token is not None and not token.isdigit()):
        return error(400, "InvalidRequestArguments", "Invalid query string parameters: "
                     "limit must be a number, continuationToken one this queue gave")
    start, size = int(token or 0), min(int(limit), 1000)
    rows = ids[start:start + size + 1]
    more = len(rows) > size
    return rows[:size], str(start + size) if more else None
