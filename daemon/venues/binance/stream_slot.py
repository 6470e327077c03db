"""One slot of the market streams: up to 1024 streams on one connection, kept alive.

Why a slot owns its connection's whole life: connecting, subscribing, watching
and replacing a connection are one state machine per connection, and two
connections of a slot overlap during a make-before-break hand-over.  The slot
runs that machine; its owner (``streams.MarketStreams``) keeps the subscription
registry, the exactly-once ledger and the delivery to the consumer.

The loop (``run``): connect (backoff between attempts) -> watch -> then either

* the link died: reconnect with backoff, and repair the gap (``stream_handover``);
* a rotation reason came up (``lifetime``, ``shutdown``, ``stall``, ``lossy``,
  ``control``): open the replacement while the old link still delivers, wait until
  it is live, send the old link a drain marker, hand over, close the old link;
* the slot has no streams left: close and end.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from daemon.errors import RequestRejected, StreamStalled, TransportError
from daemon.venues.binance.stream_handover import hand_over
from daemon.venues.binance.stream_ledger import stream_kind
from daemon.venues.binance.stream_link import ControlPacer, StreamLink
from daemon.venues.binance.stream_settings import Backoff

if TYPE_CHECKING:
    from daemon.venues.binance.streams import MarketStreams

log = logging.getLogger(__name__)


class ConsumerGone(Exception):
    """The receiving side of the caller's channel was closed: stop streaming."""


class StreamSlot:
    """The streams of one connection (``wanted``) and the link that currently serves them."""

    def __init__(self, owner: MarketStreams, slot_id: int, backoff: Backoff) -> None:
        self.owner = owner
        self.slot_id = slot_id
        self.wanted: dict[str, None] = {}  # ordered: the URL lists them in subscription order
        self.backoff = backoff
        self.primary: StreamLink | None = None
        self.attention = trio.Event()
        self.ready = trio.Event()  # set once the first link connected (or the slot ended)
        self.stall_strikes: dict[str, int] = {}

    def poke(self) -> None:
        self.attention.set()

    @property
    def settled(self) -> bool:
        link = self.primary
        return (link is not None and link.alive and not link.holding
                and link.subscribed == set(self.wanted))

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        try:
            async with trio.open_nursery() as links:
                primary: StreamLink | None = None
                while True:
                    if primary is None:
                        if not self.wanted:
                            # Out of the registry before any checkpoint: subscribe() must
                            # not hand a stream to a slot whose task is ending.
                            self.owner.forget_slot(self)
                            break
                        primary = await self._connect(links)
                        continue
                    self.primary = primary
                    reason = await self._watch(primary)
                    if reason == "empty":
                        await primary.retire()
                        primary = None
                    elif reason == "dead":
                        primary = await self._recover(links, primary)
                    else:
                        primary = await self._rotate(links, primary, reason)
                links.cancel_scope.cancel()
        finally:
            self.ready.set()  # never leave run() waiting on a slot that is gone
            self.primary = None

    async def _connect(self, links: trio.Nursery, *, hold: bool = False) -> StreamLink | None:
        """A new live link, retrying with backoff; None once the slot is empty."""
        while self.wanted:
            link = await self._open(links, hold=hold)
            if link is not None:
                return link
            await self._pause()
        return None

    async def _open(self, links: trio.Nursery, *, hold: bool) -> StreamLink | None:
        """One attempt: connect with the slot's streams in the URL, SUBSCRIBE the rest."""
        owner, settings, counters = self.owner, self.owner.settings, self.owner.counters
        streams = list(self.wanted)
        if not streams:
            return None
        url, in_url = self._url(streams)
        link = StreamLink(owner.next_link_id(), tuple(in_url), owner.accept,
                          buffer_frames=settings.buffer_frames,
                          pacer=ControlPacer(settings.control_messages_per_s),
                          holding=hold, stats=counters, on_change=self.poke)
        try:
            await links.start(self._run_link, link, url)
            await self._reconcile(link)
        except TransportError as exc:
            counters.last_error = f"{type(exc).__name__}: {exc}"
            await link.retire()
            return None
        if self.ready.is_set():
            counters.reconnects += 1
        counters.connected = True
        log.info("stream.connected slot=%d link=%d streams=%d transport=%s hold=%s",
                 self.slot_id, link.link_id, len(link.subscribed), owner.transport.name, hold)
        self.ready.set()
        return link

    async def _pause(self) -> None:
        delay = self.backoff.next_delay()
        log.warning("stream.disconnected slot=%d attempt=%d error=%s retry_in_s=%.2f",
                    self.slot_id, self.backoff.attempt, self.owner.counters.last_error, delay)
        await trio.sleep(delay)

    async def _run_link(self, link: StreamLink, url: str, *,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
        counters = self.owner.counters
        counters.links_open += 1
        try:
            async with self.owner.transport.connect(url) as conn:
                await link.serve(conn, task_status=task_status)
        except TransportError as exc:
            if not link.done.is_set():
                raise  # never got going: nursery.start() hands it to _open
            link.error = link.error or str(exc)
        finally:
            counters.links_open -= 1

    def _url(self, streams: list[str]) -> tuple[str, list[str]]:
        """The combined-stream URL with as many streams as ``url_max_chars`` allows (one at least)."""
        base = f"{self.owner.stream_url}/stream?streams="
        chosen = [streams[0]]
        length = len(base) + len(streams[0])
        for stream in streams[1:]:
            length += len(stream) + 1
            if length > self.owner.settings.url_max_chars:
                break
            chosen.append(stream)
        return base + "/".join(chosen), chosen

    async def _reconcile(self, link: StreamLink) -> None:
        """Bring the link's server-side subscriptions to the slot's wanted set."""
        settings, counters = self.owner.settings, self.owner.counters
        batch, timeout = settings.subscribe_batch, settings.control_timeout_s
        drop = [s for s in link.subscribed if s not in self.wanted]
        add = [s for s in self.wanted if s not in link.subscribed]
        for method, names in (("UNSUBSCRIBE", drop), ("SUBSCRIBE", add)):
            for start in range(0, len(names), batch):
                chunk = names[start:start + batch]
                try:
                    await link.change_subscriptions(method, chunk, timeout_s=timeout)
                except RequestRejected as exc:
                    log.error("stream.request_refused slot=%d method=%s streams=%s code=%d msg=%s",
                              self.slot_id, method, ",".join(chunk), exc.code, exc.exchange_message)
                    if method == "SUBSCRIBE":
                        counters.refused += len(chunk)
                        self.owner.unsubscribe(chunk)  # a name the exchange refuses: give it up
                    else:
                        link.subscribed.difference_update(chunk)  # its events are dropped anyway
        if drop or add:
            log.info("stream.subscriptions slot=%d link=%d added=%d removed=%d total=%d",
                     self.slot_id, link.link_id, len(add), len(drop), len(link.subscribed))

    # ------------------------------------------------------------------ watching

    async def _watch(self, link: StreamLink) -> str:
        """Until the link must go: "empty", "dead", or a rotation reason."""
        settings, counters = self.owner.settings, self.owner.counters
        while True:
            self.attention = trio.Event()
            if self.owner.consumer_gone:
                raise ConsumerGone
            if not self.wanted:
                return "empty"
            if not link.alive:
                return "dead"
            if link.shutdown_notice.is_set():
                return "shutdown"
            if link.lossy:
                return "lossy"
            if link.first_frame.is_set():
                self.backoff.reset()
            if link.subscribed != set(self.wanted):
                try:
                    await self._reconcile(link)
                except TransportError as exc:
                    counters.last_error = f"{type(exc).__name__}: {exc}"
                    return "control"
                continue
            now = trio.current_time()
            retire_at = link.opened_at + settings.lifetime_real_s
            if now >= retire_at:
                return "lifetime"
            if self._stalled(link, now):
                return "stall"
            with trio.move_on_after(min(retire_at - now, settings.check_interval_s)):
                await self.attention.wait()

    def _stalled(self, link: StreamLink, now: float) -> bool:
        settings, counters = self.owner.settings, self.owner.counters
        for stream in self.wanted:
            timeout = settings.stall_timeout(stream_kind(stream))
            if timeout is None:
                continue
            strikes = self.stall_strikes.get(stream, 0)
            if stream in link.last_seen:
                strikes = self.stall_strikes[stream] = 0
            # A stream still silent after a fresh connection is more likely quiet than
            # stalled: each strike doubles its allowance (up to 8x).
            allowed = timeout * (2 ** min(strikes, 3))
            silent = link.silent_for(stream, now)
            if silent > allowed:
                self.stall_strikes[stream] = strikes + 1
                counters.stalls += 1
                error = StreamStalled(f"{stream} silent for {silent:.1f} s (allowed {allowed:g} s)")
                counters.last_error = f"StreamStalled: {error}"
                log.warning("stream.stalled slot=%d link=%d stream=%s silent_s=%.1f allowed_s=%g",
                            self.slot_id, link.link_id, stream, silent, allowed)
                return True
        return False

    # ------------------------------------------------------------------ replacing

    async def _recover(self, links: trio.Nursery, dead: StreamLink) -> StreamLink | None:
        """The link failed: reconnect (backoff), backfill what the gap swallowed, go on."""
        counters = self.owner.counters
        counters.connected = False
        counters.last_error = dead.error or counters.last_error
        await self._pause()
        new = await self._connect(links, hold=True)
        if new is not None:
            await hand_over(self.owner, self, new, confirmed=False)
        return new

    async def _rotate(self, links: trio.Nursery, old: StreamLink, reason: str,
                      ) -> StreamLink | None:
        """Make-before-break: open, wait until live, drain the old link, hand over, close it."""
        settings = self.owner.settings
        self.owner.counters.rotations[reason] += 1
        log.info("stream.rotating slot=%d link=%d reason=%s age_s=%.1f",
                 self.slot_id, old.link_id, reason, trio.current_time() - old.opened_at)
        while True:
            if not self.wanted:
                await old.retire()
                return None
            new = await self._open(links, hold=True)
            if new is None and not old.alive:
                new = await self._connect(links, hold=True)
            elif new is None:
                await self._pause()
                continue
            if new is None:
                return None
            with trio.move_on_after(settings.live_grace_s):
                while not new.first_frame.is_set() and new.alive:
                    self.attention = trio.Event()
                    await self.attention.wait()
            if new.alive:
                break
            await self._pause()
        confirmed = False
        if old.alive and not old.lossy:
            try:
                await old.request("LIST_SUBSCRIPTIONS", timeout_s=settings.drain_timeout_s)
                confirmed = True
            except (TransportError, RequestRejected) as exc:
                log.warning("stream.drain_unconfirmed slot=%d link=%d error=%s",
                            self.slot_id, old.link_id, exc)
        await hand_over(self.owner, self, new, confirmed=confirmed)
        self.primary = new
        await old.retire()
        log.info("stream.rotated slot=%d old=%d new=%d reason=%s confirmed=%s",
                 self.slot_id, old.link_id, new.link_id, reason, confirmed)
        return new
