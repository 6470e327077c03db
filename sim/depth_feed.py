"""Diff-depth and partial-depth streams, on the book's own update-id sequence.

Why the book's ``update_id``: ``GET /api/v3/depth`` reports it as ``lastUpdateId``
and ``bookTicker`` as ``u``; the diff stream's ``U``/``u`` must count in the same
sequence, or the seed's "How to manage a local order book correctly" procedure
cannot work against the simulator.

How a diff event stays exact: the exchange changes a book only inside one
synchronous step, and calls ``sync`` at the end of every step (and ``GET /depth``
calls it before rendering).  ``sync`` compares the aggregated price levels with
those seen at the previous sync and marks every level whose quantity differs as
touched.  A flush publishes, for each touched level, its quantity *now* (0 when
gone), with ``U`` = the previous event's ``u`` + 1 and ``u`` = the book's current
id.  A snapshot is always taken at a sync point, so any level that differs
between the snapshot and the end of an event was touched inside that event's
range and is carried in it: snapshot + events = the book.

Tracking runs only while a diff stream of the symbol has subscribers; on the
first subscriber it starts from the book as it is, so the first event's ``U`` is
one past the book's id at that moment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from sim.hub import EventHub
from sim.numbers import fmt8
from sim.stream_names import PARTIAL_DEPTH_LEVELS, depth_topic, partial_depth_topic

log = logging.getLogger(__name__)

CADENCES_MS = (100, 1000)
_ALL_LEVELS = 1 << 30
ZERO = Decimal(0)


class Book(Protocol):
    """What the feed reads of an order book (``sim.engine.OrderBook`` fits)."""

    update_id: int

    def levels(self, side: str, limit: int) -> list[tuple[Decimal, Decimal]]: ...


@dataclass
class _Pending:
    """One diff stream (one cadence) of one symbol: the range and levels not yet sent."""

    last_u: int
    bids: set[Decimal] = field(default_factory=set)
    asks: set[Decimal] = field(default_factory=set)


@dataclass
class _Tracked:
    """The levels of one symbol as of ``seen_id``, and the open diff ranges."""

    seen_id: int
    bids: dict[Decimal, Decimal]
    asks: dict[Decimal, Decimal]
    pending: dict[int, _Pending] = field(default_factory=dict)


class DepthFeed:
    """Publishes ``<s>@depth[@100ms]`` and ``<s>@depth<N>[@100ms]`` for every book.

    ``take_gap(symbol)`` (fault injection) returning True drops the next diff event
    of that symbol, so that clients see ``U`` jump past their book's id.
    """

    def __init__(self, hub: EventHub, books: Mapping[str, Book], now_ms: Callable[[], int], *,
                 take_gap: Callable[[str], bool] | None = None) -> None:
        self.hub = hub
        self.books = books
        self.now_ms = now_ms
        self.take_gap = take_gap
        self.events_dropped = 0
        self._tracked: dict[str, _Tracked] = {}
        self._diff_topics = {
            symbol: {cadence: depth_topic(symbol, cadence) for cadence in CADENCES_MS}
            for symbol in books
        }
        self._partial_topics = {
            symbol: {
                cadence: [(levels, partial_depth_topic(symbol, levels, cadence))
                          for levels in PARTIAL_DEPTH_LEVELS]
                for cadence in CADENCES_MS
            }
            for symbol in books
        }

    # ---------------------------------------------------------------- tracking

    def sync(self, symbols: Iterable[str]) -> None:
        """Record which levels changed since the last sync (the end of an exchange step)."""
        for symbol in symbols:
            tracked = self._tracked.get(symbol)
            if tracked is not None:
                self._sync_one(symbol, tracked)

    def _sync_one(self, symbol: str, tracked: _Tracked) -> None:
        book = self.books[symbol]
        if book.update_id == tracked.seen_id:
            return
        bids = dict(book.levels("BUY", _ALL_LEVELS))
        asks = dict(book.levels("SELL", _ALL_LEVELS))
        changed_bids = _changed(tracked.bids, bids)
        changed_asks = _changed(tracked.asks, asks)
        for pending in tracked.pending.values():
            pending.bids.update(changed_bids)
            pending.asks.update(changed_asks)
        tracked.bids, tracked.asks, tracked.seen_id = bids, asks, book.update_id

    def _refresh(self, symbol: str) -> _Tracked | None:
        """Start or stop tracking ``symbol``'s diff streams as their subscribers come and go."""
        topics = self._diff_topics[symbol]
        wanted = [cadence for cadence in CADENCES_MS if self.hub.has_subscribers(topics[cadence])]
        tracked = self._tracked.get(symbol)
        if not wanted:
            if tracked is not None:
                del self._tracked[symbol]
            return None
        if tracked is None:
            book = self.books[symbol]
            tracked = self._tracked[symbol] = _Tracked(
                book.update_id, dict(book.levels("BUY", _ALL_LEVELS)),
                dict(book.levels("SELL", _ALL_LEVELS)))
        else:
            self._sync_one(symbol, tracked)
        for cadence in CADENCES_MS:
            if cadence in wanted and cadence not in tracked.pending:
                tracked.pending[cadence] = _Pending(last_u=tracked.seen_id)
            elif cadence not in wanted:
                tracked.pending.pop(cadence, None)
        return tracked

    # --------------------------------------------------------------- flushing

    def flush(self, cadence: int) -> None:
        """Publish this cadence's diff events and partial books for every symbol."""
        now = self.now_ms()
        for symbol in self.books:
            tracked = self._refresh(symbol)
            if tracked is not None and cadence in tracked.pending:
                self._flush_diff(symbol, tracked, tracked.pending[cadence],
                                 self._diff_topics[symbol][cadence], now)
            self._flush_partial(symbol, cadence)

    def _flush_diff(self, symbol: str, tracked: _Tracked, pending: _Pending, topic: str,
                    now: int) -> None:
        last_id = tracked.seen_id
        if last_id <= pending.last_u:
            return
        first_id = pending.last_u + 1
        bids = sorted(pending.bids, reverse=True)
        asks = sorted(pending.asks)
        pending.last_u = last_id
        pending.bids.clear()
        pending.asks.clear()
        if self.take_gap is not None and self.take_gap(symbol):
            self.events_dropped += 1
            log.info("depth.gap_injected symbol=%s U=%d u=%d", symbol, first_id, last_id)
            return
        self.hub.publish(topic, {
            "e": "depthUpdate",
            "E": now,
            "s": symbol,
            "U": first_id,
            "u": last_id,
            "b": [[fmt8(price), fmt8(tracked.bids.get(price, ZERO))] for price in bids],
            "a": [[fmt8(price), fmt8(tracked.asks.get(price, ZERO))] for price in asks],
        })

    def _flush_partial(self, symbol: str, cadence: int) -> None:
        book = None
        for levels, topic in self._partial_topics[symbol][cadence]:
            if not self.hub.has_subscribers(topic):
                continue
            book = book or self.books[symbol]
            self.hub.publish(topic, {
                "lastUpdateId": book.update_id,
                "bids": [[fmt8(p), fmt8(q)] for p, q in book.levels("BUY", levels)],
                "asks": [[fmt8(p), fmt8(q)] for p, q in book.levels("SELL", levels)],
            })


def _changed(before: dict[Decimal, Decimal], after: dict[Decimal, Decimal]) -> list[Decimal]:
    """Prices whose quantity differs between two level maps (appeared, gone or resized)."""
    changed = [price for price, qty in after.items() if before.get(price) != qty]
    changed.extend(price for price in before if price not in after)
    return changed
