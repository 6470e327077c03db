"""The trade tape: bounded history, aggregate trades, klines of every interval, 24h ticker."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sim_trading_helpers import T0, build, limit, maker, order

from sim.klines import INTERVALS_MS, kline_opens, klines, next_open, open_time, ticker_24hr
from sim.tape import SymbolTape

MINUTE = 60_000


def ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


def tape_of(*trades: tuple[int, str, str, bool], capacity: int = 100) -> SymbolTape:
    """(time, price, qty, buyer_is_maker), one taker order per trade."""
    tape = SymbolTape(capacity)
    for n, (time, price, qty, buyer_maker) in enumerate(trades, start=1):
        tape.record(n, D(price), D(qty), time, buyer_is_maker=buyer_maker, taker_order_id=n)
    return tape


def test_keeps_only_the_newest_trades_and_lookups_start_at_the_oldest_kept():
    tape = tape_of(*[(T0 + i, "10", "1", False) for i in range(2000)], capacity=100)
    kept = tape.trades()
    assert len(kept) == 100 and (kept[0].trade_id, kept[-1].trade_id) == (1901, 2000)
    assert [t.trade_id for t in tape.from_id(5, 3)] == [1901, 1902, 1903]
    assert [t.trade_id for t in tape.from_id(1999, 10)] == [1999, 2000]
    assert [t.trade_id for t in tape.recent(2)] == [1999, 2000]
    assert tape.from_id(2001, 5) == []


def test_aggregate_trades_group_one_taker_at_one_price():
    ex = build()
    limit(ex, maker(ex), "SELL", "0.1", "30000.00")
    limit(ex, maker(ex, 2), "SELL", "0.2", "30000.00")
    limit(ex, maker(ex), "SELL", "0.1", "30001.00")
    order(ex, side="BUY", type="MARKET", quantity="0.35")   # 3 trades at 2 prices
    order(ex, side="BUY", type="MARKET", quantity="0.05")   # another taker, same price
    aggs = ex.tape["BTCUSDT"].aggs_recent(10)
    assert [(a.agg_id, a.price, a.qty, a.first_id, a.last_id, a.buyer_is_maker) for a in aggs] == [
        (1, D("30000.00"), D("0.3"), 1, 2, False),
        (2, D("30001.00"), D("0.05"), 3, 3, False),
        (3, D("30001.00"), D("0.05"), 4, 4, False)]
    assert [a.agg_id for a in ex.tape["BTCUSDT"].aggs_from_id(2, 5)] == [2, 3]


def test_aggs_between_oldest_first_with_a_start_newest_first_without():
    tape = tape_of(*[(T0 + i * 1000, "10", "1", True) for i in range(10)])
    assert [a.agg_id for a in tape.aggs_between(T0 + 2000, T0 + 8000, 3)] == [3, 4, 5]
    assert [a.agg_id for a in tape.aggs_between(None, T0 + 8000, 3)] == [7, 8, 9]


@pytest.mark.parametrize(("interval", "instant", "opened"), [
    ("1s", ms(2024, 3, 5, 10, 7, 9) + 999, ms(2024, 3, 5, 10, 7, 9)),
    ("15m", ms(2024, 3, 5, 10, 44, 59), ms(2024, 3, 5, 10, 30)),
    ("4h", ms(2024, 3, 5, 10, 7), ms(2024, 3, 5, 8)),
    ("3d", ms(2024, 3, 5, 10), ms(2024, 3, 3)),          # day 19785 since 1970 = 3 * 6595
    ("1w", ms(2024, 3, 10, 23, 59), ms(2024, 3, 4)),     # weeks start on Monday
    ("1M", ms(2024, 2, 29, 12), ms(2024, 2, 1)),
])
def test_interval_alignment(interval, instant, opened):
    assert open_time(interval, instant) == opened
    assert open_time(interval, next_open(interval, opened)) == next_open(interval, opened)
    assert next_open(interval, opened) > instant


def test_month_steps_follow_the_calendar():
    opened = ms(2023, 12, 1)
    steps = [opened]
    for _ in range(3):
        steps.append(next_open("1M", steps[-1]))
    assert steps == [ms(2023, 12, 1), ms(2024, 1, 1), ms(2024, 2, 1), ms(2024, 3, 1)]
    assert len(INTERVALS_MS) == 16


def test_klines_fill_quiet_intervals_with_the_previous_close():
    start = ms(2024, 1, 1, 0, 0)
    tape = tape_of((start + 1_000, "100", "1", False),      # taker bought
                   (start + 30_000, "105", "2", True),
                   (start + 2 * MINUTE + 5, "99", "1", False))
    rows = klines(tape, "1m", now=start + 2 * MINUTE + 10, start=None, end=None, limit=500)
    assert [row[0] for row in rows] == [start, start + MINUTE, start + 2 * MINUTE]
    first, quiet, last = rows
    assert first == [start, "100.00000000", "105.00000000", "100.00000000", "105.00000000",
                     "3.00000000", start + MINUTE - 1, "310.00000000", 2, "1.00000000",
                     "100.00000000", "0"]
    assert quiet[1:6] == ["105.00000000"] * 4 + ["0.00000000"] and quiet[8] == 0
    assert last[4] == "99.00000000"
    assert klines(tape, "1m", now=start + 3 * MINUTE, start=start + 1, end=None, limit=1)[0][0] \
        == start + MINUTE                                      # the first open at/after start
    assert [r[0] for r in klines(tape, "1m", now=start + 10 * MINUTE, start=None,
                                 end=start + MINUTE, limit=500)] == [start, start + MINUTE]


def test_kline_opens_take_the_newest_without_a_start():
    start = ms(2024, 1, 1)
    opens = kline_opens("1h", first=start, now=start + 10 * 3_600_000, start=None, end=None,
                        limit=3)
    assert opens == [start + h * 3_600_000 for h in (8, 9, 10)]


def test_ticker_24hr_over_the_rolling_window():
    now = ms(2024, 1, 2, 12)
    tape = tape_of((now - 25 * 3_600_000, "90", "1", True),     # before the window
                   (now - 23 * 3_600_000, "100", "1", True),
                   (now - 3_600_000, "120", "2", False),
                   (now - 1000, "110", "0.5", True))
    body = ticker_24hr("BTCUSDT", tape, now=now,
                       book_top=lambda: ((D("109"), D("1")), (D("111"), D("2"))))
    assert body["prevClosePrice"] == "90.00000000"
    assert (body["openPrice"], body["highPrice"], body["lowPrice"], body["lastPrice"]) == (
        "100.00000000", "120.00000000", "100.00000000", "110.00000000")
    assert (body["priceChange"], body["priceChangePercent"]) == ("10.00000000", "10.000")
    assert (body["volume"], body["quoteVolume"]) == ("3.50000000", "395.00000000")
    assert body["weightedAvgPrice"] == "112.85714285"
    assert (body["firstId"], body["lastId"], body["count"]) == (2, 4, 3)
    assert (body["bidPrice"], body["askQty"], body["openTime"], body["closeTime"]) == (
        "109.00000000", "2.00000000", now - 86_400_000, now)
    empty = ticker_24hr("ETHUSDT", SymbolTape(10), now=now, book_top=lambda: (None, None))
    assert (empty["count"], empty["firstId"], empty["lastPrice"]) == (0, -1, "0.00000000")
