"""The reference and schema files a local deployment serves under ``/references/`` and
``/schemas/``: in the abstract form of a mirror, or the absolute form a live deployment
serves (``$schema``, ``$id`` and manifest items prefixed with its rootUrl)."""

from __future__ import annotations

import json
from typing import Any

from ..references.index import ReferenceSet


def served_file(references: ReferenceSet, path: str, root_url: str, *, absolute: bool,
                bundle: bool) -> Any | None:
    """The document served at ``path``, or None (a 404)."""
    rel = path.lstrip("/")
    if rel == "references/references.json":
        return make_bundle(references) if bundle else None
    if rel.startswith("schemas/"):
        doc = references.schema("/" + rel)
    elif rel.startswith("references/"):
        file = references.references_dir / rel.removeprefix("references/")
        if ".." in rel.split("/") or not file.is_file():
            return None
        doc = json.loads(file.read_bytes())
    else:
        return None
    if doc is None or not absolute:
        return doc
    return absolute_form(doc, root_url)


def absolute_form(doc: Any, root_url: str) -> Any:
    """``doc`` with its abstract ``/...`` names made absolute under ``root_url``."""
    if not isinstance(doc, dict):
        return doc
    doc = dict(doc)
    for key in ("$schema", "$id"):
        if isinstance(doc.get(key), str) and doc[key].startswith("/"):
            doc[key] = root_url + doc[key]
    if isinstance(doc.get("references"), list):
        doc["references"] = [root_url + r if r.startswith("/") else r
                             for r in doc["references"]]
    return doc


def make_bundle(references: ReferenceSet) -> Any | None:
    """``references.json``: the deployment's own if it has one, else made from its files
    (abstract form, as a deployment serves it); None when a file is not JSON."""
    root = references.references_dir
    file = root / "references.json"
    if file.is_file():
        return json.loads(file.read_bytes())
    tops = [("references", root), ("schemas", references.schemas_dir)]
    try:
        return [{"filename": f"{top}/{p.relative_to(base).as_posix()}",
                 "content": json.loads(p.read_bytes())}
                for top, base in tops if base is not None and base.is_dir()
                for p in sorted(base.rglob("*.json"))]
    except ValueError:
        return None
