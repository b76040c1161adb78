"""A deployment's JSON schemas, read as Taskcluster's services read them.

``registry`` (``SchemaRegistry``: lookup, ``$ref`` closure, cached checkers), ``semantics``
(the one statement of how ajv 8 + ajv-formats 2.1.1 with Taskcluster's options read a
schema), ``fast_path`` and ``rust_check`` (the microsecond "valid?" checks on the services'
reading), ``report`` (every error, for messages), ``jsregex``/``patterns``/``formats``
(JavaScript regular expressions and ajv's formats in Python), ``walk`` (subschema traversal)
and ``validation`` (one deployment's policy: when and what is checked).

Importing this package loads nothing; ``tcdyn.schemas.SchemaRegistry`` imports the registry
(and jsonschema) on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import SchemaRegistry as SchemaRegistry

__all__ = ["SchemaRegistry"]

if not TYPE_CHECKING:
    def __getattr__(name: str) -> Any:
        if name == "SchemaRegistry":
            from .registry import SchemaRegistry

            globals()[name] = SchemaRegistry
            return SchemaRegistry
        raise AttributeError(f"module 'tcdyn.schemas' has no attribute {name!r}")
