"""The local order book: the documented sync procedure, resyncs per symbol, the ticker check."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio

from daemon.errors import ExchangeUnavailable, RateLimited
from daemon.venues.binance.book import LocalBook, Outcome
from daemon.venues.binance.book_sync import OrderBooks, snapshot_weight, used_weight_budget
from daemon.venues.binance.models import BookTicker, DepthSnapshot, DepthUpdate

D = Decimal


def depth(first: int, last: int, bids=(), asks=(), symbol: str = "BTCUSDT") -> DepthUpdate:
    return DepthUpdate(event_time=last, symbol=symbol, first_update_id=first, final_update_id=last,
                       bids=tuple((D(p), D(q)) for p, q in bids),
                       asks=tuple((D(p), D(q)) for p, q in asks))


def snapshot(last_id: int, bids=(("99", "1"), ("98", "2")), asks=(("101", "1"), ("102", "3"))):
    return DepthSnapshot(last_update_id=last_id, bids=tuple((D(p), D(q)) for p, q in bids),
                         asks=tuple((D(p), D(q)) for p, q in asks))


def ticker(update_id: int, bid=("99", "1"), ask=("101", "1"), symbol="BTCUSDT") -> BookTicker:
    return BookTicker(update_id=update_id, symbol=symbol, bid_price=D(bid[0]), bid_qty=D(bid[1]),
                      ask_price=D(ask[0]), ask_qty=D(ask[1]))


# ---------------------------------------------------------------------- LocalBook


def test_buffer_snapshot_and_the_first_event_rule() -> None:
    book = LocalBook("btcusdt")
    assert book.apply(depth(8, 9, bids=[("97", "5")])) is Outcome.BUFFERED
    assert book.apply(depth(10, 12, bids=[("99", "4")])) is Outcome.BUFFERED
    assert book.apply(depth(13, 13, asks=[("101", "0")])) is Outcome.BUFFERED
    assert book.best_bid() is None and not book.synced       # nothing to trust yet
    assert book.load_snapshot(snapshot(11)) is Outcome.SYNCED  # 8..9 dropped, 10..12 straddles 12
    assert book.last_update_id == 13
    assert book.best_bid() == (D("99"), D("4")) and book.best_ask() == (D("102"), D("3"))
    assert book.quantity_at("BUY", D("97")) == 0               # the dropped event never applied
    assert book.overlaps == 1                                   # 10..12 re-covered 10..11


def test_a_snapshot_older_than_the_first_buffered_event_is_refused() -> None:
    book = LocalBook("BTCUSDT")
    book.apply(depth(20, 22))
    assert book.load_snapshot(snapshot(18)) is Outcome.TOO_OLD and not book.synced
    assert book.load_snapshot(snapshot(19)) is Outcome.SYNCED   # 19 + 1 == U: nothing lost


def test_continuity_stale_events_and_gaps() -> None:
    book = LocalBook("BTCUSDT")
    book.load_snapshot(snapshot(100))
    assert book.synced and book.apply(depth(101, 103, bids=[("99.5", "2")])) is Outcome.APPLIED
    assert book.apply(depth(95, 103)) is Outcome.STALE
    assert book.apply(depth(104, 104, bids=[("98", "0"), ("50", "0")])) is Outcome.APPLIED
    assert book.top(5) == ([(D("99.5"), D("2")), (D("99"), D("1"))],
                           [(D("101"), D("1")), (D("102"), D("3"))])
    assert book.apply(depth(106, 107)) is Outcome.GAP          # 105 is missing
    assert not book.synced and book.best_bid() is None and book.top(3) == ([], [])
    assert book.first_buffered_id == 106                       # the gap event starts the next sync
    assert book.load_snapshot(snapshot(106)) is Outcome.SYNCED and book.last_update_id == 107


def test_a_gap_inside_the_buffer_is_found_during_the_replay() -> None:
    book = LocalBook("BTCUSDT")
    for first, last in ((10, 11), (12, 12), (14, 15), (16, 16)):
        book.apply(depth(first, last))
    assert book.load_snapshot(snapshot(10)) is Outcome.GAP
    assert not book.synced and book.first_buffered_id == 14 and book.buffered == 2
    assert book.load_snapshot(snapshot(14)) is Outcome.SYNCED and book.last_update_id == 16


def test_the_ticker_check_only_when_ids_line_up() -> None:
    book = LocalBook("BTCUSDT")
    book.load_snapshot(snapshot(5))
    assert book.check_ticker(ticker(5)) is True
    assert book.check_ticker(ticker(5, bid=("99", "2"))) is False
    assert book.check_ticker(ticker(6)) is None
    with pytest.raises(ValueError):
        book.quantity_at("LONG", D(1))


# ---------------------------------------------------------------------- OrderBooks


class FakeDepthApi:
    """Serves scripted snapshots (or errors) per symbol and records the calls."""

    def __init__(self, answers: dict[str, list]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, symbol: str, limit: int) -> DepthSnapshot:
        self.calls.append((symbol, limit))
        answer = self.answers[symbol].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def fast_books(api: FakeDepthApi, symbols, **kwargs) -> OrderBooks:
    return OrderBooks(api, symbols, limit=100, first_event_wait_s=0.2, backoff_initial_s=0.01,
                      backoff_cap_s=0.02, **kwargs)


async def wait_synced(books: OrderBooks, *symbols: str) -> None:
    with trio.fail_after(5):
        while not all(books.book(s).synced for s in symbols):
            await trio.sleep(0.005)


async def test_a_gap_resyncs_only_its_symbol(nursery) -> None:
    api = FakeDepthApi({"BTCUSDT": [snapshot(10), snapshot(30)], "ETHUSDT": [snapshot(50)]})
    books = fast_books(api, ["BTCUSDT", "ethusdt"])
    assert books.streams() == ["btcusdt@depth@100ms", "btcusdt@bookTicker",
                               "ethusdt@depth@100ms", "ethusdt@bookTicker"]
    await nursery.start(books.run)
    books.apply(depth(11, 12, symbol="BTCUSDT"))
    books.apply(depth(51, 51, symbol="ETHUSDT", bids=[("98", "7")]))
    await wait_synced(books, "BTCUSDT", "ETHUSDT")
    books.apply(depth(20, 21, symbol="BTCUSDT"))              # 13..19 missed
    assert not books.book("BTCUSDT").synced and books.stats.gaps == 1
    eth = books.book("ETHUSDT")
    books.apply(depth(52, 52, symbol="ETHUSDT", bids=[("98", "8")]))
    assert eth.synced and eth.quantity_at("BID", D("98")) == D("8")   # keeps serving
    books.apply(depth(22, 31, symbol="BTCUSDT"))
    await wait_synced(books, "BTCUSDT")
    assert books.book("BTCUSDT").last_update_id == 31
    assert [call[0] for call in api.calls] == ["BTCUSDT", "ETHUSDT", "BTCUSDT"]
    assert (books.stats.snapshots, books.stats.resyncs) == (3, 3)


async def test_snapshots_retry_on_too_old_errors_and_a_busy_budget(nursery) -> None:
    api = FakeDepthApi({"BTCUSDT": [
        snapshot(5),                                           # older than the first event
        RateLimited(-1003, "Too many requests", http_status=429, retry_after=0.05),
        ExchangeUnavailable(-1001, "Internal error", http_status=503),
        snapshot(12)]})
    budget_answers = [False, False, True, True, True, True]
    books = fast_books(api, ["BTCUSDT"], rest_budget=lambda weight: budget_answers.pop(0))
    books.apply(depth(10, 12))
    started = trio.current_time()
    await nursery.start(books.run)
    await wait_synced(books, "BTCUSDT")
    assert trio.current_time() - started >= 0.05               # Retry-After was honoured
    stats = books.stats
    assert (stats.budget_waits, stats.too_old, stats.snapshot_failures, stats.snapshots) == (2, 1, 2, 2)
    assert api.calls == [("BTCUSDT", 100)] * 4


async def test_a_ticker_mismatch_resyncs_and_a_match_counts(nursery) -> None:
    api = FakeDepthApi({"BTCUSDT": [snapshot(10), snapshot(20)]})
    books = fast_books(api, ["BTCUSDT"])
    books.apply(depth(11, 11))
    await nursery.start(books.run)
    await wait_synced(books, "BTCUSDT")
    books.apply(ticker(13))                                    # ahead: waits for the book
    books.apply(depth(12, 13))
    assert (books.stats.checks, books.stats.mismatches) == (1, 0)
    books.apply(ticker(13, ask=("100.5", "1")))               # same id, different best ask
    assert books.stats.mismatches == 1 and not books.book("BTCUSDT").synced
    books.apply(depth(14, 21))
    await wait_synced(books, "BTCUSDT")
    books.remove("BTCUSDT")
    books.apply(depth(22, 22))                                 # a removed symbol is ignored
    assert books.book("BTCUSDT") is None


def test_weights_and_the_used_weight_budget() -> None:
    assert [snapshot_weight(n) for n in (5, 100, 101, 500, 1000, 5000, 9999)] == [
        5, 5, 25, 25, 50, 250, 250]
    used = {"now": 2960}
    budget = used_weight_budget(lambda: used["now"], limit_1m=6000)
    assert budget(50) is False and budget(40) is True
    used["now"] = 100
    assert budget(50) is True
    assert used_weight_budget(lambda: None)(250) is True       # nothing reported yet
