"""A payload outline from a resolved JSON schema: each field, its type, whether required.

Used by ``help()`` on an API method (and usable by any front end): a few lines instead of
the whole schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Fields shown at most per object, and how deep nested objects are opened.
MAX_FIELDS = 40
MAX_DEPTH = 2


def type_name(schema: Any) -> str:
    """A short name for a schema's type: ``string (date-time)``, ``array of string``,
    ``'a' | 'b'``, ``object``, ``any``."""
    if not isinstance(schema, Mapping):
        return "any"
    if "enum" in schema and isinstance(schema["enum"], list):
        shown = " | ".join(repr(v) for v in schema["enum"][:6])
        return shown + (" | ..." if len(schema["enum"]) > 6 else "")
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array":
        return f"array of {type_name(schema.get('items'))}"
    if kind == "string" and isinstance(schema.get("format"), str):
        return f"string ({schema['format']})"
    if kind is None:
        for key in ("oneOf", "anyOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                return " | ".join(type_name(o) for o in options)
        return "object" if "properties" in schema else "any"
    return str(kind)


def outline(schema: Any, *, depth: int = MAX_DEPTH, indent: str = "  ") -> list[str]:
    """One line per field of an object schema: ``name: type (required)``, nested objects'
    fields indented below theirs, at most ``depth`` levels."""
    if not isinstance(schema, Mapping):
        return []
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return []
    required = set(schema.get("required") or ())
    names = sorted(props, key=lambda n: (n not in required, list(props).index(n)))
    lines = []
    for name in names[:MAX_FIELDS]:
        sub = props[name]
        flag = " (required)" if name in required else ""
        lines.append(f"{indent}{name}: {type_name(sub)}{flag}")
        if depth > 1:
            lines += outline(sub, depth=depth - 1, indent=indent + "  ")
    if len(names) > MAX_FIELDS:
        lines.append(f"{indent}... {len(names) - MAX_FIELDS} more")
    return lines
