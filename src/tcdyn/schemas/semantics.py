"""The services' reading of a schema, one rule per keyword: the one place that says how
tcdyn decides, for the jsonschema report, the jsonschema-rs fast path and the fastjsonschema
fallback alike.

Taskcluster's services (v106, ``libraries/validate``) validate with ajv 8 and ajv-formats
2.1.1: ``new Ajv({useDefaults: true, validateFormats: true, verbose: true, validateSchema:
false, allErrors: true})`` (ajv's draft-07 vocabulary, strict mode), ``addFormats(ajv)`` (the
"full" formats) and the draft-06 metaschema. Where that differs from draft-06 as
``jsonschema`` reads it:

==========================  ================================================================
keyword                     the services' rule, and tcdyn's
==========================  ================================================================
pattern, patternProperties  a JavaScript ``RegExp`` with the ``u`` flag, searched: spelt for
                            Python by :mod:`tcdyn.jsregex`, matched by :mod:`tcdyn.patterns`
format                      ajv-formats 2.1.1 "full": :mod:`tcdyn.formats`
type, numbers               a number is a double (``JSON.parse``): an integer beyond 2**53 is
                            read as the double nearest it (:func:`service_value`, for values
                            and schemas), and Infinity (``1e400``) is no number at all
multipleOf                  ``x / m`` must be an integer below 1e21 (``parseInt``):
                            :func:`js_multiple_of`
uniqueItems, enum, const    deep equality of doubles: ``1 == 1.0``, ``true != 1``; an object
                            with an own ``constructor`` that is an object or array equals
                            nothing; ``"__proto__"`` is unique among items of type string;
                            ``uniqueItems`` compares items with their defaults filled in
required and default        a missing property is first given its ``default`` (useDefaults:
                            not under anyOf, oneOf, not, if, contains, propertyNames), so a
                            required property with a valid default may be missing, and a
                            property whose default is invalid may not; a default is checked
                            as a value sent in its place would be
$ref                        the keywords beside it apply too
if, then, else              applied (ajv's draft-07 vocabulary)
nullable                    ``true`` adds ``"null"`` to ``type``
contentEncoding, ...Type    annotations: not checked
required, dependencies,     a name of an ``Object.prototype`` member (``toString``) is always
properties                  present, also in an object a default filled in: ``required`` and
                            ``dependencies`` hold, ``properties`` checks the inherited
                            function and never fills in its ``default``
==========================  ================================================================

The strings and numbers the service sees are those of the JSON tcdyn sends: a surrogate pair
is one character, an integer beyond 2**53 a double.

What tcdyn cannot decide as the service does is left to the service, with one notice: a
pattern V8 refuses or that means what no Python pattern means, a format ajv-formats does not
know (ajv refuses such a schema), ``formatMinimum`` & co, an absent ``__proto__`` property.
Such a keyword is removed from tcdyn's copy, and so is every ``not``, ``oneOf`` and ``if``
that holds one (through ``$ref`` s too), so that tcdyn never refuses what the service
accepts. So is a keyword of a schema whose defaults it would see filled in
(``minProperties``, ``dependencies``...), and an array's ``contains`` over items with
defaults; defaults that a schema ajv runs later on the same value or a part of it would see
(an ``allOf`` beside a ``required``, or beside ``properties`` reading the part the defaults
are filled in), filled in both inside and outside ``anyOf``, of array items, or holding a
``__proto__`` key (ajv writes a default as a JavaScript object literal) leave the whole
schema to the service.
"""

from __future__ import annotations

import copy
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..model.schema_names import abstract_path
from . import formats, jsregex
from .patterns import compile_pattern
from .walk import subschemas, walk

__all__ = ["Prepared", "js_multiple_of", "prepare", "service_value"]

#: Integers up to this size are exact doubles.
EXACT_INT = 2**53
#: Names every JavaScript object has (inherited from ``Object.prototype``).
PROTOTYPE_NAMES = frozenset((
    "__proto__", "__defineGetter__", "__defineSetter__", "__lookupGetter__",
    "__lookupSetter__", "constructor", "hasOwnProperty", "isPrototypeOf",
    "propertyIsEnumerable", "toLocaleString", "toString", "valueOf"))
#: ajv-formats' keywords (added with the formats), which tcdyn does not check.
FORMAT_LIMITS = ("formatMaximum", "formatMinimum", "formatExclusiveMaximum",
                 "formatExclusiveMinimum")
#: tcdyn's keyword for ``uniqueItems`` over items whose defaults ajv fills in first: its
#: value says what to fill in (:func:`fill_plan`); one a schema holds itself is dropped.
UNIQUE_FILLED = "tcdynUniqueFilled"
#: Where ajv's ``compositeRule`` is set: defaults are not filled in below these.
_COMPOSITE = ("anyOf", "oneOf", "not", "if", "contains", "propertyNames")
#: Keywords with no say on validity.
_ANNOTATIONS = frozenset(("$id", "$schema", "$comment", "title", "description", "default",
                          "examples", "definitions", "readOnly", "writeOnly",
                          "contentEncoding", "contentMediaType"))
#: Keywords that see the properties of an object, filled-in defaults included.
_OBSERVERS = ("minProperties", "maxProperties", "dependencies", "propertyNames")
_REF_KEYWORDS = ("$ref", "$recursiveRef", "$recursiveAnchor", "$dynamicRef", "$dynamicAnchor")
_SURROGATE = re.compile("[\ud800-\udfff]")

Notice = Callable[[str, str], None]


# --- values as the service sees them -----------------------------------------------------------

def _double(number: int) -> int | float:
    if -EXACT_INT <= number <= EXACT_INT:
        return number
    try:
        return float(number)
    except OverflowError:  # JSON.parse makes it Infinity
        return math.inf if number > 0 else -math.inf


def _text(text: str) -> str:
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def service_value(value: Any) -> Any:
    """``value`` (decoded JSON) as ``JSON.parse`` gives it to the service: integers beyond
    2**53 as the nearest double, surrogate pairs as one character (new containers)."""
    kind = type(value)
    if kind is int:
        return _double(value)
    if kind is str:
        return _text(value)
    if kind is dict:
        return {_text(k) if type(k) is str else k: service_value(v) for k, v in value.items()}
    if kind is list:
        return [service_value(item) for item in value]
    return value


def needs_service_value(value: Any) -> bool:
    """Whether :func:`service_value` would change ``value`` (an integer beyond 2**53 or a
    surrogate in a string)."""
    kind = type(value)
    if kind is int:
        return not -EXACT_INT <= value <= EXACT_INT
    if kind is str:
        return not value.isascii() and _SURROGATE.search(value) is not None
    if kind is dict:
        return any(needs_service_value(k) or needs_service_value(v) for k, v in value.items())
    if kind is list:
        return any(needs_service_value(item) for item in value)
    return False


def js_multiple_of(value: float, divisor: float) -> bool:
    """ajv's ``multipleOf``: ``value / divisor`` (doubles) equals ``parseInt`` of itself."""
    if divisor == 0:
        return False
    try:
        quotient = value / divisor
    except OverflowError:
        return False
    return math.isfinite(quotient) and quotient == math.floor(quotient) and abs(quotient) < 1e21


def _same(value: Any) -> Any:
    """A key equal for two values exactly when ajv's deep equality (fast-deep-equal) says
    they are equal: it compares an own ``constructor`` property first, objects by identity,
    so an object holding an object or array there equals nothing (:func:`_never_equal`)."""
    if value is True or value is False:
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", float(_double(value)) if isinstance(value, int) else value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("a", tuple(_same(item) for item in value))
    if isinstance(value, dict):
        if isinstance(value.get("constructor"), (dict, list)):
            return ("u", object())
        return ("o", frozenset((k, _same(v)) for k, v in value.items()))
    return ("z", repr(value))


def _never_equal(value: Any) -> bool:
    """Whether ajv's deep equality finds ``value`` equal to no other value."""
    if isinstance(value, dict):
        return isinstance(value.get("constructor"), (dict, list)) or any(
            _never_equal(v) for v in value.values())
    if isinstance(value, list):
        return any(_never_equal(item) for item in value)
    return False


# --- the report's validator: jsonschema with the service's rules --------------------------------

def _is_number(checker: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _is_integer(checker: Any, value: Any) -> bool:
    return _is_number(checker, value) and (isinstance(value, int) or value.is_integer())


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and compile_pattern(pattern).search(
            instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        search = compile_pattern(pattern).search
        for key, value in instance.items():
            if search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, additional: Any, instance: Any, schema: Any
                           ) -> Iterator[Any]:
    """jsonschema's, with patternProperties matched as the service matches them."""
    from jsonschema._utils import extras_msg
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    properties, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    searches = [compile_pattern(p).search for p in patterns]
    extras = [key for key in instance if key not in properties
              and not any(search(key) is not None for search in searches)]
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


def _format(validator: Any, name: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not formats.check(name, instance):
        yield ValidationError(f"{instance!r} is not a {name!r}")


def _multiple_of(validator: Any, divisor: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "number") and not js_multiple_of(instance, divisor):
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


def unique(items: list[Any], plan: dict[str, Any] | None = None, *,
           strings: bool = False) -> bool:
    """ajv's ``uniqueItems``: no two ``items`` deeply equal, once ``plan``'s defaults are
    filled in (:func:`fill_plan`). ``strings``: the schema's items are of type string
    alone, which ajv counts as the keys of an object, where ``"__proto__"`` never sticks."""
    seen: set[Any] = set()
    for item in items:
        if strings and item == "__proto__":
            continue
        key = _same(fill(copy.deepcopy(item), plan) if plan else item)
        if key in seen:
            return False
        seen.add(key)
    return True


def strings_only(schema: Any) -> bool:
    """Whether ajv's ``uniqueItems`` beside ``items: schema`` counts strings in an object
    (its ``getSchemaTypes`` gives just "string"; ``nullable`` is already in ``type``)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    return kind == "string" or kind == ["string"]


def _unique_items(validator: Any, flag: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if flag and validator.is_type(instance, "array") and not unique(
            instance, strings=strings_only(schema.get("items"))):
        yield ValidationError(f"{instance!r} has non-unique elements")


def _unique_filled(validator: Any, plan: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "array") and not unique(
            instance, plan, strings=strings_only(schema.get("items"))):
        yield ValidationError(f"{instance!r} has non-unique elements (with their defaults)")


_JUDGE: list[Any] = []


def judge_class() -> Any:
    """The jsonschema validator class of the services' rules: draft-07 keywords, every
    keyword beside a ``$ref`` applied, the keyword functions above."""
    if not _JUDGE:
        from jsonschema import Draft7Validator, validators

        types = Draft7Validator.TYPE_CHECKER.redefine_many(
            {"number": _is_number, "integer": _is_integer})
        _JUDGE.append(validators.create(
            meta_schema=Draft7Validator.META_SCHEMA,
            validators={**Draft7Validator.VALIDATORS, "pattern": _pattern,
                        "patternProperties": _pattern_properties,
                        "additionalProperties": _additional_properties, "format": _format,
                        "multipleOf": _multiple_of, "uniqueItems": _unique_items,
                        UNIQUE_FILLED: _unique_filled},
            type_checker=types,
            id_of=Draft7Validator.ID_OF,  # pyright: ignore[reportArgumentType]  # jsonschema's own
            applicable_validators=operator.methodcaller("items")))
    return _JUDGE[0]


# --- tcdyn's copy of a schema ------------------------------------------------------------------

@dataclass
class Prepared:
    """A schema and the documents it references, as the services read them (one copy per
    schema checked: a document can be read differently from two of them)."""

    root: str
    #: abstract path -> the document, rewritten by the rules above
    documents: dict[str, dict[str, Any]]
    #: id(schema object in :attr:`documents`) -> (abstract path, JSON pointer)
    locations: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: why tcdyn leaves every value of this schema to the service, or None
    unchecked: str | None = None
    #: what tcdyn leaves to the service in this schema, one line each
    left: list[str] = field(default_factory=list)
    #: abstract path -> JSON pointers of the schema objects that may be checked under
    #: ``not``, ``oneOf`` or ``if`` (where a looser or stricter check flips the verdict)
    negated: dict[str, set[str]] = field(default_factory=dict)
    registry: Any = None
    judge: Any = None


@dataclass
class _Node:
    schema: dict[str, Any]
    path: str  # the document it was reached in
    resolver: Any
    contexts: set[str] = field(default_factory=set)
    parents: list[tuple[int, str]] = field(default_factory=list)  # (id, edge)
    children: list[int] = field(default_factory=list)


def _has_ref(value: Any) -> bool:
    """ajv's ``hasRef``: whether a ``$ref`` (or kin) is anywhere inside ``value``."""
    if isinstance(value, dict):
        return any(k in _REF_KEYWORDS or _has_ref(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_ref(item) for item in value)
    return False


class _Preparer:
    def __init__(self, root: str, originals: Mapping[str, dict[str, Any]],
                 notice: Notice) -> None:
        from jsonschema_specifications import REGISTRY as SPECIFICATIONS
        from referencing import Registry, Resource
        from referencing.exceptions import NoSuchResource
        from referencing.jsonschema import DRAFT7

        self.root = root
        self.notice = notice
        self.documents = {path: service_value(doc) for path, doc in originals.items()}

        def retrieve(uri: str) -> Resource:  # an absolute URL of one of the documents
            try:
                return DRAFT7.create_resource(self.documents[abstract_path(uri)])
            except (KeyError, ValueError):
                raise NoSuchResource(ref=uri) from None  # type: ignore[call-arg]

        self.registry = Registry(retrieve=retrieve).with_resources(  # type: ignore[call-arg]
            (path, DRAFT7.create_resource(doc)) for path, doc in self.documents.items()
        ).combine(SPECIFICATIONS)
        self.locations = {id(node): (path, pointer) for path, doc in self.documents.items()
                          for pointer, node in walk(doc)}
        self.nodes: dict[int, _Node] = {}
        self.tainted: set[int] = set()
        self.unchecked: str | None = None
        self.left: list[str] = []
        self.judge: Any = None

    def where(self, schema: Any) -> str:
        path, pointer = self.locations.get(id(schema), (self.root, "?"))
        return f"{path}#{pointer}"

    def say(self, schema: Any, message: str) -> None:
        where = self.where(schema)
        self.left.append(f"{where}: {message}")
        self.notice(where + message, f"{where}: {message}: left to the service")

    # the graph: every schema object reached from the root, how, and in which contexts

    def explore(self) -> None:
        from referencing.jsonschema import DRAFT7

        root = self.documents[self.root]
        start = _Node(root, self.root, self.registry.resolver(base_uri=self.root))
        self.nodes[id(root)] = start
        todo: list[tuple[int, str]] = [(id(root), "plain")]
        start.parents.append((0, "root"))
        while todo:
            key, context = todo.pop()
            node = self.nodes[key]
            if context in node.contexts:
                continue
            node.contexts.add(context)
            schema, resolver = node.schema, node.resolver
            if schema is not self.documents.get(node.path) and isinstance(schema.get("$id"),
                                                                            str):
                resolver = resolver.in_subresource(DRAFT7.create_resource(schema))
            edges: list[tuple[str, Any, Any, str]] = []
            for pointer, sub in subschemas(schema):
                edge = pointer.split("/")[1]
                if edge == "definitions":
                    continue
                inner = "composite" if edge in _COMPOSITE else context
                edges.append((edge, sub, resolver, inner))
            ref = schema.get("$ref")
            if isinstance(ref, str):
                from referencing.exceptions import Unresolvable

                try:
                    resolved = resolver.lookup(ref)
                except Unresolvable:
                    resolved = None
                if resolved is not None and isinstance(resolved.contents, dict):
                    target = resolved.contents
                    inner = "plain" if _has_ref(target) else context
                    edges.append(("$ref", target, resolved.resolver, inner))
            for edge, sub, sub_resolver, inner in edges:
                if not isinstance(sub, dict):
                    continue
                child = self.nodes.get(id(sub))
                if child is None:
                    path = self.locations.get(id(sub), (node.path, ""))[0]
                    child = self.nodes[id(sub)] = _Node(sub, path, sub_resolver)
                if (key, edge) not in child.parents:
                    child.parents.append((key, edge))
                    node.children.append(id(sub))
                todo.append((id(sub), inner))

    # keywords read alone

    def local(self) -> None:
        for key, node in list(self.nodes.items()):
            schema = node.schema
            if key not in self.locations:  # the draft-06 metaschema, shared: read only
                continue
            schema.pop(UNIQUE_FILLED, None)  # tcdyn's, not the document's
            self.never_equal(schema)
            pattern = schema.get("pattern")
            if isinstance(pattern, str) and not _translatable(pattern):
                del schema["pattern"]
                self.say(schema, f"pattern {pattern[:80]!r} ({_why(pattern)})")
                self.tainted.add(key)
            patterns = schema.get("patternProperties")
            if isinstance(patterns, dict):
                bad = [p for p in patterns if not _translatable(p)]
                for pattern in bad:
                    del patterns[pattern]
                    self.say(schema, f"patternProperties {pattern[:80]!r} ({_why(pattern)})")
                if bad:
                    self.tainted.add(key)
                    if schema.get("additionalProperties") not in (None, True, {}):
                        del schema["additionalProperties"]
            fmt = schema.get("format")
            if isinstance(fmt, str) and fmt not in formats.FORMATS:
                del schema["format"]
                self.say(schema, f"format {fmt[:80]!r}, which ajv-formats does not know")
                self.tainted.add(key)
            for keyword in FORMAT_LIMITS:
                if keyword in schema:
                    self.say(schema, keyword)
                    self.tainted.add(key)
            self.nullable(key, schema)
            required = schema.get("required")
            if isinstance(required, list) and any(n in PROTOTYPE_NAMES for n in required):
                schema["required"] = [n for n in required if n not in PROTOTYPE_NAMES]
            self.prototype_dependencies(schema)
            self.prototype_properties(key, node)

    @staticmethod
    def never_equal(schema: dict[str, Any]) -> None:
        """``const`` and ``enum`` values no value equals to ajv (:func:`_never_equal`): an
        ``enum`` loses them, a ``const`` (or an ``enum`` of nothing else) refuses all."""
        for keyword in ("const", "enum"):
            values = [schema["const"]] if keyword == "const" and keyword in schema \
                else schema.get(keyword)
            if not isinstance(values, list) or not any(_never_equal(v) for v in values):
                continue
            kept = [v for v in values if not _never_equal(v)]
            if keyword == "enum" and kept:
                schema["enum"] = kept
                continue
            del schema[keyword]
            schema["allOf"] = [*schema.get("allOf", ()), {"not": {}}]

    def nullable(self, key: int, schema: dict[str, Any]) -> None:
        if "nullable" not in schema:
            return
        kind = schema.get("type")
        types = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
        if "null" in types:
            if schema["nullable"] is False:
                self.unchecked = f"{self.where(schema)}: type null and nullable false (ajv " \
                                 "refuses the schema)"
        elif not types:
            self.unchecked = f"{self.where(schema)}: nullable without type (ajv refuses the " \
                             "schema)"
        elif schema["nullable"] is True:
            schema["type"] = [*types, "null"]

    def prototype_properties(self, key: int, node: _Node) -> None:
        """``properties`` named like an ``Object.prototype`` member: when the object has no
        such property of its own, ajv checks the inherited function, which fails any
        ``type``, ``enum`` or ``const``; so the property is required exactly when its schema
        refuses a function. ``__proto__`` (inherited: an object) is left to the service."""
        schema = node.schema
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return
        for name in PROTOTYPE_NAMES.intersection(properties):
            if name == "__proto__":
                self.say(schema, "a property named __proto__, when absent")
                self.tainted.add(key)
            elif not _accepts_function(properties[name], node.resolver, 0):
                schema["required"] = [*schema.get("required", []), name]

    @staticmethod
    def prototype_dependencies(schema: dict[str, Any]) -> None:
        """``dependencies`` on a name every object has: they always apply."""
        deps = schema.get("dependencies")
        if not isinstance(deps, dict):
            return
        for name in [n for n in deps if n in PROTOTYPE_NAMES]:
            dep = deps.pop(name)
            if isinstance(dep, list):
                schema["required"] = [*schema.get("required", []),
                                      *(n for n in dep if n not in PROTOTYPE_NAMES)]
            else:
                schema["allOf"] = [*schema.get("allOf", []), dep]
        for name, dep in deps.items():
            if isinstance(dep, list):
                deps[name] = [n for n in dep if n not in PROTOTYPE_NAMES]

    # negations of what is left to the service

    def spread_taint(self) -> None:
        todo = list(self.tainted)
        while todo:
            key = todo.pop()
            node = self.nodes.get(key)
            for parent, _ in node.parents if node else ():
                if parent and parent not in self.tainted:
                    self.tainted.add(parent)
                    todo.append(parent)

    def drop_negations(self) -> None:
        self.spread_taint()
        for key, node in self.nodes.items():
            schema = node.schema
            if key not in self.locations:
                continue
            sub = schema.get("not")
            if isinstance(sub, dict) and id(sub) in self.tainted:
                del schema["not"]
                self.say(schema, "not, over something left to the service")
            branches = schema.get("oneOf")
            if isinstance(branches, list) and any(id(b) in self.tainted for b in branches):
                del schema["oneOf"]
                self.say(schema, "oneOf, over something left to the service")
            condition = schema.get("if")
            if isinstance(condition, dict) and id(condition) in self.tainted:
                for keyword in ("if", "then", "else"):
                    schema.pop(keyword, None)
                self.say(schema, "if, over something left to the service")

    # useDefaults

    def defaults(self) -> None:
        """``required`` as useDefaults makes it: a property whose default is valid may be
        missing, one whose default is not may not. A default is checked as a value sent in
        its place (ajv checks it so), by the schemas below already rewritten: the schemas
        are read deepest first."""
        decided: list[tuple[int, dict[str, Any], list[Any]]] = []
        for key in self.deepest_first():
            node = self.nodes[key]
            schema = node.schema
            if key not in self.locations:  # the draft-06 metaschema: nothing required
                continue
            items = schema.get("items")
            if "plain" in node.contexts and isinstance(items, list) and any(
                    isinstance(i, dict) and "default" in i for i in items):
                self.unchecked = f"{self.where(schema)}: defaults of array items"
            properties = schema.get("properties")
            if not isinstance(properties, dict) or "plain" not in node.contexts:
                continue
            filled = {name: sub["default"] for name, sub in properties.items()
                      if isinstance(sub, dict) and "default" in sub
                      and name not in PROTOTYPE_NAMES}  # never missing to ajv
            if not filled:
                continue
            if "composite" in node.contexts:
                self.unchecked = (f"{self.where(schema)}: defaults filled in outside anyOf, "
                                  "oneOf or not and not inside them")
                continue
            if any(_has_key(default, "__proto__") for default in filled.values()):
                self.unchecked = (f"{self.where(schema)}: a default with a __proto__ key "
                                  "(ajv writes it as an object literal, which sets the "
                                  "prototype)")
                continue
            if not self.alone(key, set(filled)):
                self.unchecked = (f"{self.where(schema)}: defaults that other schemas of "
                                  "the same value would see")
                continue
            decided.append((key, filled, list(schema.get("required", []))))
            self.decide(key, filled, decided[-1][2])
            observers = [k for k in _OBSERVERS if k in schema]
            patterns = schema.get("patternProperties")
            if isinstance(patterns, dict) and any(
                    compile_pattern(p).search(name) for p in patterns for name in filled):
                observers += ["patternProperties"]
                if schema.get("additionalProperties") not in (None, True, {}):
                    observers += ["additionalProperties"]
            for keyword in observers:
                del schema[keyword]
                self.say(schema, f"{keyword}, which sees the defaults filled in")
                self.tainted.add(key)
        # a loop of $refs reads a schema before it is rewritten: again until nothing changes
        for _ in range(8):
            if not any([self.decide(key, filled, required)
                        for key, filled, required in decided]):
                return
        self.unchecked = f"{self.root}: defaults whose validity depends on themselves"

    def decide(self, key: int, filled: dict[str, Any], original: list[Any]) -> bool:
        """Rewrite ``required`` of node ``key`` from its ``original`` and the validity of the
        defaults ``filled``; whether it changed."""
        node = self.nodes[key]
        schema, properties = node.schema, node.schema["properties"]
        required = list(original)
        for name, default in filled.items():
            if self.default_valid(node, properties[name], default):
                required = [n for n in required if n != name]
            elif name not in required:
                required.append(name)
        if ("required" not in schema and not required) or schema.get("required") == required:
            return False
        schema["required"] = required
        return True

    def deepest_first(self) -> list[int]:
        """The nodes, each after the ones below it (but for loops)."""
        order: list[int] = []
        seen: set[int] = set()
        for start in self.nodes:
            if start in seen:
                continue
            seen.add(start)
            stack = [(start, iter(self.nodes[start].children))]
            while stack:
                key, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    order.append(key)
                elif child not in seen and child in self.nodes:
                    seen.add(child)
                    stack.append((child, iter(self.nodes[child].children)))
        return order

    def alone(self, key: int, names: set[str], part: tuple[str, str] | None = None,
              seen: frozenset[int] = frozenset()) -> bool:
        """Whether no schema that ajv runs after this one on the same value sees what this
        one's defaults fill in: the properties ``names`` of its own value or, above a part
        of the value (a property, the items...), anything inside that ``part``
        (:func:`_reads`). ajv fills them in the value itself; a schema run before sees the
        value as sent, as tcdyn does. An array's ``uniqueItems`` and ``contains``, which see
        the items' defaults, are left to the service."""
        if key in seen:  # a loop of $refs and properties: each turn is a deeper value
            return True
        schema = self.nodes[key].schema
        for parent, edge in self.nodes[key].parents:
            if edge in ("root", "contains", "propertyNames"):
                continue  # the whole value, or under a composite rule: no defaults
            owner = self.nodes[parent].schema
            if edge == "patternProperties" or edge not in owner:
                return False
            after = _after(owner, edge, schema)
            inner = part
            if edge == "properties":
                inner = ("property", next(k for k, v in owner[edge].items() if v is schema))
            elif edge in ("items", "additionalItems"):
                inner = ("item", "")
            elif edge == "additionalProperties":
                inner = ("extra", "")
            left = []
            if inner == ("item", ""):
                left = [k for k in ("contains", "uniqueItems") if k in after]
                for keyword in left:
                    del after[keyword]
            resolver = self.nodes[parent].resolver
            sees = (_observes(after, names, resolver, 0) if inner is None
                    else _reads(after, inner, resolver, 0))
            if sees or not self.alone(parent, names, inner, seen | {key}):
                return False
            for keyword in left:
                self.items_filled(parent, keyword)
        return True

    def items_filled(self, key: int, keyword: str) -> None:
        """Node ``key``'s ``keyword`` (``uniqueItems``, ``contains``) sees its items with
        their defaults filled in: ``uniqueItems`` compares them so filled (where
        :func:`fill_plan` can say how), else the keyword is left to the service."""
        node = self.nodes[key]
        schema = node.schema
        if keyword not in schema or (keyword == "uniqueItems" and schema[keyword] is False):
            return
        plan = fill_plan(schema.get("items"), node.resolver)
        if keyword == "uniqueItems" and plan is not None:
            del schema[keyword]
            schema[UNIQUE_FILLED] = plan
            return
        del schema[keyword]
        self.say(schema, f"{keyword}, which sees the items' defaults filled in")
        self.tainted.add(key)

    def make_judge(self) -> Any:
        return judge_class()(self.documents[self.root], registry=self.registry)

    def default_valid(self, node: _Node, schema: Any, default: Any) -> bool:
        if self.judge is None:
            self.judge = self.make_judge()
        sub = self.judge.evolve(schema=schema, _resolver=node.resolver)
        try:
            return bool(sub.is_valid(default))
        except Exception:  # a pattern that timed out, an unresolvable $ref: ajv's turn
            return True

    def negated(self) -> dict[str, set[str]]:
        """JSON pointers, by document, of the schema objects below a ``not``, a ``oneOf``
        or an ``if`` (through ``$ref`` s too)."""
        marked: set[int] = set()
        todo = [id(sub) for node in self.nodes.values()
                for sub in (node.schema.get("not"), node.schema.get("if"),
                            *(node.schema.get("oneOf") or ()))
                if isinstance(sub, dict)]
        while todo:
            key = todo.pop()
            if key in marked or key not in self.nodes:
                continue
            marked.add(key)
            todo.extend(self.nodes[key].children)
        out: dict[str, set[str]] = {}
        for path, doc in self.documents.items():
            for pointer, node in walk(doc):
                if id(node) in marked:
                    out.setdefault(path, set()).add(pointer)
        return out

    def run(self) -> Prepared:
        self.explore()
        self.local()
        self.drop_negations()
        self.defaults()
        self.drop_negations()
        prepared = Prepared(self.root, self.documents, self.locations, self.unchecked,
                            self.left, self.negated(), self.registry)
        prepared.judge = self.make_judge()
        return prepared


def _observes(schema: Any, names: set[str], resolver: Any, depth: int) -> bool:
    """Whether ``schema`` could judge an object differently once ``names`` are filled in
    (conservatively: any keyword that reads the whole object does)."""
    if not isinstance(schema, dict):
        return False
    if depth > 32 or any(k in schema for k in ("enum", "const", *_OBSERVERS, "$recursiveRef")):
        return True
    properties: Any = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required: Any = schema.get("required")
    required = required if isinstance(required, list) else []
    if names & set(properties) or names & set(required):
        return True
    patterns = schema.get("patternProperties")
    if isinstance(patterns, dict) and any(
            compile_pattern(p).search(n) for p in patterns for n in names):
        return True
    if schema.get("additionalProperties") not in (None, True, {}) and names - set(properties):
        return True
    if any(_observes(sub, names, resolver, depth + 1) for sub in _same_value(schema)):
        return True
    return _via_ref(schema, resolver, lambda sub, r: _observes(sub, names, r, depth + 1))


def _same_value(schema: dict[str, Any], *, dependencies: bool = False) -> list[Any]:
    """The subschemas ``schema`` applies to the very value it is given: ``not``, ``if``,
    ``then``, ``else``, the members of ``allOf``/``anyOf``/``oneOf`` (and, with
    ``dependencies``, the schemas of ``dependencies``)."""
    same: list[Any] = [schema.get(k) for k in ("not", "if", "then", "else")]
    for key in ("allOf", "anyOf", "oneOf"):
        same += schema.get(key, []) if isinstance(schema.get(key), list) else []
    deps = schema.get("dependencies") if dependencies else None
    same += list(deps.values()) if isinstance(deps, dict) else []
    return same


def _via_ref(schema: dict[str, Any], resolver: Any, walk: Any) -> bool:
    """``walk(target, its resolver)`` of the schema ``schema``'s ``$ref`` names (False
    without one); True when the reference cannot be resolved (undecided: the service
    decides)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return False
    try:
        resolved = resolver.lookup(ref)
    except Exception:
        return True
    return bool(walk(resolved.contents, resolved.resolver))


#: The order ajv runs keywords in (its rule groups: any type, ..., array, object); an
#: object's defaults are filled in before its group, a keyword not here counts as last.
_ORDER = {"$ref": 0, "const": 1, "enum": 2, "not": 3, "anyOf": 4, "oneOf": 5, "allOf": 6,
          "if": 7, "then": 8, "else": 8, "maxItems": 9, "minItems": 9, "additionalItems": 10,
          "items": 11, "contains": 12, "uniqueItems": 13, "maxProperties": 14,
          "minProperties": 14, "required": 14, "propertyNames": 15,
          "additionalProperties": 16, "dependencies": 17, "properties": 18,
          "patternProperties": 19}


def _after(owner: dict[str, Any], edge: str, schema: Any) -> dict[str, Any]:
    """The part of ``owner`` ajv runs after ``schema``, its subschema at keyword ``edge``
    (its other properties, which see other parts of the value, kept for their names)."""
    rank = _ORDER.get(edge, 99)
    after = {k: v for k, v in owner.items() if _ORDER.get(k, 99) > rank}
    held = owner.get(edge)
    if isinstance(held, list):  # allOf, anyOf, oneOf, items: the later ones
        later = [i for i, sub in enumerate(held) if sub is schema]
        after[edge] = held[later[0] + 1:] if later else []
    elif edge == "properties" and isinstance(held, dict):
        after[edge] = {k: True if v is schema else v for k, v in held.items()}
    elif edge == "dependencies" and isinstance(held, dict):
        after[edge] = {k: v for k, v in held.items() if v is not schema}
    return after


def _trivial(schema: Any) -> bool:
    return schema is None or schema is True or (
        isinstance(schema, dict) and all(k in _ANNOTATIONS for k in schema))


def _reads(schema: Any, part: tuple[str, str], resolver: Any, depth: int) -> bool:
    """Whether ``schema`` could judge a value differently once defaults are filled in inside
    its ``part``: ``("property", name)``, ``("extra", "")`` (a property ``properties`` does
    not name) or ``("item", "")`` (conservatively: any keyword that reads that part, or the
    whole value, does)."""
    if not isinstance(schema, dict):
        return False
    if depth > 32 or any(k in schema for k in ("enum", "const", "$recursiveRef")):
        return True
    kind, name = part
    properties: Any = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    patterns: Any = schema.get("patternProperties")
    patterns = patterns if isinstance(patterns, dict) else {}
    if kind == "item":
        if any(k in schema for k in ("items", "additionalItems", "contains")) or \
                schema.get("uniqueItems") is True:
            return True
    elif kind == "extra":
        if properties or patterns or not _trivial(schema.get("additionalProperties")):
            return True
    else:
        matched = any(compile_pattern(p).search(name) is not None for p in patterns)
        if matched or (name in properties and not _trivial(properties[name])):
            return True
        if name not in properties and not _trivial(schema.get("additionalProperties")):
            return True
    if any(_reads(sub, part, resolver, depth + 1)
           for sub in _same_value(schema, dependencies=True)):
        return True
    return _via_ref(schema, resolver, lambda sub, r: _reads(sub, part, r, depth + 1))


def fill_plan(schema: Any, resolver: Any) -> dict[str, Any] | None:
    """What useDefaults fills in a value of ``schema``: ``{"defaults": {name: value},
    "properties": {name: plan}, "items": plan}`` (absent parts: none), or None where
    it is not that simple (defaults under ``then``, ``dependencies``,
    ``additionalProperties``..., given by two of the schemas a value meets, or a loop of
    ``$ref`` s)."""
    memo: dict[int, dict[str, Any] | None] = {}

    def plan_of(schema: Any, resolver: Any, stack: frozenset[int]) -> dict[str, Any] | None:
        if not isinstance(schema, dict):
            return {}
        key = id(schema)
        if key in stack or len(stack) > 32:
            return None
        if key not in memo:
            memo[key] = _plan(schema, resolver, partial(plan_of, stack=stack | {key}))
        return memo[key]

    return plan_of(schema, resolver, frozenset())


def _plan(schema: dict[str, Any], resolver: Any,
          plan_of: Callable[[Any, Any], dict[str, Any] | None]) -> dict[str, Any] | None:
    parts: list[dict[str, Any] | None] = []
    ref = schema.get("$ref")
    if isinstance(ref, str):
        try:
            resolved = resolver.lookup(ref)
        except Exception:
            return None
        parts.append(plan_of(resolved.contents, resolved.resolver))
    subs: Any = schema.get("allOf")
    parts += [plan_of(sub, resolver) for sub in subs] if isinstance(subs, list) else []
    for keyword in ("then", "else", "additionalProperties", "additionalItems"):
        if plan_of(schema.get(keyword), resolver) != {}:
            return None
    for keyword in ("patternProperties", "dependencies"):
        subs = schema.get(keyword)
        if isinstance(subs, dict) and any(plan_of(sub, resolver) != {}
                                          for sub in subs.values()):
            return None
    own: dict[str, Any] = {}
    properties = schema.get("properties")
    for name, sub in properties.items() if isinstance(properties, dict) else ():
        inner = plan_of(sub, resolver)
        if inner is None:
            return None
        if inner:
            own.setdefault("properties", {})[name] = inner
        if isinstance(sub, dict) and "default" in sub and name not in PROTOTYPE_NAMES:
            if _has_key(sub["default"], "__proto__"):
                return None
            own.setdefault("defaults", {})[name] = sub["default"]
    items = schema.get("items")
    if isinstance(items, list):
        if any(plan_of(sub, resolver) != {} or (isinstance(sub, dict) and "default" in sub)
               for sub in items):
            return None
    else:
        inner = plan_of(items, resolver)
        if inner is None:
            return None
        if inner:
            own["items"] = inner
    plan: dict[str, Any] = {}
    taken: set[str] = set()
    for part in [*parts, own]:  # the order ajv fills them in: a name in two is not simple
        if part is None:
            return None
        names = set(part.get("defaults", ())) | set(part.get("properties", ()))
        if names & taken or ("items" in part and "items" in plan):
            return None
        taken |= names
        for kind, held in part.items():
            if kind == "items":
                plan[kind] = held
            else:
                plan.setdefault(kind, {}).update(held)
    return plan


def fill(value: Any, plan: dict[str, Any]) -> Any:
    """``value`` (changed in place) with the defaults of ``plan`` (:func:`fill_plan`)."""
    if isinstance(value, dict):
        for name, default in plan.get("defaults", {}).items():
            if name not in value:
                value[name] = copy.deepcopy(default)
        for name, inner in plan.get("properties", {}).items():
            if name in value:
                fill(value[name], inner)
    elif isinstance(value, list) and "items" in plan:
        for item in value:
            fill(item, plan["items"])
    return value


def _has_key(value: Any, key: str) -> bool:
    """Whether ``key`` names a property of an object anywhere in ``value``."""
    if isinstance(value, dict):
        return key in value or any(_has_key(v, key) for v in value.values())
    if isinstance(value, list):
        return any(_has_key(item, key) for item in value)
    return False


def _accepts_function(schema: Any, resolver: Any, depth: int) -> bool:
    """Whether ajv accepts a JavaScript function (an inherited ``Object.prototype``
    member) against ``schema``: no JSON type, equal to no JSON value."""
    if not isinstance(schema, dict) or depth > 32:
        return schema is not False
    if "type" in schema or "enum" in schema or "const" in schema:
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str):
        try:
            resolved = resolver.lookup(ref)
        except Exception:
            return True
        if not _accepts_function(resolved.contents, resolved.resolver, depth + 1):
            return False

    def accepts(sub: Any) -> bool:
        return _accepts_function(sub, resolver, depth + 1)

    if "not" in schema and accepts(schema["not"]):
        return False
    if not all(accepts(sub) for sub in schema.get("allOf", [])):
        return False
    if "anyOf" in schema and not any(accepts(sub) for sub in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(accepts(sub) for sub in schema["oneOf"]) != 1:
        return False
    if "if" in schema:
        branch = schema.get("then" if accepts(schema["if"]) else "else", True)
        return accepts(branch)
    return True


def _translatable(pattern: str) -> bool:
    try:
        jsregex.to_python(pattern)
    except (jsregex.JsSyntaxError, jsregex.Untranslatable, RecursionError):
        return False
    return True


def _why(pattern: str) -> str:
    try:
        jsregex.to_python(pattern)
    except jsregex.JsSyntaxError:
        return "V8 refuses it"
    except jsregex.Untranslatable as error:
        return f"no Python equivalent: {error}"
    except RecursionError:
        return "nested too deeply"
    return "translatable"


def prepare(root: str, originals: Mapping[str, dict[str, Any]], notice: Notice) -> Prepared:
    """The schema at abstract path ``root`` as the services read it, from ``originals`` (the
    documents it references, transitively, by abstract path, each with its ``$id``);
    ``notice(key, message)`` is told once per key what is left to the service."""
    return _Preparer(root, originals, notice).run()
