"""Handing a slot's streams to a new connection without losing or repeating an event.

A new connection's events are *held* until the hand-over.  Then:

* **confirmed** (the old connection answered the drain marker, so it delivered
  everything the server queued before the new one was subscribed): the two
  connections overlap, the held events are released through the ledger, and the
  overlap is dropped as duplicates;
* **not confirmed** (a reconnect after a failure, a stalled or lossy old
  connection): trades and aggregate trades published in between may exist only
  on the exchange.  For each such stream the trades after the last delivered id
  are fetched over REST (``market_history``), up to the first id the new
  connection holds, and delivered first; then the held events are released.
  What cannot be fetched (no history configured, a REST error, more than
  ``backfill_max_events``, older than the exchange keeps) is logged and counted
  as ``gaps_unrecovered``.

The release is synchronous: no other event can be accepted between the held
ones, so per stream the consumer sees ids in order.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from daemon.errors import TradingdError
from daemon.venues.binance.market_history import BACKFILL_KINDS, fetch_missing
from daemon.venues.binance.stream_ledger import event_key, stream_kind
from daemon.venues.binance.stream_link import StreamLink

if TYPE_CHECKING:
    from daemon.venues.binance.stream_slot import StreamSlot
    from daemon.venues.binance.streams import MarketStreams

log = logging.getLogger(__name__)


async def hand_over(owner: MarketStreams, slot: StreamSlot, new: StreamLink, *,
                    confirmed: bool) -> None:
    """Fill the gap (unless the old link provably drained), then release ``new``'s held events."""
    if not confirmed:
        await _backfill(owner, slot, new)
    while new.held:  # synchronous: nothing can slip in between
        stream, event = new.held.popleft()
        owner.deliver(stream, event)
    new.holding = False


async def _backfill(owner: MarketStreams, slot: StreamSlot, new: StreamLink) -> None:
    ledger, counters, settings = owner.ledger, owner.counters, owner.settings
    streams = [s for s in slot.wanted
               if stream_kind(s) in BACKFILL_KINDS and ledger.last(s) is not None]
    if not streams:
        return
    if owner.history is None:
        counters.gaps_unrecovered += len(streams)
        log.warning("stream.gap_possible slot=%d streams=%s reason=no_history",
                    slot.slot_id, ",".join(streams))
        return
    with trio.move_on_after(settings.backfill_timeout_s) as scope:
        for stream in streams:
            await _backfill_one(owner, stream, new)
    if scope.cancelled_caught:
        counters.gaps_unrecovered += 1
        log.warning("stream.backfill_timeout slot=%d timeout_s=%g",
                    slot.slot_id, settings.backfill_timeout_s)


async def _backfill_one(owner: MarketStreams, stream: str, new: StreamLink) -> None:
    counters = owner.counters
    last = owner.ledger.last(stream)
    if last is None:
        return
    until = next((event_key(e) for s, e in new.held if s == stream), None)
    symbol = stream.split("@", 1)[0].upper()
    try:
        events, complete = await fetch_missing(owner.history, stream_kind(stream), symbol,
                                               last, until, owner.settings.backfill_max_events)
    except TradingdError as exc:
        counters.gaps_unrecovered += 1
        log.warning("stream.backfill_failed stream=%s after_id=%s error=%r", stream, last, exc)
        return
    delivered = sum(owner.deliver(stream, event) for event in events)
    counters.backfilled += delivered
    if not complete:
        counters.gaps_unrecovered += 1
    log.info("stream.backfilled stream=%s after_id=%s until_id=%s fetched=%d delivered=%d "
             "complete=%s", stream, last, until, len(events), delivered, complete)
