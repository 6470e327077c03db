"""Keeps a ``LocalBook`` per symbol in sync: snapshots over REST, per-symbol resyncs.

Why a separate keeper: the book itself is pure (``book``); deciding *when* to
spend REST weight on a snapshot is policy, and it must never starve the order
path of weight nor earn a ban:

* ``apply(event)`` is synchronous and cheap; the market streams call it for every
  delivered event (``MarketStreams(on_event=books.apply)``).  A depth gap or a
  failed ticker cross-check marks only that symbol for resync; the other books
  keep serving;
* one worker takes the snapshots, one at a time, waiting first for a buffered
  event (so the snapshot can be checked against it) and for room in the REST
  budget: a depth snapshot weighs 5 to 250 by ``limit`` (today's table);
* a refused or failed snapshot is retried after a jittered exponential backoff,
  or after the ``Retry-After`` of a 429/418.

``streams()`` names what must be subscribed for the books: the 100 ms diff depth
and the book ticker of every symbol.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import trio

from daemon.errors import RateLimited, TradingdError
from daemon.venues.binance.book import LocalBook, Outcome
from daemon.venues.binance.models import BookTicker, DepthSnapshot, DepthUpdate
from daemon.venues.binance.stream_settings import Backoff

log = logging.getLogger(__name__)

FetchSnapshot = Callable[[str, int], Awaitable[DepthSnapshot]]
RestBudget = Callable[[int], bool]

#: Book tickers kept per symbol while they wait for the book to reach their update id.
PENDING_TICKERS = 64

#: Today's request weight of ``GET /api/v3/depth`` by limit (ceiling, weight).
_DEPTH_WEIGHTS = ((100, 5), (500, 25), (1000, 50), (5000, 250))


def snapshot_weight(limit: int) -> int:
    for ceiling, weight in _DEPTH_WEIGHTS:
        if limit <= ceiling:
            return weight
    return _DEPTH_WEIGHTS[-1][1]


def used_weight_budget(used_weight: Callable[[], int | None], limit_1m: int = 6000,
                       share: float = 0.5) -> RestBudget:
    """A budget from the REST client's last ``X-MBX-USED-WEIGHT-1M``: snapshots may use
    the weight up to ``share`` of the minute's limit, leaving the rest to orders."""

    def allows(weight: int) -> bool:
        used = used_weight() or 0
        return used + weight <= limit_1m * share

    return allows


@dataclass
class BookStats:
    snapshots: int = 0
    snapshot_failures: int = 0
    budget_waits: int = 0
    too_old: int = 0
    gaps: int = 0
    resyncs: int = 0
    checks: int = 0
    mismatches: int = 0


class OrderBooks:
    """The books of ``symbols``; see the module docstring."""

    def __init__(self, fetch_snapshot: FetchSnapshot, symbols: Iterable[str] = (), *,
                 limit: int = 1000, rest_budget: RestBudget | None = None,
                 first_event_wait_s: float = 2.0, backoff_initial_s: float = 0.5,
                 backoff_cap_s: float = 30.0, max_buffer: int = 2000,
                 rng: Callable[[], float] = random.random) -> None:
        self.fetch_snapshot = fetch_snapshot
        self.limit = limit
        self.rest_budget = rest_budget
        self.first_event_wait_s = first_event_wait_s
        self.stats = BookStats()
        self._max_buffer = max_buffer
        self._new_backoff = lambda: Backoff(backoff_initial_s, backoff_cap_s, rng)
        self._books: dict[str, LocalBook] = {}
        # Tickers ahead of their book, oldest first: a 100 ms depth event lands after the
        # tickers it covers, and only one whose id equals a book state can be compared.
        self._tickers: dict[str, deque[BookTicker]] = {}
        self._pending: dict[str, None] = {}  # symbols waiting for a snapshot, in order
        self._wake = trio.Event()
        for symbol in symbols:
            self.add(symbol)

    # ------------------------------------------------------------------ symbols

    def add(self, symbol: str) -> LocalBook:
        symbol = symbol.upper()
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = LocalBook(symbol, max_buffer=self._max_buffer)
            self._need(symbol)
        return book

    def remove(self, symbol: str) -> None:
        symbol = symbol.upper()
        self._books.pop(symbol, None)
        self._tickers.pop(symbol, None)
        self._pending.pop(symbol, None)

    def book(self, symbol: str) -> LocalBook | None:
        return self._books.get(symbol.upper())

    def symbols(self) -> list[str]:
        return list(self._books)

    def streams(self) -> list[str]:
        """The market streams the books need (subscribe them on ``MarketStreams``)."""
        names: list[str] = []
        for symbol in self._books:
            names += [f"{symbol.lower()}@depth@100ms", f"{symbol.lower()}@bookTicker"]
        return names

    # ------------------------------------------------------------------ events

    def apply(self, event: object) -> None:
        """Feed a delivered market event; anything but depth updates and book tickers is ignored."""
        kind = type(event)
        if kind is DepthUpdate:
            book = self._books.get(event.symbol)
            if book is None:
                return
            outcome = book.apply(event)
            if outcome is Outcome.GAP:
                self.stats.gaps += 1
                log.warning("book.gap symbol=%s U=%d u=%d action=resync",
                            event.symbol, event.first_update_id, event.final_update_id)
                self._need(event.symbol)
            elif outcome is Outcome.APPLIED:
                self._check_pending_ticker(book)
        elif kind is BookTicker:
            book = self._books.get(event.symbol)
            if book is not None and book.synced:
                if event.update_id > book.last_update_id:
                    waiting = self._tickers.get(event.symbol)
                    if waiting is None:
                        waiting = self._tickers[event.symbol] = deque(maxlen=PENDING_TICKERS)
                    waiting.append(event)  # compared once the book gets there
                else:
                    self._check(book, event)

    def _check_pending_ticker(self, book: LocalBook) -> None:
        waiting = self._tickers.get(book.symbol)
        book_id = book.last_update_id
        while waiting and waiting[0].update_id <= book_id:
            ticker = waiting.popleft()
            if ticker.update_id == book_id:
                self._check(book, ticker)
                if not book.synced:
                    waiting.clear()

    def _check(self, book: LocalBook, ticker: BookTicker) -> None:
        matches = book.check_ticker(ticker)
        if matches is None:
            return
        self.stats.checks += 1
        if not matches:
            self.stats.mismatches += 1
            log.warning("book.ticker_mismatch symbol=%s update_id=%d book_bid=%s book_ask=%s "
                        "ticker_bid=%s ticker_ask=%s action=resync", book.symbol, ticker.update_id,
                        book.best_bid(), book.best_ask(), (ticker.bid_price, ticker.bid_qty),
                        (ticker.ask_price, ticker.ask_qty))
            book.reset()
            self._need(book.symbol)

    def _need(self, symbol: str) -> None:
        if symbol not in self._pending:
            self._pending[symbol] = None
            self._wake.set()

    # ------------------------------------------------------------------ snapshots

    def load_snapshot(self, symbol: str, snapshot: DepthSnapshot) -> Outcome:
        """Build ``symbol``'s book from ``snapshot`` and its buffered events (also for replays)."""
        book = self._books[symbol.upper()]
        outcome = book.load_snapshot(snapshot)
        if outcome is Outcome.SYNCED:
            self._pending.pop(book.symbol, None)
            self.stats.resyncs += 1
            log.info("book.synced symbol=%s last_update_id=%d bids=%d asks=%d",
                     book.symbol, book.last_update_id, book.depth("BID"), book.depth("ASK"))
        elif outcome is Outcome.TOO_OLD:
            self.stats.too_old += 1
        else:
            self.stats.gaps += 1
        return outcome

    async def run(self, *, task_status: trio.TaskStatus[OrderBooks] = trio.TASK_STATUS_IGNORED,
                  ) -> None:
        """Take snapshots for the symbols that need one, until cancelled."""
        task_status.started(self)
        while True:
            if not self._pending:
                self._wake = trio.Event()
                await self._wake.wait()
                continue
            symbol = next(iter(self._pending))
            await self._sync(symbol)

    async def _sync(self, symbol: str) -> None:
        """Snapshot ``symbol`` until its book is synced (or it was removed)."""
        backoff = self._new_backoff()
        while symbol in self._pending:
            book = self._books.get(symbol)
            if book is None:
                break
            if book.buffered == 0:
                with trio.move_on_after(self.first_event_wait_s):
                    while book.buffered == 0 and self._books.get(symbol) is book:
                        await trio.sleep(0.01)
            weight = snapshot_weight(self.limit)
            if self.rest_budget is not None and not self.rest_budget(weight):
                self.stats.budget_waits += 1
                delay = backoff.next_delay()
                log.info("book.snapshot_deferred symbol=%s weight=%d retry_in_s=%.2f",
                         symbol, weight, delay)
                await trio.sleep(delay)
                continue
            try:
                snapshot = await self.fetch_snapshot(symbol, self.limit)
            except RateLimited as exc:
                self.stats.snapshot_failures += 1
                delay = max(exc.retry_after or 0.0, backoff.next_delay())
                log.warning("book.snapshot_rate_limited symbol=%s status=%s retry_in_s=%.2f",
                            symbol, exc.http_status, delay)
                await trio.sleep(delay)
                continue
            except TradingdError as exc:
                self.stats.snapshot_failures += 1
                delay = backoff.next_delay()
                log.warning("book.snapshot_failed symbol=%s error=%r retry_in_s=%.2f",
                            symbol, exc, delay)
                await trio.sleep(delay)
                continue
            self.stats.snapshots += 1
            if self._books.get(symbol) is not book:
                break  # removed (or replaced) while the snapshot was on its way
            outcome = self.load_snapshot(symbol, snapshot)
            if outcome is Outcome.SYNCED:
                return
            delay = backoff.next_delay()
            log.info("book.snapshot_unusable symbol=%s outcome=%s snapshot_id=%d first_U=%s "
                     "retry_in_s=%.2f", symbol, outcome.value, snapshot.last_update_id,
                     book.first_buffered_id, delay)
            await trio.sleep(delay)
        self._pending.pop(symbol, None)
