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
uniqueItems, enum, const    deep equality of doubles: ``1 == 1.0``, ``true != 1``
required and default        a missing property is first given its ``default`` (useDefaults:
                            not under anyOf, oneOf, not, if, contains, propertyNames), so a
                            required property with a valid default may be missing, and a
                            property whose default is invalid may not
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
(``minProperties``, ``dependencies``...); defaults that another schema of the same value
would see (an ``allOf`` beside a ``required``), filled in both inside and outside ``anyOf``,
or of array items leave the whole schema to the service.
"""

from __future__ import annotations

import copy
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
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
    """A key equal for two values exactly when ajv's deep equality says they are equal."""
    if value is True or value is False:
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", float(_double(value)) if isinstance(value, int) else value)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("a", tuple(_same(item) for item in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, _same(v)) for k, v in value.items()))
    return ("z", repr(value))


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


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if unique and validator.is_type(instance, "array"):
        seen: set[Any] = set()
        for item in instance:
            key = _same(item)
            if key in seen:
                yield ValidationError(f"{instance!r} has non-unique elements")
                return
            seen.add(key)


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
                        "multipleOf": _multiple_of, "uniqueItems": _unique_items},
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
        judge = None
        for key, node in self.nodes.items():
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
            if not self.alone(key, set(filled)):
                self.unchecked = (f"{self.where(schema)}: defaults that other schemas of "
                                  "the same value would see")
                continue
            if judge is None:
                judge = self.make_judge()
            required = list(schema.get("required", []))
            for name, default in filled.items():
                if self.default_valid(judge, node, properties[name], default):
                    required = [n for n in required if n != name]
                elif name not in required:
                    required.append(name)
            if "required" in schema or required:
                schema["required"] = required
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

    def alone(self, key: int, names: set[str], seen: frozenset[int] = frozenset()) -> bool:
        """Whether no other schema of the same value sees ``names`` (the properties this
        one's defaults fill in): ajv fills them in the value itself, for every keyword
        after (conservatively: before too)."""
        if key in seen:  # a loop of $refs and properties: each turn is a deeper value
            return True
        schema = self.nodes[key].schema
        for parent, edge in self.nodes[key].parents:
            if edge in ("root", "items", "additionalItems", "additionalProperties",
                        "contains", "propertyNames"):
                continue  # the value is a part of the owner's, checked by this schema alone
            owner = self.nodes[parent].schema
            if edge == "properties" and "patternProperties" not in owner:
                continue
            if edge == "patternProperties" or edge not in owner:
                return False
            others = dict(owner)
            held = owner[edge]
            if isinstance(held, list):
                others[edge] = [sub for sub in held if sub is not schema]
            elif isinstance(held, dict) and edge == "dependencies":
                others[edge] = {k: v for k, v in held.items() if v is not schema}
            else:
                del others[edge]
            if _observes(others, names, self.nodes[parent].resolver, 0) or not self.alone(
                    parent, names, seen | {key}):
                return False
        return True

    def make_judge(self) -> Any:
        return judge_class()(self.documents[self.root], registry=self.registry)

    def default_valid(self, judge: Any, node: _Node, schema: Any, default: Any) -> bool:
        value = _fill(copy.deepcopy(default), schema, node.resolver, 0)
        sub = judge.evolve(schema=schema, _resolver=node.resolver)
        try:
            return bool(sub.is_valid(value))
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


def _fill(value: Any, schema: Any, resolver: Any, depth: int) -> Any:
    """``value`` with the defaults ajv fills in (useDefaults) where no composite rule is."""
    if depth > 32 or not isinstance(schema, dict):
        return value
    ref = schema.get("$ref")
    if isinstance(ref, str):
        try:
            resolved = resolver.lookup(ref)
            value = _fill(value, resolved.contents, resolved.resolver, depth + 1)
        except Exception:
            pass
    for sub in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
        value = _fill(value, sub, resolver, depth + 1)
    properties = schema.get("properties")
    if isinstance(value, dict) and isinstance(properties, dict):
        for name, sub in properties.items():
            if isinstance(sub, dict) and "default" in sub and name not in value and \
                    name not in PROTOTYPE_NAMES:  # inherited: never undefined to ajv
                value[name] = copy.deepcopy(sub["default"])
        for name in list(value):
            if name in properties:
                value[name] = _fill(value[name], properties[name], resolver, depth + 1)
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        value = [_fill(item, items, resolver, depth + 1) for item in value]
    return value


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
    same: list[Any] = [schema.get(k) for k in ("not", "if", "then", "else")]
    for key in ("allOf", "anyOf", "oneOf"):
        same += schema.get(key, []) if isinstance(schema.get(key), list) else []
    if any(_observes(sub, names, resolver, depth + 1) for sub in same):
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str):
        try:
            resolved = resolver.lookup(ref)
        except Exception:
            return True
        return _observes(resolved.contents, names, resolved.resolver, depth + 1)
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
