"""The exactly-once ledger and the REST backfill helper, without sockets."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from daemon.venues.binance import models
from daemon.venues.binance.market_history import fetch_missing
from daemon.venues.binance.stream_ledger import StreamLedger, event_key, stream_kind


def trade(trade_id: int) -> models.Trade:
    return models.Trade(event_time=trade_id, symbol="BTCUSDT", trade_id=trade_id,
                        price=Decimal("1"), quantity=Decimal("1"), trade_time=trade_id,
                        buyer_is_maker=False)


def kline(start: int, last_trade: int, closed: bool) -> models.Kline:
    bar = {"t": start, "T": start + 59_999, "s": "BTCUSDT", "i": "1m", "f": 1, "L": last_trade,
           "o": "1", "c": "1", "h": "1", "l": "1", "v": "1", "n": 1, "x": closed, "q": "1",
           "V": "1", "Q": "1"}
    return msgspec.convert({"e": "kline", "E": 1, "s": "BTCUSDT", "k": bar}, models.Kline)


@pytest.mark.parametrize(("name", "kind"), [
    ("btcusdt@trade", "trade"), ("btcusdt@aggTrade", "aggTrade"),
    ("btcusdt@bookTicker", "bookTicker"), ("!bookTicker", "bookTicker"),
    ("btcusdt@depth", "depth"), ("btcusdt@depth@100ms", "depth"),
    ("btcusdt@depth5", "partialDepth"), ("btcusdt@depth20@100ms", "partialDepth"),
    ("btcusdt@kline_1m", "kline"), ("btcusdt@miniTicker", "miniTicker"),
    ("!ticker@arr", "ticker"), ("!miniTicker@arr", "miniTicker"),
])
def test_stream_kinds(name: str, kind: str) -> None:
    assert stream_kind(name) == kind


def test_duplicates_and_older_events_are_refused_per_stream() -> None:
    ledger = StreamLedger()
    assert [ledger.accept("a@trade", trade(i)) for i in (1, 2, 2, 1, 3)] == [
        True, True, False, False, True]
    assert ledger.accept("b@trade", trade(1))          # another stream, its own sequence
    assert ledger.duplicates == {"a@trade": 2}
    ledger.forget("a@trade")
    assert ledger.accept("a@trade", trade(1)) and ledger.last("a@trade") == 1


def test_a_closing_kline_passes_even_with_the_same_last_trade() -> None:
    ledger = StreamLedger()
    assert ledger.accept("k", kline(0, 10, False))
    assert not ledger.accept("k", kline(0, 10, False))   # a repeat push: nothing new
    assert ledger.accept("k", kline(0, 10, True))        # the close
    assert not ledger.accept("k", kline(0, 10, True))
    assert ledger.accept("k", kline(60_000, 10, False))  # the next bar, no trade yet


def test_keys_of_every_market_event() -> None:
    depth = models.DepthUpdate(event_time=1, symbol="X", first_update_id=5, final_update_id=9,
                               bids=(), asks=())
    ticker = models.BookTicker(update_id=7, symbol="X", bid_price=Decimal(1), bid_qty=Decimal(1),
                               ask_price=Decimal(2), ask_qty=Decimal(1))
    partial = models.PartialDepth(last_update_id=11, bids=(), asks=())
    assert (event_key(depth), event_key(ticker), event_key(partial)) == (9, 7, 11)
    assert event_key(object()) is None


class FakeHistory:
    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.calls: list[tuple[int, int]] = []

    async def trades_after(self, symbol: str, last_id: int, limit: int = 1000) -> list[models.Trade]:
        self.calls.append((last_id, limit))
        return [trade(i) for i in self.ids if i > last_id][:limit]

    agg_trades_after = trades_after


async def test_fetch_missing_pages_until_the_new_connection_takes_over() -> None:
    history = FakeHistory(list(range(1, 2500)))
    events, complete = await fetch_missing(history, "trade", "BTCUSDT", 10, 2400, 5000)
    assert [e.trade_id for e in events] == list(range(11, 2400)) and complete
    assert [call[0] for call in history.calls] == [10, 1010, 2010]


async def test_fetch_missing_reports_what_it_cannot_fill() -> None:
    gone = FakeHistory(list(range(50, 60)))     # history no longer holds 11..49
    events, complete = await fetch_missing(gone, "trade", "BTCUSDT", 10, None, 5000)
    assert [e.trade_id for e in events] == list(range(50, 60)) and not complete
    capped = FakeHistory(list(range(1, 100)))
    events, complete = await fetch_missing(capped, "aggTrade", "BTCUSDT", 0, 90, 20)
    assert len(events) == 20 and not complete
    upto_now = FakeHistory(list(range(1, 30)))
    events, complete = await fetch_missing(upto_now, "trade", "BTCUSDT", 20, None, 5000)
    assert [e.trade_id for e in events] == list(range(21, 30)) and complete
