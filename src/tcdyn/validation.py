"""The validation policy of one deployment: its schema registry, made on first use, and what
happens when a schema is not at hand (a one-time notice, and the value goes unchecked)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .references import ReferenceSet

log = logging.getLogger("tcdyn")


class Validator:
    """Checks payloads, responses and messages against a reference set's schemas."""

    def __init__(self, references: ReferenceSet) -> None:
        self.references = references
        self._schemas: Any = None
        self._notices: set[str] = set()

    @property
    def schemas(self) -> Any:
        """The schema registry (``tcdyn.schemas.SchemaRegistry``), or None when the
        references came without schemas (a bare references folder)."""
        if self._schemas is None and self.references.has_schemas:
            from .schemas import SchemaRegistry

            self._schemas = SchemaRegistry(self.references.schema,
                                           root_url=self.references.root_url)
        return self._schemas

    def check(self, service: str, schema: str, instance: Any, what: str) -> bool:
        """Validate ``instance`` against a schema an entry names (``v1/task.json#``).

        Raises ``SchemaValidationError`` listing every problem. Returns False, after a
        one-time notice, when the schema is not at hand (a bare references folder carries no
        schemas): such a request goes out unvalidated rather than failing.
        """
        from .errors import SchemaNotAvailable

        if not self.validating():
            return False
        registry = self.schemas
        try:
            registry.validate(registry.schema_path(service, schema), instance, what=what)
        except SchemaNotAvailable as exc:
            self._notice(exc.url, "not validated: %s", exc)
            return False
        return True

    def validating(self) -> bool:
        """Whether the schemas are at hand; says once when they are not."""
        if self.schemas is None:
            self._notice("no-schemas", "%s carry no schemas: requests and responses are not "
                         "validated (tcdyn.load(rootUrl) or a mirror brings them)",
                         self.references.describe())
            return False
        return True

    def validate_message(self, binding: Any, payload: Any) -> None:
        """Check a Pulse message against its exchange's schema; raises
        ``SchemaValidationError``."""
        if binding.schema and binding.service:
            self.check(binding.service, binding.schema, payload, f"{binding.name} message")

    def _notice(self, key: str, message: str, *args: Any) -> None:
        if key not in self._notices:
            self._notices.add(key)
            log.warning(message, *args)
