"""What differs between two reference sets: the API tcdyn was built from and the one a
deployment serves (``tcdyn references diff``, ``tcdyn.references.diff``).

Methods are compared by service and name on what a call depends on (HTTP method, route,
query names, input and output schemas, scopes, stability); exchanges by service and name on
the exchange name, routing key and schema; schemas by file, on their content (the
deployment's rootUrl taken out of ``$id`` and ``$schema``, so the served and the mirrored
forms of one schema are equal). Texts (titles, descriptions) are not compared. A reference
that cannot be read (in either set) is listed in ``problems`` and its service not compared.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import ReferenceLoadError
from ..model.reference import ExchangesModel, ServiceModel
from .index import ReferenceSet

Kind = Literal["method", "exchange", "schema"]
How = Literal["added", "removed", "changed"]

#: What a call of a method depends on (``EntryModel`` attributes).
METHOD_FIELDS = ("http_method", "route", "query", "input", "output", "scopes", "stability")
#: ... and what a binding to an exchange does.
EXCHANGE_FIELDS = ("exchange", "routingKey", "schema")
#: The most schema files read from one set.
MAX_SCHEMAS = 20000


@dataclass(frozen=True)
class Change:
    """One method, exchange or schema ``added``, ``removed`` or ``changed`` (``fields``:
    what changed). ``name``: ``queue.createTask``, ``queue.taskDefined`` (exchanges, by
    their service), ``queue/v1/task.json`` (schemas); ``detail``: the route or exchange."""

    kind: Kind
    name: str
    how: How
    fields: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class ReferenceDiff:
    """The changes from ``old`` to ``new`` (each described), sorted by kind and name."""

    old: str
    new: str
    changes: tuple[Change, ...]
    problems: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.changes)

    def of(self, kind: Kind, how: How | None = None) -> list[Change]:
        return [c for c in self.changes if c.kind == kind and (how is None or c.how == how)]

    def as_dict(self) -> dict[str, Any]:
        """``{"from", "to", "methods": {"added": [...], ...}, ..., "problems"}``."""
        out: dict[str, Any] = {"from": self.old, "to": self.new}
        kinds: tuple[Kind, ...] = ("method", "exchange", "schema")
        hows: tuple[How, ...] = ("added", "removed", "changed")
        for kind in kinds:
            out[f"{kind}s"] = {how: [_item(c) for c in self.of(kind, how)] for how in hows}
        out["problems"] = list(self.problems)
        return out


def _item(change: Change) -> dict[str, Any]:
    item: dict[str, Any] = {"name": change.name}
    if change.detail:
        item["detail"] = change.detail
    if change.fields:
        item["fields"] = list(change.fields)
    return item


def diff(old: ReferenceSet, new: ReferenceSet) -> ReferenceDiff:
    """What ``new`` adds, removes and changes against ``old``."""
    problems: list[str] = []
    old_models, new_models = _models(old, problems), _models(new, problems)
    unread = (set(old.names()) - old_models.keys()) | (set(new.names()) - new_models.keys())
    old_models = {k: v for k, v in old_models.items() if k not in unread}
    new_models = {k: v for k, v in new_models.items() if k not in unread}
    changes: list[Change] = []
    compared: tuple[tuple[Kind, tuple[str, ...]], ...] = (
        ("method", METHOD_FIELDS), ("exchange", (*EXCHANGE_FIELDS, "exchangePrefix")))
    for kind, key_fields in compared:
        before = dict(_entries(old_models, kind))
        after = dict(_entries(new_models, kind))
        for name in sorted(before.keys() | after.keys()):
            a, b = before.get(name), after.get(name)
            if a is None and b is not None:
                changes.append(Change(kind, name, "added", detail=b[1]))
            elif b is None and a is not None:
                changes.append(Change(kind, name, "removed", detail=a[1]))
            elif a is not None and b is not None:
                differ = tuple(f for f in key_fields if a[0].get(f) != b[0].get(f))
                if differ:
                    changes.append(Change(kind, name, "changed", differ, detail=b[1]))
    before_schemas, after_schemas = _schemas(old, problems), _schemas(new, problems)
    for rel in sorted(before_schemas.keys() | after_schemas.keys()):
        a_doc, b_doc = before_schemas.get(rel), after_schemas.get(rel)
        if a_doc is None:
            changes.append(Change("schema", rel, "added"))
        elif b_doc is None:
            changes.append(Change("schema", rel, "removed"))
        elif _canonical(a_doc, old.root_url) != _canonical(b_doc, new.root_url):
            changes.append(Change("schema", rel, "changed"))
    return ReferenceDiff(old.describe(), new.describe(), tuple(changes), tuple(problems))


def _models(refs: ReferenceSet, problems: list[str]
            ) -> dict[str, ServiceModel | ExchangesModel]:
    """The set's readable references by class name (a problem said for each other one:
    its service is then compared in neither set)."""
    models = {}
    for name in refs.names():
        try:
            models[name] = refs.model(name)
        except ReferenceLoadError as exc:
            problems.append(f"{refs.describe()}: {name} not compared: {exc}")
    return models


def _entries(models: dict[str, ServiceModel | ExchangesModel], kind: str
             ) -> Iterator[tuple[str, tuple[dict[str, Any], str]]]:
    """``name -> (the compared fields, a one-line detail)`` of each method or exchange."""
    for model in models.values():
        if kind == "method" and isinstance(model, ServiceModel):
            for entry in model.entries.values():
                fields = {f: getattr(entry, f) for f in METHOD_FIELDS}
                yield (f"{model.serviceName}.{entry.name}",
                       (fields, f"{entry.http_method} {entry.route}"))
        elif kind == "exchange" and isinstance(model, ExchangesModel):
            for name, raw in model.entries.items():
                fields = {f: raw.get(f) for f in EXCHANGE_FIELDS}
                fields["exchangePrefix"] = model.exchangePrefix
                yield (f"{model.serviceName}.{name}",
                       (fields, f"{model.exchangePrefix}{raw.get('exchange', '')}"))


def _schemas(refs: ReferenceSet, problems: list[str]) -> dict[str, Any]:
    """Every schema file of the set, by path under ``schemas/`` (parsed; a file that is
    not JSON is kept as its bytes, so that it still compares)."""
    root = refs.schemas_dir
    if root is None or not root.is_dir():
        return {}
    found: dict[str, Any] = {}
    for path in sorted(root.rglob("*.json")):
        if len(found) >= MAX_SCHEMAS:
            problems.append(f"{refs.describe()}: more than {MAX_SCHEMAS} schemas; the rest "
                            "were not compared")
            break
        if not path.is_file() or path.is_symlink():
            continue
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        try:
            found[rel] = json.loads(data)
        except ValueError:
            found[rel] = data
    return found


def _canonical(doc: Any, root_url: str | None) -> Any:
    if isinstance(doc, dict) and root_url:
        doc = {k: v.removeprefix(root_url.rstrip("/")) if k in ("$id", "$schema")
               and isinstance(v, str) else v for k, v in doc.items()}
    return json.dumps(doc, sort_keys=True) if not isinstance(doc, bytes) else doc
