"""A local order book per symbol, kept by the documented diff-depth procedure.

The procedure (the seed's "How to manage a local order book correctly", and
today's wording of it), as ``LocalBook`` applies it:

1. while not synced, buffer the diff events (``<symbol>@depth[@100ms]``);
2. take a REST snapshot (``GET /api/v3/depth``); it is *too old* when its
   ``lastUpdateId`` + 1 is below the ``U`` of the first buffered event (events
   between them are lost): take another one;
3. drop every buffered event with ``u <= lastUpdateId``; the first one kept must
   straddle the snapshot: ``U <= lastUpdateId + 1`` and ``u >= lastUpdateId + 1``;
4. from then on each event continues the previous one: ``U == previous u + 1``.
   An event whose ``u`` is not beyond the book's id is old news (ignored); one
   whose ``U`` jumps past the book's id + 1 means missed updates: the book is
   discarded and the symbol resyncs from step 1, with that event as the first
   buffered one.  (An event that overlaps, ``U <= id < u``, is applied: its
   quantities are absolute, so re-applying the overlap is harmless; today's
   docs only call a *jump* a gap.  Overlaps are counted.)

Quantities are absolute; 0 removes the level, and removing a level the book
does not hold is normal (it lies beyond the snapshot's depth).

Why the book keeps a sorted price list next to the level dict: best bid/ask and
``top(n)`` are read on every strategy decision, updates are a handful of levels
every 100 ms; bisect on a list of a few thousand prices is fast for both.

The cross-check: ``bookTicker`` shares the depth update-id sequence, so when a
ticker's ``u`` equals the book's id, the book's best levels must be exactly the
ticker's (``check_ticker``).  This module is pure: no I/O, no trio; the REST
snapshots and the resync policy live in ``book_sync``.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, insort
from collections import deque
from decimal import Decimal

from daemon.venues.binance.models import BookTicker, DepthSnapshot, DepthUpdate

ZERO = Decimal(0)
PriceLevel = tuple[Decimal, Decimal]


class Outcome(enum.Enum):
    APPLIED = "applied"
    BUFFERED = "buffered"  # not synced: kept for the next snapshot
    STALE = "stale"  # nothing new (u <= the book's id): ignored
    GAP = "gap"  # updates were missed: the book was discarded, resync needed
    SYNCED = "synced"  # a snapshot plus the buffered events make a book
    TOO_OLD = "too_old"  # the snapshot predates the first buffered event: fetch again


class _Side:
    """Price -> quantity, with the prices kept sorted ascending."""

    __slots__ = ("levels", "prices")

    def __init__(self) -> None:
        self.levels: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def set(self, price: Decimal, quantity: Decimal) -> None:
        if quantity == ZERO:
            if self.levels.pop(price, None) is not None:
                del self.prices[bisect_left(self.prices, price)]
        else:
            if price not in self.levels:
                insort(self.prices, price)
            self.levels[price] = quantity

    def clear(self) -> None:
        self.levels.clear()
        self.prices.clear()


class LocalBook:
    """One symbol's book.  ``synced`` says whether its contents may be trusted."""

    def __init__(self, symbol: str, *, max_buffer: int = 2000) -> None:
        self.symbol = symbol.upper()
        self.synced = False
        self.last_update_id: int | None = None
        self.overlaps = 0
        self._bids = _Side()
        self._asks = _Side()
        self._buffer: deque[DepthUpdate] = deque(maxlen=max_buffer)

    # ------------------------------------------------------------------ feeding

    def apply(self, event: DepthUpdate) -> Outcome:
        """Feed one diff event (steps 1 and 4 of the module docstring)."""
        if not self.synced:
            self._buffer.append(event)
            return Outcome.BUFFERED
        book_id = self.last_update_id
        if event.final_update_id <= book_id:
            return Outcome.STALE
        if event.first_update_id > book_id + 1:
            self.reset()
            self._buffer.append(event)
            return Outcome.GAP
        if event.first_update_id != book_id + 1:
            self.overlaps += 1
        self._apply_levels(event)
        return Outcome.APPLIED

    def load_snapshot(self, snapshot: DepthSnapshot) -> Outcome:
        """Steps 2 and 3: build the book from ``snapshot`` and the buffered events."""
        snapshot_id = snapshot.last_update_id
        if self._buffer and snapshot_id + 1 < self._buffer[0].first_update_id:
            return Outcome.TOO_OLD
        while self._buffer and self._buffer[0].final_update_id <= snapshot_id:
            self._buffer.popleft()
        if self._buffer and self._buffer[0].first_update_id > snapshot_id + 1:
            self.reset()  # the buffer itself lost events after the snapshot's id
            return Outcome.GAP
        self._bids.clear()
        self._asks.clear()
        for price, quantity in snapshot.bids:
            self._bids.set(price, quantity)
        for price, quantity in snapshot.asks:
            self._asks.set(price, quantity)
        self.last_update_id = snapshot_id
        self.synced = True
        buffered, self._buffer = list(self._buffer), deque(maxlen=self._buffer.maxlen)
        for event in buffered:
            if self.apply(event) is Outcome.GAP:
                # apply() re-buffered the offending event; keep the rest behind it.
                self._buffer.extend(buffered[buffered.index(event) + 1:])
                return Outcome.GAP
        return Outcome.SYNCED

    def reset(self) -> None:
        """Discard the book (not the buffer): it must be rebuilt from a snapshot."""
        self.synced = False
        self.last_update_id = None
        self._bids.clear()
        self._asks.clear()

    def _apply_levels(self, event: DepthUpdate) -> None:
        bids, asks = self._bids, self._asks
        for price, quantity in event.bids:
            bids.set(price, quantity)
        for price, quantity in event.asks:
            asks.set(price, quantity)
        self.last_update_id = event.final_update_id

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def first_buffered_id(self) -> int | None:
        """``U`` of the oldest buffered event (what a snapshot must reach)."""
        return self._buffer[0].first_update_id if self._buffer else None

    # ------------------------------------------------------------------ reading

    def best_bid(self) -> PriceLevel | None:
        prices = self._bids.prices
        if not self.synced or not prices:
            return None
        return prices[-1], self._bids.levels[prices[-1]]

    def best_ask(self) -> PriceLevel | None:
        prices = self._asks.prices
        if not self.synced or not prices:
            return None
        return prices[0], self._asks.levels[prices[0]]

    def top(self, n: int) -> tuple[list[PriceLevel], list[PriceLevel]]:
        """The best ``n`` levels per side: (bids high to low, asks low to high); empty unless synced."""
        if not self.synced or n <= 0:
            return [], []
        bids, asks = self._bids, self._asks
        return ([(p, bids.levels[p]) for p in reversed(bids.prices[-n:])],
                [(p, asks.levels[p]) for p in asks.prices[:n]])

    def quantity_at(self, side: str, price: Decimal) -> Decimal:
        """Resting quantity at ``price`` on "BUY"/"BID" or "SELL"/"ASK" (0 when none or not synced)."""
        if not self.synced:
            return ZERO
        book_side = self._side(side)
        return book_side.levels.get(price, ZERO)

    def depth(self, side: str) -> int:
        return len(self._side(side).levels)

    def _side(self, side: str) -> _Side:
        key = side.upper()
        if key in ("BUY", "BID", "BIDS"):
            return self._bids
        if key in ("SELL", "ASK", "ASKS"):
            return self._asks
        raise ValueError(f"side must be BUY/BID or SELL/ASK, got {side!r}")

    # ------------------------------------------------------------------ checking

    def check_ticker(self, ticker: BookTicker) -> bool | None:
        """Do the best levels equal ``ticker``'s?  None when the ids do not line up."""
        if not self.synced or ticker.update_id != self.last_update_id:
            return None
        bid = self.best_bid() or (ZERO, ZERO)
        ask = self.best_ask() or (ZERO, ZERO)
        return (bid == (ticker.bid_price, ticker.bid_qty)
                and ask == (ticker.ask_price, ticker.ask_qty))
