"""A deployment's JSON schemas (draft-06): lookup, ``$ref`` inlining and cached validators.

Every document comes from a *loader* (``loader("/schemas/queue/v1/task.json") -> dict |
None``); nothing is fetched here. Documents may carry abstract ids
(``/schemas/queue/v1/task.json#``) or served ones (``https://tc.example.com/schemas/...``):
both are keyed by their abstract path, so ``$ref`` s resolve the same way.

Each schema is read as the services read it (:mod:`tcdyn.semantics`); the fast check
(:mod:`tcdyn.fast_path`) answers "valid" in microseconds, and only when it does not accept
does the report's validator (jsonschema with the services' rules) run to list every error.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin

from jsonschema import Draft6Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT6

from ..errors import ReferenceLoadError, SchemaNotAvailable, SchemaValidationError
from ..logger import logger
from ..model.legacy import is_legacy_root, schema_url
from ..model.schema_names import abstract_path as _abstract
from . import fast_path, semantics
from .fast_path import plain_json, sent_as_is
from .patterns import PatternTimeout
from .report import clip, describe, json_path
from .walk import (
    SCHEMA_LISTS,
    SCHEMA_MAPS,
    SCHEMA_ONE,
    applicators,
    depth,
    pointer_token,
    walk,
)

__all__ = ["SchemaNotAvailable", "SchemaRegistry", "SchemaViolation"]

log = logger("tcdyn")

Loader = Callable[[str], "dict[str, Any] | None"]

DRAFT6_URI = "http://json-schema.org/draft-06/schema#"

#: Bounds on what an error carries: lines in the summary, violations recorded on the
#: exception.
SUMMARY_LINES = 50
RECORDED_ERRORS = 1000
#: JSON nesting allowed in one schema document (Taskcluster's deepest has 15 levels).
MAX_SCHEMA_DEPTH = 64
#: JSON nesting of a value that fails the fast check and goes to jsonschema (recursive).
MAX_INSTANCE_DEPTH = 128
_ANNOTATIONS = ("title", "description", "default", "examples", "$comment")
#: The draft-06 check of a schema, without its ``format: regex`` (Python's syntax): a
#: pattern is JavaScript, and one V8 refuses is left to the service (tcdyn.semantics).
_NO_FORMATS = FormatChecker(formats=())


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


def _display_url(root_url: str | None, path: str) -> str:
    """The URL a deployment serves ``path`` at (the abstract path without a root URL)."""
    if not root_url:
        return path
    root = root_url.rstrip("/")
    if is_legacy_root(root):
        return schema_url(path)
    return root + path


def _accept(instance: Any) -> bool:
    return True


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
        fast = self._fast  # fast_path.fast_accepts, inlined: a message pays for every call
        try:
            if fast is not None and plain_json(instance) and fast(instance):
                return
        except Exception:  # invalid, too deep, a pattern timed out...: the report decides
            pass
        self._registry._judge(self.path, instance, self.what)

    def sent(self, value: Any, body: bytes | str) -> None:
        """Check what a call sends: ``value`` itself when it is plain JSON that encodes
        to exactly what ``body`` decodes to (no re-decoding), else ``body`` decoded (so a
        ``datetime`` is checked as the date-time string it was sent as)."""
        fast = self._fast
        if fast is not None:
            try:
                if fast(value) and sent_as_is(value):
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
        self._prepared: dict[str, semantics.Prepared] = {}
        self._fast: dict[str, Callable[[Any], Any] | None] = {}  # None: jsonschema alone
        self._notices: set[str] = set()
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
        """The jsonschema validator of ``path`` with the services' rules
        (:mod:`tcdyn.semantics`), built once."""
        path = _abstract(path)
        if path not in self._fast:
            with self._lock:
                self._prepare(path)
        return self._prepared[path].judge

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
        if fast_path.fast_accepts(self._fast[path], instance):
            return
        self._judge(_abstract(path), instance, what)

    def left_to_service(self, path: str) -> tuple[str, ...]:
        """What tcdyn does not check in ``path`` and leaves to the service (a pattern V8
        refuses, a format ajv-formats does not know...; see :mod:`tcdyn.semantics`), one
        line each; empty when tcdyn decides every value as the service does."""
        path = _abstract(path)
        if path not in self._fast:
            with self._lock:
                self._prepare(path)
        prepared = self._prepared[path]
        unchecked = [] if prepared.unchecked is None else [
            f"every value: {prepared.unchecked}"]
        return (*unchecked, *prepared.left)

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
        """The report's verdict on ``instance``, which the fast check did not accept."""
        prepared = self._prepared[path]
        if prepared.unchecked is not None:
            return
        if depth(instance, MAX_INSTANCE_DEPTH) > MAX_INSTANCE_DEPTH:
            raise self._too_deep(path, what, instance)
        violations: list[SchemaViolation] = []
        total = 0
        try:
            for error in prepared.judge.iter_errors(semantics.service_value(instance)):
                total += 1
                if len(violations) < RECORDED_ERRORS:
                    violations.append(self._violation(prepared, error))
        except RecursionError:
            raise self._too_deep(path, what, instance) from None
        except Unresolvable as error:
            raise ReferenceLoadError(self.url(path), f"a $ref cannot be resolved: {error}"
                                     ) from None
        except PatternTimeout as timeout:  # this value only: say so, whatever else it has
            total += 1
            violations.append(SchemaViolation("$", "pattern", clip(str(timeout)),
                                              f"{self.url(path)}#"))
        if total:
            raise SchemaValidationError(self._summary(path, what, violations, total),
                                        violations, self.url(path))

    def _too_deep(self, path: str, what: str, instance: Any) -> SchemaValidationError:
        """The error for a value too deep to check (or that ran out of stack)."""
        reason = f"the value is nested {depth(instance)} levels deep, too deep to check " \
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
        nesting = depth(raw)
        if nesting > MAX_SCHEMA_DEPTH:
            raise ReferenceLoadError(self.url(path), f"nested {nesting} levels deep (at most "
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
            Draft6Validator.check_schema(raw, format_checker=_NO_FORMATS)
        except RecursionError:
            raise ReferenceLoadError(self.url(path), "too deeply nested to check", "#"
                                     ) from None
        except SchemaError as error:
            where = "#" + "".join("/" + pointer_token(p) for p in error.absolute_path)
            raise ReferenceLoadError(self.url(path), "not a valid draft-06 schema: "
                                     f"{clip(error.message)}", where) from None
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
        for pointer, schema in walk(doc):
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
            same, deeper = applicators(node)
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
        """Read ``path`` as the services do and build both validators (lock held)."""
        if path in self._fast:
            return
        closure = self._closure(path)
        self._check_ref_loops(path)
        prepared = semantics.prepare(path, {p: self._docs[p] for p in closure}, self._notice)
        self._prepared[path] = prepared
        if prepared.unchecked is not None:
            self._notice(path, f"{self.url(path)}: not checked, left to the service: "
                         f"{prepared.unchecked}")
            fast: Callable[[Any], Any] | None = _accept
        else:
            fast = self._compile_fast(path, prepared)
        self._fast[path] = fast  # last: validate() looks for it without the lock

    def _notice(self, key: str, message: str) -> None:
        """Say once (per registry) what tcdyn leaves to the service."""
        if key not in self._notices:
            self._notices.add(key)
            log.warning("%s", message)

    def _compile_fast(self, path: str, prepared: semantics.Prepared
                      ) -> Callable[[Any], Any] | None:
        """The fast check (None: the report's validator alone);
        :class:`~tcdyn.errors.ReferenceLoadError` when a ``$ref`` cannot be resolved."""
        try:
            return fast_path.compile_fast(prepared)
        except Exception:  # a schema neither compiler takes
            try:  # say which $ref is broken, if one is
                self.resolved(path)
            except Unresolvable as error:
                raise ReferenceLoadError(self.url(path),
                                         f"cannot be compiled: {error}") from None
            return None

    # -- reporting and inlining

    def _location(self, schema: Any) -> str | None:
        """``<url>#<pointer>`` of a schema object from one of the loaded documents."""
        if self._locations is None:
            self._locations = {
                id(node): (path, pointer)
                for path, doc in list(self._docs.items())
                for pointer, node in walk(doc)
            }
        found = self._locations.get(id(schema))
        if found is None:
            return None
        return f"{self.url(found[0])}#{found[1]}"

    def _violation(self, prepared: semantics.Prepared, error: ValidationError
                   ) -> SchemaViolation:
        keyword = error.validator if isinstance(error.validator, str) else "false"
        found = prepared.locations.get(id(error.schema))
        if found is None:  # not from a loaded document (the draft-06 metaschema, say)
            where = f"{self.url(prepared.root)}#" + "".join(
                "/" + pointer_token(p) for p in error.absolute_schema_path)
        else:
            where = f"{self.url(found[0])}#{found[1]}"
            if isinstance(error.validator, str):
                where += "/" + pointer_token(keyword)
        return SchemaViolation(json_path(error.absolute_path), keyword, describe(error),
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
            if key in SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self._inline(sub, resolver, base, stack)
                            for name, sub in value.items()}
            elif key in SCHEMA_ONE or (key == "items" and isinstance(value, dict)):
                out[key] = self._inline(value, resolver, base, stack)
            elif key in SCHEMA_LISTS or (key == "items" and isinstance(value, list)):
                out[key] = [self._inline(sub, resolver, base, stack) for sub in value]
            else:
                out[key] = copy.deepcopy(value)
        return out
