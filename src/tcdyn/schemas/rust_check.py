"""The fast "valid?" check of a schema compiled by jsonschema-rs (the Rust validator).

It gets tcdyn's copy of each document (:mod:`tcdyn.semantics`: the services' reading), and
its verdict must be the services' (tcdyn.schemas asks the report's validator whenever it is
not "valid"), also under ``not`` and ``oneOf``, so each copy handed to it is rewritten
first, for Rust's reading of draft-07:

- a ``pattern`` whose Python spelling (:func:`tcdyn.jsregex.to_python`) is built only of
  character sets, groups, alternation, repeats, ``^`` and ``\\Z`` is spelt for Rust's regex
  (:func:`portable_pattern`: the same matches, in linear time); any other is matched by a
  custom keyword calling :mod:`tcdyn.patterns`;
- ``format`` becomes the patterns of :func:`tcdyn.formats.patterns` where they are portable
  (``date-time`` among them), else a custom format calling :func:`tcdyn.formats.check`;
  number formats become ``type: integer`` bounds;
- a ``multipleOf`` that is not an integer becomes a custom keyword (JavaScript's division);
  so does ``uniqueItems`` under ``not``, ``oneOf`` or ``if`` (ajv's equality, where Rust's
  is stricter: ``"__proto__"`` strings, own ``constructor`` objects), and over items with
  defaults it is one already (``semantics.UNIQUE_FILLED``);
- a ``$ref`` with other keywords beside it moves into ``allOf`` (Rust ignores them);
- ``contentEncoding``, ``contentMediaType`` (annotations to the services) and the keys of
  tcdyn's own keywords are removed, so a schema carrying one never gets it enforced;
- ``patternProperties`` keys must be portable, else the schema is not compiled here.

jsonschema-rs turns whatever the Python code it calls raises into its own error (a
retriever, a keyword's constructor) or into "not valid" (a keyword's ``validate``): a
``KeyboardInterrupt`` that a signal handler raises there (Ctrl-C, the command's SIGTERM) is
kept (:func:`_keep`) and raised again once jsonschema-rs returns, not lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator
from functools import partial
from re import _constants as _c  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]  # not in typeshed
from re import _parser as _p  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]  # not in typeshed
from typing import Any

from . import formats, jsregex
from .patterns import compile_pattern
from .semantics import UNIQUE_FILLED, js_multiple_of, strings_only, unique
from .walk import SCHEMA_MAPS

__all__ = ["Unportable", "compile_check", "portable_pattern", "rewrite"]

#: tcdyn's own keywords: removed from every schema before the rewrite adds them.
_PATTERN_KEYWORD = "tcdynPattern"
_MULTIPLE_KEYWORD = "tcdynMultipleOf"
_UNIQUE_KEYWORD = "tcdynUniqueItems"
_FORMAT_PREFIX = "tcdyn-"
#: Annotations to the services, which jsonschema-rs would enforce.
_ANNOTATIONS = ("contentEncoding", "contentMediaType")
_OWN = (_PATTERN_KEYWORD, _MULTIPLE_KEYWORD, _UNIQUE_KEYWORD, *_ANNOTATIONS)
_DATA = ("enum", "const", "default", "examples")  # values, not schemas
#: The most a pattern's nested repeats may multiply to (Rust compiles them unrolled).
_REPEAT_BUDGET = 1000
_NUMBER_FORMATS = {"int32": {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1},
                   "int64": {"type": "integer"}}


class Unportable(Exception):
    """A schema jsonschema-rs could judge differently from the services."""


# --- patterns -------------------------------------------------------------------------------

def _literal(code: int, in_class: bool = False) -> str:
    if 0xD800 <= code <= 0xDFFF:
        raise Unportable("a surrogate code point")
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
        if av[0] <= 0xDFFF and av[1] >= 0xD800:  # Rust's classes hold no surrogates
            if av[0] >= 0xD800 and av[1] <= 0xDFFF:
                raise Unportable("surrogate code points")
            parts = [(av[0], 0xD7FF)] if av[0] < 0xD800 else []
            parts += [(0xE000, av[1])] if av[1] > 0xDFFF else []
            return "".join(f"{_literal(a, True)}-{_literal(b, True)}" for a, b in parts)
        return f"{_literal(av[0], True)}-{_literal(av[1], True)}"
    raise Unportable(f"{op} in a character class")


def _spell(items: Any, factor: int) -> Iterator[str]:
    """Rust syntax for Python's ``items`` (from a :mod:`tcdyn.jsregex` spelling), matching
    exactly what ``re`` matches; ``factor``: how often the repeats around them repeat."""
    for op, av in list(items):
        if op is _c.LITERAL:
            yield _literal(av)
        elif op is _c.NOT_LITERAL:
            yield f"[^{_literal(av, True)}]"
        elif op is _c.IN:
            negate = bool(av) and av[0][0] is _c.NEGATE
            body = "".join(_class_item(*item) for item in av[negate:])
            yield f"[{'^' if negate else ''}{body}]"
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            low, high, sub = av
            inner_factor = factor * max(low if high is _c.MAXREPEAT else high, 1)
            if inner_factor > _REPEAT_BUDGET:
                raise Unportable("repeats too large for Rust's regex")
            bound = f"{{{low},}}" if high is _c.MAXREPEAT else f"{{{low},{high}}}"
            inner = "".join(_spell(sub, inner_factor))
            yield f"(?:{inner}){bound}{'?' if op is _c.MIN_REPEAT else ''}"
        elif op is _c.SUBPATTERN:
            _group, add, remove, sub = av
            if add or remove:
                raise Unportable("inline flags")
            yield f"(?:{''.join(_spell(sub, factor))})"
        elif op is _c.BRANCH:
            yield "(?:" + "|".join("".join(_spell(alt, factor)) for alt in av[1]) + ")"
        elif op is _c.AT and av in (_c.AT_BEGINNING, _c.AT_BEGINNING_STRING):
            yield "^"
        elif op is _c.AT and av is _c.AT_END_STRING:
            yield "$"  # \Z: the end of the text
        else:
            raise Unportable(str(op))


def _rust(python: str) -> str | None:
    try:
        return "".join(_spell(_p.parse(python), 1))
    except (Unportable, Exception):
        return None


def portable_pattern(pattern: str) -> str | None:
    """The JavaScript ``pattern`` spelt so that jsonschema-rs matches exactly what V8 does,
    or None when its spelling uses anything but the plainest syntax."""
    try:
        translation = jsregex.to_python(pattern)
    except (jsregex.JsSyntaxError, jsregex.Untranslatable, RecursionError):
        return None
    return _rust(translation.pattern) if translation.engine == "re" else None


class _Kept(threading.local):
    """What the Python code jsonschema-rs called in this thread raised that is not an
    ``Exception`` (``KeyboardInterrupt``, ``SystemExit``), until raised again."""

    error: BaseException | None = None


_kept = _Kept()


def _keep(exc: BaseException) -> None:
    """Keep ``exc``, raised in code jsonschema-rs called, if it is not an error."""
    if not isinstance(exc, Exception):
        _kept.error = exc


def _raise_kept() -> None:
    """Raise what :func:`_keep` kept in this thread, if anything."""
    error, _kept.error = _kept.error, None
    if error is not None:
        raise error


class _JsPattern:
    """jsonschema-rs keyword: a JavaScript pattern matched by :mod:`tcdyn.patterns`."""

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        try:
            self._search = compile_pattern(value).search
        except BaseException as exc:
            _keep(exc)
            raise

    def validate(self, instance: Any) -> None:
        try:
            if type(instance) is str and self._search(instance) is None:
                raise ValueError("does not match")
        except BaseException as exc:
            _keep(exc)
            raise


class _JsMultipleOf:
    """jsonschema-rs keyword: ``multipleOf`` with JavaScript's division."""

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        self._divisor = value

    def validate(self, instance: Any) -> None:
        try:
            if type(instance) in (int, float) and not js_multiple_of(instance, self._divisor):
                raise ValueError("not a multiple")
        except BaseException as exc:
            _keep(exc)
            raise


class _JsUniqueItems:
    """jsonschema-rs keyword: ``uniqueItems`` with ajv's equality (the value: what to fill
    in first, :func:`tcdyn.schemas.semantics.fill_plan`)."""

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        self._plan = value if isinstance(value, dict) else None
        self._strings = strings_only(parent_schema.get("items"))

    def validate(self, instance: Any) -> None:
        try:
            if type(instance) is list and len(instance) > 1 and not unique(
                    instance, self._plan, strings=self._strings):
                raise ValueError("non-unique elements")
        except BaseException as exc:
            _keep(exc)
            raise


# --- documents ------------------------------------------------------------------------------

#: Strings that are surely valid JavaScript regular expressions (no flag): nothing but
#: literals, ".", "^" and "$". Where a looser check cannot flip a verdict (not under
#: ``not``, ``oneOf``, ``if``), the fast path checks ``format: regex`` with it: a string it
#: refuses goes to the report's validator, which checks the format itself. (A custom
#: format would cost every instance of the schema about half a microsecond.)
_SURELY_A_REGEX = r"^[^\\()\[\]{}*+?|]*\Z"


def _format(schema: dict[str, Any], name: str, needs: set[str], seen: set[int],
            negated: bool) -> None:
    """Replace ``schema``'s format ``name`` by patterns, number bounds or a custom format."""
    if formats.FORMATS[name][0] == "number":
        if name in _NUMBER_FORMATS:
            added: dict[str, Any] = {"if": {"type": "number"}, "then": _NUMBER_FORMATS[name]}
            seen.update((id(added), id(added["if"]), id(added["then"])))
            schema["allOf"] = [*schema.get("allOf", ()), added]
        return
    if formats.FORMATS[name][1] is formats.FORMATS["password"][1]:
        return  # always valid
    spelt = formats.patterns(name)
    if spelt is None and name == "regex" and not negated:
        spelt = (_SURELY_A_REGEX,)
    rust = [_rust(p) for p in spelt] if spelt else [None]
    if all(r is not None for r in rust):
        more = [{"pattern": r} for r in rust]
        seen.update(id(m) for m in more)
        schema["allOf"] = [*schema.get("allOf", ()), *more]
    else:
        schema["format"] = _FORMAT_PREFIX + name
        needs.add(schema["format"])


def rewrite(document: Any, walk: Callable[[Any], Iterator[tuple[str, dict[str, Any]]]],
            draft: str, needs: set[str], negated: Collection[str] = ()) -> Any:
    """``document`` (tcdyn's copy, changed in place) as jsonschema-rs must read it; adds to
    ``needs`` the custom keywords and formats it then relies on. ``negated``: the JSON
    pointers of the schema objects checked under ``not``, ``oneOf`` or ``if``."""
    seen = set()
    for pointer, schema in list(walk(document)):  # not into the subschemas added here
        seen.add(id(schema))
        for key in _OWN:
            schema.pop(key, None)
        ref = schema.get("$ref")
        if isinstance(ref, str) and any(k not in ("$ref", "definitions", "$id", "$schema",
                                                  "title", "description", "default",
                                                  "examples", "$comment") for k in schema):
            moved = {"$ref": schema.pop("$ref")}
            seen.add(id(moved))
            schema["allOf"] = [moved, *schema.get("allOf", ())]
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            spelt = portable_pattern(pattern)
            if spelt is None:
                needs.add(_PATTERN_KEYWORD)
                schema[_PATTERN_KEYWORD] = schema.pop("pattern")
            else:
                schema["pattern"] = spelt
        fmt = schema.pop("format", None)
        if isinstance(fmt, str) and fmt in formats.FORMATS:
            _format(schema, fmt, needs, seen, pointer in negated)
        divisor = schema.get("multipleOf")
        if isinstance(divisor, float) and not divisor.is_integer():
            needs.add(_MULTIPLE_KEYWORD)
            schema[_MULTIPLE_KEYWORD] = schema.pop("multipleOf")
        if UNIQUE_FILLED in schema:
            needs.add(UNIQUE_FILLED)
        if pointer in negated and schema.get("uniqueItems") is True:  # stricter is looser
            needs.add(_UNIQUE_KEYWORD)
            schema[_UNIQUE_KEYWORD] = schema.pop("uniqueItems")
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
        if key in SCHEMA_MAPS:  # a map of names to schemas, not a schema
            for item in value.values():
                _check_reached(item, seen)
            return
        if id(value) not in seen and any(
                k in value for k in ("pattern", "format", "patternProperties", "multipleOf",
                                     "$ref", *_OWN)):
            raise Unportable(f"a schema keyword outside the schema walk, under {key!r}")
        for k, item in value.items():
            if k not in _DATA:
                _check_reached(item, seen, k)
    elif isinstance(value, list):
        for item in value:
            _check_reached(item, seen, key)


def compile_check(root: Any, retrieve: Callable[[str], Any], needs: set[str]
                  ) -> Callable[[Any], bool]:
    """``is_valid(instance)`` of jsonschema-rs for ``root`` (rewritten), whose ``$ref`` s
    are fetched by ``retrieve(uri)`` (rewritten documents too, adding to ``needs``).

    The custom keywords and formats are passed only when a document needs them: each call
    into Python costs about a microsecond.
    """
    import jsonschema_rs

    def kept_retrieve(uri: str) -> Any:
        try:
            return retrieve(uri)
        except BaseException as exc:
            _keep(exc)
            raise

    try:
        validator = jsonschema_rs.Draft7Validator(root, retriever=kept_retrieve)
        if not needs:
            return validator.is_valid
        options: dict[str, Any] = {}
        keywords = {_PATTERN_KEYWORD: _JsPattern, _MULTIPLE_KEYWORD: _JsMultipleOf,
                    _UNIQUE_KEYWORD: _JsUniqueItems, UNIQUE_FILLED: _JsUniqueItems}
        if needs & set(keywords):
            options["keywords"] = {k: v for k, v in keywords.items() if k in needs}
        names = {name: partial(formats.check, name[len(_FORMAT_PREFIX):])
                 for name in needs if name.startswith(_FORMAT_PREFIX)}
        if names:
            options.update(formats=names, validate_formats=True)
        is_valid = jsonschema_rs.Draft7Validator(root, retriever=kept_retrieve,
                                                 **options).is_valid
    except Exception:
        _raise_kept()
        raise
    if "keywords" not in options:  # formats raise through jsonschema-rs as they are
        return is_valid

    def check(instance: Any) -> bool:
        if is_valid(instance):
            return True
        _raise_kept()
        return False

    return check
