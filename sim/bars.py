"""Kline bars of every interval, built from the trade stream.

Why one-second base bars: a trade updates one small accumulator (the current
second); when that second is over, it is folded into the running bar of each of
the sixteen intervals.  A busy feed thus pays one update per trade, not sixteen,
and the intervals stay exactly consistent with one another (a 1m bar is the sum
of its 1s bars).

Time is the market clock (``sim.market_clock``): with ``time_factor`` 60 a
``1m`` bar closes every real second, and its ``t``/``T`` are market times.
Intervals are UTC-aligned like Binance's: weeks start on Monday 00:00, months on
the first day, the other intervals on multiples of their length since the epoch.
A bar with no trades carries the previous close as o/h/l/c, zero volumes and
first/last trade id -1.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from sim.numbers import fmt8
from sim.stream_names import KLINE_INTERVALS_MS

ZERO = Decimal(0)
_DAY_MS = 86_400_000
_WEEK_MS = 7 * _DAY_MS
_MONDAY_OFFSET_MS = 4 * _DAY_MS  # 1970-01-01 was a Thursday
# Closed bars waiting to be pushed, per interval: more than this many closed
# between two pushes (a high time factor) and the oldest are not pushed.
MAX_PENDING_CLOSED = 100


def bar_start(interval: str, t_ms: int) -> int:
    """Open time of the ``interval`` bar that contains ``t_ms``."""
    if interval == "1M":
        moment = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
        return int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp() * 1000)
    if interval == "1w":
        return (t_ms - _MONDAY_OFFSET_MS) // _WEEK_MS * _WEEK_MS + _MONDAY_OFFSET_MS
    length = KLINE_INTERVALS_MS[interval]
    return t_ms - t_ms % length


def bar_end(interval: str, start_ms: int) -> int:
    """Open time of the bar after the one opening at ``start_ms``."""
    if interval == "1M":
        moment = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
        year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)
    return start_ms + KLINE_INTERVALS_MS[interval]


@dataclass
class Bar:
    """One candle.  ``end`` is the next bar's open time (the wire's ``T`` is ``end - 1``)."""

    start: int
    end: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = ZERO
    quote_volume: Decimal = ZERO
    taker_buy_volume: Decimal = ZERO
    taker_buy_quote: Decimal = ZERO
    first_id: int = -1
    last_id: int = -1
    trades: int = 0

    @classmethod
    def empty(cls, start: int, end: int, price: Decimal) -> Bar:
        return cls(start, end, price, price, price, price)

    def add_trade(self, trade_id: int, price: Decimal, qty: Decimal, taker_buys: bool) -> None:
        if self.trades == 0:
            self.open = self.high = self.low = price
            self.first_id = trade_id
        elif price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        quote = price * qty
        self.volume += qty
        self.quote_volume += quote
        if taker_buys:
            self.taker_buy_volume += qty
            self.taker_buy_quote += quote
        self.last_id = trade_id
        self.trades += 1

    def merge(self, later: Bar) -> None:
        """Fold a later bar with trades (a base bar) into this one."""
        if later.trades == 0:
            return
        if self.trades == 0:
            self.open, self.high, self.low = later.open, later.high, later.low
            self.first_id = later.first_id
        else:
            self.high = max(self.high, later.high)
            self.low = min(self.low, later.low)
        self.close = later.close
        self.volume += later.volume
        self.quote_volume += later.quote_volume
        self.taker_buy_volume += later.taker_buy_volume
        self.taker_buy_quote += later.taker_buy_quote
        self.last_id = later.last_id
        self.trades += later.trades

    def payload(self, symbol: str, interval: str, closed: bool) -> dict[str, object]:
        """The ``k`` object of a kline event, the seed's fields in its order."""
        return {
            "t": self.start,
            "T": self.end - 1,
            "s": symbol,
            "i": interval,
            "f": self.first_id,
            "L": self.last_id,
            "o": fmt8(self.open),
            "c": fmt8(self.close),
            "h": fmt8(self.high),
            "l": fmt8(self.low),
            "v": fmt8(self.volume),
            "n": self.trades,
            "x": closed,
            "q": fmt8(self.quote_volume),
            "V": fmt8(self.taker_buy_volume),
            "Q": fmt8(self.taker_buy_quote),
            "B": "0",
        }


class _Series:
    """The running bar of one interval and the closed bars not yet pushed."""

    def __init__(self, interval: str) -> None:
        self.interval = interval
        self.current: Bar | None = None
        self.closed: deque[Bar] = deque(maxlen=MAX_PENDING_CLOSED)

    def advance(self, now: int) -> None:
        """Close the running bar (and empty ones after it) once ``now`` is past them."""
        current = self.current
        if current is None or now < current.end:
            return
        self.closed.append(current)
        start = bar_start(self.interval, now)
        skipped = bar_start(self.interval, current.end)
        if self.interval != "1M":  # only the last MAX_PENDING_CLOSED can be pushed anyway
            skipped = max(skipped, start - KLINE_INTERVALS_MS[self.interval] * MAX_PENDING_CLOSED)
        while skipped < start:  # the empty bars in between
            end = bar_end(self.interval, skipped)
            self.closed.append(Bar.empty(skipped, end, current.close))
            skipped = end
        self.current = Bar.empty(start, bar_end(self.interval, start), current.close)

    def fold(self, base: Bar) -> None:
        self.advance(base.start)
        if self.current is None:
            start = bar_start(self.interval, base.start)
            self.current = Bar.empty(start, bar_end(self.interval, start), base.open)
        self.current.merge(base)


class SymbolBars:
    """All kline intervals of one symbol."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.base: Bar | None = None
        self.series = {interval: _Series(interval) for interval in KLINE_INTERVALS_MS}

    def add_trade(self, time: int, trade_id: int, price: Decimal, qty: Decimal,
                  taker_buys: bool) -> None:
        base = self.base
        if base is None or time >= base.end or time < base.start:
            self._roll(time)
            start = time - time % 1000
            base = self.base = Bar.empty(start, start + 1000, price)
        base.add_trade(trade_id, price, qty, taker_buys)

    def advance(self, now: int) -> None:
        """Fold a finished base second and close the bars ``now`` is past."""
        self._roll(now)
        for series in self.series.values():
            series.advance(now)

    def take_closed(self, interval: str) -> list[Bar]:
        series = self.series[interval]
        closed = list(series.closed)
        series.closed.clear()
        return closed

    def current(self, interval: str) -> Bar | None:
        """The running bar as of now, including the current base second."""
        running = self.series[interval].current
        base = self.base
        if base is None or base.trades == 0:
            return running
        if running is None or base.start >= running.end:
            start = bar_start(interval, base.start)
            view = Bar.empty(start, bar_end(interval, start), base.open)
        else:
            view = replace(running)
        view.merge(base)
        return view

    def _roll(self, now: int) -> None:
        base = self.base
        if base is not None and (now >= base.end or now < base.start):
            self.base = None
            for series in self.series.values():
                series.fold(base)
