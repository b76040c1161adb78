"""The metaclass: one class per reference, one method per entry.

A method is a ``Method`` descriptor on the class, built once per reference; ``help()``,
``inspect.signature`` and ``dir()`` read it like a function (its ``__doc__`` and
``__signature__`` come from the reference, rendered on first use). On an instance it binds
into a ``BoundMethod``, which calls the client and also offers ``pages``/``items`` for
paginated entries and the entry's ``scopes``. An exchanges reference gives an
``ExchangeEntry`` per exchange instead, whose call is a ``Binding``.

A built class knows its deployment only through a ``ClassContext`` (``cls._context``).
"""

from __future__ import annotations

import inspect
import textwrap
import types
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ..model.reference import EntryModel, ExchangesModel, ServiceModel

if TYPE_CHECKING:
    from .context import ClassContext

_P = inspect.Parameter
#: The bound form of a method, for type checkers: ``BoundMethod`` or, in the generated
#: stubs, a subclass whose ``__call__`` has the entry's signature.
_B = TypeVar("_B", bound="BoundMethod")


def scope_lines(expr: Any) -> list[str]:
    """A scope expression as indented lines of help (``scopes.describe``), or its repr."""
    from ..auth.scopes import ScopeExpressionError, describe

    try:
        return ["  " + line for line in describe(expr).splitlines()]
    except ScopeExpressionError:
        return [f"  {expr!r}"]


class Method(Generic[_B]):
    """An API method of a service class (a descriptor, built once per reference entry)."""

    def __init__(self, entry: EntryModel, service: ServiceModel, owner_name: str,
                 module: str, context: ClassContext | None = None) -> None:
        self.entry = entry
        self._service = service
        self._context = context
        self._owner_name = owner_name
        self.__name__ = entry.name
        self.__qualname__ = f"{owner_name}.{entry.name}"
        self.__module__ = module
        self._doc: str | None = None
        self._sig: inspect.Signature | None = None

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Method[_B]: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> _B: ...
    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else BoundMethod(self, obj)

    def __call__(self, client: Any, *args: Any, **kwargs: Any) -> Any:
        return client._call(self.entry, args, kwargs)

    @property
    def scopes(self) -> Any:
        """The entry's scope expression (None when it needs no scopes)."""
        return self.entry.scopes

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        if self._doc is None:
            from ..terminal import escape  # the deployment's text, shown by help()

            self._doc = escape(self._render_doc())
        return self._doc

    def _registry(self) -> Any:
        return self._context.validator.schemas if self._context is not None else None

    def _schema(self, name: str | None) -> Any:
        registry = self._registry()
        if name is None or registry is None:
            return None
        return registry.resolved(registry.schema_path(self._service.serviceName, name))

    @property
    def input_schema(self) -> Any:
        """The payload's schema with every ``$ref`` resolved (None without schemas)."""
        return self._schema(self.entry.input)

    @property
    def output_schema(self) -> Any:
        """The response's schema with every ``$ref`` resolved (None without schemas)."""
        return self._schema(self.entry.output)

    def validate(self, payload: Any) -> None:
        """Check a payload against the entry's input schema without sending anything;
        raises ``SchemaValidationError`` (or ``SchemaNotAvailable``). The payload is checked
        in the JSON form a call sends (``datetime`` s as date-time strings)."""
        from ..call.bind import encode_body
        from ..errors import SchemaNotAvailable

        if self.entry.input is None:
            raise TypeError(f"{self.__qualname__}() takes no payload")
        registry = self._registry()
        if registry is None:
            where = self._context.provenance() if self._context is not None else "?"
            raise SchemaNotAvailable(self.entry.input, self.entry.input, where)
        body = encode_body(self.entry, payload)  # what the call would send
        registry.checker(registry.schema_path(self._service.serviceName, self.entry.input),
                         f"{self.entry.name} payload").sent(payload, body)

    def _render_doc(self) -> str:
        e = self.entry
        lines = [e.title or e.name, ""]
        if e.description:
            lines += [textwrap.dedent(e.description).strip(), ""]
        lines.append(f"{e.http_method} {e.route}  [{e.stability}]  "
                     f"({self._service.serviceName}/{self._service.apiVersion})")
        args = list(e.args)
        if e.input:
            args.append(f"payload ({e.input})")
        lines.append(f"Arguments: {', '.join(args) if args else 'none'}")
        if e.query:
            lines.append(f"Query (query={{...}}): {', '.join(e.query)}")
        lines += self._payload_outline()
        if e.output:
            lines.append(f"Returns: {e.output}")
        if e.paginated:
            lines.append(f"Paginated: .{e.name}.pages(...) / .{e.name}.items(...)")
        if e.scopes is not None:
            lines += ["Scopes:", *scope_lines(e.scopes)]
        return "\n".join(lines)

    def _payload_outline(self) -> list[str]:
        """``Payload:`` and the input schema's fields, or nothing when it is not at hand."""
        if self.entry.input is None or self._context is None:
            return []
        from ..errors import TaskclusterFailure
        from .outline import outline

        try:
            schema = self.input_schema
        except (TaskclusterFailure, OSError):
            return []
        fields = outline(schema)
        return ["Payload (required fields first):", *fields] if fields else []

    @property
    def __signature__(self) -> inspect.Signature:
        if self._sig is None:
            self._sig = inspect.Signature(self._parameters(with_self=True),
                                          return_annotation=Any)
        return self._sig

    def _parameters(self, with_self: bool) -> list[inspect.Parameter]:
        e = self.entry
        params = [_P("self", _P.POSITIONAL_ONLY)] if with_self else []
        params += [_P(a, _P.POSITIONAL_OR_KEYWORD, annotation=str) for a in e.args]
        if e.input:
            params.append(_P("payload", _P.POSITIONAL_OR_KEYWORD, annotation=dict))
        if e.query:
            params.append(_P("query", _P.KEYWORD_ONLY, default=None,
                             annotation="dict[str, str | int] | None"))
        from ..call import worker_payload

        if worker_payload.takes_worker(e):
            params.append(_P(worker_payload.KEYWORD, _P.KEYWORD_ONLY, default=None,
                             annotation=str | None))
        return params

    def __repr__(self) -> str:
        return f"<tcdyn method {self.__qualname__}{self._bound_signature()}>"

    def _bound_signature(self) -> str:
        return str(inspect.Signature(self._parameters(with_self=False)))


class BoundMethod:
    """A ``Method`` bound to a client instance."""

    __slots__ = ("__self__", "method")

    def __init__(self, method: Method[Any], client: Any) -> None:
        self.method = method
        self.__self__ = client

    def __get__(self, obj: Any, objtype: type | None = None) -> BoundMethod:
        # Being a (method) descriptor makes ``inspect.isroutine`` true, so ``help()`` on a
        # client's method renders it as a function: signature, then the reference's text.
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__self__._call(self.method.entry, args, kwargs)

    if not TYPE_CHECKING:
        # Typed per entry by the generated stubs, only for paginated entries (so that
        # ``queue.task.pages`` is a type error, as it is a TypeError at run time).

        def pages(self, *args: Any, max_pages: int | None = None, **kwargs: Any) -> Any:
            """Iterate every page of a paginated entry (``async for`` on async clients)."""
            self._require_paginated()
            return self.__self__._pages(self.method.entry, args, kwargs, max_pages)

        def items(self, *args: Any, key: str | None = None, max_items: int | None = None,
                  **kwargs: Any) -> Any:
            """Iterate every item of every page (the page's list field, or ``key``)."""
            self._require_paginated()
            return self.__self__._items(self.method.entry, args, kwargs, key, max_items)

    def preflight(self, *args: Any, **kwargs: Any) -> Any:
        """Check, without sending, whether this call's scopes are held: a
        ``tcdyn.scopes.Check`` with ``ok`` (True, False, or None = cannot check because a
        parameter is unknown), ``missing`` and ``unknown``. Held scopes come from
        ``auth.currentScopes`` (awaitable on async clients)."""
        return self.__self__._preflight(self.method.entry, args, kwargs)

    def validate(self, payload: Any) -> None:
        """Check a payload against the entry's input schema without sending it."""
        self.method.validate(payload)

    @property
    def input_schema(self) -> Any:
        return self.method.input_schema

    @property
    def output_schema(self) -> Any:
        return self.method.output_schema

    def _require_paginated(self) -> None:
        if not self.method.entry.paginated:
            raise TypeError(f"{self.method.__qualname__}() is not paginated "
                            "(it takes no continuationToken)")

    @property
    def entry(self) -> EntryModel:
        return self.method.entry

    @property
    def scopes(self) -> Any:
        return self.method.entry.scopes

    if not TYPE_CHECKING:  # hidden from type checkers, which would accept any name
        def __getattr__(self, name: str) -> Any:
            if name in ("__name__", "__qualname__", "__module__"):
                return getattr(self.method, name)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    if not TYPE_CHECKING:  # (a class attribute to type checkers, as for any class)
        @property
        def __doc__(self) -> str:
            return self.method.__doc__

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.Signature(self.method._parameters(with_self=False),
                                 return_annotation=Any)

    def __repr__(self) -> str:
        return f"<bound method {self.method.__qualname__} of {self.__self__!r}>"


class ExchangeEntry:
    """An exchange of an events class (one ``exchanges.json`` entry): calling it gives a
    ``Binding``."""

    def __init__(self, entry: dict[str, Any], model: ExchangesModel, owner_name: str,
                 module: str) -> None:
        self.entry = entry
        self._prefix = model.exchangePrefix
        self.__name__ = entry["name"]
        self.__qualname__ = f"{owner_name}.{entry['name']}"
        self.__module__ = module
        self._doc: str | None = None

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else types.MethodType(self, obj)

    def __call__(self, events: Any, *args: Any, **kwargs: Any) -> Any:
        return events._binding(self.entry["name"], args, kwargs)

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        if self._doc is None:
            e = self.entry
            lines = [e.get("title") or e["name"], ""]
            if e.get("description"):
                lines += [textwrap.dedent(e["description"]).strip(), ""]
            lines.append(f"Exchange: {self._prefix}{e['exchange']}")
            lines.append(f"Message schema: {e['schema']}")
            lines.append("Routing key:")
            for key in e["routingKey"]:
                flags = [f for f, on in (("constant " + repr(key.get("constant")),
                                          "constant" in key),
                                         ("required", key.get("required")),
                                         ("multiple words", key.get("multipleWords"))) if on]
                summary = " ".join(str(key.get("summary", "")).split())
                lines.append(f"  {key['name']}: {summary}"
                             + (f" ({', '.join(flags)})" if flags else ""))
            from ..terminal import escape  # the deployment's text, shown by help()

            self._doc = escape("\n".join(lines))
        return self._doc

    @property
    def __signature__(self) -> inspect.Signature:
        params = [_P("self", _P.POSITIONAL_ONLY),
                  _P("routingKeyPattern", _P.POSITIONAL_ONLY, default=None,
                     annotation="dict | str | None")]
        params += [_P(k["name"], _P.KEYWORD_ONLY, default=None, annotation="str | None")
                   for k in self.entry["routingKey"] if "constant" not in k]
        return inspect.Signature(params)

    def __repr__(self) -> str:
        return f"<tcdyn exchange {self.__qualname__}>"


class ServiceMeta(type):
    """Builds a service class from a model: ``build_class(name, model, base, context)``."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any],
                model: ServiceModel | ExchangesModel | None = None,
                context: ClassContext | None = None) -> ServiceMeta:
        if model is not None:
            module = namespace.get("__module__", "tcdyn")
            namespace.update(serviceName=model.serviceName, apiVersion=model.apiVersion,
                             _model=model, _context=context,
                             __doc__=_class_doc(model))
            if isinstance(model, ExchangesModel):
                namespace.update(exchangePrefix=model.exchangePrefix, reference=model.raw,
                                 _entries=dict(model.entries))
            # The API's names win over tcdyn's own (which stay reachable as
            # ``client.meta.<name>``); private names never reach here (see ``model.reference``).
            if isinstance(model, ServiceModel):
                for entry_name, entry in model.entries.items():
                    namespace[entry_name] = Method(entry, model, name, module, context)
            else:
                for entry_name, raw in model.entries.items():
                    namespace[entry_name] = ExchangeEntry(dict(raw), model, name, module)
        return super().__new__(mcs, name, bases, namespace)

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any],
                 model: Any = None, context: Any = None) -> None:
        # ``type.__init__`` refuses the class keywords ``__new__`` consumed (model,
        # context): they are taken here and not passed on.
        super().__init__(name, bases, namespace)

    def __repr__(cls) -> str:
        model = getattr(cls, "_model", None)
        if model is None:
            return super().__repr__()
        context = cls._context  # type: ignore[attr-defined]
        where = context.provenance() if context is not None else "?"
        return (f"<class {cls.__module__}.{cls.__name__}: {model.serviceName}/"
                f"{model.apiVersion}, {len(model.entries)} "
                f"{'methods' if model.kind == 'api' else 'exchanges'}, {where}>")

    @property
    def methods(cls) -> list[str]:
        """The names of the class's API methods or exchanges, in reference order."""
        model = getattr(cls, "_model", None)
        return list(model.entries) if model is not None else []


class Extras:
    """``client.meta``: tcdyn's own attributes of a client or events object, apart from the
    API's names (as botocore keeps its own under ``client.meta``).

    ``client.meta.close()`` is tcdyn's ``close`` even where a reference has an entry named
    ``close``, which then takes ``client.close``. Also ``serviceName``, ``apiVersion`` and
    ``methods`` (entry names, in reference order).
    """

    __slots__ = ("_base", "_obj")

    def __init__(self, obj: Any) -> None:
        self._obj = obj
        #: The built service class: lookups start after it, skipping the entries.
        self._base = next((k for k in type(obj).__mro__ if "_model" in vars(k)), None)

    def _model(self) -> Any:
        return getattr(self._base, "_model", None)

    @property
    def serviceName(self) -> str:
        return str(self._model().serviceName)

    @property
    def apiVersion(self) -> str:
        return str(self._model().apiVersion)

    @property
    def methods(self) -> list[str]:
        return list(self._model().entries)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        target = self._obj if self._base is None else super(self._base, self._obj)
        try:
            return getattr(target, name)
        except AttributeError:
            raise AttributeError(f"tcdyn's {type(self._obj).__name__} has no attribute "
                                 f"{name!r} of its own") from None

    def __dir__(self) -> list[str]:
        own = {n for k in type(self._obj).__mro__ if k is not self._base
               and "_model" not in vars(k) for n in vars(k) if not n.startswith("_")}
        return sorted(own | {"serviceName", "apiVersion", "methods"})

    def __repr__(self) -> str:
        return f"<tcdyn attributes of {type(self._obj).__name__} (client.meta)>"


def _class_doc(model: ServiceModel | ExchangesModel) -> str:
    from ..terminal import escape  # the deployment's text, shown by help()

    head = model.title or model.serviceName
    body = textwrap.dedent(model.description).strip()
    return escape(f"{head}\n\n{body}\n\nBuilt from {model.source}.")


def build_class(name: str, model: ServiceModel | ExchangesModel, base: type,
                context: ClassContext | None, module: str = "tcdyn") -> type:
    """A new service class ``name`` deriving from ``base``, with the model's entries."""
    return ServiceMeta(name, (base,), {"__module__": module}, model=model, context=context)
