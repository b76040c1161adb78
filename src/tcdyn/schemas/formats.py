"""The ``format`` keyword as Taskcluster's services check it: ajv-formats 2.1.1 in its
"full" mode (``addFormats(ajv)`` without options, in lib-validate).

Each format is ajv-formats' own definition: the same JavaScript regular expressions
(translated by :mod:`tcdyn.jsregex`, so ``$``, ``\\s``, ``\\d`` and the ``i`` flag mean what
they mean to V8) and the same code around them (``date-time`` splits at ``t``, ``T`` or any
JavaScript white space and takes a missing time zone; ``uri`` needs a ``/`` or a ``:``;
``regex`` asks whether ``new RegExp`` compiles it). String formats apply to strings and
number formats (``int32``, ``int64``, ``float``, ``double``) to numbers; every other value
passes, as in ajv. A format not in :data:`FORMATS` is not checked (ajv refuses such a schema:
the service decides).

:func:`patterns` gives the same checks as regular expressions for the jsonschema-rs fast path
where that is exact (the tests compare the two on every value they make).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

from . import jsregex

__all__ = ["FORMATS", "check", "patterns"]

# ajv-formats 2.1.1, dist/formats.js (fullFormats), verbatim: (source, flags)
_SOURCES: dict[str, tuple[str, str]] = {
    "duration": (r"^P(?!$)((\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?|(\d+W)?)$", ""),
    "uri-reference": (
        r"^(?:[a-z][a-z0-9+\-.]*:)?(?:\/?\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?"
        r"(?:\[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::"
        r"(?:[0-9a-f]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:)"
        r"{3}|(?:(?:[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]"
        r"{1,4}:){0,3}[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})"
        r"?::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25"
        r"[0-5]|2[0-4]\d|[01]?\d\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]"
        r"{1,4}|(?:(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\.[a-z0-9\-._~!$&'()"
        r"*+,;=:]+)\]|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)|"
        r"(?:[a-z0-9\-._~!$&'\"()*+,;=]|%[0-9a-f]{2})*)(?::\d*)?(?:\/(?:[a-z0-9\-._~!$&'\"()*+"
        r",;=:@]|%[0-9a-f]{2})*)*|\/(?:(?:[a-z0-9\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:"
        r"[a-z0-9\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\-._~!$&'\"()*+,;=:@]|%"
        r"[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})*)*)?(?:\?(?:[a-z0-9"
        r"\-._~!$&'\"()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\-._~!$&'\"()*+,;=:@/?]|%"
        r"[0-9a-f]{2})*)?$", "i"),
    "uri-template": (
        r"^(?:(?:[^\x00-\x20\"'<>%\\^`{|}]|%[0-9a-f]{2})|\{[+#./;?&=,!@|]?(?:[a-z0-9_]|%[0-9a-f]"
        r"{2})+(?::[1-9][0-9]{0,3}|\*)?(?:,(?:[a-z0-9_]|%[0-9a-f]{2})+(?::[1-9][0-9]{0,3}|\*)?)"
        r"*\})*$", "i"),
    "url": (
        r"^(?:https?|ftp):\/\/(?:\S+(?::\S*)?@)?(?:(?!(?:10|127)(?:\.\d{1,3}){3})(?!(?:169\.254"
        r"|192\.168)(?:\.\d{1,3}){2})(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})(?:[1-9]\d?|"
        r"1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}(?:\.(?:[1-9]\d?|1\d\d|2"
        r"[0-4]\d|25[0-4]))|(?:(?:[a-z0-9\u{00a1}-\u{ffff}]+-)*[a-z0-9\u{00a1}-\u{ffff}]+)(?:\."
        r"(?:[a-z0-9\u{00a1}-\u{ffff}]+-)*[a-z0-9\u{00a1}-\u{ffff}]+)*(?:\.(?:[a-z\u{00a1}-"
        r"\u{ffff}]{2,})))(?::\d{2,5})?(?:\/[^\s]*)?$", "iu"),
    "email": (
        r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9"
        r"-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", "i"),
    "hostname": (
        r"^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}"
        r"[0-9a-z])?)*\.?$", "i"),
    "ipv4": (r"^(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)$", ""),
    "ipv6": (
        r"^((([0-9a-f]{1,4}:){7}([0-9a-f]{1,4}|:))|(([0-9a-f]{1,4}:){6}(:[0-9a-f]{1,4}|((25[0-5]"
        r"|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9a-f]{1,4}"
        r":){5}(((:[0-9a-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d"
        r"|1\d\d|[1-9]?\d)){3})|:))|(([0-9a-f]{1,4}:){4}(((:[0-9a-f]{1,4}){1,3})|((:[0-9a-f]"
        r"{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))"
        r"|:))|(([0-9a-f]{1,4}:){3}(((:[0-9a-f]{1,4}){1,4})|((:[0-9a-f]{1,4}){0,2}:((25[0-5]|2"
        r"[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9a-f]{1,4}"
        r":){2}(((:[0-9a-f]{1,4}){1,5})|((:[0-9a-f]{1,4}){0,3}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?"
        r"\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9a-f]{1,4}:){1}(((:[0-9a-f]"
        r"{1,4}){1,6})|((:[0-9a-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2"
        r"[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(:(((:[0-9a-f]{1,4}){1,7})|((:[0-9a-f]{1,4}){0,5}:"
        r"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))$",
        "i"),
    "uuid": (r"^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$", "i"),
    "json-pointer": (r"^(?:\/(?:[^~/]|~0|~1)*)*$", ""),
    "json-pointer-uri-fragment": (
        r"^#(?:\/(?:[a-z0-9_\-.!$&'()*+,;:=@]|%[0-9a-f]{2}|~0|~1)*)*$", "i"),
    "relative-json-pointer": (r"^(?:0|[1-9][0-9]*)(?:#|(?:\/(?:[^~/]|~0|~1)*)*)$", ""),
    # used by the functions below
    "=date": (r"^(\d\d\d\d)-(\d\d)-(\d\d)$", ""),
    "=time": (r"^(\d\d):(\d\d):(\d\d)(\.\d+)?(z|[+-]\d\d(?::?\d\d)?)?$", "i"),
    "=separator": (r"t|\s", "i"),
    "=not-uri-fragment": (r"\/|:", ""),
    "=uri": (
        r"^(?:[a-z][a-z0-9+\-.]*:)(?:\/?\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\["
        r"(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]"
        r"{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:"
        r"[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}"
        r"[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]"
        r"{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?"
        r"\d\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:[0-9a-f]{1,4}:)"
        r"{0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+)\]|(?:(?:25[0-5]|2"
        r"[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)|(?:[a-z0-9\-._~!$&'()*+,;=]|"
        r"%[0-9a-f]{2})*)(?::\d*)?(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*|\/(?:(?:"
        r"[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]"
        r"{2})*)*)?|(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:"
        r"@]|%[0-9a-f]{2})*)*)(?:\?(?:[a-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:"
        r"[a-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?$", "i"),
    "=byte": (r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$", "gm"),
    "=z-anchor": (r"[^\\]\\Z", ""),
}


@functools.cache
def _regex(name: str) -> re.Pattern[str]:
    source, flags = _SOURCES[name]
    translation = jsregex.to_python(source, flags)
    assert translation.engine == "re", name
    return re.compile(translation.pattern)


def _matches(name: str) -> Callable[[str], bool]:
    return lambda text: _regex(name).search(text) is not None


_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _date(text: str) -> bool:
    match = _regex("=date").search(text)
    if match is None:
        return False
    year, month, day = (int(match.group(i)) for i in (1, 2, 3))
    return 1 <= month <= 12 and 1 <= day <= (29 if month == 2 and _leap(year) else _DAYS[month])


def _time(text: str, with_time_zone: bool = False) -> bool:
    match = _regex("=time").search(text)
    if match is None:
        return False
    hour, minute, second = (int(match.group(i)) for i in (1, 2, 3))
    # ajv-formats' "timeZone !== ''": an absent zone is undefined, so never refused
    return ((hour <= 23 and minute <= 59 and second <= 59)
            or (hour == 23 and minute == 59 and second == 60))


def _date_time(text: str) -> bool:
    parts = _regex("=separator").split(text)
    return len(parts) == 2 and _date(parts[0]) and _time(parts[1], True)


def _uri(text: str) -> bool:
    return (_regex("=not-uri-fragment").search(text) is not None
            and _regex("=uri").search(text) is not None)


def _byte(text: str) -> bool:
    return _regex("=byte").search(text) is not None


def _regex_format(text: str) -> bool:
    if _regex("=z-anchor").search(text):
        return False
    return jsregex.compiles(text, "")


def _js_integer(value: float) -> bool:
    return isinstance(value, int) or (math.isfinite(value) and value.is_integer())


def _int32(value: float) -> bool:
    return _js_integer(value) and -(2**31) <= value <= 2**31 - 1


def _always(value: Any) -> bool:
    return True


#: name -> (the JSON type it applies to, the check).
FORMATS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "date": ("string", _date),
    "time": ("string", _time),
    "date-time": ("string", _date_time),
    "duration": ("string", _matches("duration")),
    "uri": ("string", _uri),
    "uri-reference": ("string", _matches("uri-reference")),
    "uri-template": ("string", _matches("uri-template")),
    "url": ("string", _matches("url")),
    "email": ("string", _matches("email")),
    "hostname": ("string", _matches("hostname")),
    "ipv4": ("string", _matches("ipv4")),
    "ipv6": ("string", _matches("ipv6")),
    "regex": ("string", _regex_format),
    "uuid": ("string", _matches("uuid")),
    "json-pointer": ("string", _matches("json-pointer")),
    "json-pointer-uri-fragment": ("string", _matches("json-pointer-uri-fragment")),
    "relative-json-pointer": ("string", _matches("relative-json-pointer")),
    "byte": ("string", _byte),
    "int32": ("number", _int32),
    "int64": ("number", _js_integer),
    "float": ("number", _always),
    "double": ("number", _always),
    "password": ("string", _always),
    "binary": ("string", _always),
}


def check(name: str, value: Any) -> bool:
    """Whether ``value`` passes format ``name`` as ajv-formats checks it (a value of another
    type, and a format tcdyn does not know, pass)."""
    known = FORMATS.get(name)
    if known is None:
        return True
    kind, test = known
    if kind == "string":
        return type(value) is not str or test(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    return test(value)


# --- as regular expressions --------------------------------------------------------------------

_D = "[0-9]"
_LEAP_YEAR = (r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)")
_MONTH_DAY = (r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
              r"|(?:0[13578]|1[02])-31)")
_DATE_PART = rf"(?:[0-9]{{4}}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME_PART = (r"(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]|23:59:60)(?:\.[0-9]+)?"
              r"(?:[Zz]|[+\-][0-9]{2}(?::?[0-9]{2})?)?")
_SEPARATOR = "[Tt" + "".join(
    f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}"
    for low, high in jsregex.SPACE) + "]"

#: Python patterns (``re.search``) accepting exactly what the format accepts (all of them).
_PATTERNS: dict[str, tuple[str, ...]] = {
    "date": (rf"^{_DATE_PART}\Z",),
    "time": (rf"^{_TIME_PART}\Z",),
    "date-time": (rf"^{_DATE_PART}{_SEPARATOR}{_TIME_PART}\Z",),
    # hostname without its look-ahead, which is the second pattern
    "hostname": (jsregex.to_python(_SOURCES["hostname"][0].replace(r"(?=.{1,253}\.?$)", ""),
                                   "i").pattern,
                 r"^[^\n\r\u2028\u2029]{1,253}\.?\Z"),
}


def patterns(name: str) -> tuple[str, ...] | None:
    """Python patterns that a string passes all of exactly when it passes format ``name``
    (for formats that are regular expressions), or None."""
    if name in _PATTERNS:
        return _PATTERNS[name]
    if name == "uri":
        return (jsregex.to_python(*_SOURCES["=uri"]).pattern,)
    if name in _SOURCES and name in FORMATS:
        translation = jsregex.to_python(*_SOURCES[name])
        return (translation.pattern,) if translation.engine == "re" else None
    return None
