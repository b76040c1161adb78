"""Taskcluster's dates: ``fromNow``'s offsets and the JSON form of a date.

The rules of ``tcdyn.utils.fromNow``, ``fromNowJSON`` and ``stringDate`` (which name them for
the official client's users), apart so that ``tcdyn from-now`` needs nothing more than
``datetime`` and ``re``. ``fromNow`` accepts the official grammar (years = 365 days, months =
30 days, weeks, days, hours, minutes, seconds; long or short unit names; a leading ``-`` or
``+``) plus the ``yr``/``wk``/``hr`` forms of the JavaScript client.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_OFFSET = re.compile(
    r"^(\s*(?P<years>\d+)\s*y(ears?|rs?)?)?"
    r"(\s*(?P<months>\d+)\s*mo(nths?)?)?"
    r"(\s*(?P<weeks>\d+)\s*w(eeks?|ks?)?)?"
    r"(\s*(?P<days>\d+)\s*d(ays?)?)?"
    r"(\s*(?P<hours>\d+)\s*h(ours?|rs?)?)?"
    r"(\s*(?P<minutes>\d+)\s*m(in(utes?)?)?)?\s*"
    r"(\s*(?P<seconds>\d+)\s*s(ec(onds?)?)?)?\s*$"
)


def offset_of(offset: str) -> tuple[bool, timedelta]:
    """``fromNow``'s reading of ``offset``: (in the future?, how far)."""
    if not isinstance(offset, str):
        raise TypeError(f"offset must be a string like '2 days 3 hours', "
                        f"got {type(offset).__name__}")
    text = offset.lstrip()
    future = True
    if text.startswith("-"):
        future, text = False, text[1:].lstrip()
    if text.startswith("+"):
        text = text[1:].lstrip()
    m = _OFFSET.match(text)
    if m is None:
        raise ValueError(
            f"offset {offset!r} does not parse: expected e.g. '1 year 2 months 3 weeks "
            "4 days 5 hours 6 minutes 7 seconds', '-1d', '2h30m'")
    n = {k: int(v) if v else 0 for k, v in m.groupdict().items()}
    return future, timedelta(weeks=n["weeks"], days=365 * n["years"] + 30 * n["months"]
                             + n["days"], hours=n["hours"], minutes=n["minutes"],
                             seconds=n["seconds"])


def fromNow(offset: str, dateObj: datetime | None = None) -> datetime:
    """``dateObj`` (default: now, UTC) moved by ``offset``, e.g. ``"2 days 3 hours"``,
    ``"-1 year"``, ``"1d2h"``."""
    future, delta = offset_of(offset)
    if dateObj is None:
        dateObj = datetime.now(UTC)
    elif not isinstance(dateObj, datetime):
        raise TypeError(f"dateObj must be a datetime, got {type(dateObj).__name__}")
    return dateObj + delta if future else dateObj - delta


def fromNowJSON(offset: str) -> str:
    """:func:`fromNow` as a Taskcluster JSON date string."""
    return stringDate(fromNow(offset))


def stringDate(date_: datetime | date) -> str:
    """The official client's date string: ``isoformat()`` with ``Z`` for UTC
    (``2026-01-01T00:00:00Z``, ``2026-01-01T00:00:00.250000Z``); naive datetimes are taken
    as UTC, another offset is kept (``+02:00``). A ``date`` is its midnight UTC."""
    if isinstance(date_, datetime):
        value = date_
    elif isinstance(date_, date):
        value = datetime(date_.year, date_.month, date_.day)
    else:
        raise TypeError(f"expected a datetime, got {type(date_).__name__}")
    text = value.isoformat()
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    return text + "Z" if value.utcoffset() is None else text
