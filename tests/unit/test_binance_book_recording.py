"""Replay genuine Binance traffic (cryptofeed's 2021 recording) through the local book.

``BINANCE.ws.1.0``: a combined stream of four symbols' depth@100ms, bookTicker,
kline and aggTrade frames; ``BINANCE.http.0.0``: a REST depth snapshot per
symbol, taken while the stream ran.  Frames and snapshots are replayed in the
order of their receive timestamps, as the daemon would have seen them: events
before a symbol's snapshot are buffered, the snapshot syncs the book, later
events apply.  Every book ticker whose update id lines up with a book state must
then show exactly the book's best levels.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from daemon.venues.binance.book import Outcome
from daemon.venues.binance.book_sync import OrderBooks
from daemon.venues.binance.models import BookTicker, DepthSnapshot, DepthUpdate, decode_combined

RECORDING = (Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "recordings"
             / "cryptofeed-binance-2021")

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not (RECORDING / "BINANCE.ws.1.0").is_file(),
                       reason="../shared/reference/recordings not present"),
]


def timeline() -> list[tuple[float, str, object]]:
    """(receive time, kind, payload) of every frame and snapshot, in receive order."""
    items: list[tuple[float, str, object]] = []
    ws_lines = (RECORDING / "BINANCE.ws.1.0").read_text().splitlines()
    for line in ws_lines[1:]:                      # the first line is the URL
        if not line.strip():
            continue
        stamp, raw = line.split(": ", 1)
        items.append((float(stamp), "frame", decode_combined(raw)))
    for line in (RECORDING / "BINANCE.http.0.0").read_text().splitlines():
        if not line.strip():
            continue
        url, rest = line.split(" -> ", 1)
        stamp, body = rest.split(": ", 1)
        symbol = url.split("symbol=", 1)[1].split("&", 1)[0]
        items.append((float(stamp), "snapshot", (symbol, msgspec.json.decode(body, type=DepthSnapshot))))
    return sorted(items, key=lambda item: item[0])


async def unused_fetch(symbol: str, limit: int) -> DepthSnapshot:
    raise AssertionError("the replay loads the recorded snapshots itself")


def test_the_recorded_depth_stream_builds_books_that_agree_with_every_ticker() -> None:
    items = timeline()
    books = OrderBooks(unused_fetch, ["NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"])
    depth_events: dict[str, list[DepthUpdate]] = {}
    tickers_while_synced: list[BookTicker] = []
    for _, kind, payload in items:
        if kind == "snapshot":
            symbol, snapshot = payload
            assert books.load_snapshot(symbol, snapshot) is Outcome.SYNCED, symbol
            continue
        stream, event = payload
        if isinstance(event, DepthUpdate):
            depth_events.setdefault(event.symbol, []).append(event)
        if isinstance(event, BookTicker) and books.book(event.symbol).synced:
            tickers_while_synced.append(event)
        books.apply(event)

    assert books.stats.gaps == 0 and books.stats.resyncs == 4
    for symbol, events in depth_events.items():
        book = books.book(symbol)
        assert book.synced and book.last_update_id == events[-1].final_update_id, symbol
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is not None and ask is not None and bid[0] < ask[0], symbol
        bids, asks = book.top(1000)
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
        assert all(q > 0 for _, q in bids + asks)
    # A ticker arrives before the 100 ms depth event that covers it; it is compared
    # when the book reaches exactly its id (a depth event ending there).
    book_states = {(e.symbol, e.final_update_id) for events in depth_events.values() for e in events}
    comparable = [t for t in tickers_while_synced if (t.symbol, t.update_id) in book_states]
    assert len(comparable) >= 20
    assert books.stats.checks == len(comparable) and books.stats.mismatches == 0


def test_a_dropped_recorded_event_is_detected_as_a_gap() -> None:
    items = timeline()
    books = OrderBooks(unused_fetch, ["NKNUSDT"])
    dropped = False
    synced_seen = False
    for _, kind, payload in items:
        if kind == "snapshot":
            symbol, snapshot = payload
            if symbol == "NKNUSDT":
                books.load_snapshot(symbol, snapshot)
            continue
        _, event = payload
        book = books.book("NKNUSDT")
        if isinstance(event, DepthUpdate) and event.symbol == "NKNUSDT" and book.synced:
            synced_seen = True
            if not dropped and event.final_update_id > book.last_update_id + 5:
                dropped = True      # lose this one, as a dropped frame would
                continue
        books.apply(event)
    assert synced_seen and dropped
    assert books.stats.gaps == 1 and not books.book("NKNUSDT").synced
