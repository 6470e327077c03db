"""Diff depth on the book's update-id sequence: snapshot + events == the book, at any moment."""

from __future__ import annotations

import json
import random
from decimal import Decimal

from sim.config import SimConfig
from sim.depth_feed import DepthFeed
from sim.exchange import Exchange
from sim.hub import Collector
from sim.market_feed import MarketFeed


def make(seed: int = 3, **knobs) -> tuple[Exchange, MarketFeed]:
    exchange = Exchange(SimConfig(seed=seed, **knobs), clock=lambda: 1_700_000_000_000)
    return exchange, MarketFeed(exchange)


def apply(book: dict[str, dict[Decimal, Decimal]], event: dict) -> None:
    for side, key in (("bids", "b"), ("asks", "a")):
        for price, qty in event[key]:
            if Decimal(qty) == 0:
                book[side].pop(Decimal(price), None)
            else:
                book[side][Decimal(price)] = Decimal(qty)


def as_book(snapshot: dict) -> dict[str, dict[Decimal, Decimal]]:
    return {side: {Decimal(p): Decimal(q) for p, q in snapshot[side]} for side in ("bids", "asks")}


def test_local_book_procedure_matches_the_book_at_every_flush():
    """The seed's procedure, with the snapshot taken at a random moment between events."""
    rng = random.Random(5)
    for trial in range(8):
        exchange, feed = make(seed=trial)
        events = Collector()
        exchange.hub.subscribe("ethusdt@depth@100ms", events)
        snapshot = None
        snapshot_at = rng.randrange(1, 15)
        for round_ in range(40):
            for _ in range(rng.randrange(0, 3)):
                exchange.step()
            if round_ == snapshot_at:
                snapshot = exchange.depth("ETHUSDT", 5000)
            if rng.random() < 0.5:
                feed.depth.flush(100)
        feed.depth.flush(100)
        assert snapshot is not None
        received = events.payloads("depthUpdate")
        assert received and received[0]["U"] <= snapshot["lastUpdateId"] + 1
        for before, after in zip(received, received[1:], strict=False):
            assert after["U"] == before["u"] + 1  # one contiguous sequence
        local, book_id = as_book(snapshot), snapshot["lastUpdateId"]
        applied = [e for e in received if e["u"] > book_id]
        assert applied[0]["U"] <= book_id + 1 <= applied[0]["u"]
        for event in applied:
            apply(local, event)
        assert applied[-1]["u"] == exchange.books["ETHUSDT"].update_id
        assert local == as_book(exchange.depth("ETHUSDT", 5000)), f"trial {trial}"


def test_book_ticker_and_snapshot_share_the_update_id():
    exchange, feed = make()
    tickers = Collector()
    diffs = Collector()
    exchange.hub.subscribe("btcusdt@bookTicker", tickers)
    exchange.hub.subscribe("btcusdt@depth", diffs)
    feed.depth.flush(1000)  # starts tracking here
    for _ in range(5):
        exchange.step()
    feed.depth.flush(1000)
    (event,) = diffs.payloads()
    book = exchange.books["BTCUSDT"]
    assert tickers.payloads()[-1]["u"] == event["u"] == book.update_id
    assert exchange.depth("BTCUSDT", 5)["lastUpdateId"] == book.update_id
    best_bid = book.best("BUY")
    assert tickers.payloads()[-1]["b"] == f"{best_bid[0]:.8f}"


def test_two_cadences_each_keep_their_own_contiguous_chain():
    exchange, feed = make()
    fast, slow = Collector(), Collector()
    exchange.hub.subscribe("bnbusdt@depth@100ms", fast)
    exchange.hub.subscribe("bnbusdt@depth", slow)
    feed.depth.flush(100)
    feed.depth.flush(1000)
    for n in range(30):
        exchange.step()
        feed.depth.flush(100)
        if n % 10 == 9:
            feed.depth.flush(1000)
    for chain in (fast.payloads(), slow.payloads()):
        assert len(chain) >= 3
        assert all(b["U"] == a["u"] + 1 for a, b in zip(chain, chain[1:], strict=False))
    assert fast.payloads()[-1]["u"] == slow.payloads()[-1]["u"]
    assert len(fast.payloads()) == 30 and len(slow.payloads()) == 3


def test_partial_depth_carries_the_top_levels_and_the_update_id():
    exchange, feed = make()
    five, twenty = Collector(), Collector()
    exchange.hub.subscribe("btcusdt@depth5@100ms", five)
    exchange.hub.subscribe("btcusdt@depth20", twenty)
    exchange.step()
    feed.depth.flush(100)
    assert twenty.events == []  # the 1000 ms stream waits for its own cadence
    feed.depth.flush(1000)
    (top5,) = five.payloads()
    (top20,) = twenty.payloads()
    snapshot = exchange.depth("BTCUSDT", 20)
    assert top5 == {"lastUpdateId": snapshot["lastUpdateId"], "bids": snapshot["bids"][:5],
                    "asks": snapshot["asks"][:5]}
    assert top20 == snapshot  # the book has 10 levels per side: all of them
    assert set(top5) == {"lastUpdateId", "bids", "asks"}


def test_gap_fault_drops_one_event_and_the_next_one_jumps():
    exchange, _ = make()
    gaps = {"ETHUSDT"}

    def take_gap(symbol: str) -> bool:
        if symbol in gaps:
            gaps.discard(symbol)
            return True
        return False

    depth = DepthFeed(exchange.hub, exchange.books, exchange.now_ms, take_gap=take_gap)
    exchange.book_observers.append(depth.sync)
    events = Collector()
    exchange.hub.subscribe("ethusdt@depth@100ms", events)
    depth.flush(100)
    for _ in range(3):
        exchange.step()
        depth.flush(100)
    first, second = events.payloads()
    assert depth.events_dropped == 1
    assert second["U"] == first["u"] + 1
    assert first["U"] > 1  # the dropped event's range is missing before it


def test_unsubscribed_symbols_are_not_tracked_and_a_resubscription_restarts():
    exchange, feed = make()
    events = Collector()
    exchange.hub.subscribe("btcusdt@depth@100ms", events)
    feed.depth.flush(100)
    exchange.step()
    feed.depth.flush(100)
    exchange.hub.unsubscribe("btcusdt@depth@100ms", events)
    feed.depth.flush(100)
    assert "BTCUSDT" not in feed.depth._tracked
    for _ in range(3):
        exchange.step()
    exchange.hub.subscribe("btcusdt@depth@100ms", events)
    feed.depth.flush(100)
    exchange.step()
    feed.depth.flush(100)
    first, second = events.payloads()
    assert second["U"] > first["u"] + 1  # a new chain: the client re-syncs as on a new socket
    assert second["u"] == exchange.books["BTCUSDT"].update_id
    assert json.dumps(second)  # plain JSON types only
