"""The Pulse consumer on aio-pika: binds a queue, hands out decoded messages, acks each one
after it was handled, and owns its recovery.

aio-pika's robust connection is not used: it does not restore a consumer the broker
cancelled (aio-pika issue #334) and may forget queues it holds only weakly (#594). Instead
every connection loss or broker cancel ends a *session*; the supervisor opens a new one
(connect, passive-declare the exchanges, declare and bind the queue, consume) with backoff.
Deliveries of a dead session are dropped unacked: the broker redelivers them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import inspect
import json
import random
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
from aiormq import exceptions as amqp

from .. import tracing
from ..client.events import Binding, RoutingKeyError
from ..logger import logger
from .delivery import Delivery
from .errors import PulseConnectionError, PulseError
from .message import ACKED, REJECTED, REQUEUED, Message, SyncMessage, cc_routes, processing
from .options import (
    ConsumerOptions,
    QueueOptions,
    check_bindings,
    check_url,
    mask_url,
    queue_full_name,
    scrub,
)
from .requeue import RequeueBudget
from .worker import Worker, handle_batch

log = logger("tcdyn.pulse")

_STOP = object()
_FLUSH = object()  # the ack timer's turn: ack what was handled
#: seconds without a delivery after which what was handled is acked (while deliveries
#: flow, a batch is acked every ``prefetch // 4``)
ACK_DELAY = 0.02
_TRANSIENT = (ConnectionError, OSError, asyncio.TimeoutError, amqp.AMQPError,
              amqp.ChannelInvalidStateError)
Handler = Callable[[Message], Awaitable[Any] | Any]
_REASON_CHARS = 300  # a rejection's logged reason is clipped to this


@dataclass
class ConsumerStats:
    """Counters since the consumer started."""

    delivered: int = 0
    acked: int = 0
    requeued: int = 0
    rejected: int = 0
    recoveries: int = 0


class _Session:
    """One connection, channel and consumer; ``lost`` resolves with the reason it ended."""

    __slots__ = ("cancelled", "connection", "generation", "lost")

    def __init__(self, connection: Any, generation: int) -> None:
        self.connection = connection
        self.generation = generation
        self.cancelled = False
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def end(self, reason: str, *, cancelled: bool = False) -> None:
        if not self.lost.done():
            self.cancelled = cancelled
            self.lost.set_result(reason)


class Consumer:
    """Consume Pulse messages from ``queue/<username>/<queue_name>`` bound with ``bindings``.

    Use as ``async with Consumer(...) as consumer: async for message in consumer: ...``
    or ``await consumer.run(handler)``. A consumer is started once; ``close()`` ends it.

    Settling: in ``async for``, a message is acked when the same loop asks for the next
    one (its body ran to the end or ``continue``d). If the loop is left any other way
    (``break``, ``return``, an exception, caught or not) the body did not finish: the
    message is nacked as failed (requeued within ``max_requeues``, then rejected) when the
    ``async with`` ends or a new iteration (``async for``, ``anext``, ``run``) starts; if
    the task was cancelled or interrupted it goes back to the queue uncounted. ``run``:
    acked when the handler returns, failed when it raises. ``await message.ack()``,
    ``nack(requeue=...)`` or ``reject()`` settle it explicitly instead (e.g. before
    ``break``); the consumer then leaves it alone.
    Synchronous handlers run in a thread of their own, so they never block heartbeats.

    Queue: durable by default; ``exclusive``/``auto_delete`` on request (a ``queue_name`` of
    ``None`` gets a generated name and an exclusive queue); ``queue_type`` ``"classic"`` or
    ``"quorum"``; ``expires`` (seconds), ``max_length``, ``dead_letter_exchange`` (rejected
    messages go there). Messages: ``prefetch`` unacked at a time; a body over
    ``max_body_size`` bytes (``None``: no cap), not JSON (or nested too deeply), or that
    ``validate(binding, payload)`` raises on is rejected with a logged reason and the
    consumer goes on; a failed message is requeued ``max_requeues`` times, then rejected. Recovery:
    reconnects with exponential backoff from ``reconnect_delay`` to ``max_reconnect_delay``
    seconds (forever unless ``max_reconnect_attempts``), re-declaring and re-binding.
    """

    def __init__(
        self,
        url: str,
        queue_name: str | None,
        bindings: Iterable[Binding | dict[str, Any]],
        *,
        prefetch: int = 32,
        validate: Callable[[Binding, Any], None] | None = None,
        max_requeues: int = 1,
        max_body_size: int | None = 1024 * 1024,
        durable: bool | None = None,
        exclusive: bool | None = None,
        auto_delete: bool = False,
        queue_type: str = "classic",
        expires: float | None = None,
        max_length: int | None = None,
        dead_letter_exchange: str | None = None,
        dead_letter_routing_key: str | None = None,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = 30.0,
        max_reconnect_attempts: int | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.username = check_url(url)
        self._url = url
        self.url = mask_url(url)
        if queue_name is None:
            import slugid

            queue_name = f"anonymous-{slugid.nice()}"
            exclusive = True if exclusive is None else exclusive
        exclusive = False if exclusive is None else exclusive
        if durable is None:
            durable = not (exclusive or auto_delete)
        self.queue_name = queue_full_name(self.username, queue_name)
        self.bindings = check_bindings(bindings)
        self.queue_options = QueueOptions(
            durable=durable, exclusive=exclusive, auto_delete=auto_delete,
            queue_type=queue_type, expires=expires, max_length=max_length,
            dead_letter_exchange=dead_letter_exchange,
            dead_letter_routing_key=dead_letter_routing_key)
        self.options = ConsumerOptions(
            prefetch=prefetch, max_requeues=max_requeues, validate=validate,
            max_body_size=max_body_size,
            reconnect_delay=reconnect_delay, max_reconnect_delay=max_reconnect_delay,
            max_reconnect_attempts=max_reconnect_attempts, connect_timeout=connect_timeout)
        self._by_exchange: dict[str, Binding] = {}
        for b in self.bindings:
            known = self._by_exchange.get(b.exchange)
            if known is None or (b.routingKeyReference and not known.routingKeyReference):
                self._by_exchange[b.exchange] = b
        self.stats = ConsumerStats()
        self._budget = RequeueBudget(max_requeues)
        self._session: _Session | None = None
        self._generation = 0
        self._inbox: _Inbox | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._pending: Message | None = None  # the last message an iteration got
        self._pending_owner: object = None  # that iteration (``_Iteration`` or self)
        self._ack_batch = max(1, prefetch // 4)
        self._ack_last: Any = None  # the last handled, not yet acked delivery
        self._ack_count = 0
        self._ack_generation = 0
        self._ack_timer: asyncio.TimerHandle | None = None
        self._ack_mark = 0  # ``stats.delivered`` when the ack timer was set
        self._reader: asyncio.Task[Any] | None = None  # the task that got ``_pending``
        self._message_cls: type[Message] = Message
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._started = False
        self._stopped = False
        self._closing = False

    def __repr__(self) -> str:
        return (f"<Consumer {self.queue_name} on {self.url}, {len(self.bindings)} "
                f"binding(s)>")

    # -- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Consumer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        pending = self._pending
        try:
            if pending is not None and pending._settled is None:
                if isinstance(exc, Exception):
                    self._pending = self._reader = self._pending_owner = None
                    await self._settle(pending, exc)
                elif exc is None:
                    await self._abandon_pending()
                else:  # cancelled or interrupted: not the message's fault
                    self._pending = self._reader = self._pending_owner = None
                    await self._requeue(pending)
        finally:
            await self.close()

    @property
    def connected(self) -> bool:
        """Whether a session is up (bound and consuming)."""
        s = self._session
        return s is not None and not s.lost.done()

    async def start(self) -> None:
        """Connect, declare and bind the queue, and start consuming.

        Raises ``PulseConnectionError`` if the broker cannot be reached and ``PulseError``
        if it refuses the setup; later losses are recovered in the background.
        """
        if self._started:
            raise RuntimeError(f"{self!r} is already started")
        self._inbox = _Inbox()
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._session = await self._open()
        self._started = True
        self._supervisor = asyncio.create_task(self._supervise(),
                                               name=f"tcdyn-pulse {self.queue_name}")

    def stop(self) -> None:
        """End iteration (or ``run``) after the current message; safe from a handler and
        from any thread."""
        self._stopped = True
        inbox, loop = self._inbox, self._loop
        if inbox is None:
            return
        if loop is not None and threading.get_ident() != self._loop_thread:
            with contextlib.suppress(RuntimeError):  # a closed loop: nothing is waiting
                loop.call_soon_threadsafe(inbox.put_nowait, _STOP)
        else:
            inbox.put_nowait(_STOP)

    async def close(self) -> None:
        """Stop consuming and close the connection; unacked messages return to the queue."""
        self._closing = True
        self._stopped = True
        pending, self._pending, self._pending_owner = self._pending, None, None
        if pending is not None and pending._settled is None:
            await self._unfinished(pending)
        if self._ack_last is not None:
            await self._flush_acks(wait=True)  # written before the connection closes
        timer, self._ack_timer = self._ack_timer, None
        if timer is not None:
            timer.cancel()
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        session, self._session = self._session, None
        if session is not None:
            session.end("closed")
            await _close_quietly(session.connection)

    # -- sessions ---------------------------------------------------------------------

    async def _open(self) -> _Session:
        self._generation += 1
        generation = self._generation
        try:
            connection = await aio_pika.connect(
                self._url, timeout=self.options.connect_timeout,
                client_properties={"connection_name": f"tcdyn {self.queue_name}"})
        except _TRANSIENT as e:
            raise PulseConnectionError(
                f"cannot connect to {self.url}: {self._scrub(e)}", url=self.url) from None
        session = _Session(connection, generation)
        try:
            await self._setup(session)
        except BaseException:
            session.end("setup failed")
            await _close_quietly(connection)
            raise
        return session

    async def _setup(self, session: _Session) -> None:
        q = self.queue_options
        step = f"opening a channel on {self.url}"
        try:
            channel = await session.connection.channel(publisher_confirms=False)
            await channel.set_qos(prefetch_count=self.options.prefetch)
            for exchange in self._by_exchange:
                step = f"checking exchange {exchange!r} (passive declare)"
                await channel.get_exchange(exchange, ensure=True)
            step = (f"declaring queue {self.queue_name!r} (durable={q.durable}, "
                    f"exclusive={q.exclusive}, auto_delete={q.auto_delete}, "
                    f"arguments={q.arguments()})")
            queue = await channel.declare_queue(
                self.queue_name, durable=q.durable, exclusive=q.exclusive,
                auto_delete=q.auto_delete, arguments=q.arguments() or None)
            for b in self.bindings:
                step = (f"binding queue {self.queue_name!r} to {b.exchange!r} with "
                        f"{b.routingKeyPattern!r}")
                await queue.bind(b.exchange, routing_key=b.routingKeyPattern)
            step = f"consuming from {self.queue_name!r}"
            underlay = await channel.get_underlay_channel()
            underlay.on_consumer_cancel_callbacks.add(
                lambda _frame: session.end("the broker cancelled the consumer "
                                           "(queue deleted?)", cancelled=True))
            session.connection.close_callbacks.add(
                lambda _sender, exc=None: session.end(f"connection closed: {exc}"))
            channel.close_callbacks.add(
                lambda _sender, exc=None: session.end(f"channel closed: {exc}"))
            # straight from aiormq: aio-pika's IncomingMessage would cost more than the rest
            await underlay.basic_consume(queue.name, functools.partial(
                self._on_delivery, session.generation), no_ack=False)
        except amqp.ChannelNotFoundEntity as e:
            raise PulseError(f"{step}: not found on the broker: {self._scrub(e)}") from None
        except amqp.ChannelAccessRefused as e:
            raise PulseError(f"{step}: access refused for user {self.username!r}: "
                             f"{self._scrub(e)}") from None
        except amqp.ChannelPreconditionFailed as e:
            raise PulseError(f"{step}: the existing queue differs: {self._scrub(e)}") from None
        except amqp.ChannelLockedResource as e:
            raise PulseError(f"{step}: locked (exclusive to another connection): "
                             f"{self._scrub(e)}") from None
        except _TRANSIENT as e:
            raise PulseConnectionError(f"{step}: {self._scrub(e)}", url=self.url) from None

    async def _supervise(self) -> None:
        while not self._closing:
            session = self._session
            assert session is not None
            reason = await session.lost
            if self._closing:
                return
            log.warning("%s: %s; recovering", self.queue_name, self._scrub(reason))
            await _close_quietly(session.connection)
            attempt = 0
            while not self._closing:
                if attempt or not session.cancelled:
                    await asyncio.sleep(self._backoff(attempt))
                try:
                    self._session = await self._open()
                except Exception as e:
                    attempt += 1
                    log.warning("%s: recovery attempt %d failed: %s", self.queue_name,
                                attempt, self._scrub(e))
                    limit = self.options.max_reconnect_attempts
                    if limit is not None and attempt >= limit:
                        assert self._inbox is not None
                        self._inbox.put_nowait(PulseConnectionError(
                            f"{self.queue_name}: gave up after {attempt} recovery "
                            f"attempt(s); last error: {self._scrub(e)}",
                            url=self.url, attempts=attempt))
                        return
                    continue
                self.stats.recoveries += 1
                log.info("%s: recovered (session %d)", self.queue_name, self._generation)
                break

    def _backoff(self, attempt: int) -> float:
        o = self.options
        delay: float = min(o.reconnect_delay * 2 ** attempt, o.max_reconnect_delay)
        return delay * random.uniform(0.75, 1.0)

    async def _on_delivery(self, generation: int, delivered: Any) -> None:
        self._inbox.put_nowait((generation, Delivery(delivered)))  # type: ignore[union-attr]

    def _scrub(self, exc: BaseException | str) -> str:
        return scrub(str(exc) or type(exc).__name__, self._url)

    # -- messages ---------------------------------------------------------------------

    def __aiter__(self) -> _Iteration:
        """A new iteration: the message a previous one left unfinished is nacked (under
        the requeue budget) when it asks for its first message, never acked."""
        return _Iteration(self)

    async def __anext__(self) -> Message:
        """The next message (``await anext(consumer)``: an iteration of its own)."""
        return await self._advance(self)

    async def _advance(self, iteration: object) -> Message:
        """The next message for ``iteration``: the one it got last is done (acked); one
        that another iteration got was left by its loop (unfinished)."""
        if not self._started:
            raise RuntimeError("iterate inside `async with Consumer(...) as consumer:`")
        if self._pending is not None:
            if self._pending_owner is iteration:
                pending, self._pending = self._pending, None
                await self._settle(pending)
            else:
                await self._abandon_pending()
        message = await self._next()
        if message is None:
            raise StopAsyncIteration
        self._pending, self._pending_owner = message, iteration
        self._reader = asyncio.current_task()
        return message

    async def _abandon_pending(self) -> None:
        """Settle the message whose loop was left: failed if its body ended there (an
        exception, ``break``), back to the queue uncounted if its task was cancelled."""
        pending, self._pending = self._pending, None
        reader, self._reader = self._reader, None
        self._pending_owner = None
        if pending is None or pending._settled is not None:
            return
        if _body_left(reader):
            await self._unfinished(pending)
        else:
            await self._requeue(pending)

    async def run(self, handler: Handler, *, limit: int | None = None) -> int:
        """Call ``handler(message)`` for each message until ``stop()`` or ``limit``
        messages; ack on return, requeue/reject on exception (unless the handler settled
        the message itself). An async handler runs on the event loop; a synchronous one in
        a thread of its own (one at a time, in order), so a slow one never blocks the
        connection's heartbeats. Starts and closes the consumer if it is not started.
        Returns the number of messages handled."""
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise ValueError(f"limit must be a positive int or None, got {limit!r}")
        owned = not self._started
        if owned:
            await self.start()
        else:
            await self._abandon_pending()  # left by an ``async for`` before
        try:
            if _is_async(handler):
                return await self._run_on_loop(handler, limit)
            return await self._run_in_thread(handler, limit)
        finally:
            if owned:
                await self.close()

    async def _run_on_loop(self, handler: Handler, limit: int | None) -> int:
        handled = 0
        while limit is None or handled < limit:
            message = await self._next()
            if message is None:
                break
            try:
                if tracing.in_use():
                    with processing(message):
                        result = handler(message)
                        if inspect.isawaitable(result):
                            await result
                else:  # no span to open: ~3 us a message, as much as the rest of tcdyn's
                    result = handler(message)
                    if inspect.isawaitable(result):
                        await result
            except Exception as e:
                await self._failed(message, e)
            except BaseException:
                await self._requeue(message)
                raise
            else:
                if self._handled(message):
                    await self._flush_acks()
            handled += 1
        return handled

    async def _run_in_thread(self, handler: Handler, limit: int | None) -> int:
        loop = asyncio.get_running_loop()
        worker = Worker(f"tcdyn-pulse-handler {self.queue_name}")
        saved_cls, self._message_cls = self._message_cls, SyncMessage
        handled = 0
        carry: list[Any] = []
        halted = False

        def stop() -> bool:
            return halted or self._stopped

        try:
            while limit is None or handled < limit:
                batch = [m for m in carry if m._generation == self._generation]
                if not batch:
                    first = await self._next()
                    if first is None:
                        break
                    batch = [first]
                room = self._ack_batch if limit is None else min(self._ack_batch,
                                                                 limit - handled)
                while len(batch) < room and (message := await self._next(wait=False)):
                    batch.append(message)
                results: list[BaseException | None] = []
                try:
                    await worker.submit(handle_batch, handler, batch, results, stop, loop,
                                        processing)
                except BaseException:
                    halted = True
                    done = len(results)
                    await self._settle_batch(batch[:done], results[:done])
                    for message in batch[done:]:
                        await self._requeue(message)
                    raise
                await self._settle_batch(batch, results)
                handled += len(results)
                carry = batch[len(results):]
                if self._stopped:
                    break
            for message in carry:  # taken from the queue but never handed to the handler
                await self._requeue(message)
        finally:
            self._message_cls = saved_cls
            worker.close()
        return handled

    async def _settle_batch(self, batch: list[Message],
                            results: list[BaseException | None]) -> None:
        for message, error in zip(batch, results, strict=False):
            if error is None:
                await self._settle(message)
            else:
                await self._failed(message, error)

    async def _next(self, *, wait: bool = True) -> Message | None:
        """The next decoded message; ``None`` once stopped (or, unless ``wait``, when no
        delivery is waiting)."""
        inbox = self._inbox
        assert inbox is not None
        while not self._stopped:
            if inbox:
                item = inbox.get_nowait()
            else:
                if not wait:
                    return None
                if self._ack_last is not None and self._ack_timer is None:
                    self._ack_mark = self.stats.delivered
                    self._ack_timer = asyncio.get_running_loop().call_later(
                        ACK_DELAY, self._ack_due)
                item = await inbox.get()
            if item is _FLUSH:
                if self._ack_last is not None:
                    await self._flush_acks()
                continue
            if item is _STOP:
                break
            if isinstance(item, BaseException):
                self._stopped = True
                raise item
            generation, raw = item
            if generation != self._generation:
                continue  # its channel is gone: the broker redelivers it
            self.stats.delivered += 1
            message = self._decode(generation, raw)
            if not isinstance(message, str):
                return message
            await self._reject(raw, message)
        return None

    def _decode(self, generation: int, raw: Any) -> Message | str:
        """The message, or why it is to be rejected: nothing in a body escapes. (Not a
        coroutine: every message takes this path, and only a rejection awaits.)"""
        body = raw.body
        cap = self.options.max_body_size
        if cap is not None and len(body) > cap:
            return f"body is {len(body)} bytes, over max_body_size ({cap})"
        try:
            payload = json.loads(body)
        except RecursionError:
            return "body is not usable JSON: nested too deeply"
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, too many digits
            return f"body is not JSON: {_clip(e)}"
        except Exception as e:  # e.g. MemoryError
            return f"body cannot be decoded: {type(e).__name__}: {_clip(e)}"
        binding = self._by_exchange.get(raw.exchange)
        routing = None
        if binding is not None and binding.routingKeyReference:
            try:
                routing = binding.parse(raw.routing_key)
            except RoutingKeyError as e:
                log.debug("%s: %s", self.queue_name, e)
            except Exception as e:
                return f"routing key cannot be read: {type(e).__name__}: {_clip(e)}"
        validate = self.options.validate
        if validate is not None and binding is not None:
            try:
                validate(binding, payload)
            except RecursionError:
                return (f"payload fails {binding.schema or 'its schema'}: nested too "
                        "deeply to check")
            except Exception as e:
                return f"payload fails {binding.schema or 'its schema'}: {_clip(e)}"
        try:
            routes = cc_routes(raw.headers)
        except Exception as e:
            return f"CC header cannot be read: {_clip(e)}"
        return self._message_cls(
            exchange=raw.exchange, routing_key=raw.routing_key, payload=payload,
            routing=routing, routes=routes, redelivered=bool(raw.redelivered),
            binding=binding, raw=raw, generation=generation, consumer=self)

    async def _reject(self, raw: Any, reason: str) -> None:
        log.warning("%s: rejected a message from %s (%s): %s", self.queue_name,
                    _clip(raw.exchange), _clip(raw.routing_key), reason)
        if await _settle_quietly(raw.reject(requeue=False)):
            self.stats.rejected += 1

    async def _failed(self, message: Message, error: BaseException) -> None:
        log.warning("%s: handler failed on %s %s: %s", self.queue_name, message.exchange,
                    message.routing_key, _clip(repr(error)))
        await self._settle(message, error)

    async def _unfinished(self, message: Message) -> None:
        log.info("%s: the loop body of %s %s did not finish (its loop was left before "
                 "asking for the next message): nacked", self.queue_name, message.exchange,
                 message.routing_key)
        await self._settle(message, _UNFINISHED)

    async def _requeue(self, message: Message) -> None:
        """Back to the queue, not counted as a failure (it never reached its end)."""
        if message._settled is not None:
            return
        message._settled = REQUEUED
        if (message._generation == self._generation
                and await _settle_quietly(message._raw.nack(requeue=True))):
            self.stats.requeued += 1

    async def _settle_explicitly(self, message: Message, outcome: str) -> None:
        """``message.ack()``/``nack()``/``reject()``: sent at once."""
        message._settled = outcome
        if message._generation != self._generation:
            log.debug("%s: cannot %s a message of a lost connection; the broker redelivers "
                      "it", self.queue_name, outcome)
            return
        raw = message._raw
        if outcome == ACKED:
            if self._budget.tracking:
                self._budget.succeeded(_identity(raw), redelivered=raw.redelivered)
            if await _settle_quietly(raw.ack()):
                self.stats.acked += 1
        elif outcome == REQUEUED:
            if await _settle_quietly(raw.nack(requeue=True)):
                self.stats.requeued += 1
        elif await _settle_quietly(raw.reject(requeue=False)):
            self.stats.rejected += 1

    async def _settle(self, message: Message, error: BaseException | None = None) -> None:
        """Ack ``message``, or after a failure requeue it within the budget or reject it;
        nothing if it is already settled.

        Acks are coalesced: the highest handled delivery tag is acked with ``multiple``
        when ``_ack_batch`` are waiting, when deliveries paused for ``ACK_DELAY``, and on
        close (so a message is only ever acked after it was handled).
        """
        if error is None:
            if self._handled(message):
                await self._flush_acks()
            return
        if message._settled is not None:
            return
        if message._generation != self._generation:
            message._settled = REQUEUED
            return  # delivered on a session that ended: the broker redelivers it
        raw = message._raw
        count = (raw.headers or {}).get("x-delivery-count")
        requeue = self._budget.failed(_identity(raw), redelivered=bool(raw.redelivered),
                                      delivery_count=count if isinstance(count, int) else None)
        if requeue:
            message._settled = REQUEUED
            if await _settle_quietly(raw.nack(requeue=True)):
                self.stats.requeued += 1
        else:
            message._settled = REJECTED
            log.error("%s: dropping a message from %s (%s) after %d requeue(s): %s",
                      self.queue_name, raw.exchange, raw.routing_key,
                      self.options.max_requeues, _clip(repr(error)))
            if await _settle_quietly(raw.reject(requeue=False)):
                self.stats.rejected += 1

    def _handled(self, message: Message) -> bool:
        """Count ``message`` (handled) into the next batched ack; whether that ack is due
        (``_settle`` without an error; the loop of ``run`` calls it directly, as every
        message takes it and it awaits nothing)."""
        if message._settled is not None:
            return False
        if message._generation != self._generation:
            message._settled = REQUEUED
            return False  # delivered on a session that ended: the broker redelivers it
        raw = message._raw
        message._settled = ACKED
        if self._budget.tracking:
            self._budget.succeeded(_identity(raw), redelivered=raw.redelivered)
        if self._ack_generation != message._generation:
            self._ack_count = 0
        self._ack_last, self._ack_generation = raw, message._generation
        self._ack_count += 1
        return self._ack_count >= self._ack_batch

    def _ack_due(self) -> None:
        """The ack timer, ``ACK_DELAY`` after the reader found its inbox empty: if no
        delivery came since, the reader acks what is handled when it takes this turn (it
        alone settles, so acks go out in order); if some came, it waits as long again
        (while deliveries flow, the batch rule acks)."""
        self._ack_timer = None
        if self._ack_last is None or self._inbox is None:
            return
        if self.stats.delivered != self._ack_mark:
            self._ack_mark = self.stats.delivered
            self._ack_timer = asyncio.get_running_loop().call_later(ACK_DELAY, self._ack_due)
        else:
            self._inbox.put_nowait(_FLUSH)

    async def _flush_acks(self, *, wait: bool = False) -> None:
        """Ack every handled message up to the last one (one ``basic.ack multiple``).
        Unless ``wait``, the frame is queued, not waited for (the reader goes on; were the
        connection lost first, the broker would redeliver): ``close`` waits, since closing
        the connection drops what it has not written."""
        raw, count = self._ack_last, self._ack_count
        self._ack_last, self._ack_count = None, 0
        if (raw is not None and self._ack_generation == self._generation
                and await _settle_quietly(raw.ack(multiple=True, wait=wait))):
            self.stats.acked += count


class _Inbox:
    """Deliveries waiting for the reader: a deque and the tasks waiting on it, lighter than
    ``asyncio.Queue`` on the path every message takes."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def __bool__(self) -> bool:
        return bool(self._items)

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def get_nowait(self) -> Any:
        return self._items.popleft()

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and self._items:
                    self._wake_one()  # woken, then cancelled: another reader takes it
                waiter.cancel()
                raise
        return self._items.popleft()


class _Iteration:
    """One ``async for`` over a consumer: the messages it gets are its own, so a new
    iteration knows the last message of an earlier one was left unfinished."""

    __slots__ = ("_consumer",)

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    def __aiter__(self) -> _Iteration:
        return self

    async def __anext__(self) -> Message:
        return await self._consumer._advance(self)


_UNFINISHED = RuntimeError("the loop body did not finish (its loop was left)")


def _clip(text: object, limit: int = _REASON_CHARS) -> str:
    """``str(text)`` cut to ``limit`` characters (a reason from a hostile body is bounded)."""
    s = str(text)
    return s if len(s) <= limit else f"{s[:limit]}... ({len(s)} chars)"


def _is_async(handler: Any) -> bool:
    """Whether ``handler`` is a coroutine function (or an object whose ``__call__`` is)."""
    return (inspect.iscoroutinefunction(handler)
            or inspect.iscoroutinefunction(type(handler).__call__))


def _identity(raw: Any) -> tuple[str, str, Any]:
    """What the requeue budget files a delivery's failures under: its content (deliveries
    of identical bodies are told apart by the redelivered flag, see ``RequeueBudget``)."""
    return (raw.exchange, raw.routing_key, raw.message_id or hash(raw.body))


def _body_left(reader: asyncio.Task[Any] | None) -> bool:
    """Whether the loop that got the last message was left (not cancelled or still
    running): it ran in this task, which leaves the ``async with`` normally, or in one
    that ended on its own."""
    if reader is None or reader is asyncio.current_task():
        return True
    return reader.done() and not reader.cancelled()


async def _settle_quietly(call: Awaitable[Any]) -> bool:
    try:
        await call
    except _TRANSIENT as e:
        log.debug("could not settle a message (the broker will redeliver it): %r", e)
        return False
    return True


async def _close_quietly(connection: Any) -> None:
    try:
        await connection.close()
    except Exception as e:  # the connection is already broken
        log.debug("closing a lost connection: %r", e)
