"""Read-only views over one reference: a service's entries, their arguments and schemas.

A model is built from the parsed JSON of an ``api.json`` or ``exchanges.json`` after its shape
has been checked (``check_reference``), so the rest of tcdyn can rely on every field it
reads. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn

from ..errors import ReferenceLoadError, ScopeExpressionError
from .legacy import modernize, old_kind

API_SCHEMA_SUFFIX = "api-reference-v0.json#"
EXCHANGES_SCHEMA_SUFFIX = "exchanges-reference-v0.json#"
HTTP_METHODS = ("get", "post", "put", "delete", "patch", "head")
_PARAM = re.compile(r"<([^<>/]+)>")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def reference_kind(reference: Any) -> str | None:
    """``"api"``, ``"exchanges"`` or ``None`` (logs, metrics, ...), told apart by ``$schema``."""
    schema = reference.get("$schema") if isinstance(reference, dict) else None
    if not isinstance(schema, str):
        return None
    if schema.endswith(API_SCHEMA_SUFFIX):
        return "api"
    if schema.endswith(EXCHANGES_SCHEMA_SUFFIX):
        return "exchanges"
    return old_kind(schema)  # 2018: http://schemas.taskcluster.net/base/v1/api-reference.json#


def class_name(service_name: str, kind: str) -> str:
    """``purge-cache`` -> ``PurgeCache``; exchanges get ``Events`` (``QueueEvents``)."""
    base = "".join(w[:1].upper() + w[1:] for w in re.split(r"[-_]", service_name) if w)
    return base + ("Events" if kind == "exchanges" else "")


# -- shape checks -------------------------------------------------------------------------

class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> NoReturn:
        raise ReferenceLoadError(self.source, message, field=where)

    def typed(self, obj: Mapping[str, Any], key: str,
              kind: type[Any] | tuple[type[Any], ...], where: str,
              required: bool = True) -> Any:
        if key not in obj:
            if required:
                self.fail(f"{where}.{key}" if where else key, "required field is missing")
            return None
        value = obj[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(f"{where}.{key}" if where else key,
                      f"expected {names}, got {type(value).__name__} {value!r:.60}")
        return value

    def strings(self, obj: Mapping[str, Any], key: str, where: str,
                required: bool = True) -> list[str]:
        values: list[str] = self.typed(obj, key, list, where, required) or []
        for i, v in enumerate(values):
            if not isinstance(v, str):
                self.fail(f"{where}.{key}[{i}]", f"expected str, got {v!r:.60}")
        return values


def check_reference(reference: Any, source: str,
                    refused: list[ReferenceLoadError] | None = None) -> str:
    """Check a reference's shape; return its kind. Raises ``ReferenceLoadError`` naming the
    file (``source``) and the JSON path of the first bad field.

    An entry whose name is private (``_x``) or a Python protocol name (``__del__``) could
    turn ``del``, ``bool()`` or attribute lookups into requests: with a ``refused`` list it
    is removed from ``entries`` and its error appended there; without, it is an error.
    """
    c = _Checker(source)
    if not isinstance(reference, dict):
        c.fail("", f"a reference must be a JSON object, got {type(reference).__name__}")
    kind = reference_kind(reference)
    if kind is None:
        c.fail("$schema", f"not an api or exchanges reference: {reference.get('$schema')!r:.80}")
    service = c.typed(reference, "serviceName", str, "")
    if not re.match(r"^[a-z][a-z0-9_-]*$", service):
        c.fail("serviceName", f"invalid service name {service!r}")
    # The official clients default a missing apiVersion to v1.
    version = c.typed(reference, "apiVersion", str, "", required=False) or "v1"
    if not re.match(r"^v[0-9]+$", version):
        c.fail("apiVersion", f"invalid apiVersion {version!r}")
    for key in ("title", "description"):
        c.typed(reference, key, str, "", required=False)
    base_url = c.typed(reference, "baseUrl", str, "", required=False)
    if base_url is not None and not re.match(r"^https?://[^/?#]+(/[^?#]*)?$", base_url):
        c.fail("baseUrl", f"not an http(s) URL: {base_url!r:.80}")
    entries = c.typed(reference, "entries", list, "")
    if kind == "exchanges":
        c.typed(reference, "exchangePrefix", str, "")
    seen: set[str] = set()
    bad: list[int] = []
    for i, entry in enumerate(entries):
        where = f"entries[{i}]"
        if not isinstance(entry, dict):
            c.fail(where, "an entry must be an object")
        name = c.typed(entry, "name", str, where)
        if name.startswith("_"):
            why = (f"entry {name!r} left out: a name starting with '_' is private to Python "
                   "and tcdyn, not an API method")
            if refused is None:
                c.fail(f"{where}.name", why)
            refused.append(ReferenceLoadError(source, why, field=f"{where}.name"))
            bad.append(i)
            continue
        if not _IDENT.match(name):
            c.fail(f"{where}.name", f"{name!r} is not a usable method name")
        if name in seen:
            c.fail(f"{where}.name", f"duplicate entry name {name!r}")
        seen.add(name)
        for key in ("title", "description"):
            c.typed(entry, key, str, where, required=False)
        if kind == "api":
            _check_api_entry(c, entry, where)
        else:
            _check_exchange_entry(c, entry, where)
    for i in reversed(bad):
        del entries[i]
    return kind


def _check_api_entry(c: _Checker, entry: dict[str, Any], where: str) -> None:
    if entry.get("type", "function") != "function":
        c.fail(f"{where}.type", f"expected 'function', got {entry.get('type')!r}")
    method = c.typed(entry, "method", str, where)
    if method not in HTTP_METHODS:
        c.fail(f"{where}.method", f"unknown HTTP method {method!r}")
    route = c.typed(entry, "route", str, where)
    if not route.startswith("/"):
        c.fail(f"{where}.route", f"a route must start with '/': {route!r}")
    args = c.strings(entry, "args", where)
    if sorted(_PARAM.findall(route)) != sorted(args):
        c.fail(f"{where}.args", f"{args} do not match the placeholders of route {route!r}")
    for i, a in enumerate(args):
        if not _IDENT.match(a):
            c.fail(f"{where}.args[{i}]", f"{a!r} is not a usable argument name")
    c.strings(entry, "query", where, required=False)
    for key in ("input", "output"):
        c.typed(entry, key, str, where, required=False)
    c.typed(entry, "stability", str, where, required=False)
    if "scopes" in entry:
        _check_scopes(c, entry["scopes"], f"{where}.scopes")


def _check_scopes(c: _Checker, expr: Any, where: str) -> None:
    """The one scope-expression check (``tcdyn.scopes.validate``), naming the field."""
    from ..auth.scopes import validate

    try:
        validate(expr)
    except ScopeExpressionError as exc:
        c.fail(where + exc.path[1:], exc.reason)


def _check_exchange_entry(c: _Checker, entry: dict[str, Any], where: str) -> None:
    c.typed(entry, "exchange", str, where)
    c.typed(entry, "schema", str, where)
    keys = c.typed(entry, "routingKey", list, where)
    multi = 0
    for j, key in enumerate(keys):
        kw = f"{where}.routingKey[{j}]"
        if not isinstance(key, dict):
            c.fail(kw, "a routing key must be an object")
        c.typed(key, "name", str, kw)
        c.typed(key, "constant", str, kw, required=False)
        multi += bool(c.typed(key, "multipleWords", bool, kw, required=False))
        c.typed(key, "required", bool, kw, required=False)
    if multi > 1:
        c.fail(f"{where}.routingKey", "more than one multipleWords key cannot be parsed")


# -- models -------------------------------------------------------------------------------
# Plain read-only classes, not frozen dataclasses: making a dataclass runs generated code at
# import, which ``import tcdyn; tcdyn.Queue`` would pay for every model class.

class _ReadOnly:
    """Attributes set once by ``__init__``; ``repr`` shows those in ``_shown``."""

    _shown: ClassVar[tuple[str, ...]] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: cannot delete {name!r}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._shown)
        return f"{type(self).__name__}({shown})"


class EntryModel(_ReadOnly):
    """One API method: its route, arguments, query names, schemas and scopes."""

    name: str
    #: The HTTP verb, upper case (``GET``).
    http_method: str
    route: str
    args: tuple[str, ...]
    query: tuple[str, ...]
    input: str | None
    output: str | None
    scopes: Any
    stability: str
    title: str
    description: str
    raw: Mapping[str, Any]
    #: The route split into literal text (str) and argument positions (int).
    route_parts: tuple[str | int, ...]
    _shown = ("name", "http_method", "route", "args", "query", "input", "output", "scopes",
              "stability", "title", "description")

    def __init__(self, *, name: str, http_method: str, route: str, args: tuple[str, ...],
                 query: tuple[str, ...], input: str | None, output: str | None, scopes: Any,
                 stability: str, title: str, description: str, raw: Mapping[str, Any],
                 route_parts: tuple[str | int, ...] = ()) -> None:
        self.__dict__.update(
            name=name, http_method=http_method, route=route, args=args, query=query,
            input=input, output=output, scopes=scopes, stability=stability, title=title,
            description=description, raw=raw, route_parts=route_parts)

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> EntryModel:
        args = tuple(raw["args"])
        parts: list[str | int] = []
        pos = 0
        for m in _PARAM.finditer(raw["route"]):
            parts.append(raw["route"][pos:m.start()])
            parts.append(args.index(m.group(1)))
            pos = m.end()
        parts.append(raw["route"][pos:])
        return cls(
            name=raw["name"], http_method=raw["method"].upper(), route=raw["route"], args=args,
            query=tuple(raw.get("query", ())), input=raw.get("input"),
            output=raw.get("output"), scopes=raw.get("scopes"),
            stability=raw.get("stability", "stable"), title=raw.get("title", ""),
            description=raw.get("description", ""),
            raw=raw, route_parts=tuple(p for p in parts if p != ""),
        )

    @property
    def paginated(self) -> bool:
        """Whether the entry pages its results with ``continuationToken``."""
        return "continuationToken" in self.query


class _ReferenceModel(_ReadOnly):
    """What every reference has: the service, its version, texts and where it came from."""

    serviceName: str
    apiVersion: str
    title: str
    description: str
    source: str
    raw: Mapping[str, Any]
    #: A 2018 reference's ``baseUrl`` (``https://queue.taskcluster.net/v1/``), else None.
    baseUrl: str | None
    #: Entries left out of the class, each as the ``ReferenceLoadError`` that says why.
    refused: tuple[ReferenceLoadError, ...]
    _shown: ClassVar[tuple[str, ...]] = ("serviceName", "apiVersion", "title", "description",
                                         "source", "baseUrl")

    def __init__(self, *, serviceName: str, apiVersion: str, title: str, description: str,
                 source: str, raw: Mapping[str, Any], baseUrl: str | None = None,
                 refused: tuple[ReferenceLoadError, ...] = ()) -> None:
        self.__dict__.update(serviceName=serviceName, apiVersion=apiVersion, title=title,
                             description=description, source=source, raw=raw,
                             baseUrl=baseUrl, refused=refused)

    @staticmethod
    def _common(raw: Mapping[str, Any], source: str) -> dict[str, Any]:
        return {"serviceName": raw["serviceName"], "apiVersion": raw.get("apiVersion", "v1"),
                "title": raw.get("title", ""), "description": raw.get("description", ""),
                "source": source, "raw": raw, "baseUrl": raw.get("baseUrl")}


class ServiceModel(_ReferenceModel):
    """An ``api.json`` reference: the service and its entries, in reference order."""

    entries: Mapping[str, EntryModel]
    kind: ClassVar[str] = "api"
    _shown = (*_ReferenceModel._shown, "entries")

    def __init__(self, *, entries: Mapping[str, EntryModel] | None = None,
                 **common: Any) -> None:
        super().__init__(**common)
        self.__dict__["entries"] = {} if entries is None else entries

    @classmethod
    def from_reference(cls, raw: Mapping[str, Any], source: str,
                       refused: tuple[ReferenceLoadError, ...] = ()) -> ServiceModel:
        return cls(**cls._common(raw, source), refused=refused,
                   entries={e["name"]: EntryModel.from_raw(e) for e in raw["entries"]})


class ExchangesModel(_ReferenceModel):
    """An ``exchanges.json`` reference: the exchange prefix and one entry per exchange."""

    exchangePrefix: str
    entries: Mapping[str, Mapping[str, Any]]
    kind: ClassVar[str] = "exchanges"
    _shown = (*_ReferenceModel._shown, "exchangePrefix", "entries")

    def __init__(self, *, exchangePrefix: str = "",
                 entries: Mapping[str, Mapping[str, Any]] | None = None,
                 **common: Any) -> None:
        super().__init__(**common)
        self.__dict__.update(exchangePrefix=exchangePrefix,
                             entries={} if entries is None else entries)

    @classmethod
    def from_reference(cls, raw: Mapping[str, Any], source: str,
                       refused: tuple[ReferenceLoadError, ...] = ()) -> ExchangesModel:
        return cls(**cls._common(raw, source), refused=refused,
                   exchangePrefix=raw["exchangePrefix"],
                   entries={e["name"]: e for e in raw["entries"]})


def build_model(reference: Any, source: str) -> ServiceModel | ExchangesModel:
    """Check a parsed reference and return its model; entries left out (see
    ``check_reference``) are listed in the model's ``refused``. A 2018 reference is read in
    the current shape first (``tcdyn.model.legacy.modernize``)."""
    refused: list[ReferenceLoadError] = []
    reference = modernize(reference)
    if isinstance(reference, dict) and isinstance(reference.get("entries"), list):
        reference = {**reference, "entries": list(reference["entries"])}
    kind = check_reference(reference, source, refused)
    cls = ServiceModel if kind == "api" else ExchangesModel
    return cls.from_reference(reference, source, tuple(refused))
