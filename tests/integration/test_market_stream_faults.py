"""Market streams and local books against the real simulator, under its faults, over loopback.

Each test runs the daemon's own pieces (``MarketStreams`` with the REST backfill,
``OrderBooks``) against ``run_simulator`` with a busy synthetic market, injects
one fault, lets the daemon recover, then stops the market and compares what was
delivered with the simulator's own trade tape: every trade id from the first one
received to the last one traded, in order, each exactly once.  Every test runs
over both websocket transports.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import pytest
import trio

from daemon.credentials import Credentials
from daemon.venues.binance import models
from daemon.venues.binance.book_sync import OrderBooks
from daemon.venues.binance.market_history import RestMarketHistory
from daemon.venues.binance.rest import BinanceRest
from daemon.venues.binance.stream_settings import DEFAULT_STALL_TIMEOUTS_S
from daemon.venues.binance.streams import MarketStreams, StreamSettings
from daemon.venues.binance.transport import TRANSPORT_NAMES
from sim import SimConfig, run_simulator
from sim.stream_shutdown import announce_market_shutdown

SYMBOLS = ("BTCUSDT", "ETHUSDT")
pytestmark = pytest.mark.parametrize("transport", TRANSPORT_NAMES)


@dataclass
class Rig:
    handle: object
    rest: BinanceRest
    market: MarketStreams
    books: OrderBooks
    trades: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SYMBOLS})
    kinds: Counter = field(default_factory=Counter)
    unsynced_after_sync: Counter = field(default_factory=Counter)
    was_synced: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(SYMBOLS, False))

    async def consume(self, receive: trio.MemoryReceiveChannel) -> None:
        async for event in receive:
            self.kinds[type(event).__name__] += 1
            if isinstance(event, models.Trade):
                self.trades[event.symbol].append(event.trade_id)

    def watch_books(self, event: object) -> None:
        """``on_event`` of the streams: feed the books, count every book that loses its sync."""
        self.books.apply(event)
        for symbol in SYMBOLS:
            synced = self.books.book(symbol).synced
            if self.was_synced[symbol] and not synced:
                self.unsynced_after_sync[symbol] += 1
            self.was_synced[symbol] = synced

    async def run_for(self, seconds: float) -> None:
        await trio.sleep(seconds)

    async def settle_and_check(self) -> None:
        """Stop the market, wait for the last trade, compare with the tape (exactly once)."""
        exchange = self.handle.exchange
        exchange.pause_market()
        with trio.fail_after(15):
            for symbol in SYMBOLS:
                tape = exchange.tape[symbol].trades()
                while not self.trades[symbol] or self.trades[symbol][-1] < tape[-1].trade_id:
                    await trio.sleep(0.02)
        for symbol in SYMBOLS:
            received = self.trades[symbol]
            tape_ids = [t.trade_id for t in exchange.tape[symbol].trades()]
            expected = [i for i in tape_ids if i >= received[0]]
            assert received == expected, f"{symbol}: {describe(received, expected)}"
            assert len(received) > 50, f"{symbol}: too few trades to mean anything"

    async def books_match_the_exchange(self, symbol: str) -> None:
        """At rest, the local book equals the simulator's book, level for level."""
        book, sim_book = self.books.book(symbol), self.handle.exchange.books[symbol]
        with trio.fail_after(10):
            while not book.synced or book.last_update_id != sim_book.update_id:
                await trio.sleep(0.02)
        bids, asks = book.top(1000)
        assert bids == sim_book.levels("BUY", 1000) and asks == sim_book.levels("SELL", 1000)


def describe(received: list[int], expected: list[int]) -> str:
    missing = sorted(set(expected) - set(received))
    twice = [i for i, n in Counter(received).items() if n > 1]
    return f"missing={missing[:10]} ({len(missing)}) twice={twice[:10]} ({len(twice)})"


async def start_rig(nursery: trio.Nursery, transport: str, *, sim: dict | None = None,
                    streams: dict | None = None) -> Rig:
    sim_config = SimConfig(participant_interval_ms=10, takers_per_step=2,
                           stream_ping_interval_s=1.0, **(sim or {}))
    handle = await nursery.start(run_simulator, sim_config)
    rest = BinanceRest(handle.rest_url, Credentials(handle.api_key, handle.api_secret))
    books = OrderBooks(rest.depth, SYMBOLS, limit=100, backoff_initial_s=0.05, backoff_cap_s=0.5)
    send, receive = trio.open_memory_channel(10_000)
    settings = StreamSettings(**{
        "transport": transport, "backoff_initial_s": 0.05, "backoff_cap_s": 0.5,
        "live_grace_s": 0.3, "drain_timeout_s": 0.5, **(streams or {})})
    rig = Rig(handle, rest, None, books)
    rig.market = MarketStreams(handle.stream_url, send, settings=settings,
                               history=RestMarketHistory(rest), on_event=rig.watch_books)
    rig.market.subscribe([f"{s.lower()}@trade" for s in SYMBOLS] + books.streams())
    nursery.start_soon(rig.consume, receive)
    await nursery.start(books.run)
    await nursery.start(rig.market.run)
    return rig


async def stop_rig(rig: Rig, nursery: trio.Nursery) -> None:
    with trio.CancelScope(shield=True):
        await rig.rest.aclose()
    nursery.cancel_scope.cancel()


async def test_connection_drop_mid_burst(transport: str, nursery) -> None:
    rig = await start_rig(nursery, transport)
    await rig.run_for(0.7)
    for _ in range(2):
        assert rig.handle.faults.drop_connections("market") >= 1
        await rig.run_for(0.8)
    await rig.settle_and_check()
    counters = rig.market.counters
    assert counters.reconnects >= 2 and counters.backfilled > 0
    assert counters.gaps_unrecovered == 0 and not counters.rotations
    await rig.books_match_the_exchange("BTCUSDT")
    await stop_rig(rig, nursery)


async def test_stalled_streams(transport: str, nursery) -> None:
    stall = dict(DEFAULT_STALL_TIMEOUTS_S, trade=0.5, bookTicker=0.5, depth=0.5)
    rig = await start_rig(nursery, transport, streams={"stall_timeouts_s": stall})
    await rig.run_for(0.7)
    rig.handle.faults.stall_streams(2.0, "market")
    await rig.run_for(3.0)
    await rig.settle_and_check()
    counters = rig.market.counters
    assert counters.rotations["stall"] >= 1 and counters.stalls >= 1
    assert counters.backfilled > 0 and counters.gaps_unrecovered == 0
    await rig.books_match_the_exchange("ETHUSDT")
    await stop_rig(rig, nursery)


async def test_rotation_before_the_24_hour_cut(transport: str, nursery) -> None:
    # 24 h of exchange time is 3 s here; we rotate at 20 h (2.5 s), before the cut.
    factor = 86_400 / 3.0
    rig = await start_rig(nursery, transport, sim={"time_factor": factor},
                          streams={"time_factor": factor, "connection_lifetime_s": 20 * 3600})
    await rig.run_for(4.5)
    await rig.settle_and_check()
    counters = rig.market.counters
    assert counters.rotations["lifetime"] >= 1 and set(counters.rotations) == {"lifetime"}
    assert counters.reconnects == counters.rotations["lifetime"]   # never cut by the server
    assert counters.backfilled == 0 and counters.gaps_unrecovered == 0   # the overlap sufficed
    assert counters.duplicates > 0
    await rig.books_match_the_exchange("BTCUSDT")
    await stop_rig(rig, nursery)


async def test_server_shutdown_notice(transport: str, nursery) -> None:
    rig = await start_rig(nursery, transport)
    await rig.run_for(0.7)
    assert await announce_market_shutdown(rig.handle.streams, grace_s=1.0) == 1
    await rig.run_for(0.5)
    await rig.settle_and_check()
    counters = rig.market.counters
    assert counters.rotations == {"shutdown": 1} and counters.reconnects == 1
    assert counters.backfilled == 0 and counters.gaps_unrecovered == 0
    await stop_rig(rig, nursery)


async def test_depth_gap_resyncs_only_that_book(transport: str, nursery, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="daemon.venues.binance.book_sync")
    rig = await start_rig(nursery, transport)
    with trio.fail_after(10):
        while not all(rig.books.book(s).synced for s in SYMBOLS):
            await trio.sleep(0.02)
    await rig.run_for(0.3)
    rig.handle.faults.depth_gap("BTCUSDT")
    with trio.fail_after(10):
        while rig.books.stats.gaps == 0 or not rig.books.book("BTCUSDT").synced:
            await trio.sleep(0.02)
    await rig.run_for(0.5)
    await rig.settle_and_check()
    stats = rig.books.stats
    assert stats.gaps == 1 and stats.resyncs == 3 and stats.mismatches == 0 and stats.checks > 0
    assert rig.unsynced_after_sync == {"BTCUSDT": 1}          # ETHUSDT kept serving
    assert any("book.gap symbol=BTCUSDT" in r.getMessage() for r in caplog.records)
    for symbol in SYMBOLS:
        await rig.books_match_the_exchange(symbol)
    await stop_rig(rig, nursery)
