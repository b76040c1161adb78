"""A deployment's JSON schemas (draft-06): lookup, ``$ref`` inlining and cached validators.

Every document comes from a *loader* (``loader("/schemas/queue/v1/task.json") -> dict |
None``); nothing is fetched here. Documents may carry abstract ids
(``/schemas/queue/v1/task.json#``) or served ones (``https://tc.example.com/schemas/...``):
both are keyed by their abstract path, so ``$ref`` s resolve the same way.

fastjsonschema's compiled check answers "valid" in microseconds; only when it does not
accept does ``jsonschema.Draft6Validator``, the authority, run to list every error.
"""

from __future__ import annotations

import calendar
import copy
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from jsonschema import Draft6Validator, FormatChecker, validators
from jsonschema._utils import extras_msg
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT6

from .errors import ReferenceLoadError, SchemaNotAvailable, SchemaValidationError
from .model.legacy import is_legacy_root, schema_url
from .model.schema_names import abstract_path as _abstract
from .patterns import PatternTimeout, compile_pattern, is_safe
from .redact import REDACTED, looks_secret, sensitive_container, sensitive_name

__all__ = ["SchemaNotAvailable", "SchemaRegistry", "SchemaViolation"]

Loader = Callable[[str], "dict[str, Any] | None"]

DRAFT6_URI = "http://json-schema.org/draft-06/schema#"

#: Bounds on what an error carries: one value's repr, one message, lines in the summary,
#: violations recorded on the exception.
REPR_LIMIT = 120
MESSAGE_LIMIT = 400
SUMMARY_LINES = 50
RECORDED_ERRORS = 1000
#: JSON nesting allowed in one schema document (Taskcluster's deepest has 15 levels).
MAX_SCHEMA_DEPTH = 64
#: JSON nesting of a value that fails the fast check and goes to jsonschema (recursive).
MAX_INSTANCE_DEPTH = 128


@dataclass(frozen=True)
class SchemaViolation:
    """One way an instance fails its schema.

    ``path``: where in the instance (``$.payload.env['A B']``); ``keyword``: the failing
    JSON-schema keyword; ``message``: bounded, secrets redacted; ``schema_path``: where the
    keyword sits (``<schema url>#/json/pointer/keyword``).
    """

    path: str
    keyword: str
    message: str
    schema_path: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.keyword}]"


# --- names and URLs -------------------------------------------------------------------------


def _display_url(root_url: str | None, path: str) -> str:
    """The URL a deployment serves ``path`` at (the abstract path without a root URL)."""
    if not root_url:
        return path
    root = root_url.rstrip("/")
    if is_legacy_root(root):
        return schema_url(path)
    return root + path


# --- formats --------------------------------------------------------------------------------

# Taskcluster validates with ajv's "full" formats: date-time is an RFC 3339 date, a `T`, `t`
# or whitespace, a time and a required zone; the leap second 23:59:60 is allowed.
_DATE_TIME = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt\s]"
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)"
)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_date_time(value: object) -> bool:
    """RFC 3339 date-time as Taskcluster's server accepts it (non-strings pass)."""
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    # the pattern fixed the fields' places: yyyy-mm-ddThh:mm:ss
    if value[8:10] > "28":
        month = int(value[5:7])
        days = _MONTH_DAYS[month - 1]
        if month == 2 and calendar.isleap(int(value[:4])):
            days = 29
        if int(value[8:10]) > days:
            return False
    return value[17:19] != "60" or value[11:16] == "23:59"


def _format_checker() -> FormatChecker:
    """date-time, plus jsonschema's email/ipv4/ipv6 (looser than or equal to the server's).

    ``uri``, ``hostname`` and ``regex`` are left unchecked: Python's notions differ from the
    server's (ECMAScript) ones, and a client must never reject what the server accepts.
    """
    checker = FormatChecker(formats=("email", "ipv4", "ipv6"))
    checker.checks("date-time")(is_date_time)
    return checker


FORMAT_CHECKER = _format_checker()
_REGEX_CHECKER = FormatChecker(formats=("regex",))


# --- patterns without catastrophic backtracking (tcdyn.patterns) ----------------------------


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string"):
        try:
            if compile_pattern(pattern).search(instance) is None:
                yield ValidationError(f"{instance!r} does not match {pattern!r}")
        except PatternTimeout as error:
            yield ValidationError(str(error))


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            try:
                found = compile_pattern(pattern).search(key) is not None
            except PatternTimeout as error:
                yield ValidationError(str(error), path=(key,))
                continue
            if found:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any
                           ) -> Iterator[Any]:
    """jsonschema's, with patternProperties matched as :func:`_pattern_properties` does."""
    if not validator.is_type(instance, "object"):
        return
    properties, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    extras = []
    for key in instance:
        if key in properties:
            continue
        try:
            if any(compile_pattern(p).search(key) is not None for p in patterns):
                continue
        except PatternTimeout:
            continue  # reported by patternProperties
        extras.append(key)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if patterns:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            names, verb = extras_msg(sorted(extras, key=str))
            yield ValidationError(f"Additional properties are not allowed ({names} {verb} "
                                  "unexpected)")


#: Draft-06 with every regular expression matched through :mod:`tcdyn.patterns`.
Validator = validators.extend(Draft6Validator, {
    "pattern": _pattern, "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties})


# --- walking schemas ------------------------------------------------------------------------

_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "dependencies")
_SCHEMA_ONE = ("additionalItems", "additionalProperties", "contains", "propertyNames", "not")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_ANNOTATIONS = ("title", "description", "default", "examples", "$comment")


def _pointer_token(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _subschemas(schema: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(JSON-pointer suffix, subschema) for every subschema position in ``schema``."""
    for key in _SCHEMA_MAPS:
        value = schema.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                if isinstance(sub, (dict, bool)):
                    yield f"/{key}/{_pointer_token(name)}", sub
    for key in _SCHEMA_ONE:
        if isinstance(schema.get(key), (dict, bool)):
            yield f"/{key}", schema[key]
    items = schema.get("items")
    if isinstance(items, (dict, bool)):
        yield "/items", items
    elif isinstance(items, list):
        for index, sub in enumerate(items):
            yield f"/items/{index}", sub
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for index, sub in enumerate(schema[key]):
                yield f"/{key}/{index}", sub


def _depth(value: Any, stop: int | None = None) -> int:
    """How deeply ``value``'s dicts and lists nest (without recursion); counting ends past
    ``stop``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, (list, tuple)):
            continue
        deepest = max(deepest, depth)
        if stop is not None and deepest > stop:
            break
        stack.extend((child, depth + 1) for child in item)
    return deepest


_SAME_VALUE = ("allOf", "anyOf", "oneOf", "not")


def _applicators(schema: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(subschemas applied to the same value, subschemas applied to a part of it)."""
    same, deeper = [], []
    for pointer, sub in _subschemas(schema):
        key = pointer.split("/")[1]
        if key in _SAME_VALUE or key == "dependencies":
            same.append(sub)
        elif key != "definitions":
            deeper.append(sub)
    return same, deeper


def _walk(schema: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(pointer, schema object) for ``schema`` and every subschema inside it."""
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for suffix, sub in _subschemas(schema):
        yield from _walk(sub, pointer + suffix)


# --- messages -------------------------------------------------------------------------------

def _strings(value: Any, out: set[str], depth: int = 0) -> None:
    """Collect the text of every string and number inside ``value`` (to scrub it)."""
    if isinstance(value, str) or (isinstance(value, (int, float)) and value is not True
                                  and value is not False):
        out.add(value if isinstance(value, str) else repr(value))
    elif depth < 50 and isinstance(value, dict):
        for item in value.values():
            _strings(item, out, depth + 1)
    elif depth < 50 and isinstance(value, (list, tuple)):
        for item in value:
            _strings(item, out, depth + 1)


def _bounded(value: Any, secrets: set[str], depth: int = 0) -> Any:
    """A small copy of ``value``: secrets redacted (and collected), long strings and
    containers cut."""
    if isinstance(value, str):
        if looks_secret(value):
            secrets.add(value)
            return REDACTED
        return value if len(value) <= 60 else f"{value[:40]}...(+{len(value) - 40} chars)"
    if isinstance(value, dict):
        if depth >= 3:
            return {"...": f"{len(value)} keys"} if value else {}
        out = {}
        for index, (key, item) in enumerate(value.items()):
            if index == 8:
                out["..."] = f"+{len(value) - 8} keys"
                break
            if sensitive_name(key) or sensitive_container(key):
                _strings(item, secrets)
                out[key] = REDACTED
            else:
                out[key] = _bounded(item, secrets, depth + 1)
        for key, item in list(value.items())[8:]:  # cut from the copy, maybe in the message
            if sensitive_name(key) or sensitive_container(key):
                _strings(item, secrets)
        return out
    if isinstance(value, (list, tuple)):
        if depth >= 3:
            return [f"... {len(value)} items"] if value else []
        head = [_bounded(item, secrets, depth + 1) for item in value[:8]]
        return [*head, f"... +{len(value) - 8} items"] if len(value) > 8 else head
    return value


def _short_repr(value: Any, secrets: set[str], limit: int = REPR_LIMIT) -> str:
    text = repr(_bounded(value, secrets))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_path(path: Sequence[Any]) -> str:
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + repr(str(part)) + "]"
    return out


def _clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hidden_path(path: Sequence[Any]) -> bool:
    return any(sensitive_name(part) or sensitive_container(part) for part in path)


def _scrub(message: str, secrets: set[str]) -> str:
    """``message`` with every collected secret (as written or as repr'd) redacted."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            for form in {secret, repr(secret)[1:-1]}:
                message = message.replace(form, REDACTED)
    return message


def _message(error: ValidationError) -> str:
    """jsonschema's message with the instance's repr bounded, and secrets redacted."""
    message = error.message
    secrets: set[str] = set()
    if _hidden_path(error.absolute_path):
        if error.validator == "additionalItems":  # its message shows the items themselves
            return f"{REDACTED} has more items than allowed"
        _strings(error.instance, secrets)
        short = REDACTED
    else:
        short = _short_repr(error.instance, secrets)
    if len(message) > 2 * REPR_LIMIT or secrets:
        full = repr(error.instance)
        if full != short:
            message = message.replace(full, short, 1)
    message = _scrub(message, secrets)
    if error.validator in ("anyOf", "oneOf") and error.context:
        best = best_match(error.context)
        if best is not None:
            inner = _message(best)
            message = f"{message}; closest: {_json_path(best.absolute_path)}: {inner} " \
                      f"[{best.validator}]"
    return _clip(message)


# --- the fast path --------------------------------------------------------------------------
#
# fastjsonschema compiles a schema to Python; jsonschema judges only what it does not accept.
# Where the two read a schema differently, fastjsonschema's copy is made to agree, or it
# stands aside, so that it never accepts what jsonschema rejects:
# - tuples are arrays to it, Decimals numbers, floats divided exactly: it vouches only for
#   plain JSON values (:func:`_plain_json`);
# - a pattern's ``$`` is ``\Z`` to it: its compiled patterns are swapped for those of
#   tcdyn.patterns (Python's ``$``, no catastrophic backtracking), as jsonschema's are;
# - a float ``multipleOf``, an ``$id`` below a document's top (it ignores those in
#   referenced documents), a ``$ref`` scheme it would fetch by itself, and two ``$ref``
#   targets given one function name (it would call one for both) leave jsonschema alone;
# - jsonschema's uniqueItems compares sorted neighbours only and misses the duplicate in
#   ``[[true], [1], [true]]``, which fastjsonschema finds: such an array goes to jsonschema,
#   and so does every instance of a schema where a ``not`` or ``oneOf`` could flip that.

_FAST_BASE = "https://tcdyn.invalid"  # for the absolute ids fastjsonschema resolves by
_DRAFT6_FORMATS = ("date-time", "email", "hostname", "ipv4", "ipv6", "json-pointer", "regex",
                   "uri", "uri-reference", "uri-template")
#: fastjsonschema's formats: checked as :data:`FORMAT_CHECKER` checks them, or not at all.
_FAST_FORMATS: dict[str, Callable[[str], bool]] = {
    **{name: partial(FORMAT_CHECKER.conforms, format=name) for name in _DRAFT6_FORMATS},
    "date-time": is_date_time}
_JSON_SCALARS = frozenset((str, int, bool, type(None)))
_EXACT_FLOAT = 2.0**53  # below it, float division judges multipleOf as jsonschema's % does


class _Unsupported(Exception):
    """A schema fastjsonschema could judge differently from jsonschema."""


def _plain_json(value: Any) -> bool:
    """Whether ``value`` holds only what ``json.loads`` makes: dicts, lists, strings, ints,
    bools, None, and finite floats under 2**53."""
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list:
        items = value
    elif kind is float:
        exact: bool = -_EXACT_FLOAT < value < _EXACT_FLOAT
        return exact
    else:
        return kind in _JSON_SCALARS
    for item in items:  # noqa: SIM110 (a loop beats all() on a generator)
        if type(item) not in _JSON_SCALARS and not _plain_json(item):
            return False
    return True


def _sent_as_is(value: Any) -> bool:
    """Whether ``value`` is exactly what ``json.loads`` makes of its own JSON encoding:
    :func:`_plain_json`, and every dict key a ``str`` (``json.dumps`` turns others into
    strings, so the sent form would differ)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _JSON_SCALARS
                                        and not _sent_as_is(item)):
                return False
        return True
    if kind is list:
        for item in value:  # a loop beats all() on a generator
            if type(item) not in _JSON_SCALARS and not _sent_as_is(item):
                return False
        return True
    if kind is float:
        exact: bool = -_EXACT_FLOAT < value < _EXACT_FLOAT
        return exact
    return kind in _JSON_SCALARS


def _fast_accepts(fast: Callable[[Any], Any] | None, instance: Any) -> bool:
    """Whether the fast check ``fast`` accepts ``instance``, a plain JSON value. The walk
    of :func:`_plain_json` comes first: Python's recursion limit bounds the depth of what
    reaches the compiled check (jsonschema-rs overflows its stack on a ~100,000-deep list
    under a recursive schema, which ends the process)."""
    if fast is None:
        return False
    try:
        return _plain_json(instance) and bool(fast(instance))
    except Exception:  # invalid, too deep, a pattern timed out...: jsonschema decides
        return False


def _for_fast(document: Any) -> Any:
    """A copy of ``document`` that fastjsonschema reads as jsonschema does (or _Unsupported)."""
    document = copy.deepcopy(document)
    for pointer, schema in _walk(document):
        ref = schema.get("$ref")
        if pointer and any(isinstance(schema.get(key), str) for key in ("$id", "id")):
            raise _Unsupported(f"an id at #{pointer}")
        if isinstance(schema.get("multipleOf"), float):
            raise _Unsupported(f"a float multipleOf at #{pointer}")
        if isinstance(ref, str) and urlsplit(ref).scheme not in ("", "http", "https"):
            raise _Unsupported(f"a $ref fastjsonschema would fetch itself: {ref!r}")
        patterns = schema.get("patternProperties")
        if isinstance(patterns, dict) and "properties" in schema and not all(
                is_safe(p) for p in patterns):  # it would match them while compiling
            raise _Unsupported(f"patternProperties at #{pointer} not proved safe")
        if "const" in schema:  # as a one-value enum: fastjsonschema fails to compile const
            schema["allOf"] = [*schema.get("allOf", ()), {"enum": [schema.pop("const")]}]
    return document


class Checker:
    """One schema's check, resolved once (path, compiled validator, the name in errors), so
    that a call or a message pays no lookup by name: ``checker(instance)`` checks a decoded
    JSON value; ``checker.sent(value, body)`` the value a call encoded to ``body``."""

    __slots__ = ("_fast", "_registry", "path", "what")

    def __init__(self, registry: SchemaRegistry, path: str, what: str) -> None:
        self._registry = registry
        self.path = path
        self.what = what
        self._fast = registry._compiled(path)

    def __call__(self, instance: Any) -> None:
        """Raise :class:`~tcdyn.errors.SchemaValidationError` unless ``instance`` is valid."""
        if not _fast_accepts(self._fast, instance):
            self._registry._judge(self.path, instance, self.what)

    def sent(self, value: Any, body: bytes | str) -> None:
        """Check what a call sends: ``value`` itself when it is plain JSON that encodes
        to exactly what ``body`` decodes to (no re-decoding), else ``body`` decoded (so a
        ``datetime`` is checked as the date-time string it was sent as)."""
        fast = self._fast
        if fast is not None:
            try:
                if fast(value) and _sent_as_is(value):
                    return
            except Exception:  # invalid, or not plain JSON: judged on the decoded form
                pass
        self(json.loads(body))


# --- the registry ---------------------------------------------------------------------------


class SchemaRegistry:
    """The schemas of one deployment, loaded on demand through ``loader``.

    ``root_url`` is used only to show URLs as the deployment serves them. Thread-safe;
    each schema is checked against draft-06 and compiled once (both validators).
    """

    def __init__(self, loader: Loader, *, root_url: str | None = None) -> None:
        self._loader = loader
        self.root_url = root_url.rstrip("/") if root_url else None
        self._lock = threading.RLock()
        self._raw: dict[str, dict[str, Any] | None] = {}
        self._docs: dict[str, dict[str, Any]] = {}  # checked, with the abstract $id
        self._closures: dict[str, tuple[str, ...]] = {}
        self._registered: set[str] = set()
        self._registry: Registry = Registry(  # type: ignore[call-arg]  # attrs' alias of _retrieve, unseen by mypy
            retrieve=self._retrieve).combine(SPECIFICATIONS)
        self._validators: dict[str, Any] = {}
        self._fast: dict[str, Callable[[Any], Any] | None] = {}  # None: jsonschema alone
        self._resolved: dict[str, dict[str, Any]] = {}
        self._locations: dict[int, tuple[str, str]] | None = None

    def __repr__(self) -> str:
        return f"<SchemaRegistry {self.root_url or '(abstract)'}: {len(self._docs)} loaded>"

    @staticmethod
    def schema_path(service: str, name: str) -> str:
        """``("queue", "v1/task.json#")`` -> ``"/schemas/queue/v1/task.json"``.

        Absolute URLs and abstract ``/schemas/...`` names are accepted too.
        """
        return _abstract(name, service)

    def url(self, path: str) -> str:
        """The URL the deployment serves ``path`` at (the path itself without a root URL)."""
        return _display_url(self.root_url, _abstract(path))

    def available(self, path: str) -> bool:
        """Whether ``path`` and every schema it references can be loaded."""
        try:
            self._closure(_abstract(path))
        except SchemaNotAvailable:
            return False
        return True

    def get(self, path: str) -> dict[str, Any]:
        """A copy of the document as the loader gave it; :class:`SchemaNotAvailable` if none."""
        return copy.deepcopy(self._load_raw(_abstract(path)))

    def resolved(self, path: str) -> dict[str, Any]:
        """The schema with every ``$ref`` inlined: a self-contained draft-06 document.

        A recursive reference (a schema that contains itself) becomes
        ``{"$comment": "recursive: <url>"}``; the siblings of a ``$ref``, which draft-06
        ignores when validating, are kept when they are annotations (title, description, ...);
        ``definitions``, only there to be referenced, are left out.
        """
        path = _abstract(path)
        with self._lock:
            if path not in self._resolved:
                self._closure(path)
                resolver = self._registry.resolver(base_uri=path)
                try:
                    out = self._inline(self._docs[path], resolver, path, ())
                except RecursionError:
                    raise ReferenceLoadError(self.url(path), "its $refs nest too deeply to "
                                             "be inlined") from None
                out["$id"] = self.url(path) + "#"
                out["$schema"] = DRAFT6_URI
                self._resolved[path] = out
            return copy.deepcopy(self._resolved[path])

    def validator(self, path: str) -> Any:
        """The jsonschema validator of ``path`` (draft-06, formats checked, patterns matched
        by :mod:`tcdyn.patterns`), built once."""
        path = _abstract(path)
        if path not in self._fast:
            with self._lock:
                self._prepare(path)
        return self._validators[path]

    def validate(self, path: str, instance: Any, *, what: str) -> None:
        """Raise :class:`~tcdyn.errors.SchemaValidationError` unless ``instance`` is valid.

        The error lists every problem (JSON path, keyword, message, schema location);
        ``what`` names the instance in the message, e.g. ``"createTask payload"``.
        """
        if path not in self._fast:  # also keyed by the name as given: no parsing
            given, path = path, _abstract(path)
            with self._lock:
                self._prepare(path)
                self._fast[given] = self._fast[path]
        if _fast_accepts(self._fast[path], instance):
            return
        self._judge(_abstract(path), instance, what)

    def checker(self, path: str, what: str) -> Checker:
        """The :class:`Checker` of ``path`` (any form of schema name), errors naming the
        value ``what``; compiles the schema now if it was not yet."""
        return Checker(self, _abstract(path), what)

    def _compiled(self, path: str) -> Callable[[Any], Any] | None:
        """fastjsonschema's validator of abstract ``path`` (None: jsonschema alone)."""
        if path not in self._fast:
            with self._lock:
                self._prepare(path)
        return self._fast[path]

    def _judge(self, path: str, instance: Any, what: str) -> None:
        """jsonschema's verdict on ``instance``, which the fast check did not accept."""
        if _depth(instance, MAX_INSTANCE_DEPTH) > MAX_INSTANCE_DEPTH:
            raise self._too_deep(path, what, instance)
        violations: list[SchemaViolation] = []
        total = 0
        try:
            for error in self._validators[path].iter_errors(instance):
                total += 1
                if len(violations) < RECORDED_ERRORS:
                    violations.append(self._violation(path, error))
        except RecursionError:
            raise self._too_deep(path, what, instance) from None
        except Unresolvable as error:
            raise ReferenceLoadError(self.url(path), f"a $ref cannot be resolved: {error}"
                                     ) from None
        if total:
            raise SchemaValidationError(self._summary(path, what, violations, total),
                                        violations, self.url(path))

    def _too_deep(self, path: str, what: str, instance: Any) -> SchemaValidationError:
        """The error for a value too deep to check (or that ran out of stack)."""
        reason = f"the value is nested {_depth(instance)} levels deep, too deep to check " \
                 f"(at most {MAX_INSTANCE_DEPTH})"
        url = self.url(path)
        violation = SchemaViolation("$", "$ref", reason, f"{url}#")
        return SchemaValidationError(f"{what}: cannot be checked (schema {url}): {reason}",
                                     [violation], url)

    # -- loading

    def _load_raw(self, path: str, referenced_by: str | None = None) -> dict[str, Any]:
        if path not in self._raw:
            doc = self._loader(path)
            if doc is not None and not isinstance(doc, dict):
                raise ReferenceLoadError(self.url(path), "schema is not a JSON object "
                                         f"(got {type(doc).__name__})")
            self._raw[path] = doc
        doc = self._raw[path]
        if doc is None:
            by = self.url(referenced_by) if referenced_by else None
            raise SchemaNotAvailable(path, self.url(path), by)
        return doc

    def _document(self, path: str, referenced_by: str | None = None) -> dict[str, Any]:
        """The checked document for ``path``, with its ``$id`` in abstract form."""
        doc = self._docs.get(path)
        if doc is not None:
            return doc
        raw = self._load_raw(path, referenced_by)
        depth = _depth(raw)
        if depth > MAX_SCHEMA_DEPTH:
            raise ReferenceLoadError(self.url(path), f"nested {depth} levels deep (at most "
                                     f"{MAX_SCHEMA_DEPTH} are accepted)", "#")
        declared = raw.get("$id")
        if declared is not None:
            try:
                same = isinstance(declared, str) and _abstract(declared) == path
            except ValueError:
                same = False
            if not same:
                raise ReferenceLoadError(self.url(path), f"declares $id {declared!r}, which "
                                         "is not this schema's address", "#/$id")
        try:
            Draft6Validator.check_schema(raw, format_checker=_REGEX_CHECKER)
        except RecursionError:
            raise ReferenceLoadError(self.url(path), "too deeply nested to check", "#"
                                     ) from None
        except SchemaError as error:
            where = "#" + "".join("/" + _pointer_token(p) for p in error.absolute_path)
            raise ReferenceLoadError(self.url(path), "not a valid draft-06 schema: "
                                     f"{_clip(error.message)}", where) from None
        doc = dict(raw)
        doc["$id"] = path + "#"
        self._docs[path] = doc
        return doc

    def _closure(self, path: str) -> tuple[str, ...]:
        """Load ``path`` and, transitively, every document it references; register them."""
        closure = self._closures.get(path)
        if closure is not None:
            return closure
        with self._lock:
            order = [path]
            seen = {path}
            added = []
            self._document(path)
            for current in order:
                doc = self._docs[current]
                if current not in self._registered:
                    self._registered.add(current)
                    added.append((current, DRAFT6.create_resource(doc)))
                for target in self._ref_targets(current, doc):
                    if target not in seen:
                        seen.add(target)
                        self._document(target, current)
                        order.append(target)
            if added:
                self._registry = self._registry.with_resources(added).crawl()
                self._locations = None
            closure = self._closures[path] = tuple(order)
            return closure

    def _ref_targets(self, path: str, doc: dict[str, Any]) -> Iterator[str]:
        """Abstract paths of the documents ``doc``'s ``$ref`` s point into."""
        for pointer, schema in _walk(doc):
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                continue
            target = urldefrag(urljoin(path, ref)).url
            if target in SPECIFICATIONS:
                continue
            try:
                yield _abstract(target)
            except ValueError:
                raise ReferenceLoadError(
                    self.url(path), f"$ref {ref!r} points outside the deployment's schemas",
                    f"#{pointer}/$ref") from None

    def _check_ref_loops(self, path: str) -> None:
        """:class:`ReferenceLoadError` when ``$ref`` s (through allOf, anyOf, oneOf, not,
        dependencies) lead back to a schema without descending into the value: validating
        would recurse without end."""
        start = self._docs[path]
        resolvers = {id(start): self._registry.resolver(base_uri=path)}
        nodes: dict[int, Any] = {id(start): start}
        edges: dict[int, list[int]] = {}
        todo = [start]
        while todo:  # every schema reachable from the root, and its same-value edges
            node = todo.pop()
            resolver = resolvers[id(node)]
            same, deeper = _applicators(node)
            targets: list[Any] = []
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    resolved = resolver.lookup(ref)
                except Unresolvable:  # reported when the validators are built
                    resolved = None
                if resolved is not None and isinstance(resolved.contents, dict):
                    same = [*same, resolved.contents]
                    resolvers.setdefault(id(resolved.contents), resolved.resolver)
            for sub in (*same, *deeper):
                if isinstance(sub, dict) and id(sub) not in nodes:
                    nodes[id(sub)] = sub
                    resolvers.setdefault(id(sub), resolver)
                    todo.append(sub)
            edges[id(node)] = targets
            targets.extend(id(sub) for sub in same if isinstance(sub, dict))
        state: dict[int, int] = {}  # 1: on the current path, 2: done
        for root in edges:
            if root in state:
                continue
            stack = [(root, iter(edges[root]))]
            state[root] = 1
            while stack:
                node_id, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[node_id] = 2
                    stack.pop()
                elif state.get(child) == 1:
                    where = self._location(nodes[child]) or self.url(path)
                    raise ReferenceLoadError(self.url(path), "its $refs loop back to "
                                             f"{where} without descending into the value")
                elif child not in state:
                    state[child] = 1
                    stack.append((child, iter(edges[child])))

    def _retrieve(self, uri: str) -> Resource:
        """referencing's fallback for a URI not preloaded (an absolute URL, say)."""
        try:
            path = _abstract(uri)
        except ValueError:
            raise NoSuchResource(ref=uri) from None  # type: ignore[call-arg]  # attrs field
        self._closure(path)
        return DRAFT6.create_resource(self._docs[path])

    def _prepare(self, path: str) -> None:
        """Build and cache both validators for ``path`` (lock held)."""
        if path in self._fast:
            return
        self._closure(path)
        self._check_ref_loops(path)
        validator = Validator(self._docs[path], registry=self._registry,
                              format_checker=FORMAT_CHECKER)
        fast = self._compile_fast(path)
        self._validators[path] = validator
        self._fast[path] = fast  # last: validate() looks for it without the lock

    # -- the fast path

    def _compile_fast(self, path: str) -> Callable[[Any], Any] | None:
        """The fast check of ``path`` (``check(instance)`` true or raising when invalid):
        jsonschema-rs's, else fastjsonschema's, else None where both could judge
        differently; :class:`~tcdyn.errors.ReferenceLoadError` when a ``$ref`` cannot be
        resolved."""
        try:
            documents: list[Any] = []  # every document the compiler asked for
            fast = self._compile_rs(path, documents) or self._compile_fastjsonschema(
                path, documents)
            nodes = [node for document in documents for _, node in _walk(document)]
            if (any(node.get("uniqueItems") is True for node in nodes)
                    and any("not" in node or "oneOf" in node for node in nodes)):
                return None
            return fast
        except Exception:  # _Unsupported, or a schema it cannot compile
            try:  # say which $ref is broken, if one is
                self.resolved(path)
            except Unresolvable as error:
                raise ReferenceLoadError(self.url(path),
                                         f"cannot be compiled: {error}") from None
            return None

    def _compile_rs(self, path: str, documents: list[Any]) -> Callable[[Any], Any] | None:
        """jsonschema-rs's check (see :mod:`tcdyn.rust_check`), or None if it cannot be
        trusted with this schema or is not installed."""
        try:
            from . import rust_check
        except ImportError:  # pragma: no cover (jsonschema-rs is a dependency)
            return None

        needs: set[str] = set()

        def retrieve(uri: str) -> Any:
            documents.append(self._fast_document(uri))
            return rust_check.rewrite(copy.deepcopy(documents[-1]), _walk, DRAFT6_URI, needs)

        try:
            root = retrieve(_FAST_BASE + path)
            return rust_check.compile_check(root, retrieve, needs, FORMAT_CHECKER)
        except Exception:  # Unportable, or a schema it refuses: fastjsonschema's turn
            documents.clear()
            return None

    def _compile_fastjsonschema(self, path: str, documents: list[Any]
                                ) -> Callable[[Any], Any] | None:
        """fastjsonschema's validator for ``path``, or None where it could judge
        differently."""
        import fastjsonschema

        def fetch(uri: str) -> Any:
            documents.append(self._fast_document(uri))
            return documents[-1]

        options: dict[str, Any] = {"handlers": {"http": fetch, "https": fetch},
                                   "formats": _FAST_FORMATS, "use_default": False,
                                   "detailed_exceptions": False}
        root = fetch(_FAST_BASE + path)
        root["$schema"] = DRAFT6_URI  # fastjsonschema picks its draft by this
        code = fastjsonschema.compile_to_code(copy.deepcopy(root), **options)
        names = re.findall(r"^def (\w+)\(", code, flags=re.MULTILINE)
        if len(names) != len(set(names)):  # one function would judge two $refs
            return None
        fast = fastjsonschema.compile(root, **options)
        # its own compiled patterns read $ as \Z and may backtrack without end: use
        # tcdyn.patterns' (Python's $, linear or time-limited) under the same keys
        patterns = getattr(fast, "func", fast).__globals__["REGEX_PATTERNS"]
        for pattern in list(patterns):
            patterns[pattern] = compile_pattern(pattern)

        def check(instance: Any) -> bool:
            fast(instance)
            return True

        return check

    def _fast_document(self, uri: str) -> Any:
        """The document at ``uri`` as fastjsonschema gets it, with an absolute ``$id``."""
        document = urldefrag(uri).url
        if document in SPECIFICATIONS:  # the draft-06 metaschema, say
            return _for_fast(SPECIFICATIONS.contents(document))
        path = _abstract(document)
        doc = _for_fast(self._document(path))
        doc["$id"] = _FAST_BASE + path + "#"
        return doc

    # -- reporting and inlining

    def _location(self, schema: Any) -> str | None:
        """``<url>#<pointer>`` of a schema object from one of the loaded documents."""
        if self._locations is None:
            self._locations = {
                id(node): (path, pointer)
                for path, doc in list(self._docs.items())
                for pointer, node in _walk(doc)
            }
        found = self._locations.get(id(schema))
        if found is None:
            return None
        return f"{self.url(found[0])}#{found[1]}"

    def _violation(self, path: str, error: ValidationError) -> SchemaViolation:
        keyword = error.validator if isinstance(error.validator, str) else "false"
        where = self._location(error.schema)
        if where is None:  # not from a loaded document (the draft-06 metaschema, say)
            where = f"{self.url(path)}#" + "".join(
                "/" + _pointer_token(p) for p in error.absolute_schema_path)
        elif isinstance(error.validator, str):
            where += "/" + _pointer_token(keyword)
        return SchemaViolation(_json_path(error.absolute_path), keyword, _message(error),
                               where)

    def _summary(self, path: str, what: str, violations: list[SchemaViolation],
                 total: int) -> str:
        plural = "error" if total == 1 else "errors"
        lines = [f"{what}: {total} {plural} (schema {self.url(path)}):"]
        lines += [f"  {v}" for v in violations[:SUMMARY_LINES]]
        if total > SUMMARY_LINES:
            lines.append(f"  ... and {total - SUMMARY_LINES} more")
        return "\n".join(lines)

    def _inline(self, schema: Any, resolver: Any, base: str, stack: tuple[int, ...]) -> Any:
        """``schema`` with its ``$ref`` s inlined; ``stack`` holds the enclosing schemas."""
        if not isinstance(schema, dict):
            return schema
        if isinstance(schema.get("$id"), str) and "$ref" not in schema and stack:
            resolver = resolver.in_subresource(DRAFT6.create_resource(schema))
            base = urljoin(base, schema["$id"])
        ref = schema.get("$ref")
        if isinstance(ref, str):
            resolved = resolver.lookup(ref)
            target = urljoin(base, ref)
            if id(resolved.contents) in stack:
                document, fragment = urldefrag(target)
                if document.startswith("/schemas/"):
                    document = self.url(document)
                out: dict[str, Any] = {"$comment": f"recursive: {document}#{fragment}"}
            else:
                out = self._inline(resolved.contents, resolved.resolver,
                                   urldefrag(target).url, (*stack, id(schema)))
                out = dict(out) if isinstance(out, dict) else {"allOf": [out]}
            out.update({key: copy.deepcopy(schema[key]) for key in _ANNOTATIONS if key in schema})
            return out
        stack = (*stack, id(schema))
        out = {}
        for key, value in schema.items():
            if key in ("$id", "$schema", "definitions"):  # definitions: only $ref'd, now inlined
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self._inline(sub, resolver, base, stack)
                            for name, sub in value.items()}
            elif key in _SCHEMA_ONE or (key == "items" and isinstance(value, dict)):
                out[key] = self._inline(value, resolver, base, stack)
            elif key in _SCHEMA_LISTS or (key == "items" and isinstance(value, list)):
                out[key] = [self._inline(sub, resolver, base, stack) for sub in value]
            else:
                out[key] = copy.deepcopy(value)
        return out
