"""daemon.market.MarketCache: last price, best bid/ask, mid, staleness."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from daemon.market import MarketCache
from daemon.venues.binance.models import BookTicker, decode_market


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def trade(price: str, event_time: int, symbol: str = "BTCUSDT"):
    raw = msgspec.json.encode({"e": "trade", "E": event_time, "s": symbol, "t": event_time,
                               "p": price, "q": "0.1", "T": event_time, "m": False})
    return decode_market(f"{symbol.lower()}@trade", raw)


def ticker(bid: str, ask: str, symbol: str = "BTCUSDT") -> BookTicker:
    return BookTicker(update_id=1, symbol=symbol, bid_price=Decimal(bid), bid_qty=Decimal(1),
                      ask_price=Decimal(ask), ask_qty=Decimal(1))


def test_trades_set_the_last_price_and_older_events_do_not_overwrite():
    cache = MarketCache(clock=Clock())
    cache.update(trade("100.5", 2000))
    assert cache.last_price("BTCUSDT") == Decimal("100.5")
    cache.update(trade("99.0", 1000))  # late arrival from another stream
    assert cache.last_price("btcusdt") == Decimal("100.5")
    cache.update(trade("101.25", 3000))
    assert cache.last_price("BTCUSDT") == Decimal("101.25")
    assert cache.last_price("ETHUSDT") is None


def test_kline_close_counts_as_a_price():
    raw = msgspec.json.encode({"e": "kline", "E": 5000, "s": "ETHUSDT", "k": {
        "t": 0, "T": 59999, "s": "ETHUSDT", "i": "1m", "f": 1, "L": 2, "o": "10", "c": "12.5",
        "h": "13", "l": "9", "v": "1", "n": 2, "x": False, "q": "12", "V": "0", "Q": "0"}})
    cache = MarketCache(clock=Clock())
    cache.update(decode_market("ethusdt@kline_1m", raw))
    assert cache.last_price("ETHUSDT") == Decimal("12.5")


def test_book_ticker_bid_ask_and_mid():
    cache = MarketCache(clock=Clock())
    cache.update(ticker("100", "100.2"))
    assert cache.best_bid_ask("BTCUSDT") == (Decimal("100"), Decimal("100.2"))
    assert cache.mid_price("BTCUSDT") == Decimal("100.1")
    assert cache.book_ticker("BTCUSDT").ask_qty == Decimal(1)


def test_empty_or_crossed_sides_give_no_mid():
    cache = MarketCache(clock=Clock())
    cache.update(ticker("0", "100"))
    assert cache.best_bid_ask("BTCUSDT") == (None, Decimal("100"))
    assert cache.mid_price("BTCUSDT") is None
    cache.update(ticker("101", "100"))
    assert cache.mid_price("BTCUSDT") is None


def test_age_uses_the_injected_clock_and_unrelated_events_are_ignored():
    clock = Clock()
    cache = MarketCache(clock=clock)
    assert cache.age("BTCUSDT") is None
    cache.update(ticker("1", "2"))
    clock.now += 2.5
    assert cache.age("BTCUSDT") == 2.5
    cache.update(object())
    assert cache.symbols() == ["BTCUSDT"]
