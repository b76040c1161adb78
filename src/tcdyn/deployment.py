"""A deployment: the service classes built from one ``ReferenceSet``.

``tcdyn.load(rootUrl_or_dir)`` returns one; ``tcdyn.Queue`` is an attribute of the default one
(bundled references, or ``$TASKCLUSTER_REFERENCES``). Classes are built on first access and
kept; ``.aio`` holds the asynchronous twins.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .fetching import DEFAULT_TIMEOUT
from .references import DEFAULT_MAX_AGE, ReferenceSet

log = logging.getLogger("tcdyn")


class Deployment:
    """The service classes of one deployment, built on first use."""

    def __init__(self, references: ReferenceSet, *, module: str = "tcdyn") -> None:
        self.references = references
        self._module = module
        self._classes: dict[tuple[str, bool], type] = {}
        self._schemas: Any = None
        self._notices: set[str] = set()
        self.aio = AsyncNamespace(self)

    @property
    def root_url(self) -> str | None:
        """The deployment's rootUrl (None for the bundled references)."""
        return self.references.root_url

    def build(self, name: str, *, asynchronous: bool = False) -> type:
        """The class ``name`` (``Queue``, ``QueueEvents``, ...), built once."""
        key = (name, asynchronous)
        cls = self._classes.get(key)
        if cls is None:
            from .meta import build_class

            model = self.references.model(name)  # ServiceNotFound when the set has none
            if model.kind == "exchanges":
                from .exchanges import BaseEvents

                if asynchronous:  # exchange classes do no I/O: one class serves both
                    return self.build(name)
                base: type = BaseEvents
            else:
                from .client import AsyncClient, Client

                base = AsyncClient if asynchronous else Client
            module = f"{self._module}.aio" if asynchronous else self._module
            cls = self._classes[key] = build_class(name, model, base, self, module)
        return cls

    @property
    def schemas(self) -> Any:
        """The deployment's schema registry (``tcdyn.schemas.SchemaRegistry``), or None
        when its references came without schemas (a bare references folder)."""
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
        """Whether this deployment's schemas are at hand; says once when they are not."""
        if self.schemas is None:
            self._notice("no-schemas", "%s carry no schemas: requests and responses are not "
                         "validated (tcdyn.load(rootUrl) or a mirror brings them)",
                         self.references.describe())
            return False
        return True

    def validate_message(self, binding: Any, payload: Any) -> None:
        """Check a Pulse message against its exchange's schema (for
        ``tcdyn.pulse.Consumer(validate=...)``); raises ``SchemaValidationError``."""
        if binding.schema and binding.service:
            self.check(binding.service, binding.schema, payload, f"{binding.name} message")

    def _notice(self, key: str, message: str, *args: Any) -> None:
        if key not in self._notices:
            self._notices.add(key)
            log.warning(message, *args)

    def __getattr__(self, name: str) -> type:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.service_class(name)

    def service_class(self, name: str, *, asynchronous: bool = False,
                      owner: str | None = None) -> type:
        """``build(name)`` for attribute access: an ``AttributeError`` only when the set has
        no such service (saying how to get one), any other failure as a
        ``ReferenceLoadError`` that chains its cause."""
        from .errors import ServiceNotFound

        try:
            return _building(name, self.references.describe(),
                             lambda: self.build(name, asynchronous=asynchronous))
        except ServiceNotFound as exc:  # the one place it becomes an AttributeError
            hint = (f"; tcdyn.load(rootUrl).{name} builds a deployment's own services"
                    if owner else "")
            raise AttributeError(f"{owner or 'tcdyn.Deployment'} has no attribute {name!r}: "
                                 f"{exc}{hint}") from None

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.references.names()})

    def __repr__(self) -> str:
        return f"<tcdyn.Deployment {self.references.describe()}: " \
               f"{', '.join(self.references.names())}>"


class AsyncNamespace:
    """``deployment.aio``: the asynchronous service classes."""

    def __init__(self, deployment: Deployment) -> None:
        self._deployment = deployment

    def __getattr__(self, name: str) -> type:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._deployment.service_class(name, asynchronous=True)

    def __dir__(self) -> list[str]:
        return self._deployment.references.names()

    def __repr__(self) -> str:
        return f"<tcdyn async classes of {self._deployment.references.describe()}>"


def load(source: str | os.PathLike[str], *, refresh: bool = False,
         max_age: float = DEFAULT_MAX_AGE,
         timeout: float | None = DEFAULT_TIMEOUT) -> Deployment:
    """Classes built from a deployment's own references.

    ``source`` is a rootUrl (references fetched once, then read from the disk cache for
    ``max_age`` seconds; ``refresh=True`` fetches again) or a directory: a mirror made by
    ``tcdyn references pull`` or a references folder. ``timeout`` bounds the whole fetch, in
    seconds (None: no overall bound); past it the cache serves if it can, else
    ``ReferenceLoadError``.
    """
    text = os.fspath(source)
    if text.startswith(("http://", "https://")):
        return Deployment(ReferenceSet.from_root_url(text, refresh=refresh, max_age=max_age,
                                                     timeout=timeout))
    return Deployment(ReferenceSet.from_directory(text))


def _building(name: str, where: str, build: Any) -> Any:
    """``build()``, with an ``AttributeError`` raised inside it turned into a
    ``ReferenceLoadError`` (an attribute lookup would otherwise hide it)."""
    from .errors import ReferenceLoadError

    try:
        return build()
    except AttributeError as exc:
        raise ReferenceLoadError(where, f"building {name} failed: {type(exc).__name__}: "
                                 f"{exc}") from exc


def default_class(name: str, *, asynchronous: bool = False) -> type:
    """``tcdyn.<name>`` / ``tcdyn.aio.<name>``: a class of the default deployment."""
    module = "tcdyn.aio" if asynchronous else "tcdyn"
    source = os.environ.get("TASKCLUSTER_REFERENCES") or "the bundled references"
    deployment = _building(name, source, default)
    return deployment.service_class(name, asynchronous=asynchronous,
                                    owner=f"module {module!r}")


_default: Deployment | None = None


def default() -> Deployment:
    """The deployment behind ``tcdyn.Queue``: ``$TASKCLUSTER_REFERENCES`` or the bundle."""
    global _default
    if _default is None:
        env = os.environ.get("TASKCLUSTER_REFERENCES")
        refs = ReferenceSet.from_directory(env) if env else ReferenceSet.bundled()
        if not env:
            refs.origin = "bundled"
        _default = Deployment(refs)
    return _default
