"""A deployment: the service classes built from one ``ReferenceSet``.

``tcdyn.load(rootUrl_or_dir)`` returns one; ``tcdyn.Queue`` is an attribute of the default one
(``tcdyn.default``). Classes are built on first access and kept; ``.aio`` holds the
asynchronous twins. Built classes get the deployment's ``ClassContext``, not the deployment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .classes.context import ClassContext
from .logger import logger
from .references.fetch import DEFAULT_LOAD_TIMEOUT
from .references.index import DEFAULT_MAX_AGE, ReferenceSet
from .schemas.validation import Validator

if TYPE_CHECKING:
    from .call.bind import Call

#: ``scheme://``: a source that names a URL, not a directory.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
log = logger("tcdyn")
_T = TypeVar("_T")


class Deployment:
    """The service classes of one deployment, built on first use."""

    def __init__(self, references: ReferenceSet, *, module: str = "tcdyn") -> None:
        self.references = references
        self._module = module
        self._classes: dict[tuple[str, bool], type] = {}
        self.validator = Validator(references)
        #: What every class built here gets from this deployment (not the deployment).
        self.context = ClassContext(
            root_url=references.root_url, provenance=references.describe,
            validator=self.validator, auth_call=self._auth_call,
            sibling=lambda name, asynchronous: self.build(name, asynchronous=asynchronous))
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
            from .classes.meta import build_class

            model = self.references.model(name)  # ServiceNotFound when the set has none
            if model.kind == "exchanges":
                from .client.events import BaseEvents

                if asynchronous:  # exchange classes do no I/O: one class serves both
                    return self.build(name)
                base: type = BaseEvents
            else:
                from .client.clients import AsyncClient, Client

                base = AsyncClient if asynchronous else Client
            module = f"{self._module}.aio" if asynchronous else self._module
            cls = self._classes[key] = build_class(name, model, base, self.context, module)
        return cls

    def _auth_call(self, root_url: str, entry_name: str) -> Call:
        from .call.bind import bind
        from .client.base import api_base_url

        model = self.references.api_model("Auth")
        base_url = api_base_url(root_url, model.serviceName, model.apiVersion, model.baseUrl)
        return bind(model.serviceName, base_url, model.entries[entry_name], (), {})

    @property
    def schemas(self) -> Any:
        """The deployment's schema registry (``tcdyn.schemas.SchemaRegistry``), or None
        when its references came without schemas (a bare references folder)."""
        return self.validator.schemas

    def check(self, service: str, schema: str, instance: Any, what: str) -> bool:
        """``Validator.check``: validate against a schema an entry names."""
        return self.validator.check(service, schema, instance, what)

    def validate_message(self, binding: Any, payload: Any) -> None:
        """Check a Pulse message against its exchange's schema (for
        ``tcdyn.pulse.Consumer(validate=...)``); raises ``SchemaValidationError``."""
        self.validator.validate_message(binding, payload)

    def __getattr__(self, name: str) -> type:
        return self.service_class(name)

    def service_class(self, name: str, *, asynchronous: bool = False,
                      owner: str | None = None) -> type:
        """A class for attribute access (``deployment.Queue``, ``tcdyn.aio.Queue``): the
        one path of every ``__getattr__`` that hands out classes. An ``AttributeError`` for
        a private name or a service the set does not have (saying how to get one), any
        other failure as a ``ReferenceLoadError`` that chains its cause."""
        from .errors import ServiceNotFound

        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return building(name, self.references.describe(),
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
        return self._deployment.service_class(name, asynchronous=True)

    def __dir__(self) -> list[str]:
        return self._deployment.references.names()

    def __repr__(self) -> str:
        return f"<tcdyn async classes of {self._deployment.references.describe()}>"


def load(source: str | os.PathLike[str], *, refresh: bool = False,
         max_age: float = DEFAULT_MAX_AGE,
         timeout: float | None = DEFAULT_LOAD_TIMEOUT) -> Deployment:
    """Classes built from a deployment's own references.

    ``source`` is a rootUrl (references fetched once, then read from the disk cache for
    ``max_age`` seconds; ``refresh=True`` fetches again) or a directory: a mirror made by
    ``tcdyn references pull`` or a references folder. ``timeout`` bounds the whole fetch, in
    seconds (None: no overall bound); past it the cache serves if it can, else
    ``ReferenceLoadError``. A ``source`` that is a URL must be a rootUrl
    (``checks.root_url``).
    """
    text = os.fspath(source)
    if _URL.match(text):  # a URL (any scheme: ReferenceSet refuses all but http(s))
        return Deployment(ReferenceSet.from_root_url(text, refresh=refresh, max_age=max_age,
                                                     timeout=timeout))
    return Deployment(ReferenceSet.from_directory(text))


def building(name: str, where: str, build: Callable[[], _T]) -> _T:
    """``build()``, with an ``AttributeError`` raised inside it turned into a
    ``ReferenceLoadError`` (an attribute lookup would otherwise hide it)."""
    from .errors import ReferenceLoadError

    try:
        return build()
    except AttributeError as exc:
        raise ReferenceLoadError(where, f"building {name} failed: {type(exc).__name__}: "
                                 f"{exc}") from exc
