"""The latest market view per symbol: last trade price and best bid/ask.

Why a shared cache: strategies, the gateway (reference price for market
orders) and risk checks all ask "what is the price now?".  The daemon updates
this cache with every market event *before* dispatching it, so a strategy
reading ``ctx.mid_price`` inside ``on_book_ticker`` sees the same ticker it was
handed, and one that lags still reads the newest price even when its own
inbox dropped stale events.

It is deliberately tiny: no history, no order book (``venues.binance.book``
keeps that), plain dict lookups on the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from daemon.venues.binance import models


class MarketCache:
    """Last trade price and last ``BookTicker`` per symbol (symbols are upper-case).

    ``clock`` stamps each update for ``age()``; pass ``trio.current_time`` to
    measure staleness on trio's clock (and so under ``autojump_clock`` in tests).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_price: dict[str, Decimal] = {}
        self._price_time_ms: dict[str, int] = {}
        self._tickers: dict[str, models.BookTicker] = {}
        self._updated: dict[str, float] = {}

    # ---------------------------------------------------------------- updates

    def update(self, event: object) -> None:
        """Fold one decoded market event in; event types without a price are ignored."""
        if isinstance(event, models.BookTicker):
            self.update_book_ticker(event)
        elif isinstance(event, (models.Trade, models.AggTrade)):
            self.update_price(event.symbol, event.price, event.event_time)
        elif isinstance(event, models.Kline):
            self.update_price(event.symbol, event.bar.close, event.event_time)
        elif isinstance(event, models.MiniTicker):
            self.update_price(event.symbol, event.close, event.event_time)
        elif isinstance(event, models.Ticker):
            self.update_price(event.symbol, event.last_price, event.event_time)

    def update_price(self, symbol: str, price: Decimal, event_time_ms: int = 0) -> None:
        """Record a traded price; an event older than the one already held is ignored.

        Trades, klines and tickers arrive on different streams, so a kline
        close stamped before the latest trade must not overwrite it.
        """
        symbol = symbol.upper()
        if event_time_ms < self._price_time_ms.get(symbol, 0):
            return
        self._last_price[symbol] = price
        self._price_time_ms[symbol] = event_time_ms
        self._updated[symbol] = self._clock()

    def update_book_ticker(self, ticker: models.BookTicker) -> None:
        symbol = ticker.symbol.upper()
        self._tickers[symbol] = ticker
        self._updated[symbol] = self._clock()

    # ---------------------------------------------------------------- queries

    def last_price(self, symbol: str) -> Decimal | None:
        return self._last_price.get(symbol.upper())

    def book_ticker(self, symbol: str) -> models.BookTicker | None:
        return self._tickers.get(symbol.upper())

    def best_bid_ask(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(bid, ask); a side with no orders (price 0 on the wire) is ``None``."""
        ticker = self._tickers.get(symbol.upper())
        if ticker is None:
            return None, None
        bid = ticker.bid_price if ticker.bid_price > 0 else None
        ask = ticker.ask_price if ticker.ask_price > 0 else None
        return bid, ask

    def mid_price(self, symbol: str) -> Decimal | None:
        """Halfway between best bid and ask; ``None`` unless both sides exist and do not cross."""
        bid, ask = self.best_bid_ask(symbol)
        if bid is None or ask is None or bid > ask:
            return None
        return (bid + ask) / 2

    def age(self, symbol: str) -> float | None:
        """Seconds (on ``clock``) since anything was heard for ``symbol``; ``None`` if never."""
        updated = self._updated.get(symbol.upper())
        return None if updated is None else self._clock() - updated

    def symbols(self) -> list[str]:
        return sorted(self._updated)
