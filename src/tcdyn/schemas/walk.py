"""Walking a JSON schema (draft-06, with draft-07's ``if``/``then``/``else``, as ajv reads
Taskcluster's schemas): where its subschemas sit, JSON pointers, nesting depth."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

#: Keywords whose value maps names to subschemas; holding one subschema; a list of them.
SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "dependencies")
SCHEMA_ONE = ("additionalItems", "additionalProperties", "contains", "propertyNames", "not",
              "if", "then", "else")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
#: Keywords whose value is data (a value, not a schema).
DATA = ("enum", "const", "default", "examples")


def pointer_token(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def subschemas(schema: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(JSON-pointer suffix, subschema) for every subschema position in ``schema``."""
    for key in SCHEMA_MAPS:
        value = schema.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                if isinstance(sub, (dict, bool)):
                    yield f"/{key}/{pointer_token(name)}", sub
    for key in SCHEMA_ONE:
        if isinstance(schema.get(key), (dict, bool)):
            yield f"/{key}", schema[key]
    items = schema.get("items")
    if isinstance(items, (dict, bool)):
        yield "/items", items
    elif isinstance(items, list):
        for index, sub in enumerate(items):
            yield f"/items/{index}", sub
    for key in SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for index, sub in enumerate(schema[key]):
                yield f"/{key}/{index}", sub


def walk(schema: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(pointer, schema object) for ``schema`` and every subschema inside it."""
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for suffix, sub in subschemas(schema):
        yield from walk(sub, pointer + suffix)


def depth(value: Any, stop: int | None = None) -> int:
    """How deeply ``value``'s dicts and lists nest (without recursion); counting ends past
    ``stop``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, (list, tuple)):
            continue
        deepest = max(deepest, level)
        if stop is not None and deepest > stop:
            break
        stack.extend((child, level + 1) for child in item)
    return deepest


_SAME_VALUE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependencies")


def applicators(schema: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(subschemas applied to the same value, subschemas applied to a part of it)."""
    same, deeper = [], []
    for pointer, sub in subschemas(schema):
        key = pointer.split("/")[1]
        if key in _SAME_VALUE:
            same.append(sub)
        elif key != "definitions":
            deeper.append(sub)
    return same, deeper
