"""The validation policy of one deployment: its schema registry, made on first use, and what
happens when a schema is not at hand (a one-time notice, and the value goes unchecked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..logger import logger

if TYPE_CHECKING:
    from ..references.index import ReferenceSet

log = logger("tcdyn")
_UNKNOWN = object()


class Validator:
    """Checks payloads, responses and messages against a reference set's schemas."""

    def __init__(self, references: ReferenceSet) -> None:
        self.references = references
        self._schemas: Any = None
        self._notices: set[str] = set()
        #: ``(service, schema, what)`` -> its ``schemas.Checker``, or None when the schema
        #: is not at hand: resolved once, so a call or a message pays one dict lookup.
        self._checkers: dict[tuple[str, str, str], Any] = {}
        #: the same per entry (``EntryModel``, hashed by identity) for payloads.
        self._payloads: dict[Any, Any] = {}
        #: ``id(binding)`` -> (binding, its checker or None), for Pulse messages.
        self._messages: dict[int, tuple[Any, Any]] = {}

    @property
    def schemas(self) -> Any:
        """The schema registry (``tcdyn.schemas.SchemaRegistry``), or None when the
        references came without schemas (a bare references folder)."""
        if self._schemas is None and self.references.has_schemas:
            from .registry import SchemaRegistry

            self._schemas = SchemaRegistry(self.references.schema,
                                           root_url=self.references.root_url)
        return self._schemas

    def check(self, service: str, schema: str, instance: Any, what: str) -> bool:
        """Validate ``instance`` against a schema an entry names (``v1/task.json#``).

        Raises ``SchemaValidationError`` listing every problem. Returns False, after a
        one-time notice, when the schema is not at hand (a bare references folder carries no
        schemas): such a request goes out unvalidated rather than failing.
        """
        key = (service, schema, what)
        checker = self._checkers.get(key, _UNKNOWN)
        if checker is _UNKNOWN:
            checker = self._checkers[key] = self._checker(service, schema, what)
        if checker is None:
            return False
        checker(instance)
        return True

    def check_payload(self, service: str, entry: Any, payload: Any, body: bytes) -> bool:
        """Validate a call's payload (``payload``, sent as ``body``) against ``entry``'s input
        schema, as ``check`` does: the payload object itself when it is plain JSON, the
        decoded body otherwise (datetimes as the strings sent)."""
        checker = self._payloads.get(entry, _UNKNOWN)
        if checker is _UNKNOWN:
            checker = self._payloads[entry] = self._checker(service, entry.input,
                                                            f"{entry.name} payload")
        if checker is None:
            return False
        checker.sent(payload, body)
        return True

    def message_checker(self, binding: Any) -> Any:
        """``checker(payload)`` for a Pulse binding's messages, or None when the binding
        names no schema or it is not at hand."""
        if not (binding.schema and binding.service):
            return None
        return self._checker(binding.service, binding.schema, f"{binding.name} message")

    def _checker(self, service: str, schema: str, what: str) -> Any:
        """The ``schemas.Checker`` (schema compiled), or None after a one-time notice."""
        from ..errors import SchemaNotAvailable

        if not self.validating():
            return None
        registry = self.schemas
        try:
            return registry.checker(registry.schema_path(service, schema), what)
        except SchemaNotAvailable as exc:
            self._notice(exc.url, "not validated: %s", exc)
            return None

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
        known = self._messages.get(id(binding))
        if known is None or known[0] is not binding:  # (an id is reused once freed)
            checker = self.message_checker(binding)
            known = self._messages[id(binding)] = (binding, checker)
        if known[1] is not None:
            known[1](payload)

    def _notice(self, key: str, message: str, *args: Any) -> None:
        if key not in self._notices:
            self._notices.add(key)
            log.warning(message, *args)
