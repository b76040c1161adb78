"""The schema files a reference names (its ``$schema``, entries' ``input``/``output``,
exchanges' ``schema``) and those a schema's ``$ref``s reach, as safe mirror paths: what
``remote`` fetches and the index hands to the schema registry."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from ..errors import ReferenceLoadError
from ..logger import logger
from ..model import legacy

if TYPE_CHECKING:

    pass

from .tree import _PART, safe_rel

log = logger("tcdyn.references")
_OLD_SCHEMAS = re.compile(rf"^https?://{re.escape(legacy.LEGACY_SCHEMAS_HOST)}/(.+)$")


def _schema_rel(name: str, service: str) -> str | None:
    """Where a schema name (``v1/task.json#``, ``/schemas/...`` or a URL) lives in a mirror;
    None for a name outside ``/schemas/``."""
    base = name.split("#", 1)[0]
    m = _OLD_SCHEMAS.match(base)
    if m:  # 2018: http://schemas.taskcluster.net/<service>/v1/x.json
        return "schemas/" + m.group(1)
    if "://" in base or base.startswith("/"):
        return base[base.index("/schemas/") + 1:] if "/schemas/" in base else None
    return f"schemas/{service}/{base}"


def schema_names(reference: Any, source: str) -> tuple[list[str], list[ReferenceLoadError]]:
    """The schema files a reference names (its ``$schema``, entries' ``input``/``output``,
    exchanges' ``schema``) as mirror paths, and an error for each unsafe name."""
    found: list[str] = []
    errors: list[ReferenceLoadError] = []
    if not isinstance(reference, dict):
        return found, errors

    def add(name: Any, service: str, field: str) -> None:
        if not isinstance(name, str):
            return
        rel = _schema_rel(name, service)
        if rel is None:
            return
        try:
            found.append(safe_rel(rel, source, field))
        except ReferenceLoadError as exc:
            errors.append(exc)

    add(reference.get("$schema"), "", "$schema")
    service = legacy.service_name(reference) if legacy.is_legacy(reference) else \
        reference.get("serviceName")
    entries = reference.get("entries")
    named = [(f"entries[{i}].{key}", entry[key])
             for i, entry in enumerate(entries if isinstance(entries, list) else [])
             if isinstance(entry, dict) for key in ("input", "output", "schema")
             if isinstance(entry.get(key), str)]
    if named and not (isinstance(service, str) and _PART.match(service)):
        errors.append(ReferenceLoadError(source, f"unsafe service name {service!r:.100}",
                                         "serviceName"))
        return found, errors
    for field, name in named:
        add(name, service, field)  # type: ignore[arg-type]
    return found, errors


def _refs_in(schema: Any, rel: str) -> list[str]:
    """Schema files a schema's ``$ref``s (and ``$schema``) point to, as safe mirror paths."""
    out: list[str] = []
    base = rel.rsplit("/", 1)[0]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$schema") and isinstance(value, str):
                    target = value.split("#", 1)[0]
                    if not target:
                        continue
                    old = _OLD_SCHEMAS.match(target)
                    if old:
                        out.append("schemas/" + old.group(1))
                    elif "/schemas/" in target:
                        out.append(target[target.index("/schemas/") + 1:])
                    elif "://" not in target:
                        out.append(os.path.normpath(f"{base}/{target}"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        walk(schema)
    except RecursionError:
        log.warning("%s is nested too deeply to follow its $refs", rel)
    safe = []
    for r in out:
        try:
            safe.append(safe_rel(r, rel, "$ref"))
        except ReferenceLoadError as exc:
            log.warning("not mirrored: %s", exc)
    return safe
