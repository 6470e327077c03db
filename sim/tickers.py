"""24-hour rolling ticker statistics (``@ticker``, ``@miniTicker`` and their ``!..@arr``).

Why minute buckets: the seed's window is "the previous 24hrs", rolling; keeping
every trade of a day costs memory without bound on a busy feed, while 1,440
minute buckets keep the sums exact (they are subtracted as buckets leave the
window) and place the window's edge within one minute, which is all a ticker
published once a second can show.  Times are on the market clock, so with
``time_factor`` 1440 the window is one real minute.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from sim.numbers import fmt8

ZERO = Decimal(0)
WINDOW_MS = 86_400_000
BUCKET_MS = 60_000
_PERCENT = Decimal("0.001")
_ATOM = Decimal("0.00000001")


@dataclass
class _Bucket:
    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote: Decimal
    first_id: int
    last_id: int
    count: int


class RollingTicker:
    """One symbol's window.  ``changed`` says whether anything moved since ``clear_changed``."""

    def __init__(self, symbol: str, *, window_ms: int = WINDOW_MS,
                 bucket_ms: int = BUCKET_MS) -> None:
        self.symbol = symbol
        self.window_ms = window_ms
        self.bucket_ms = bucket_ms
        self.changed = False
        self._buckets: deque[_Bucket] = deque()
        self._volume = ZERO
        self._quote = ZERO
        self._count = 0
        self._before_window = ZERO  # the last price before the window (the seed's "x")
        self._last_price = ZERO
        self._last_qty = ZERO

    def add_trade(self, time: int, trade_id: int, price: Decimal, qty: Decimal) -> None:
        start = time - time % self.bucket_ms
        quote = price * qty
        buckets = self._buckets
        if buckets and buckets[-1].start == start:
            bucket = buckets[-1]
            bucket.high = max(bucket.high, price)
            bucket.low = min(bucket.low, price)
            bucket.close = price
            bucket.volume += qty
            bucket.quote += quote
            bucket.last_id = trade_id
            bucket.count += 1
        else:
            buckets.append(_Bucket(start, price, price, price, price, qty, quote, trade_id,
                                   trade_id, 1))
        self._volume += qty
        self._quote += quote
        self._count += 1
        self._last_price, self._last_qty = price, qty
        self.changed = True

    def expire(self, now: int) -> None:
        """Drop the buckets that ended before the window ``[now - window, now]`` began."""
        horizon = now - self.window_ms
        buckets = self._buckets
        while buckets and buckets[0].start + self.bucket_ms <= horizon:
            gone = buckets.popleft()
            self._volume -= gone.volume
            self._quote -= gone.quote
            self._count -= gone.count
            self._before_window = gone.close
            self.changed = True

    def clear_changed(self) -> None:
        self.changed = False

    def mini(self, now: int) -> dict[str, object]:
        """The ``24hrMiniTicker`` payload (call ``expire(now)`` first)."""
        open_, high, low, close = self._prices()
        return {
            "e": "24hrMiniTicker",
            "E": now,
            "s": self.symbol,
            "c": fmt8(close),
            "o": fmt8(open_),
            "h": fmt8(high),
            "l": fmt8(low),
            "v": fmt8(self._volume),
            "q": fmt8(self._quote),
        }

    def full(self, now: int, bid: tuple[Decimal, Decimal] | None,
             ask: tuple[Decimal, Decimal] | None) -> dict[str, object]:
        """The ``24hrTicker`` payload, with the book's best bid and ask (call ``expire`` first)."""
        open_, high, low, close = self._prices()
        change = close - open_
        percent = (change / open_ * 100).quantize(_PERCENT) if open_ else ZERO.quantize(_PERCENT)
        weighted = (self._quote / self._volume).quantize(_ATOM) if self._volume else ZERO
        bid_price, bid_qty = bid or (ZERO, ZERO)
        ask_price, ask_qty = ask or (ZERO, ZERO)
        buckets = self._buckets
        return {
            "e": "24hrTicker",
            "E": now,
            "s": self.symbol,
            "p": fmt8(change),
            "P": format(percent, "f"),
            "w": fmt8(weighted),
            "x": fmt8(self._before_window),
            "c": fmt8(close),
            "Q": fmt8(self._last_qty if buckets else ZERO),
            "b": fmt8(bid_price),
            "B": fmt8(bid_qty),
            "a": fmt8(ask_price),
            "A": fmt8(ask_qty),
            "o": fmt8(open_),
            "h": fmt8(high),
            "l": fmt8(low),
            "v": fmt8(self._volume),
            "q": fmt8(self._quote),
            "O": now - self.window_ms,
            "C": now,
            "F": buckets[0].first_id if buckets else -1,
            "L": buckets[-1].last_id if buckets else -1,
            "n": self._count,
        }

    def _prices(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        buckets = self._buckets
        if not buckets:  # a quiet day: the last price everywhere, as a flat candle
            return self._last_price, self._last_price, self._last_price, self._last_price
        return (buckets[0].open, max(b.high for b in buckets), min(b.low for b in buckets),
                buckets[-1].close)
