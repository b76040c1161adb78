"""Consumer settings: checked up front, each error naming its argument."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ..checks import seconds
from ..client.events import Binding
from ..redact import url_password, userinfo_cut_short

QUEUE_TYPES = ("classic", "quorum")


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (safe for logs and reprs); a URL whose
    password holds an unencoded ``/``, ``?`` or ``#`` loses its whole user information."""
    if userinfo_cut_short(url):
        head, _, rest = url.partition("://")
        return f"{head}://***@{rest.rpartition('@')[2]}"
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def scrub(text: str, url: str) -> str:
    """``text`` with the password of ``url`` (raw or percent-encoded) removed."""
    password = url_password(url)
    if password:
        for form in {password, unquote(password), quote(password, safe="")}:
            if form:
                text = text.replace(form, "***")
    return text


def check_url(url: Any) -> str:
    """The AMQP URL's username (Pulse names queues after it)."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    if userinfo_cut_short(url):
        raise ValueError("url has an unencoded '/', '?' or '#' in its user name or password: "
                         "percent-encode them (%2F, %3F, %23); the URL is not shown, as it "
                         "holds a password")
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"url must be amqp:// or amqps://, got {mask_url(url)!r}")
    if not parts.hostname:
        raise ValueError(f"url has no host: {mask_url(url)!r}")
    if not parts.username:
        raise ValueError(f"url has no username (Pulse queues are named queue/<username>/...): "
                         f"{mask_url(url)!r}")
    return unquote(parts.username)


def queue_full_name(username: str, queue_name: Any) -> str:
    """``queue/<username>/<queue_name>``; a name already in that form is kept."""
    if not isinstance(queue_name, str):
        raise TypeError(f"queue_name must be a str, got {type(queue_name).__name__}")
    prefix = f"queue/{username}/"
    if queue_name.startswith(prefix):
        queue_name = queue_name[len(prefix):]
    elif queue_name.startswith("queue/"):
        raise ValueError(f"queue_name {queue_name!r} belongs to another user than "
                         f"{username!r}; Pulse only allows {prefix}...")
    if not queue_name or len(prefix + queue_name) > 255:
        raise ValueError(f"queue_name must be 1 to {255 - len(prefix)} characters, "
                         f"got {queue_name!r:.80}")
    name: str = prefix + queue_name
    return name


def check_bindings(bindings: Any) -> tuple[Binding, ...]:
    """Bindings as ``Binding`` objects (official-client dicts accepted), duplicates dropped."""
    if isinstance(bindings, (str, bytes, Binding)) or not isinstance(bindings, Iterable):
        raise TypeError("bindings must be a list of Binding objects or "
                        "{'exchange', 'routingKeyPattern'} dicts, "
                        f"got {type(bindings).__name__}")
    out: list[Binding] = []
    for i, b in enumerate(bindings):
        binding = Binding.coerce(b, where=f"bindings[{i}]")
        if all((binding.exchange, binding.routingKeyPattern)
               != (o.exchange, o.routingKeyPattern) for o in out):
            out.append(binding)
    if not out:
        raise ValueError("bindings is empty: a consumer needs at least one binding")
    return tuple(out)


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _seconds(name: str, value: Any, *, positive: bool = True) -> float:
    return seconds(value, name, zero=not positive)


@dataclass(frozen=True)
class QueueOptions:
    """How the queue is declared. ``expires`` (seconds unused before the broker deletes it)
    and ``max_length`` (messages) map to ``x-expires`` / ``x-max-length``."""

    durable: bool = True
    exclusive: bool = False
    auto_delete: bool = False
    queue_type: str = "classic"
    expires: float | None = None
    max_length: int | None = None
    dead_letter_exchange: str | None = None
    dead_letter_routing_key: str | None = None

    def __post_init__(self) -> None:
        for name in ("durable", "exclusive", "auto_delete"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r:.40}")
        if self.queue_type not in QUEUE_TYPES:
            raise ValueError(f"queue_type must be one of {QUEUE_TYPES}, "
                             f"got {self.queue_type!r:.40}")
        if self.queue_type == "quorum" and (self.exclusive or self.auto_delete
                                            or not self.durable):
            raise ValueError("queue_type 'quorum' needs a durable queue that is neither "
                             "exclusive nor auto_delete")
        if self.expires is not None:
            _seconds("expires", self.expires)
        if self.max_length is not None:
            _int("max_length", self.max_length, 1)
        for name in ("dead_letter_exchange", "dead_letter_routing_key"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        if self.dead_letter_routing_key is not None and self.dead_letter_exchange is None:
            raise ValueError("dead_letter_routing_key needs dead_letter_exchange")

    def arguments(self) -> dict[str, Any]:
        """The queue's ``x-`` arguments."""
        args: dict[str, Any] = {}
        if self.queue_type != "classic":
            args["x-queue-type"] = self.queue_type
        if self.expires is not None:
            args["x-expires"] = max(1, round(self.expires * 1000))
        if self.max_length is not None:
            args["x-max-length"] = self.max_length
        if self.dead_letter_exchange is not None:
            args["x-dead-letter-exchange"] = self.dead_letter_exchange
        if self.dead_letter_routing_key is not None:
            args["x-dead-letter-routing-key"] = self.dead_letter_routing_key
        return args


@dataclass(frozen=True)
class ConsumerOptions:
    """How messages are fetched, checked and retried, and how the consumer recovers."""

    prefetch: int = 32
    max_requeues: int = 1
    max_body_size: int | None = 1024 * 1024
    validate: Callable[[Binding, Any], None] | None = None
    reconnect_delay: float = 1.0
    max_reconnect_delay: float = 30.0
    max_reconnect_attempts: int | None = None
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        _int("prefetch", self.prefetch, 1)
        _int("max_requeues", self.max_requeues, 0)
        if self.max_body_size is not None:
            _int("max_body_size", self.max_body_size, 1)
        if self.validate is not None and not callable(self.validate):
            raise TypeError(f"validate must be callable(binding, payload), "
                            f"got {type(self.validate).__name__}")
        _seconds("reconnect_delay", self.reconnect_delay, positive=False)
        _seconds("max_reconnect_delay", self.max_reconnect_delay, positive=False)
        if self.max_reconnect_delay < self.reconnect_delay:
            raise ValueError("max_reconnect_delay must be >= reconnect_delay")
        if self.max_reconnect_attempts is not None:
            _int("max_reconnect_attempts", self.max_reconnect_attempts, 1)
        _seconds("connect_timeout", self.connect_timeout)
