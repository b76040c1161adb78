"""What a built service class needs from the deployment that built it, and nothing more.

``Deployment`` makes one ``ClassContext`` and gives it to every class it builds (as the class
attribute ``_context``); clients and methods use it, never the ``Deployment`` itself, so that
client code does not depend on deployment code at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..call.bind import Call


class Validator(Protocol):
    """Schema validation as a deployment offers it (``tcdyn.validation.Validator``)."""

    @property
    def schemas(self) -> Any:
        """The schema registry, or None when the references came without schemas."""
        ...

    def validating(self) -> bool:
        """Whether schemas are at hand (says once when they are not)."""
        ...

    def check(self, service: str, schema: str, instance: Any, what: str) -> bool:
        """Validate ``instance`` against an entry's schema; False when it is not at hand."""
        ...

    def check_payload(self, service: str, entry: Any, payload: Any, body: bytes) -> bool:
        """Validate a call's payload, sent as ``body``; False when the schema is not at
        hand."""
        ...


class ClassContext:
    """The deployment's side of a built class (read-only; a plain class, because a frozen
    slotted dataclass costs more to make than ``import tcdyn; tcdyn.Queue`` should pay)."""

    __slots__ = ("auth_call", "provenance", "root_url", "sibling", "validator")
    #: The rootUrl clients use when given none (None for the bundled references).
    root_url: str | None
    #: Where the references came from (``"bundled references"``, ...), said when asked.
    provenance: Callable[[], str]
    validator: Validator
    #: ``auth_call(rootUrl, entry_name)``: the ``Call`` of an Auth entry taking no arguments
    #: (``currentScopes``), for a client to send through its own transport.
    auth_call: Callable[[str, str], Call]
    #: ``sibling(name, asynchronous)``: another class of the same deployment (``Object``).
    sibling: Callable[[str, bool], type]

    def __init__(self, *, root_url: str | None, provenance: Callable[[], str],
                 validator: Validator, auth_call: Callable[[str, str], Call],
                 sibling: Callable[[str, bool], type]) -> None:
        for name, value in (("root_url", root_url), ("provenance", provenance),
                            ("validator", validator), ("auth_call", auth_call),
                            ("sibling", sibling)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ClassContext is read-only: cannot set {name!r}")

    def __repr__(self) -> str:
        return f"ClassContext(root_url={self.root_url!r})"
