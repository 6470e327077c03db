"""Market-data REST endpoints of the seed: trades, aggregates, klines, average price, tickers.

Why apart from ``sim.rest``: these answer from the trade tape (``sim.tape``,
``sim.klines``) and the books, with the seed's paging rules, and need no
signature (``historicalTrades`` needs an API key: MARKET_DATA security).
``exchangeInfo`` and ``depth`` stay in ``sim.rest``.

Paging rules, from the seed:

* ``trades``/``historicalTrades``: ``limit`` default 500, max 1000; ``fromId``
  gives trades with id >= it, else the most recent;
* ``aggTrades``: ``fromId`` alone; ``startTime`` and ``endTime`` no more than
  one hour apart (-1127), the oldest ``limit`` when ``startTime`` is sent;
  none of them: the most recent;
* ``klines``: every interval (``1s`` is today's addition), ``startTime`` /
  ``endTime`` on the open time, the most recent ``limit`` without ``startTime``;
* tickers: one ``symbol``, a ``symbols`` JSON array, or every symbol.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sim import errors
from sim.auth import authenticate_key, parse_params
from sim.exchange import Exchange
from sim.klines import INTERVALS_MS, klines, ticker_24hr
from sim.numbers import ZERO, fmt8, parse_int
from sim.requests import optional, required
from sim.symbols import SymbolSpec
from sim.tape import AggTrade, PublicTrade

log = logging.getLogger(__name__)

API_KEY_HEADER = "x-mbx-apikey"
MAX_LIMIT = 1000
AGG_WINDOW_MS = 3_600_000


class MarketDataApi:
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def routes(self) -> list[Route]:
        return [
            Route("/api/v3/trades", self.trades, methods=["GET"]),
            Route("/api/v3/historicalTrades", self.historical_trades, methods=["GET"]),
            Route("/api/v3/aggTrades", self.agg_trades, methods=["GET"]),
            Route("/api/v3/klines", self.klines, methods=["GET"]),
            Route("/api/v3/avgPrice", self.avg_price, methods=["GET"]),
            Route("/api/v3/ticker/24hr", self.ticker_24hr, methods=["GET"]),
            Route("/api/v3/ticker/price", self.ticker_price, methods=["GET"]),
            Route("/api/v3/ticker/bookTicker", self.book_ticker, methods=["GET"]),
        ]

    # ------------------------------------------------------------------ trades

    async def trades(self, request: Request) -> Response:
        params = _params(request)
        spec = self.exchange.spec(required(params, "symbol"))
        limit = _limit(params)
        tape = self.exchange.tape[spec.symbol]
        return JSONResponse([_trade(t) for t in tape.recent(limit)])

    async def historical_trades(self, request: Request) -> Response:
        authenticate_key(self.exchange.accounts, request.headers.get(API_KEY_HEADER))
        params = _params(request)
        spec = self.exchange.spec(required(params, "symbol"))
        limit = _limit(params)
        tape = self.exchange.tape[spec.symbol]
        from_id = _opt_int(params, "fromId")
        chosen = tape.recent(limit) if from_id is None else tape.from_id(from_id, limit)
        return JSONResponse([_trade(t) for t in chosen])

    async def agg_trades(self, request: Request) -> Response:
        params = _params(request)
        spec = self.exchange.spec(required(params, "symbol"))
        limit = _limit(params)
        from_id = _opt_int(params, "fromId")
        start, end = _opt_int(params, "startTime"), _opt_int(params, "endTime")
        tape = self.exchange.tape[spec.symbol]
        if from_id is not None:
            if start is not None or end is not None:
                raise errors.bad_combination()
            chosen = tape.aggs_from_id(from_id, limit)
        elif start is not None or end is not None:
            if start is not None and end is not None and end - start > AGG_WINDOW_MS:
                raise errors.lookup_interval_too_big(1)
            chosen = tape.aggs_between(start, end, limit)
        else:
            chosen = tape.aggs_recent(limit)
        return JSONResponse([_agg(a) for a in chosen])

    async def klines(self, request: Request) -> Response:
        params = _params(request)
        spec = self.exchange.spec(required(params, "symbol"))
        interval = required(params, "interval")
        if interval not in INTERVALS_MS:
            raise errors.bad_interval()
        limit = _limit(params)
        start, end = _opt_int(params, "startTime"), _opt_int(params, "endTime")
        clock = self.exchange.market_clock  # the kline streams' clock (sim.market_clock)
        rows = klines(self.exchange.tape[spec.symbol], interval,
                      now=clock.at(self.exchange.now_ms()), start=start, end=end, limit=limit,
                      clock=clock)
        return JSONResponse(rows)

    # ----------------------------------------------------------------- prices

    async def avg_price(self, request: Request) -> Response:
        params = _params(request)
        spec = self.exchange.spec(required(params, "symbol"))
        price = self.exchange.avg_price(spec.symbol)
        # closeTime: the last trade's time, as today's docs say (0 before any trade).
        return JSONResponse({"mins": spec.avg_price_mins, "price": fmt8(price),
                             "closeTime": self.exchange.avg_prices[spec.symbol].last_time})

    async def ticker_24hr(self, request: Request) -> Response:
        return self._per_symbol(request, self._ticker_24hr)

    async def ticker_price(self, request: Request) -> Response:
        return self._per_symbol(request, self._price)

    async def book_ticker(self, request: Request) -> Response:
        return self._per_symbol(request, self._book)

    def _ticker_24hr(self, spec: SymbolSpec) -> dict[str, object]:
        book = self.exchange.books[spec.symbol]
        clock = self.exchange.market_clock  # the @ticker stream's clock (sim.market_clock)
        return ticker_24hr(spec.symbol, self.exchange.tape[spec.symbol],
                           now=clock.at(self.exchange.now_ms()),
                           book_top=lambda: (book.best("BUY"), book.best("SELL")), clock=clock)

    def _price(self, spec: SymbolSpec) -> dict[str, object]:
        last = self.exchange.tape[spec.symbol].last()
        price = last.price if last is not None else self.exchange.last_price(spec.symbol)
        return {"symbol": spec.symbol, "price": fmt8(price)}

    def _book(self, spec: SymbolSpec) -> dict[str, object]:
        book = self.exchange.books[spec.symbol]
        bid, ask = book.best("BUY"), book.best("SELL")
        bid_price, bid_qty = bid or (ZERO, ZERO)
        ask_price, ask_qty = ask or (ZERO, ZERO)
        return {"symbol": spec.symbol, "bidPrice": fmt8(bid_price), "bidQty": fmt8(bid_qty),
                "askPrice": fmt8(ask_price), "askQty": fmt8(ask_qty)}

    def _per_symbol(self, request: Request,
                    one: Callable[[SymbolSpec], dict[str, object]]) -> Response:
        """``symbol`` -> one object; ``symbols`` -> those, in the order given; none -> all."""
        params = _params(request)
        if "symbol" in params and "symbols" in params:
            raise errors.bad_combination()
        if "symbol" in params:
            return JSONResponse(one(self.exchange.spec(required(params, "symbol"))))
        if "symbols" in params:
            specs = [self.exchange.spec(name) for name in json_symbols(params["symbols"])]
        else:
            specs = list(self.exchange.specs.values())
        return JSONResponse([one(spec) for spec in specs])


# ------------------------------------------------------------------- helpers


def _params(request: Request) -> dict[str, str]:
    return parse_params(request.scope.get("query_string", b"").decode("latin-1"), "")


def _opt_int(params: dict[str, str], name: str) -> int | None:
    raw = optional(params, name)
    return None if raw is None else parse_int(name, raw)


def _limit(params: dict[str, str], default: int = 500) -> int:
    limit = _opt_int(params, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.invalid_parameter("limit")
    return limit


def json_symbols(raw: str) -> list[str]:
    """``symbols=["BTCUSDT","BNBBTC"]``; malformed JSON is -1130, a repeated symbol -1101."""
    try:
        names = json.loads(raw)
    except ValueError as exc:
        raise errors.invalid_parameter("symbols") from exc
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise errors.invalid_parameter("symbols")
    if len(set(names)) != len(names):
        raise errors.duplicate_parameter()
    return names


def _trade(trade: PublicTrade) -> dict[str, object]:
    return {"id": trade.trade_id, "price": fmt8(trade.price), "qty": fmt8(trade.qty),
            "quoteQty": fmt8(trade.quote_qty), "time": trade.time,
            "isBuyerMaker": trade.buyer_is_maker, "isBestMatch": True}


def _agg(agg: AggTrade) -> dict[str, object]:
    return {"a": agg.agg_id, "p": fmt8(agg.price), "q": fmt8(agg.qty), "f": agg.first_id,
            "l": agg.last_id, "T": agg.time, "m": agg.buyer_is_maker, "M": True}
