"""Routing keys for Taskcluster's Pulse exchanges: build bindings, parse received keys.

Every exchange class (``QueueEvents``, ``HooksEvents``, ...) derives from ``BaseEvents``; the
metaclass sets its class attributes from an ``exchanges.json`` and adds one method per entry
that returns a ``Binding``. Nothing here does I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..classes.meta import Extras
from ..errors import TaskclusterArgumentError, TaskclusterFailure, TaskclusterTopicExchangeFailure

if TYPE_CHECKING:
    from ..call.options import LiveOptions

__all__ = [
    "BaseEvents",
    "Binding",
    "KeyLayout",
    "RoutingKeyError",
    "build_routing_key",
    "parse_routing_key",
    "schema_path",
]

#: The word Taskcluster publishers write for an absent (non-required) routing-key word.
ABSENT = "_"
#: Prefix of the routing keys that tasks' ``routes`` are CC'd with.
ROUTE_PREFIX = "route."


class RoutingKeyError(TaskclusterFailure, ValueError):
    """A received routing key does not fit its exchange's routing-key reference."""


def build_routing_key(reference: Sequence[Mapping[str, Any]], words: Mapping[str, Any],
                      *, where: str = "binding") -> str:
    """The routing-key pattern for ``words`` (word name -> value) under ``reference``.

    Constants are written as is; a given word is used as its value (``str`` or ``int``; no
    ``.`` unless the word is ``multipleWords``); an unset (or ``None``) word becomes ``#`` if
    it is ``multipleWords``, else ``*``. Raises ``TaskclusterTopicExchangeFailure`` (a
    ``TypeError``) naming ``where`` and the bad word.
    """
    names = {k["name"] for k in reference}
    unknown = sorted(str(n) for n in words if n not in names)
    if unknown:
        raise TaskclusterTopicExchangeFailure(
            f"{where}: unknown routing-key word(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(k['name'] for k in reference)}")
    parts: list[str] = []
    for key in reference:
        name, multi = key["name"], bool(key.get("multipleWords"))
        value = words.get(name)
        if "constant" in key:
            if value is not None and str(value) != key["constant"]:
                raise TaskclusterTopicExchangeFailure(
                    f"{where}: {name!r} is the constant {key['constant']!r}, got {value!r}")
            parts.append(key["constant"])
        elif value is None:
            parts.append("#" if multi else "*")
        else:
            parts.append(_word(where, name, value, multi))
    return ".".join(parts)


def _word(where: str, name: str, value: Any, multi: bool) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TaskclusterTopicExchangeFailure(
            f"{where}: routing-key word {name!r} must be a str or int, "
            f"got {type(value).__name__}")
    text = str(value)
    if not text:
        raise TaskclusterTopicExchangeFailure(
            f"{where}: routing-key word {name!r} is empty; leave it out to match any value")
    if not multi:
        if "." in text:
            raise TaskclusterTopicExchangeFailure(
                f"{where}: routing-key word {name!r} is a single word and cannot contain "
                f"'.': {text!r}")
        if text == "#":
            raise TaskclusterTopicExchangeFailure(
                f"{where}: routing-key word {name!r} is a single word; '#' would match "
                "several words (use '*' or leave it out)")
    elif "" in text.split("."):
        raise TaskclusterTopicExchangeFailure(
            f"{where}: routing-key word {name!r} has an empty word: {text!r}")
    return text


def parse_routing_key(reference: Sequence[Mapping[str, Any]], routing_key: str,
                      *, where: str = "routing key") -> dict[str, str | None]:
    """Split a received routing key into its words (name -> value, constants included).

    Single words are taken from the front, then from the back; what is left is joined into
    the one ``multipleWords`` word. ``_`` (and an empty multi-word rest) means absent and
    gives ``None``. A CC'd task route (``route.<route>``) on an exchange whose key starts
    with a constant parses to ``{"route": "<route>"}``. Raises ``RoutingKeyError``.
    """
    return KeyLayout(reference).parse(routing_key, where=where)


class KeyLayout:
    """A routing-key reference prepared for parsing many keys."""

    __slots__ = ("back", "constants", "front", "multi", "names", "reference", "route_ok")

    def __init__(self, reference: Sequence[Mapping[str, Any]]) -> None:
        self.reference = tuple(reference)
        self.names = tuple(k["name"] for k in self.reference)
        self.multi = next((i for i, k in enumerate(self.reference) if k.get("multipleWords")),
                          None)
        self.front = len(self.names) if self.multi is None else self.multi
        self.back = 0 if self.multi is None else len(self.names) - self.multi - 1
        self.constants = tuple((i, k["name"], k["constant"])
                               for i, k in enumerate(self.reference) if "constant" in k)
        first = self.reference[0] if self.reference else {}
        self.route_ok = "constant" in first and first["constant"] != ROUTE_PREFIX[:-1]

    def parse(self, routing_key: str, *, where: str = "routing key") -> dict[str, str | None]:
        """See ``parse_routing_key``."""
        if not isinstance(routing_key, str):
            raise RoutingKeyError(f"{where}: a routing key must be a str, "
                                  f"got {type(routing_key).__name__}")
        if not self.names:
            raise RoutingKeyError(f"{where}: no routing-key reference to parse "
                                  f"{routing_key!r}")
        if self.route_ok and routing_key.startswith(ROUTE_PREFIX):
            return {"route": routing_key[len(ROUTE_PREFIX):]}
        words = routing_key.split(".")
        n = len(words)
        if self.multi is None:
            if n != self.front:
                self._length_error(where, routing_key, n)
            values: list[str | None] = list(words)
        else:
            if n < self.front + self.back:
                self._length_error(where, routing_key, n)
            rest = ".".join(words[self.front:n - self.back])
            values = list(words[:self.front])
            values.append(rest or ABSENT)
            if self.back:
                values.extend(words[n - self.back:])
        for i, name, constant in self.constants:
            if values[i] != constant:
                raise RoutingKeyError(f"{where}: {routing_key!r}: word {name!r} must be "
                                      f"{constant!r}, got {values[i]!r}")
        return {name: None if value == ABSENT else value
                for name, value in zip(self.names, values, strict=True)}

    def _length_error(self, where: str, routing_key: str, n: int) -> None:
        single = self.front + self.back
        expected = str(single) if self.multi is None else f"at least {single}"
        raise RoutingKeyError(f"{where}: {routing_key!r} has {n} word(s), expected "
                              f"{expected} ({'.'.join(self.names)})")


def schema_path(service: str, schema: str | None) -> str | None:
    """An exchange entry's schema name as an abstract path: ``/schemas/<service>/<schema>``
    (``tcdyn.model.schema_names``, the registry's rule)."""
    from ..model.schema_names import entry_schema

    return entry_schema(service, schema)


_MAPPING_KEYS = ("exchange", "routingKeyPattern")


@dataclass(frozen=True)
class Binding(Mapping[str, str]):
    """An exchange and a routing-key pattern to bind a queue with.

    Also reads like the official client's dict (``b["exchange"]``,
    ``b["routingKeyPattern"]``, ``dict(b)``). ``name``, ``service``, ``routingKeyReference``
    and ``schema`` are set for bindings built from a reference (``None``/empty otherwise).
    """

    exchange: str
    routingKeyPattern: str
    name: str | None = None
    service: str | None = None
    routingKeyReference: tuple[Mapping[str, Any], ...] = field(default=(), hash=False,
                                                                repr=False)
    schema: str | None = None

    def __post_init__(self) -> None:
        for attr in _MAPPING_KEYS:
            value = getattr(self, attr)
            if not isinstance(value, str) or not value:
                raise TaskclusterTopicExchangeFailure(
                    f"Binding.{attr} must be a non-empty str, got {value!r:.60}")
        if not isinstance(self.routingKeyReference, tuple):
            object.__setattr__(self, "routingKeyReference", tuple(self.routingKeyReference))

    @classmethod
    def coerce(cls, value: Any, *, where: str = "binding") -> Binding:
        """A ``Binding`` from a ``Binding`` or an official-client dict
        (``{"exchange": ..., "routingKeyPattern": ...}``)."""
        if isinstance(value, Binding):
            return value
        if isinstance(value, Mapping):
            missing = [k for k in _MAPPING_KEYS if k not in value]
            if missing:
                raise TaskclusterTopicExchangeFailure(
                    f"{where}: a binding dict needs {' and '.join(map(repr, missing))}")
            extra = {k: value[k] for k in ("name", "service", "routingKeyReference", "schema")
                     if k in value}
            return cls(exchange=value["exchange"],
                       routingKeyPattern=value["routingKeyPattern"], **extra)
        raise TaskclusterTopicExchangeFailure(
            f"{where}: expected a Binding or a dict with 'exchange' and 'routingKeyPattern', "
            f"got {type(value).__name__}")

    def parse(self, routing_key: str) -> dict[str, str | None]:
        """Words of a routing key received through this binding's exchange."""
        return self._layout.parse(routing_key, where=self.exchange)

    @functools.cached_property
    def _layout(self) -> KeyLayout:
        return KeyLayout(self.routingKeyReference)

    # Mapping view, as the official client returns: exactly these two keys.
    def __getitem__(self, key: str) -> str:
        if key in _MAPPING_KEYS:
            value: str = getattr(self, key)
            return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_MAPPING_KEYS)

    def __len__(self) -> int:
        return len(_MAPPING_KEYS)


#: Options an events class takes: its own, and the HTTP clients' (ignored: an options dict
#: may serve both kinds of classes, as with the official client).
EVENTS_OPTIONS = ("rootUrl", "exchangePrefix", "credentials", "authorizedScopes",
                  "maxRetries", "signedUrlExpiration", "timeout", "proxyUrl")


class BaseEvents:
    """Base of every exchange class; the metaclass fills the class attributes below.

    ``options`` is the official client's options dict (``rootUrl``, ``exchangePrefix``;
    the HTTP clients' options, e.g. ``credentials``, are accepted and ignored: bindings need
    none). An unknown option is refused. Exchange entries named like an attribute here take
    the name; ``events.meta.<name>`` still reaches tcdyn's.
    """

    serviceName: ClassVar[str] = ""
    exchangePrefix: ClassVar[str] = ""
    reference: ClassVar[Mapping[str, Any]] = {}
    _entries: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, options: Mapping[str, Any] | None = None, *,
                 rootUrl: str | None = None, exchangePrefix: str | None = None,
                 **kw: Any) -> None:
        from ..call.options import unknown_option

        name = type(self).__name__
        if options is not None and not isinstance(options, Mapping):
            raise TaskclusterArgumentError(f"{name}() options must be a dict, "
                                           f"got {type(options).__name__}")
        merged = {**(options or {}), **kw}
        for key in merged:
            if key not in EVENTS_OPTIONS:
                raise unknown_option(name, key, EVENTS_OPTIONS)
        if rootUrl is not None:
            merged["rootUrl"] = rootUrl
        if exchangePrefix is not None:
            merged["exchangePrefix"] = exchangePrefix
        self._layouts: dict[str, KeyLayout] = {}
        self._settle(merged)

    def _settle(self, options: Mapping[str, Any]) -> None:
        """Check ``options`` and put them in force (``credentials`` dropped: unused)."""
        model = _model_of(type(self))
        prefix = options.get("exchangePrefix", model.exchangePrefix if model else "")
        if not isinstance(prefix, str):
            raise TaskclusterArgumentError(f"{type(self).__name__}() exchangePrefix must be "
                                           f"a str, got {type(prefix).__name__}")
        self._options: dict[str, Any] = {k: v for k, v in options.items()
                                         if k != "credentials"}
        self._prefix = prefix

    meta = property(Extras, doc="tcdyn's own attributes, apart from the exchanges' names.")
    _meta = meta

    @property
    def options(self) -> LiveOptions:
        """The options given (``credentials`` left out), as the official client's dict:
        setting or deleting one (``exchangePrefix``) is checked as the constructor checks
        it and changes the bindings made from then on."""
        from ..call.options import LiveOptions, changed

        def change(key: str, value: Any) -> None:
            self._settle(changed(self._options, type(self).__name__, key, value,
                                 EVENTS_OPTIONS))

        return LiveOptions(lambda: self._options, change)

    @property
    def rootUrl(self) -> str | None:
        return self._options.get("rootUrl")

    def __repr__(self) -> str:
        root = self._options.get("rootUrl")
        return f"<{type(self).__name__} {self._prefix!r}" + (
            f" rootUrl={root!r}>" if root else ">")

    def exchange_name(self, entry_name: str) -> str:
        """The full exchange name of an entry (``exchangePrefix + exchange``)."""
        return self._join(self._entry(entry_name)["exchange"])

    def _service(self) -> str:
        model = _model_of(type(self))
        return model.serviceName if model is not None else ""

    def _join(self, exchange: str) -> str:
        return f"{self._prefix.rstrip('/')}/{exchange}" if self._prefix else exchange

    def _entry(self, entry_name: str) -> dict[str, Any]:
        try:
            return self._entries[entry_name]
        except KeyError:
            raise TaskclusterTopicExchangeFailure(
                f"{type(self).__name__} has no exchange entry {entry_name!r}") from None

    def _binding(self, entry_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
                 ) -> Binding:
        """The ``Binding`` for an entry method called with ``*args, **kwargs``: nothing, one
        dict of words, one string (a pattern used as is), or keyword words."""
        entry = self._entry(entry_name)
        where = f"{type(self).__name__}.{entry_name}()"
        if args and kwargs:
            raise TaskclusterTopicExchangeFailure(
                f"{where}: pass either one dict or string, or keyword words, not both")
        if len(args) > 1:
            raise TaskclusterTopicExchangeFailure(
                f"{where}: takes at most one positional argument, got {len(args)}")
        reference = tuple(entry["routingKey"])
        if args and isinstance(args[0], str):
            if not args[0]:
                raise TaskclusterTopicExchangeFailure(f"{where}: the pattern is empty")
            pattern = args[0]
        elif args and not isinstance(args[0], Mapping):
            raise TaskclusterTopicExchangeFailure(
                f"{where}: expected a dict of routing-key words or a pattern string, "
                f"got {type(args[0]).__name__}")
        else:
            pattern = build_routing_key(reference, args[0] if args else kwargs, where=where)
        return Binding(
            exchange=self._join(entry["exchange"]), routingKeyPattern=pattern,
            name=entry_name, service=self._service(), routingKeyReference=reference,
            schema=schema_path(self._service(), entry.get("schema")),
        )

    def _lookup(self, exchange: str) -> tuple[str, dict[str, Any]]:
        if exchange in self._entries:
            return exchange, self._entries[exchange]
        for name, entry in self._entries.items():
            if exchange in (entry["exchange"], self._join(entry["exchange"])):
                return name, entry
        raise RoutingKeyError(
            f"{type(self).__name__} has no exchange {exchange!r}; known: "
            f"{', '.join(e['exchange'] for e in self._entries.values())}")

    def parse_routing_key(self, exchange: str, routing_key: str) -> dict[str, str | None]:
        """Words of ``routing_key`` received on ``exchange`` (entry name, short exchange name
        or full exchange name); see ``tcdyn.exchanges.parse_routing_key``."""
        name, entry = self._lookup(exchange)
        layout = self._layouts.get(name)
        if layout is None:
            layout = self._layouts[name] = KeyLayout(entry["routingKey"])
        return layout.parse(routing_key, where=f"{type(self).__name__}.{name}")

    def bindings_for(self, **words: Any) -> list[Binding]:
        """One binding per exchange whose routing key has every given word (e.g.
        ``taskGroupId=...`` gives every queue exchange that carries a task group)."""
        out = []
        for name, entry in self._entries.items():
            have = {k["name"] for k in entry["routingKey"]}
            if set(words) <= have:
                out.append(self._binding(name, (), words))
        return out


def _model_of(cls: type) -> Any:
    """The exchanges model a built class carries (read past any entry named like an
    attribute), or None."""
    return next((vars(k)["_model"] for k in cls.__mro__ if "_model" in vars(k)), None)
