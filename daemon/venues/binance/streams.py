"""Market streams that never silently stop, and deliver every event exactly once.

``MarketStreams`` keeps the daemon's set of subscribed streams (the strategies'
and the config's) on as few combined-stream connections as the exchange allows
(1024 streams each; "slots"), and keeps each slot alive for the daemon's lifetime:

* **live changes**: ``subscribe``/``unsubscribe`` take effect on the open
  connection with ``SUBSCRIBE``/``UNSUBSCRIBE`` (paced: 5 incoming messages per
  second per connection, pongs included);
* **failures** (refused, reset, closed, a control request unanswered) lead to a
  reconnect after a jittered exponential backoff;
* **planned replacements** (the 24-hour cut, a ``serverShutdown`` notice, a stream
  silent for longer than its kind allows, a consumer so slow that frames were
  dropped) are *make-before-break*: the new connection is open and receiving, and
  its events are held, before the old one closes;
* **exactly once**: every event passes a ledger of the last id delivered per
  stream (``stream_ledger``), so the overlap of two connections is delivered once.
  A hand-over is *confirmed* when the old connection answers a drain marker (a
  ``LIST_SUBSCRIPTIONS`` request; its reply comes after every frame the server
  queued before it, and the new connection was subscribed before we sent it): the
  two connections then overlap and nothing is missing.  When it is not confirmed
  (reconnect after a failure, a stalled old connection), trades and aggregate
  trades published in between are fetched over REST (``market_history``) before
  the held events are released; books resync on their own update-id gap.

The caller owns ``send_channel`` (it may be shared); it is never closed here.  When
its receiving side is gone, ``run`` returns quietly.

Where the parts live: this module keeps the subscription registry and the delivery
(ledger, ordered outbox); ``stream_slot`` runs one connection slot (connect,
watch, rotate); ``stream_handover`` repairs gaps; ``stream_link`` is one websocket
(reader, control requests); ``transport`` hides the websocket library.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
from collections import deque
from collections.abc import Callable, Iterable

import trio
from trio_websocket import ConnectionClosed, HandshakeError

from daemon.errors import TransportError
from daemon.venues.binance.market_history import MarketHistory
from daemon.venues.binance.stream_ledger import StreamLedger
from daemon.venues.binance.stream_link import StreamLink
from daemon.venues.binance.stream_settings import (
    MAX_STREAMS_PER_CONNECTION,
    Backoff,
    MarketStreamCounters,
    StreamCounters,
    StreamSettings,
)
from daemon.venues.binance.stream_slot import ConsumerGone, StreamSlot
from daemon.venues.binance.transport import TransportOptions, WsTransport, make_transport
from daemon.venues.binance.ws_connect import DEFAULT_QUEUE_SIZE, open_stream_connection

__all__ = [
    "CONNECTION_ERRORS", "MAX_STREAMS_PER_CONNECTION", "Backoff", "ConsumerGone", "MarketStreams",
    "MarketStreamCounters", "StreamCounters", "StreamSettings", "combined_stream_url",
    "open_stream_connection", "run_market_streams", "send_or_stop", "valid_stream_name",
]

log = logging.getLogger(__name__)

#: What a dropped or refused websocket connection may raise; each means "reconnect".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    HandshakeError, ConnectionClosed, OSError, trio.BrokenResourceError, TransportError,
)

#: Stream names as Binance spells them: lower-case symbol, or an all-market ``!`` stream.
_STREAM_NAME = re.compile(r"^([a-z0-9]+@[A-Za-z0-9_@]+|![A-Za-z0-9_]+(@arr)?)$")


async def send_or_stop(send_channel: trio.MemorySendChannel, item: object) -> None:
    """Send ``item``; translate a closed consumer into ``ConsumerGone``."""
    try:
        await send_channel.send(item)
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise ConsumerGone from exc


def valid_stream_name(name: str) -> bool:
    return bool(_STREAM_NAME.match(name))


def combined_stream_url(stream_url: str, streams: list[str]) -> str:
    if not streams:
        raise ValueError("at least one stream name is required")
    if len(streams) > MAX_STREAMS_PER_CONNECTION:
        raise ValueError(f"{len(streams)} streams exceed {MAX_STREAMS_PER_CONNECTION} per connection")
    return f"{stream_url.rstrip('/')}/stream?streams={'/'.join(streams)}"


class MarketStreams:
    """See the module docstring.  ``run`` in a nursery; ``subscribe`` at any time."""

    def __init__(self, stream_url: str, send_channel: trio.MemorySendChannel, *,
                 settings: StreamSettings | None = None, transport: WsTransport | None = None,
                 history: MarketHistory | None = None,
                 on_event: Callable[[object], None] | None = None,
                 counters: MarketStreamCounters | None = None,
                 backoff: Callable[[], Backoff] | None = None,
                 rng: Callable[[], float] = random.random) -> None:
        self.stream_url = stream_url.rstrip("/")
        self.settings = settings = settings or StreamSettings()
        self.transport = transport or make_transport(settings.transport, TransportOptions(
            message_queue=settings.message_queue, connect_timeout_s=settings.connect_timeout_s))
        self.history = history
        self.counters = counters if counters is not None else MarketStreamCounters()
        self.ledger = StreamLedger()
        self._send = send_channel
        self._on_event = on_event
        self._new_backoff = backoff or (lambda: Backoff(settings.backoff_initial_s,
                                                        settings.backoff_cap_s, rng))
        self._slots: list[StreamSlot] = []
        self._where: dict[str, StreamSlot] = {}
        self._slot_ids = itertools.count(1)
        self._link_ids = itertools.count(1)
        self._nursery: trio.Nursery | None = None
        self._consumer_gone = False
        # Accepted events not yet taken by the consumer, in acceptance order; the
        # readers append without waiting, ``_send_loop`` drains.
        self._outbox: deque[object] = deque()
        self._outbox_wake = trio.Event()

    # ------------------------------------------------------------------ public API

    @property
    def streams(self) -> list[str]:
        return list(self._where)

    def subscribe(self, streams: Iterable[str]) -> None:
        """Add streams (idempotent); they go live on the open connections in the background."""
        for stream in streams:
            if not valid_stream_name(stream):
                raise ValueError(f"not a Binance stream name: {stream!r}")
            if stream in self._where:
                continue
            slot = next((s for s in self._slots
                         if len(s.wanted) < self.settings.max_streams_per_connection), None)
            if slot is None:
                slot = StreamSlot(self, next(self._slot_ids), self._new_backoff())
                self._slots.append(slot)
                if self._nursery is not None:
                    self._nursery.start_soon(slot.run)
            slot.wanted[stream] = None
            self._where[stream] = slot
            slot.poke()

    def unsubscribe(self, streams: Iterable[str]) -> None:
        """Remove streams (unknown names are ignored); their events stop at once."""
        for stream in streams:
            slot = self._where.pop(stream, None)
            if slot is None:
                continue
            slot.wanted.pop(stream, None)
            slot.stall_strikes.pop(stream, None)
            self.ledger.forget(stream)
            slot.poke()

    async def run(self, *, task_status: trio.TaskStatus[MarketStreams] = trio.TASK_STATUS_IGNORED,
                  ) -> None:
        """Keep every slot connected until cancelled; ``started`` once each has connected."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._send_loop)
                for slot in self._slots:
                    nursery.start_soon(slot.run)
                for slot in list(self._slots):
                    await slot.ready.wait()
                task_status.started(self)
        except* ConsumerGone:
            log.info("stream.stopped reason=consumer_closed")
        finally:
            self._nursery = None

    async def wait_settled(self) -> None:
        """Until every stream is subscribed on a live connection (tests, start-up)."""
        while True:
            if all(slot.settled for slot in self._slots if slot.wanted):
                return
            await trio.sleep(0.01)

    # ------------------------------------------------------------------ for the slots

    @property
    def consumer_gone(self) -> bool:
        return self._consumer_gone

    def next_link_id(self) -> int:
        return next(self._link_ids)

    def forget_slot(self, slot: StreamSlot) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    # ------------------------------------------------------------------ delivery

    def accept(self, link: StreamLink, stream: str, event: object) -> bool:
        """A link's sink: False (dropped) once the consumer is ``buffer_frames`` behind."""
        if len(self._outbox) >= self.settings.buffer_frames:
            return False
        self.deliver(stream, event)
        return True

    def deliver(self, stream: str, event: object) -> bool:
        """Queue ``event`` for the consumer unless it is a duplicate or its stream is gone.

        Synchronous on purpose: the readers never wait for the consumer, and held
        or backfilled events are released in one go, so acceptance order (the
        ledger's order) is delivery order.
        """
        if stream not in self._where:
            self.counters.unwanted += 1
            return False
        if not self.ledger.accept(stream, event):
            self.counters.duplicates += 1
            return False
        self.counters.events += 1
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a bug in a tap (the books) must not cut every strategy's feed
                self.counters.tap_errors += 1
                if self.counters.tap_errors == 1 or self.counters.tap_errors % 1000 == 0:
                    log.exception("stream.tap_error count=%d stream=%s",
                                  self.counters.tap_errors, stream)
        outbox = self._outbox
        if not outbox:
            try:
                self._send.send_nowait(event)
                return True
            except trio.WouldBlock:
                pass
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self._consumer_gone = True
                raise ConsumerGone from exc
            self._outbox_wake.set()
        outbox.append(event)
        return True

    async def _send_loop(self) -> None:
        """Hand the outbox to the consumer, waiting for it as long as it takes."""
        outbox = self._outbox
        while True:
            if not outbox:
                self._outbox_wake = trio.Event()
                await self._outbox_wake.wait()
                continue
            try:
                await send_or_stop(self._send, outbox[0])  # stays queued while in flight
            except ConsumerGone:
                self._consumer_gone = True  # the slots stop quietly instead of reconnecting
                raise
            outbox.popleft()


async def run_market_streams(stream_url: str, streams: list[str],
                             send_channel: trio.MemorySendChannel, *,
                             silence_timeout_s: float = 60.0,
                             counters: MarketStreamCounters | None = None,
                             backoff: Backoff | None = None,
                             message_queue_size: int = DEFAULT_QUEUE_SIZE,
                             settings: StreamSettings | None = None,
                             history: MarketHistory | None = None,
                             task_status: trio.TaskStatus[MarketStreamCounters] = trio.TASK_STATUS_IGNORED,
                             ) -> None:
    """A fixed set of streams through ``MarketStreams`` (the first version's entry point).

    ``silence_timeout_s`` becomes every stream kind's stall timeout unless
    ``settings`` are given.  ``task_status.started(counters)`` fires once connected.
    """
    combined_stream_url(stream_url, streams[:MAX_STREAMS_PER_CONNECTION])  # validates
    if settings is None:
        settings = StreamSettings(message_queue=message_queue_size, stall_timeouts_s=dict.fromkeys(
            ("trade", "aggTrade", "bookTicker", "depth", "partialDepth", "kline", "miniTicker",
             "ticker"), silence_timeout_s))
    market = MarketStreams(stream_url, send_channel, settings=settings, history=history,
                           counters=counters,
                           backoff=(lambda: backoff) if backoff is not None else None)
    market.subscribe(streams)
    await market.run(task_status=_CountersStatus(task_status, market.counters))


class _CountersStatus:
    """Hands ``started`` the counters (the first version's contract) instead of the streams."""

    def __init__(self, task_status: trio.TaskStatus, counters: MarketStreamCounters) -> None:
        self._task_status = task_status
        self._counters = counters

    def started(self, value: object = None) -> None:
        self._task_status.started(self._counters)
