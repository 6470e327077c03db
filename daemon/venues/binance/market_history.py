"""REST backfill of the trades a market stream missed while it was down.

Why: a websocket has no replay.  When a connection dies (or a hand-over could
not prove that the old connection delivered everything), the trades published
in between exist only in the exchange's history.  Trade ids and aggregate-trade
ids are consecutive per symbol, so "everything after the last id we delivered"
is one ``fromId`` query (paged by 1000):

* ``<s>@trade``: ``GET /api/v3/historicalTrades?fromId=`` (MARKET_DATA: the API key
  header); without credentials, ``GET /api/v3/trades`` (the newest 1000, public);
* ``<s>@aggTrade``: ``GET /api/v3/aggTrades?fromId=`` (public).

Other streams need no backfill: book tickers and klines carry state (the next
event replaces the missed ones) and the local order book resyncs on an update-id
gap by itself.

The rows are turned into the stream's own event types (``Trade``, ``AggTrade``)
so that they pass through the same ledger as live events, and a trade seen both
ways is delivered once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from daemon.errors import ConfigError
from daemon.venues.binance import models

if TYPE_CHECKING:
    from daemon.venues.binance.rest import BinanceRest

log = logging.getLogger(__name__)

PAGE = 1000
BACKFILL_KINDS = frozenset({"trade", "aggTrade"})


class MarketHistory(Protocol):
    """Where missed trades come from (``RestMarketHistory``, or a test double)."""

    async def trades_after(self, symbol: str, last_id: int, limit: int = PAGE) -> list[models.Trade]:
        """Trades with id > ``last_id``, oldest first, at most ``limit``."""

    async def agg_trades_after(self, symbol: str, last_id: int,
                               limit: int = PAGE) -> list[models.AggTrade]:
        """Aggregate trades with id > ``last_id``, oldest first, at most ``limit``."""


class RestMarketHistory:
    """``MarketHistory`` over the daemon's REST client (its rate governor counts every call).

    ``historicalTrades`` needs an API key; a client without credentials raises
    ``ConfigError`` once, and from then on the public ``trades`` list (the newest
    1000) is used instead.
    """

    def __init__(self, rest: BinanceRest) -> None:
        self.rest = rest
        self._use_api_key = True

    async def trades_after(self, symbol: str, last_id: int, limit: int = PAGE) -> list[models.Trade]:
        if self._use_api_key:
            try:
                rows = await self.rest.historical_trades(symbol, from_id=last_id + 1, limit=limit)
            except ConfigError:
                self._use_api_key = False  # market data only: no key to send
                log.info("history.no_api_key fallback=/api/v3/trades")
            else:
                return [_trade(symbol, row) for row in rows]
        rows = await self.rest.recent_trades(symbol, limit=PAGE)
        return [_trade(symbol, row) for row in rows if row.id > last_id][:limit]

    async def agg_trades_after(self, symbol: str, last_id: int,
                               limit: int = PAGE) -> list[models.AggTrade]:
        rows = await self.rest.agg_trades(symbol, from_id=last_id + 1, limit=limit)
        return [_agg_trade(symbol, row) for row in rows]


def _trade(symbol: str, row: models.RestPublicTrade) -> models.Trade:
    return models.Trade(event_time=row.time, symbol=symbol, trade_id=row.id, price=row.price,
                        quantity=row.qty, trade_time=row.time, buyer_is_maker=row.is_buyer_maker)


def _agg_trade(symbol: str, row: models.RestAggTrade) -> models.AggTrade:
    return models.AggTrade(event_time=row.trade_time, symbol=symbol,
                           agg_trade_id=row.agg_trade_id, price=row.price, quantity=row.quantity,
                           first_trade_id=row.first_trade_id, last_trade_id=row.last_trade_id,
                           trade_time=row.trade_time, buyer_is_maker=row.buyer_is_maker)


async def fetch_missing(history: MarketHistory, kind: str, symbol: str, last_id: int,
                        until_id: int | None, max_events: int) -> tuple[list[object], bool]:
    """Events after ``last_id`` up to ``until_id`` (the first one the new connection has).

    Returns (events, complete).  ``complete`` is False when ``max_events`` was
    reached first, or when the history started after ``last_id + 1`` (older
    trades no longer kept): the caller logs the hole it cannot fill.
    """
    fetch = history.trades_after if kind == "trade" else history.agg_trades_after
    found: list[object] = []
    cursor = last_id
    while len(found) < max_events:
        want = min(PAGE, max_events - len(found))
        page = await fetch(symbol, cursor, want)
        if not page:
            break
        contiguous = _id(page[0]) == cursor + 1
        for event in page:
            if until_id is not None and _id(event) >= until_id:
                return found, contiguous
            found.append(event)
        if not contiguous:
            return found, False
        cursor = _id(page[-1])
        if len(page) < want:
            break  # the newest trade: nothing more to fetch
    else:
        return found, until_id is not None and cursor >= until_id - 1
    # History ran out: complete unless the new connection's first id lies beyond it.
    return found, until_id is None or cursor >= until_id - 1


def _id(event: object) -> int:
    return event.trade_id if isinstance(event, models.Trade) else event.agg_trade_id
