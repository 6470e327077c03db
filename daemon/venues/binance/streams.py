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

from daemon.errors import RequestRejected, StreamStalled, TradingdError, TransportError
from daemon.venues.binance.market_history import BACKFILL_KINDS, MarketHistory, fetch_missing
from daemon.venues.binance.stream_ledger import StreamLedger, event_key, stream_kind
from daemon.venues.binance.stream_link import ControlPacer, StreamLink
from daemon.venues.binance.stream_settings import (
    MAX_STREAMS_PER_CONNECTION,
    Backoff,
    MarketStreamCounters,
    StreamCounters,
    StreamSettings,
)
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


class ConsumerGone(Exception):
    """The receiving side of the caller's channel was closed: stop streaming."""


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


class _Slot:
    """One combined-stream connection's share of the subscriptions, and its current link."""

    def __init__(self, slot_id: int, backoff: Backoff) -> None:
        self.slot_id = slot_id
        self.wanted: dict[str, None] = {}  # ordered: the URL lists them in subscription order
        self.backoff = backoff
        self.primary: StreamLink | None = None
        self.attention = trio.Event()
        self.ready = trio.Event()  # first link connected
        self.stall_strikes: dict[str, int] = {}

    def poke(self) -> None:
        self.attention.set()


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
        self._slots: list[_Slot] = []
        self._where: dict[str, _Slot] = {}
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
                slot = _Slot(next(self._slot_ids), self._new_backoff())
                self._slots.append(slot)
                if self._nursery is not None:
                    self._nursery.start_soon(self._run_slot, slot)
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
                    nursery.start_soon(self._run_slot, slot)
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
            pending = [s for s in self._slots if s.wanted and not self._settled(s)]
            if not pending:
                return
            await trio.sleep(0.01)

    @staticmethod
    def _settled(slot: _Slot) -> bool:
        link = slot.primary
        return (link is not None and link.alive and not link.holding
                and link.subscribed == set(slot.wanted))

    # ------------------------------------------------------------------ one slot

    async def _run_slot(self, slot: _Slot) -> None:
        try:
            async with trio.open_nursery() as links:
                primary: StreamLink | None = None
                while True:
                    if primary is None:
                        if not slot.wanted:
                            # Out of the list before any checkpoint: subscribe() must not
                            # hand a stream to a slot whose task is ending.
                            self._slots.remove(slot)
                            break
                        primary = await self._connect(slot, links)
                        continue
                    slot.primary = primary
                    reason = await self._watch(slot, primary)
                    if reason == "empty":
                        await primary.retire()
                        primary = None
                    elif reason == "dead":
                        primary = await self._recover(slot, links, primary)
                    else:
                        primary = await self._rotate(slot, links, primary, reason)
                links.cancel_scope.cancel()
        finally:
            slot.ready.set()  # never leave run() waiting on a slot that is gone
            slot.primary = None

    async def _connect(self, slot: _Slot, links: trio.Nursery, *, hold: bool = False,
                       ) -> StreamLink | None:
        """A new live link for ``slot``, retrying with backoff; None once the slot is empty."""
        while slot.wanted:
            link = await self._open(slot, links, hold=hold)
            if link is not None:
                return link
            await self._pause(slot)
        return None

    async def _open(self, slot: _Slot, links: trio.Nursery, *, hold: bool) -> StreamLink | None:
        """One attempt: connect with the slot's streams in the URL, SUBSCRIBE the rest."""
        streams = list(slot.wanted)
        if not streams:
            return None
        url, in_url = self._url(streams)
        link = StreamLink(next(self._link_ids), tuple(in_url), self._accept,
                          buffer_frames=self.settings.buffer_frames,
                          pacer=ControlPacer(self.settings.control_messages_per_s),
                          holding=hold, stats=self.counters, on_change=slot.poke)
        try:
            await links.start(self._run_link, link, url)
            await self._reconcile(slot, link)
        except TransportError as exc:
            self.counters.last_error = f"{type(exc).__name__}: {exc}"
            await link.retire()
            return None
        if slot.ready.is_set():
            self.counters.reconnects += 1
        self.counters.connected = True
        log.info("stream.connected slot=%d link=%d streams=%d transport=%s hold=%s",
                 slot.slot_id, link.link_id, len(link.subscribed), self.transport.name, hold)
        slot.ready.set()
        return link

    async def _pause(self, slot: _Slot) -> None:
        delay = slot.backoff.next_delay()
        log.warning("stream.disconnected slot=%d attempt=%d error=%s retry_in_s=%.2f",
                    slot.slot_id, slot.backoff.attempt, self.counters.last_error, delay)
        await trio.sleep(delay)

    async def _run_link(self, link: StreamLink, url: str, *, task_status=trio.TASK_STATUS_IGNORED,
                        ) -> None:
        self.counters.links_open += 1
        try:
            async with self.transport.connect(url) as conn:
                await link.serve(conn, task_status=task_status)
        except TransportError as exc:
            if not link.done.is_set():
                raise  # never got going: nursery.start() hands it to _open
            link.error = link.error or str(exc)
        finally:
            self.counters.links_open -= 1

    def _url(self, streams: list[str]) -> tuple[str, list[str]]:
        """The combined-stream URL with as many streams as ``url_max_chars`` allows (one at least)."""
        base = f"{self.stream_url}/stream?streams="
        chosen = [streams[0]]
        length = len(base) + len(streams[0])
        for stream in streams[1:]:
            length += len(stream) + 1
            if length > self.settings.url_max_chars:
                break
            chosen.append(stream)
        return base + "/".join(chosen), chosen

    async def _reconcile(self, slot: _Slot, link: StreamLink) -> None:
        """Bring the link's server-side subscriptions to the slot's wanted set."""
        batch = self.settings.subscribe_batch
        timeout = self.settings.control_timeout_s
        drop = [s for s in link.subscribed if s not in slot.wanted]
        for start in range(0, len(drop), batch):
            await link.change_subscriptions("UNSUBSCRIBE", drop[start:start + batch], timeout_s=timeout)
        add = [s for s in slot.wanted if s not in link.subscribed]
        for start in range(0, len(add), batch):
            names = add[start:start + batch]
            try:
                await link.change_subscriptions("SUBSCRIBE", names, timeout_s=timeout)
            except RequestRejected as exc:
                self.counters.refused += len(names)
                log.error("stream.subscribe_refused slot=%d streams=%s code=%d msg=%s",
                          slot.slot_id, ",".join(names), exc.code, exc.exchange_message)
                self.unsubscribe(names)
        if drop or add:
            log.info("stream.subscriptions slot=%d link=%d added=%d removed=%d total=%d",
                     slot.slot_id, link.link_id, len(add), len(drop), len(link.subscribed))

    # ------------------------------------------------------------------ watching

    async def _watch(self, slot: _Slot, link: StreamLink) -> str:
        """Until the link must go: "empty", "dead", or a rotation reason."""
        settings = self.settings
        while True:
            slot.attention = trio.Event()
            if self._consumer_gone:
                raise ConsumerGone
            if not slot.wanted:
                return "empty"
            if not link.alive:
                return "dead"
            if link.shutdown_notice.is_set():
                return "shutdown"
            if link.lossy:
                return "lossy"
            if link.first_frame.is_set():
                slot.backoff.reset()
            if link.subscribed != set(slot.wanted):
                try:
                    await self._reconcile(slot, link)
                except TransportError as exc:
                    self.counters.last_error = f"{type(exc).__name__}: {exc}"
                    return "control"
                continue
            now = trio.current_time()
            retire_at = link.opened_at + settings.lifetime_real_s
            if now >= retire_at:
                return "lifetime"
            if self._stalled(slot, link, now):
                return "stall"
            with trio.move_on_after(min(retire_at - now, settings.check_interval_s)):
                await slot.attention.wait()

    def _stalled(self, slot: _Slot, link: StreamLink, now: float) -> bool:
        for stream in slot.wanted:
            timeout = self.settings.stall_timeout(stream_kind(stream))
            if timeout is None:
                continue
            strikes = slot.stall_strikes.get(stream, 0)
            if stream in link.last_seen:
                strikes = slot.stall_strikes[stream] = 0
            # A stream still silent after a fresh connection is more likely quiet than
            # stalled: each strike doubles its allowance (up to 8x).
            allowed = timeout * (2 ** min(strikes, 3))
            silent = link.silent_for(stream, now)
            if silent > allowed:
                slot.stall_strikes[stream] = strikes + 1
                self.counters.stalls += 1
                error = StreamStalled(f"{stream} silent for {silent:.1f} s (allowed {allowed:g} s)")
                self.counters.last_error = f"StreamStalled: {error}"
                log.warning("stream.stalled slot=%d link=%d stream=%s silent_s=%.1f allowed_s=%g",
                            slot.slot_id, link.link_id, stream, silent, allowed)
                return True
        return False

    # ------------------------------------------------------------------ hand-overs

    async def _recover(self, slot: _Slot, links: trio.Nursery, dead: StreamLink) -> StreamLink | None:
        """The link failed: reconnect (backoff), backfill what the gap swallowed, go on."""
        self.counters.connected = False
        self.counters.last_error = dead.error or self.counters.last_error
        await self._pause(slot)
        new = await self._connect(slot, links, hold=True)
        if new is not None:
            await self._hand_over(slot, new, confirmed=False)
        return new

    async def _rotate(self, slot: _Slot, links: trio.Nursery, old: StreamLink, reason: str,
                      ) -> StreamLink | None:
        """Make-before-break: open, wait until live, drain the old link, hand over, close it."""
        settings = self.settings
        self.counters.rotations[reason] += 1
        log.info("stream.rotating slot=%d link=%d reason=%s age_s=%.1f",
                 slot.slot_id, old.link_id, reason, trio.current_time() - old.opened_at)
        while True:
            if not slot.wanted:
                await old.retire()
                return None
            new = await self._open(slot, links, hold=True)
            if new is None and not old.alive:
                new = await self._connect(slot, links, hold=True)
            elif new is None:
                await self._pause(slot)
                continue
            if new is None:
                return None
            with trio.move_on_after(settings.live_grace_s):
                while not new.first_frame.is_set() and new.alive:
                    slot.attention = trio.Event()
                    await slot.attention.wait()
            if new.alive:
                break
            await self._pause(slot)
        confirmed = False
        if old.alive and not old.lossy:
            try:
                await old.request("LIST_SUBSCRIPTIONS", timeout_s=settings.drain_timeout_s)
                confirmed = True
            except (TransportError, RequestRejected) as exc:
                log.warning("stream.drain_unconfirmed slot=%d link=%d error=%s",
                            slot.slot_id, old.link_id, exc)
        await self._hand_over(slot, new, confirmed=confirmed)
        slot.primary = new
        await old.retire()
        log.info("stream.rotated slot=%d old=%d new=%d reason=%s confirmed=%s",
                 slot.slot_id, old.link_id, new.link_id, reason, confirmed)
        return new

    async def _hand_over(self, slot: _Slot, new: StreamLink, *, confirmed: bool) -> None:
        """Fill the gap (unless the old link provably drained), then release ``new``'s held events."""
        if not confirmed:
            await self._backfill(slot, new)
        while new.held:  # synchronous: nothing can slip in between
            stream, event = new.held.popleft()
            self._deliver(stream, event)
        new.holding = False

    async def _backfill(self, slot: _Slot, new: StreamLink) -> None:
        streams = [s for s in slot.wanted
                   if stream_kind(s) in BACKFILL_KINDS and self.ledger.last(s) is not None]
        if not streams:
            return
        if self.history is None:
            self.counters.gaps_unrecovered += len(streams)
            log.warning("stream.gap_possible slot=%d streams=%s reason=no_history",
                        slot.slot_id, ",".join(streams))
            return
        with trio.move_on_after(self.settings.backfill_timeout_s) as scope:
            for stream in streams:
                await self._backfill_one(stream, new)
        if scope.cancelled_caught:
            self.counters.gaps_unrecovered += 1
            log.warning("stream.backfill_timeout slot=%d timeout_s=%g",
                        slot.slot_id, self.settings.backfill_timeout_s)

    async def _backfill_one(self, stream: str, new: StreamLink) -> None:
        last = self.ledger.last(stream)
        if last is None:
            return
        until = next((event_key(e) for s, e in new.held if s == stream), None)
        symbol = stream.split("@", 1)[0].upper()
        try:
            events, complete = await fetch_missing(self.history, stream_kind(stream), symbol,
                                                   last, until, self.settings.backfill_max_events)
        except TradingdError as exc:
            self.counters.gaps_unrecovered += 1
            log.warning("stream.backfill_failed stream=%s after_id=%s error=%r", stream, last, exc)
            return
        delivered = sum(self._deliver(stream, event) for event in events)
        self.counters.backfilled += delivered
        if not complete:
            self.counters.gaps_unrecovered += 1
        log.info("stream.backfilled stream=%s after_id=%s until_id=%s fetched=%d delivered=%d complete=%s",
                 stream, last, until, len(events), delivered, complete)

    # ------------------------------------------------------------------ delivery

    def _accept(self, link: StreamLink, stream: str, event: object) -> bool:
        """A link's sink: False (dropped) once the consumer is ``buffer_frames`` behind."""
        if len(self._outbox) >= self.settings.buffer_frames:
            return False
        self._deliver(stream, event)
        return True

    def _deliver(self, stream: str, event: object) -> bool:
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
            self._on_event(event)
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
