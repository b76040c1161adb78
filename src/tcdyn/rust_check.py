"""The fast "valid?" check of a schema compiled by jsonschema-rs (the Rust validator).

Its verdict must be jsonschema's (tcdyn.schemas asks jsonschema whenever it is not "valid"),
also under ``not`` and ``oneOf``, so each schema copy handed to it is rewritten first:

- a ``pattern`` proved safe (:func:`tcdyn.patterns.is_safe`) and built only of literals,
  character ranges, ``.``, groups, alternation, repeats, ``^``, ``\\Z`` and a final ``$`` is
  re-spelt in a syntax both engines read alike, matching what Python's ``re`` matches
  (:func:`portable_pattern`); any other pattern is matched by a custom keyword calling
  :mod:`tcdyn.patterns` (Python's semantics, time limit);
- ``format: date-time`` becomes :data:`DATE_TIME`, a pattern accepting exactly what
  :func:`tcdyn.schemas.is_date_time` accepts; email/ipv4/ipv6 call jsonschema's own checks;
  the formats tcdyn does not check are dropped;
- ``patternProperties`` keys must be portable, else the schema is not compiled here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from re import _constants as _c  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]  # not in typeshed
from re import _parser as _p  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]  # not in typeshed
from typing import Any

from .patterns import compile_pattern, is_safe

__all__ = ["DATE_TIME", "Unportable", "compile_check", "portable_pattern"]

#: Python's ``\s`` (``str.isspace`` characters), for the date-time pattern below.
_SPACES = "".join(f"\\u{{{code:x}}}" for code in (
    0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000,
    0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000))
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
#: Exactly the strings :func:`tcdyn.schemas.is_date_time` accepts: days that exist (Feb 29
#: in leap years), and the leap second only at 23:59.
DATE_TIME = (
    r"^(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
    rf"|(?:0[13578]|1[02])-31)|{_LEAP_YEAR}-02-29)[Tt{_SPACES}]"
    r"(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]|23:59:60)(?:\.[0-9]+)?"
    r"(?:[Zz]|[+\-][0-9]{2}(?::?[0-9]{2})?)$")
#: tcdyn's own keyword: removed from every schema before the rewrite adds it, so a schema
#: that carries the key itself (an annotation to jsonschema) never gets it enforced.
_PATTERN_KEYWORD = "tcdynPattern"
#: Annotations to jsonschema and to the service, which jsonschema-rs would enforce.
_ANNOTATIONS = ("contentEncoding", "contentMediaType")
_FORMAT_PREFIX = "tcdyn-"
_CHECKED_FORMATS = ("email", "ipv4", "ipv6")  # besides date-time: see schemas.FORMAT_CHECKER
_DATA = ("enum", "const", "default", "examples")  # values, not schemas


class Unportable(Exception):
    """A schema jsonschema-rs could judge differently from jsonschema."""


# --- patterns -------------------------------------------------------------------------------

def _literal(code: int, in_class: bool = False) -> str:
    char = chr(code)
    if code < 32 or code == 127:
        return f"\\u{{{code:x}}}"
    if char.isascii() and not char.isalnum():
        if char in "<>" and not in_class:
            return char  # \< and \> are word boundaries to Rust
        return "\\" + char
    return char


def _class_item(op: Any, av: Any) -> str:
    if op is _c.LITERAL:
        return _literal(av, in_class=True)
    if op is _c.RANGE:
        return f"{_literal(av[0], True)}-{_literal(av[1], True)}"
    raise Unportable(f"{op} in a character class")


def _spell(items: Any, top: bool = False) -> Iterator[str]:
    """Rust (and ECMAScript) syntax for ``items``, matching exactly what ``re`` matches;
    ``top``: the pattern's own items (a ``$`` may end them)."""
    items = list(items)
    for index, (op, av) in enumerate(items):
        last = top and index == len(items) - 1
        if op is _c.LITERAL:
            yield _literal(av)
        elif op is _c.NOT_LITERAL:
            yield f"[^{_literal(av, True)}]"
        elif op is _c.ANY:
            yield "[^\\n]"  # Python's "." (ECMAScript's excludes \r and more)
        elif op is _c.IN:
            negate = bool(av) and av[0][0] is _c.NEGATE
            body = "".join(_class_item(*item) for item in av[negate:])
            yield f"[{'^' if negate else ''}{body}]"
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            low, high, sub = av
            bound = f"{{{low},}}" if high is _c.MAXREPEAT else f"{{{low},{high}}}"
            yield f"(?:{''.join(_spell(sub))}){bound}{'?' if op is _c.MIN_REPEAT else ''}"
        elif op is _c.SUBPATTERN:
            _group, add, remove, sub = av
            if add or remove:
                raise Unportable("inline flags")
            yield f"(?:{''.join(_spell(sub))})"
        elif op is _c.BRANCH:
            yield "(?:" + "|".join("".join(_spell(alt)) for alt in av[1]) + ")"
        elif op is _c.AT and av in (_c.AT_BEGINNING, _c.AT_BEGINNING_STRING):
            yield "^"
        elif op is _c.AT and av is _c.AT_END_STRING:
            yield "$"  # \Z: the end of the text
        elif op is _c.AT and av is _c.AT_END and last:
            yield "\\n?$"  # the end, or before a final newline: last, that is Python's $
        else:
            raise Unportable(str(op))


def portable_pattern(pattern: str) -> str | None:
    """``pattern`` spelt so that jsonschema-rs matches exactly what Python's ``re`` does, or
    None when it is not proved safe or uses anything but the plainest syntax."""
    if not is_safe(pattern):
        return None
    try:
        parsed = _p.parse(pattern)
        if parsed.state.flags & ~re.UNICODE:
            return None
        return "".join(_spell(parsed, top=True))
    except (Unportable, re.error, RecursionError, TypeError, ValueError):
        return None


class _PythonPattern:
    """jsonschema-rs keyword: a pattern matched by :mod:`tcdyn.patterns` (time-limited)."""

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        self._search = compile_pattern(value).search

    def validate(self, instance: Any) -> None:
        if type(instance) is str and self._search(instance) is None:
            raise ValueError("does not match")


# --- documents ------------------------------------------------------------------------------

def rewrite(document: Any, walk: Callable[[Any], Iterator[tuple[str, dict[str, Any]]]],
            draft: str, needs: set[str]) -> Any:
    """``document`` (a copy, changed in place) as jsonschema-rs must read it; adds to
    ``needs`` the custom keyword and formats it then relies on."""
    seen = set()
    for pointer, schema in list(walk(document)):  # not into the subschemas added here
        seen.add(id(schema))
        for key in (_PATTERN_KEYWORD, *_ANNOTATIONS):
            schema.pop(key, None)
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            spelt = portable_pattern(pattern)
            if spelt is None:
                needs.add(_PATTERN_KEYWORD)
                schema[_PATTERN_KEYWORD] = schema.pop("pattern")
            else:
                schema["pattern"] = spelt
        fmt = schema.pop("format", None)
        if fmt == "date-time":
            added = {"pattern": DATE_TIME}
            seen.add(id(added))
            schema["allOf"] = [*schema.get("allOf", ()), added]
        elif fmt in _CHECKED_FORMATS:
            schema["format"] = _FORMAT_PREFIX + fmt
            needs.add(schema["format"])
        patterns = schema.get("patternProperties")
        if isinstance(patterns, dict):
            spelt_keys = {portable_pattern(key): value for key, value in patterns.items()}
            if None in spelt_keys or len(spelt_keys) != len(patterns):
                raise Unportable(f"patternProperties at #{pointer}")
            schema["patternProperties"] = spelt_keys
    _check_reached(document, seen)
    document["$schema"] = draft  # its draft, and no relative $schema to resolve
    return document


def _check_reached(value: Any, seen: set[int], key: str = "") -> None:
    """Unportable if a schema keyword sits where the walk did not rewrite it (a ``$ref``
    to an unusual place would hand it to jsonschema-rs as written)."""
    if isinstance(value, dict):
        if id(value) not in seen and any(
                k in value for k in ("pattern", "format", "patternProperties",
                                     _PATTERN_KEYWORD, *_ANNOTATIONS)):
            raise Unportable(f"a schema keyword outside the schema walk, under {key!r}")
        for k, item in value.items():
            if k not in _DATA:
                _check_reached(item, seen, k)
    elif isinstance(value, list):
        for item in value:
            _check_reached(item, seen, key)


def compile_check(root: Any, retrieve: Callable[[str], Any], needs: set[str],
                  format_checker: Any) -> Callable[[Any], bool]:
    """``is_valid(instance)`` of jsonschema-rs for ``root`` (rewritten), whose ``$ref`` s
    are fetched by ``retrieve(uri)`` (rewritten documents too, adding to ``needs``);
    email/ipv4/ipv6 are checked by jsonschema's ``format_checker``.

    The custom keyword and formats are passed only when a document needs them: with any
    custom keyword jsonschema-rs is some 20 times slower on every instance.
    """
    import jsonschema_rs

    validator = jsonschema_rs.Draft6Validator(root, retriever=retrieve)
    if not needs:
        return validator.is_valid
    options: dict[str, Any] = {}
    if _PATTERN_KEYWORD in needs:
        options["keywords"] = {_PATTERN_KEYWORD: _PythonPattern}
    formats = {name: partial(format_checker.conforms, format=name[len(_FORMAT_PREFIX):])
               for name in needs if name.startswith(_FORMAT_PREFIX)}
    if formats:
        options.update(formats=formats, validate_formats=True)
    return jsonschema_rs.Draft6Validator(root, retriever=retrieve, **options).is_valid
