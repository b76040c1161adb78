"""``tcdyn listen SERVICE [EXCHANGE] [--WORD=VALUE ...] [--url AMQP_URL] [--count N]
[--queue NAME] [--prefetch N]``.

Binds an exclusive queue (gone when the command stops) and prints one JSON line per
message: ``{"exchange", "routingKey", "routing", "routes", "redelivered", "payload"}``.
With ``--queue NAME`` it consumes the durable queue ``queue/<user>/NAME`` instead, which
outlives the command and which several ``tcdyn listen --queue NAME`` (or ``Consumer``)
processes share: each message goes to one of them, and is acked only after its line was
written, so one killed meanwhile loses none (the broker hands its unacked ones to the
others, at most ``--prefetch`` of them printed twice).
Without EXCHANGE it binds every exchange of the service whose routing key has all the given
words (``tcdyn listen queue --taskGroupId=X``: every state change of a task group, as
examples/sniffer.py). The AMQP URL comes from ``--url`` (without the password, which then
comes from ``$TCDYN_PULSE_PASSWORD``: every user may read a command line),
``$TCDYN_PULSE_URL`` or the config file; its password is never printed. The exchanges come
from the references in use (``--references``, else the rootUrl's own, else the bundled
set). A login the broker refuses exits 6 (authentication), a broker not reached 4.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from .output import AUTH, CommandError, UsageError, dumps, prose


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("listen", help="print Pulse messages, one JSON line each",
                       description=prose(__doc__), parents=[common])
    p.add_argument("service", metavar="SERVICE", help="e.g. queue (or QueueEvents)")
    p.add_argument("exchange", nargs="?", metavar="EXCHANGE",
                   help="e.g. taskCompleted (default: every exchange with the given words)")
    p.add_argument("--url", metavar="AMQP_URL",
                   help="the broker, without its password ($TCDYN_PULSE_PASSWORD); default: "
                        "$TCDYN_PULSE_URL, then the config file")
    p.add_argument("--count", type=int, metavar="N", help="exit after N messages")
    p.add_argument("--queue", metavar="NAME",
                   help="consume the durable queue queue/<user>/NAME, shared by every "
                        "listener given the same NAME (default: an exclusive queue of "
                        "this command's own)")
    p.add_argument("--prefetch", type=int, metavar="N", default=32,
                   help="messages received ahead, unacked (default 32)")
    p.set_defaults(run=_listen, extra_words=True)


def words(extras: Sequence[str], allowed: set[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs, each a routing-key word of ``allowed``."""
    out: dict[str, str] = {}
    i = 0
    while i < len(extras):
        arg = extras[i]
        if not arg.startswith("--"):
            raise UsageError(f"listen: unexpected argument {arg!r} (routing-key words go as "
                             "--name=value)")
        name, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(extras):
                raise UsageError(f"listen: --{name} needs a value")
            i += 1
            value = extras[i]
        if name not in allowed:
            raise UsageError(f"listen: no routing-key word {name!r} here; words: "
                             f"{', '.join(sorted(allowed)) or 'none'}")
        out[name] = value
        i += 1
    return out


def _listen(args: argparse.Namespace) -> int:
    import asyncio

    from .api import find_events
    from .config import pulse_url, settings

    url = pulse_url(args.url)
    _check_url(url)
    deployment = settings(args.root_url, args.references).deployment()
    model = find_events(deployment, args.service)
    events = deployment.build(f"{_class(model)}")()
    if args.exchange:
        entry = model.entries.get(args.exchange) or next(
            (e for e in model.entries.values() if e["exchange"] == args.exchange), None)
        if entry is None:
            raise UsageError(f"{model.serviceName} has no exchange {args.exchange!r} in "
                             f"{deployment.references.describe()}; it has: "
                             f"{', '.join(model.entries)}")
        given = words(args.extras, {k["name"] for k in entry["routingKey"]})
        bindings = [getattr(events, entry["name"])(**given)]
    else:
        allowed = {k["name"] for e in model.entries.values() for k in e["routingKey"]}
        bindings = events.bindings_for(**words(args.extras, allowed))
        if not bindings:
            raise UsageError("listen: no exchange of this service has all those words")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    consumer = _consumer(url, args.queue, bindings, args.prefetch)
    _quiet_amqp_logs()
    asyncio.run(_consume(consumer, url, args.count))
    return 0


def _consumer(url: str, queue: str | None, bindings: list[Any], prefetch: int) -> Any:
    """The consumer, its options checked before connecting (a bad one is a usage error)."""
    from ..pulse import Consumer

    try:
        return Consumer(url, queue, bindings, prefetch=prefetch)
    except (TypeError, ValueError) as exc:
        option = "--prefetch" if "prefetch" in str(exc) else "--queue"
        raise UsageError(f"{option}: {exc}") from None


def _check_url(url: str) -> None:
    """The consumer's own URL check, as a usage error (the password masked)."""
    from ..pulse.options import check_url

    try:
        check_url(url)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"Pulse URL: {exc}") from None


def _quiet_amqp_logs() -> None:
    """aiormq and aio-pika log a failed connection themselves, raw (``ERROR
    aiormq.connection: ...``); the consumer logs what happens under ``tcdyn.pulse``
    (password scrubbed) and the command reports the failure once, in its own words."""
    import logging

    for name in ("aiormq", "aio_pika"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _refused_login(exc: BaseException) -> bool:
    """Whether the broker refused the login (wrong user or password) under ``exc``."""
    from aiormq.exceptions import AuthenticationError, ProbableAuthenticationError

    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, (AuthenticationError, ProbableAuthenticationError))


def _class(model: Any) -> str:
    from ..model.reference import class_name

    return class_name(model.serviceName, "exchanges")


def as_json(message: Any) -> dict[str, Any]:
    return {"exchange": message.exchange, "routingKey": message.routing_key,
            "routing": message.routing, "routes": message.routes,
            "redelivered": message.redelivered, "payload": message.payload}


async def _consume(consumer: Any, url: str, count: int | None) -> None:
    from ..pulse import PulseConnectionError

    try:
        async with consumer:
            await _print(consumer, len(consumer.bindings), count)
    except PulseConnectionError as exc:
        if _refused_login(exc):  # a credentials problem, not a broker that is down
            from ..redact import url_password

            hint = "" if url_password(url) else (
                " (the URL has no password: set TCDYN_PULSE_PASSWORD, or put the whole "
                "URL in $TCDYN_PULSE_URL or the config file)")
            raise CommandError(f"{exc}{hint}", AUTH) from None
        raise


async def _print(consumer: Any, exchanges: int, count: int | None) -> None:
    """The banner on stderr, then one JSON line per message until ``count``."""
    print(f"listening on {consumer.queue_name} to {exchanges} exchange"
          f"{'s' if exchanges != 1 else ''}", file=sys.stderr, flush=True)
    seen = 0
    async for message in consumer:
        print(dumps(as_json(message), indent=False), flush=True)
        seen += 1
        if count is not None and seen >= count:
            consumer.stop()
