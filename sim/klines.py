"""Klines and 24-hour statistics computed from a symbol's kept trades (``sim.tape``).

Why computed on request: the REST endpoints ask for arbitrary ranges of any of
16 intervals; summing the kept trades of the asked range (found by binary
search) is exact and needs no state beyond the tape.

Intervals are UTC-aligned like Binance's: multiples of their length since the
epoch, weeks from Monday 00:00, months from the 1st.  A kline exists for every
interval from the one holding the first kept trade up to the current one; an
interval without trades repeats the previous close as open/high/low/close with
zero volumes and 0 trades, as the exchange shows a quiet minute.

Times are on the market clock (``sim.market_clock``), as the kline streams'
are: ``now``, ``start``/``end`` and the open/close times are market times, and a
trade (wall time ``T``) belongs to the kline holding ``clock.at(T)``.  Without a
clock (or at factor 1) market time is wall time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sim.market_clock import MarketClock
from sim.numbers import down8, fmt8
from sim.tape import PublicTrade, SymbolTape

ZERO = Decimal(0)
_SECOND, _MINUTE, _HOUR, _DAY = 1_000, 60_000, 3_600_000, 86_400_000
# "1s" is today's; the seed lists 1m .. 1M.
INTERVALS_MS: dict[str, int] = {
    "1s": _SECOND, "1m": _MINUTE, "3m": 3 * _MINUTE, "5m": 5 * _MINUTE, "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE, "1h": _HOUR, "2h": 2 * _HOUR, "4h": 4 * _HOUR, "6h": 6 * _HOUR,
    "8h": 8 * _HOUR, "12h": 12 * _HOUR, "1d": _DAY, "3d": 3 * _DAY, "1w": 7 * _DAY,
    "1M": 0,  # calendar months
}
_MONDAY_OFFSET = 4 * _DAY  # 1970-01-01 was a Thursday
WINDOW_24H_MS = _DAY
_WALL = MarketClock(1, 0)  # market time is wall time


def open_time(interval: str, t: int) -> int:
    """Open time of the ``interval`` kline that contains instant ``t`` (ms)."""
    if interval == "1M":
        moment = datetime.fromtimestamp(t / 1000, tz=UTC)
        return _ms(datetime(moment.year, moment.month, 1, tzinfo=UTC))
    length = INTERVALS_MS[interval]
    if interval == "1w":
        return (t - _MONDAY_OFFSET) // length * length + _MONDAY_OFFSET
    return t // length * length


def next_open(interval: str, opened: int) -> int:
    if interval == "1M":
        moment = datetime.fromtimestamp(opened / 1000, tz=UTC)
        year, month = moment.year + moment.month // 12, moment.month % 12 + 1
        return _ms(datetime(year, month, 1, tzinfo=UTC))
    return opened + INTERVALS_MS[interval]


def previous_open(interval: str, opened: int) -> int:
    return open_time(interval, opened - 1)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def kline_opens(interval: str, *, first: int, now: int, start: int | None, end: int | None,
                limit: int) -> list[int]:
    """Open times of the klines to return, oldest first.

    Candidates run from the kline holding ``first`` (the oldest kept trade) to
    the one holding ``now``, with ``start <= open <= end``; the oldest ``limit``
    of them if ``start`` is given, else the newest ``limit``.
    """
    lowest = open_time(interval, first)
    highest = open_time(interval, now)
    if end is not None:
        highest = min(highest, open_time(interval, end))
    opens: list[int] = []
    if start is not None:
        cursor = max(lowest, open_time(interval, start))
        if cursor < start:
            cursor = next_open(interval, cursor)
        while cursor <= highest and len(opens) < limit:
            opens.append(cursor)
            cursor = next_open(interval, cursor)
        return opens
    cursor = highest
    while cursor >= lowest and len(opens) < limit:
        opens.append(cursor)
        cursor = previous_open(interval, cursor)
    opens.reverse()
    return opens


def klines(tape: SymbolTape, interval: str, *, now: int, start: int | None, end: int | None,
           limit: int, clock: MarketClock = _WALL) -> list[list[object]]:
    """The ``GET /api/v3/klines`` rows (the seed's 12 columns); times on ``clock``."""
    kept = tape.trades()
    if not kept:
        return []
    rows: list[list[object]] = []
    for opened in kline_opens(interval, first=clock.at(kept[0].time), now=now, start=start,
                              end=end, limit=limit):
        following = next_open(interval, opened)
        closes = following - 1
        first_wall = clock.wall_at(opened)
        trades = tape.between(first_wall, clock.wall_at(following) - 1)
        if trades:
            rows.append(_row(opened, closes, trades))
            continue
        before = tape.before(first_wall)
        price = before.price if before is not None else kept[0].price
        rows.append([opened, fmt8(price), fmt8(price), fmt8(price), fmt8(price), fmt8(ZERO),
                     closes, fmt8(ZERO), 0, fmt8(ZERO), fmt8(ZERO), "0"])
    return rows


def _row(opened: int, closes: int, trades: list[PublicTrade]) -> list[object]:
    volume = quote = taker_base = taker_quote = ZERO
    high, low = trades[0].price, trades[0].price
    for trade in trades:
        quote_qty = trade.quote_qty
        volume += trade.qty
        quote += quote_qty
        high, low = max(high, trade.price), min(low, trade.price)
        if not trade.buyer_is_maker:  # the taker bought
            taker_base += trade.qty
            taker_quote += quote_qty
    return [opened, fmt8(trades[0].price), fmt8(high), fmt8(low), fmt8(trades[-1].price),
            fmt8(volume), closes, fmt8(quote), len(trades), fmt8(taker_base), fmt8(taker_quote),
            "0"]


def ticker_24hr(symbol: str, tape: SymbolTape, *, now: int,
                book_top: Callable[[], tuple[tuple[Decimal, Decimal] | None,
                                             tuple[Decimal, Decimal] | None]],
                clock: MarketClock = _WALL) -> dict[str, object]:
    """The seed's ``ticker/24hr`` entry over the trades of the last 24 hours (kept ones).

    The window is 24 hours of market time (``now`` and the open/close times are
    market times), as the ``@ticker`` stream's."""
    opened = now - WINDOW_24H_MS
    first_wall = clock.wall_at(opened)
    trades = tape.between(first_wall, clock.wall_at(now + 1) - 1)
    before = tape.before(first_wall)
    bid, ask = book_top()
    bid_price, bid_qty = bid or (ZERO, ZERO)
    ask_price, ask_qty = ask or (ZERO, ZERO)
    body: dict[str, object] = {"symbol": symbol}
    if trades:
        first, last = trades[0], trades[-1]
        volume = sum((t.qty for t in trades), ZERO)
        quote = sum((t.quote_qty for t in trades), ZERO)
        change = last.price - first.price
        percent = (change / first.price * 100).quantize(Decimal("0.001"))
        body.update(
            priceChange=fmt8(change), priceChangePercent=format(percent, "f"),
            weightedAvgPrice=fmt8(down8(quote / volume) if volume else ZERO),
            prevClosePrice=fmt8(before.price if before else ZERO),
            lastPrice=fmt8(last.price), lastQty=fmt8(last.qty),
        )
    else:
        body.update(priceChange=fmt8(ZERO), priceChangePercent="0.000",
                    weightedAvgPrice=fmt8(ZERO),
                    prevClosePrice=fmt8(before.price if before else ZERO),
                    lastPrice=fmt8(before.price if before else ZERO), lastQty=fmt8(ZERO))
    body.update(bidPrice=fmt8(bid_price), bidQty=fmt8(bid_qty), askPrice=fmt8(ask_price),
                askQty=fmt8(ask_qty))
    if trades:
        body.update(
            openPrice=fmt8(trades[0].price), highPrice=fmt8(max(t.price for t in trades)),
            lowPrice=fmt8(min(t.price for t in trades)), volume=fmt8(volume),
            quoteVolume=fmt8(quote), openTime=opened, closeTime=now,
            firstId=trades[0].trade_id, lastId=trades[-1].trade_id, count=len(trades),
        )
    else:
        body.update(openPrice=fmt8(ZERO), highPrice=fmt8(ZERO), lowPrice=fmt8(ZERO),
                    volume=fmt8(ZERO), quoteVolume=fmt8(ZERO), openTime=opened, closeTime=now,
                    firstId=-1, lastId=-1, count=0)
    return body
