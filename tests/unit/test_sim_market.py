"""Synthetic participants: deterministic, liquid on both sides, and they fill user orders."""

from __future__ import annotations

from decimal import Decimal as D

from sim.config import SimConfig
from sim.exchange import Exchange
from sim.hub import Collector, user_topic
from sim.requests import parse_new_order


def exchange(seed: int = 7, **knobs) -> tuple[Exchange, Collector]:
    ex = Exchange(SimConfig(seed=seed, **knobs), clock=lambda: 1_700_000_000_000)
    log = Collector()
    for topic in ("btcusdt@trade", "btcusdt@bookTicker", "ethusdt@trade", "!bookTicker"):
        ex.hub.subscribe(topic, log)
    return ex, log


def test_same_seed_same_market_different_seed_different_market():
    first, first_log = exchange(seed=11)
    second, second_log = exchange(seed=11)
    other, other_log = exchange(seed=12)
    for _ in range(50):
        first.step()
        second.step()
        other.step()
    assert first_log.events == second_log.events
    assert first.depth("ETHUSDT", 20) == second.depth("ETHUSDT", 20)
    assert first_log.events != other_log.events


def test_participants_act_the_same_whatever_the_user_does():
    quiet, _ = exchange()
    busy, _ = exchange()
    account = busy.default_account
    for step in range(40):
        if step % 5 == 0:
            mid = busy.market.mid("BTCUSDT")
            busy.place_order(account, parse_new_order({
                "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                "quantity": "0.001", "price": str((mid - 1).quantize(D("0.01")))}))
        quiet.step()
        busy.step()
        for symbol in quiet.specs:
            assert quiet.market.mid(symbol) == busy.market.mid(symbol)
    assert busy.default_account.trades  # the user's orders did trade in between


def test_book_has_levels_on_both_sides_and_is_never_crossed():
    ex, log = exchange()
    for _ in range(100):
        ex.step()
        for symbol, book in ex.books.items():
            depth = ex.depth(symbol, 50)
            assert len(depth["bids"]) >= 5 and len(depth["asks"]) >= 5, symbol
            assert D(depth["bids"][0][0]) < D(depth["asks"][0][0]), symbol
    tickers = [p for topic, p in log.events if topic == "btcusdt@bookTicker"]
    assert len(tickers) > 50
    update_ids = [t["u"] for t in tickers]
    assert update_ids == sorted(update_ids) and len(set(update_ids)) == len(update_ids)
    last = tickers[-1]
    book = ex.books["BTCUSDT"]
    assert last["u"] == book.update_id
    assert (D(last["b"]), D(last["a"])) == (book.best("BUY")[0], book.best("SELL")[0])
    # bookTicker u is the depth snapshot's update id: one sequence.
    assert ex.depth("BTCUSDT", 5)["lastUpdateId"] == last["u"]


def test_trades_print_on_the_trade_stream_with_increasing_ids():
    ex, log = exchange()
    for _ in range(40):
        ex.step()
    trades = [p for topic, p in log.events if topic == "btcusdt@trade"]
    assert len(trades) >= 10
    assert [t["t"] for t in trades] == list(range(1, len(trades) + 1))
    assert all(t["e"] == "trade" and t["s"] == "BTCUSDT" for t in trades)
    assert {t["m"] for t in trades} == {True, False}  # takers on both sides


def test_resting_user_orders_fill_within_a_few_seconds_of_steps():
    """A grid-like pair of orders a few ticks from mid both trade within 80 steps (20 s)."""
    ex, _ = exchange()
    account = ex.default_account
    user_log = Collector()
    ex.hub.subscribe(user_topic(account.account_id), user_log)
    mid = ex.market.mid("BTCUSDT")
    tick = D("0.01")
    for side, price in (("BUY", mid - 5 * tick), ("SELL", mid + 5 * tick)):
        ex.place_order(account, parse_new_order({
            "symbol": "BTCUSDT", "side": side, "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.002", "price": str(price.quantize(tick))}))
    for _ in range(80):
        ex.step()
        traded = {r["S"] for r in user_log.payloads("executionReport") if r["x"] == "TRADE"}
        if traded == {"BUY", "SELL"}:
            break
    assert traded == {"BUY", "SELL"}
