"""Derived market streams without sockets: names, klines, tickers, aggregate trades."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from sim.bars import Bar, SymbolBars, bar_end, bar_start
from sim.config import SimConfig
from sim.exchange import Exchange
from sim.hub import Collector
from sim.market_clock import MarketClock
from sim.market_feed import MarketFeed
from sim.requests import parse_new_order
from sim.stream_names import KLINE_INTERVALS_MS, parse_stream_name
from sim.tickers import RollingTicker

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z, a Tuesday


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


# ------------------------------------------------------------------- names

@pytest.mark.parametrize(("name", "kind", "extra"), [
    ("btcusdt@trade", "trade", {}),
    ("btcusdt@aggTrade", "aggTrade", {}),
    ("btcusdt@kline_1M", "kline", {"interval": "1M"}),
    ("btcusdt@kline_1s", "kline", {"interval": "1s"}),
    ("btcusdt@miniTicker", "miniTicker", {}),
    ("btcusdt@ticker", "ticker", {}),
    ("btcusdt@bookTicker", "bookTicker", {}),
    ("btcusdt@depth", "depth", {"interval_ms": 1000}),
    ("btcusdt@depth@100ms", "depth", {"interval_ms": 100}),
    ("btcusdt@depth20@100ms", "partialDepth", {"levels": 20, "interval_ms": 100}),
    ("btcusdt@depth5", "partialDepth", {"levels": 5, "interval_ms": 1000}),
    ("!ticker@arr", "!ticker@arr", {}),
    ("!miniTicker@arr", "!miniTicker@arr", {}),
    ("!bookTicker", "!bookTicker", {}),
])
def test_stream_names(name, kind, extra):
    stream = parse_stream_name(name)
    assert stream is not None and stream.kind == kind
    for key, value in extra.items():
        assert getattr(stream, key) == value
    assert stream.symbol == (None if name.startswith("!") else "BTCUSDT")


@pytest.mark.parametrize("name", [
    "btcusdt@kline_2m", "btcusdt@depth7", "btcusdt@depth05", "btcusdt@depth@250ms",
    "BTCUSDT@trade", "btcusdt@trades", "!ticker", "btcusdt", "btcusdt@depth5@1000ms",
])
def test_names_the_simulator_does_not_serve(name):
    assert parse_stream_name(name) is None


# -------------------------------------------------------------------- bars

def test_bar_alignment_is_utc_like_binance():
    t = ms("2024-02-29T13:47:31.250")
    assert bar_start("1s", t) == ms("2024-02-29T13:47:31")
    assert bar_start("15m", t) == ms("2024-02-29T13:45:00")
    assert bar_start("4h", t) == ms("2024-02-29T12:00:00")
    assert bar_start("1d", t) == ms("2024-02-29T00:00:00")
    assert bar_start("1w", t) == ms("2024-02-26T00:00:00")  # Monday
    assert bar_start("1M", t) == ms("2024-02-01T00:00:00")
    assert bar_end("1M", ms("2024-02-01T00:00:00")) == ms("2024-03-01T00:00:00")
    assert bar_end("1M", ms("2024-12-01T00:00:00")) == ms("2025-01-01T00:00:00")
    for interval in KLINE_INTERVALS_MS:
        start = bar_start(interval, t)
        assert start <= t < bar_end(interval, start)


def test_bars_of_every_interval_equal_a_direct_aggregation():
    rng = random.Random(9)
    bars = SymbolBars("BTCUSDT")
    trades = []
    t = T0
    for trade_id in range(1, 400):
        t += rng.choice([5, 50, 700, 4_000, 65_000])
        price = D("100") + D(rng.randrange(-500, 500)) / 100
        qty = D(rng.randrange(1, 1000)) / 1000
        buy = rng.random() < 0.5
        trades.append((t, trade_id, price, qty, buy))
        bars.add_trade(t, trade_id, price, qty, buy)
    for interval in ("1s", "1m", "5m", "1h"):
        start = bar_start(interval, t)
        expected = Bar.empty(start, bar_end(interval, start), D(0))
        for time, trade_id, price, qty, buy in trades:
            if start <= time:
                expected.add_trade(trade_id, price, qty, buy)
        assert bars.current(interval) == expected, interval


def test_a_bar_closes_with_x_true_then_empty_bars_carry_the_close():
    bars = SymbolBars("ETHUSDT")
    start = bar_start("1m", T0)
    bars.add_trade(start + 1_000, 1, D("10"), D("1"), True)
    bars.add_trade(start + 2_000, 2, D("12"), D("2"), False)
    bars.advance(start + 59_999)
    assert bars.take_closed("1m") == []
    bars.advance(start + 3 * 60_000 + 5)
    first, empty1, empty2 = bars.take_closed("1m")
    k = first.payload("ETHUSDT", "1m", True)
    assert (k["t"], k["T"], k["o"], k["h"], k["l"], k["c"], k["n"], k["f"], k["L"], k["x"]) == (
        start, start + 59_999, "10.00000000", "12.00000000", "10.00000000", "12.00000000", 2, 1, 2,
        True)
    assert (k["v"], k["q"], k["V"], k["Q"]) == ("3.00000000", "34.00000000", "1.00000000",
                                               "10.00000000")
    for n, empty in enumerate((empty1, empty2), start=1):
        assert empty.start == start + n * 60_000 and empty.trades == 0
        assert (empty.open, empty.close, empty.first_id, empty.last_id) == (D(12), D(12), -1, -1)
    running = bars.current("1m")
    assert running.start == start + 3 * 60_000 and running.trades == 0


def test_pending_closed_bars_are_bounded():
    bars = SymbolBars("ETHUSDT")
    bars.add_trade(T0, 1, D("1"), D("1"), True)
    bars.advance(T0 + 10_000_000)  # 10,000 one-second bars later
    closed = bars.take_closed("1s")
    assert len(closed) == 100
    assert closed[-1].end == bar_start("1s", T0 + 10_000_000)


# ----------------------------------------------------------------- tickers

def test_rolling_ticker_window_and_fields():
    ticker = RollingTicker("BNBUSDT", window_ms=10 * 60_000, bucket_ms=60_000)
    ticker.add_trade(T0, 7, D("100"), D("1"))
    ticker.add_trade(T0 + 61_000, 8, D("110"), D("2"))
    ticker.add_trade(T0 + 122_000, 9, D("90"), D("1"))
    now = T0 + 125_000
    ticker.expire(now)
    full = ticker.full(now, (D("89.9"), D("3")), (D("90.1"), D("4")))
    assert (full["o"], full["h"], full["l"], full["c"], full["Q"]) == (
        "100.00000000", "110.00000000", "90.00000000", "90.00000000", "1.00000000")
    assert (full["v"], full["q"], full["F"], full["L"], full["n"]) == (
        "4.00000000", "410.00000000", 7, 9, 3)
    assert (full["p"], full["P"], full["w"], full["x"]) == (
        "-10.00000000", "-10.000", "102.50000000", "0.00000000")
    assert (full["b"], full["B"], full["a"], full["A"]) == (
        "89.90000000", "3.00000000", "90.10000000", "4.00000000")
    assert (full["O"], full["C"]) == (now - 600_000, now)
    # Eleven minutes on, the first bucket has left the window: its close becomes "x".
    later = T0 + 11 * 60_000 + 1
    ticker.clear_changed()
    ticker.expire(later)
    assert ticker.changed
    full = ticker.full(later, None, None)
    assert (full["o"], full["x"], full["v"], full["n"], full["F"]) == (
        "110.00000000", "100.00000000", "3.00000000", 2, 8)
    assert full["b"] == "0.00000000"
    mini = ticker.mini(later)
    assert set(mini) == {"e", "E", "s", "c", "o", "h", "l", "v", "q"}
    assert mini["e"] == "24hrMiniTicker" and mini["h"] == "110.00000000"


def test_quiet_ticker_reports_no_trades():
    ticker = RollingTicker("BNBUSDT")
    full = ticker.full(T0, None, None)
    assert (full["F"], full["L"], full["n"], full["P"], full["w"]) == (-1, -1, 0, "0.000",
                                                                       "0.00000000")


# --------------------------------------------------------------- aggTrades

def test_agg_trade_stream_is_the_tape_that_rest_reads():
    exchange = Exchange(SimConfig(seed=5, taker_probability=1.0, takers_per_step=2,
                                  volatility_bps=0), clock=lambda: T0)
    MarketFeed(exchange)
    aggs = Collector()
    exchange.hub.subscribe("ethusdt@aggTrade", aggs)
    best_ask = exchange.depth("ETHUSDT", 1)["asks"][0][0]
    # A user's small order first in line at the best ask: a taker buying through it takes the
    # participant's quote behind it at the same price, two trades in one aggregate.
    exchange.place_order(exchange.default_account, parse_new_order({
        "symbol": "ETHUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.0100", "price": best_ask}))
    for _ in range(15):
        exchange.step()
    streamed = aggs.payloads("aggTrade")
    kept = exchange.tape["ETHUSDT"].aggs_recent(10_000)
    assert [(e["a"], e["f"], e["l"], D(e["q"]), D(e["p"]), e["m"]) for e in streamed] == [
        (a.agg_id, a.first_id, a.last_id, a.qty, a.price, a.buyer_is_maker) for a in kept]
    assert any(e["l"] > e["f"] for e in streamed)  # some taker orders took several makers
    assert set(streamed[0]) == {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}


def test_feed_publishes_agg_trades_that_sum_to_the_trades():
    exchange = Exchange(SimConfig(seed=4, taker_probability=1.0), clock=lambda: T0)
    MarketFeed(exchange)
    trades, aggs = Collector(), Collector()
    exchange.hub.subscribe("btcusdt@trade", trades)
    exchange.hub.subscribe("btcusdt@aggTrade", aggs)
    for _ in range(20):
        exchange.step()
    trade_events, agg_events = trades.payloads("trade"), aggs.payloads("aggTrade")
    assert len(agg_events) >= 10 and len(agg_events) <= len(trade_events)
    assert sum(D(e["q"]) for e in agg_events) == sum(D(e["q"]) for e in trade_events)
    covered = [t for e in agg_events for t in range(e["f"], e["l"] + 1)]
    assert covered == [e["t"] for e in trade_events]  # every trade once, in order
    assert [e["a"] for e in agg_events] == list(range(1, len(agg_events) + 1))


def test_feed_klines_and_tickers_on_the_market_clock():
    wall = [T0]
    exchange = Exchange(SimConfig(seed=4, taker_probability=1.0, time_factor=60),
                        clock=lambda: wall[0])
    feed = MarketFeed(exchange)  # one real second is a market minute
    klines, tickers, arr, trades = Collector(), Collector(), Collector(), Collector()
    exchange.hub.subscribe("btcusdt@kline_1m", klines)
    exchange.hub.subscribe("btcusdt@ticker", tickers)
    exchange.hub.subscribe("!miniTicker@arr", arr)
    exchange.hub.subscribe("btcusdt@trade", trades)
    for _ in range(30):  # 3 real seconds: three market minutes
        wall[0] += 100
        exchange.step()
        if wall[0] % 1000 == 0:
            feed.publish_stats()
    payloads = [p["k"] for p in klines.payloads("kline")]
    closed = [k for k in payloads if k["x"]]
    assert len(closed) >= 2
    assert all(k["T"] - k["t"] == 59_999 for k in payloads)
    assert closed[0]["t"] + 60_000 == closed[1]["t"]
    assert sum(k["n"] for k in closed) + payloads[-1]["n"] == len(trades.payloads())
    assert tickers.payloads("24hrTicker")[-1]["n"] == len(trades.payloads())
    assert feed.clock.at(wall[0]) == T0 + (wall[0] - T0) * 60
    last_arr = arr.events[-1][1]
    assert {m["s"] for m in last_arr} == set(exchange.specs)  # every symbol traded


def test_market_clock():
    clock = MarketClock(1, T0)
    assert clock.at(T0 + 5) == T0 + 5
    fast = MarketClock(3600, T0)
    assert fast.at(T0 + 1000) == T0 + 3_600_000
    assert fast.real_seconds(3_600_000) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        MarketClock(0, T0)


@pytest.mark.parametrize("factor", [1, 7, 60, 0.5, 1440])
def test_wall_at_inverts_the_market_clock_exactly(factor):
    """``wall_at(m)`` is the first wall ms at or past market ms ``m``: the kline views need it."""
    clock = MarketClock(factor, T0)
    for market in range(T0 - 200, T0 + 5_000, 37):
        wall = clock.wall_at(market)
        assert clock.at(wall) >= market > clock.at(wall - 1)


def test_a_feed_cannot_run_on_a_clock_of_its_own():
    exchange = Exchange(SimConfig(seed=4, time_factor=60), clock=lambda: T0)
    assert MarketFeed(exchange).clock is exchange.market_clock
    with pytest.raises(ValueError):
        MarketFeed(exchange, time_factor=1)
