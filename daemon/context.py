"""What a strategy can see and do: its ``StrategyContext`` (the ``ctx`` of every hook).

Why a context object instead of handing strategies the gateway and the store:
a strategy must only ever act *as itself*.  The context stamps its name on
every order and cancel (so fills route back to it), shows it only its own
open orders, and keeps the daemon's internals behind a small, stable surface
that third-party strategies can rely on.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Protocol

import msgspec

from daemon import filters
from daemon.errors import TradingdError
from daemon.market import MarketCache
from daemon.orders import Accepted, ListAccepted, OcoRequest, OrderRequest, Rejection, Side
from daemon.venues.binance.models import SymbolInfo


class OrderGateway(Protocol):
    """The part of ``daemon.gateway.Gateway`` a context uses."""

    async def submit(self, request: OrderRequest, *, strategy: str) -> Accepted | Rejection: ...

    # Also used when the gateway offers them: submit(..., adjust=True), submit_oco,
    # symbol_rules(symbol) and in_flight_count(strategy) (daemon.gateway.Gateway has all).

    async def cancel(self, symbol: str, client_order_id: str, *, strategy: str) -> bool: ...

    def symbol_info(self, symbol: str) -> SymbolInfo | None: ...


class Quantized(msgspec.Struct, frozen=True, kw_only=True):
    """A price and/or quantity moved onto the symbol's grid (``None`` where not asked)."""

    price: Decimal | None = None
    quantity: Decimal | None = None


class StrategyContext:
    """One strategy's window onto the daemon; built by the daemon, one per strategy."""

    def __init__(self, name: str, *, gateway: OrderGateway, store: Any, market: MarketCache,
                 params: Any, dispatcher: Any = None, logger: logging.Logger | None = None,
                 tracker: Any = None, books: Any = None, streams: Any = None) -> None:
        self.name = name
        self.params = params
        self.log = logger if logger is not None else logging.getLogger(f"tradingd.strategy.{name}")
        self._gateway = gateway
        self._store = store
        self._market = market
        self._dispatcher = dispatcher
        self._plugin_name = f"strategy:{name}"
        self._tracker = tracker  # daemon.tracking.EventTracker, or None
        self._books = books  # venues.binance.book.OrderBooks, or None when no book is kept
        self._streams = streams  # venues.binance.streams.MarketStreams, or None

    def __repr__(self) -> str:
        return f"StrategyContext({self.name!r})"

    # ------------------------------------------------------------------ orders

    async def submit(self, request: OrderRequest, *, adjust: bool = False) -> Accepted | Rejection:
        """Send an order as this strategy.  A refusal is returned, and also delivered
        to this strategy's ``on_order_rejected`` so refusal handling can live in one place.

        ``adjust=True`` lets the gateway move price, stopPrice and quantities onto
        the symbol's grids first (never more aggressive, never larger);
        ``Accepted.adjustments`` says what changed.
        """
        if adjust:
            result = await self._gateway.submit(request, strategy=self.name, adjust=True)
        else:
            result = await self._gateway.submit(request, strategy=self.name)
        self._route_rejection(result)
        self._track(request.symbol, result)
        return result

    def _track(self, symbol: str, result: Any) -> None:
        if self._tracker is None:
            return
        if result.accepted:
            self._tracker("order.accepted", {"strategy": self.name, "symbol": symbol,
                                             "client_order_id": getattr(result, "client_order_id", None)
                                             or getattr(result, "list_client_order_id", ""),
                                             "status": getattr(result, "status", "")})
        else:
            self._tracker("order.rejected", {"strategy": self.name, "symbol": symbol,
                                             "code": result.code.value, "reason": result.reason})

    async def submit_oco(self, request: OcoRequest) -> ListAccepted | Rejection:
        """Send an OCO pair as this strategy (see ``daemon.orders.OcoRequest``)."""
        result = await self._gateway.submit_oco(request, strategy=self.name)
        self._route_rejection(result)
        self._track(request.symbol, result)
        return result

    def _route_rejection(self, result: object) -> None:
        if isinstance(result, Rejection) and self._dispatcher is not None:
            self._dispatcher.publish_to(self._plugin_name, "on_order_rejected", rejection=result)

    async def cancel(self, symbol: str, client_order_id: str) -> bool:
        """Cancel one of this strategy's orders; False when the exchange no longer knows it."""
        return await self._gateway.cancel(symbol, client_order_id, strategy=self.name)

    def open_orders(self, symbol: str | None = None) -> list:
        """This strategy's open orders (``state.OrderRecord``), as the store knows them."""
        wanted = None if symbol is None else symbol.upper()
        return [order for order in self._store.orders(symbol=wanted, open_only=True)
                if order.strategy == self.name]

    def in_flight_count(self) -> int:
        """This strategy's orders sent but not yet answered (not yet among ``open_orders``)."""
        counter = getattr(self._gateway, "in_flight_count", None)
        return counter(self.name) if counter is not None else 0

    def fills(self, symbol: str | None = None, since_ms: int | None = None) -> list:
        """This strategy's fills (``state.FillRecord``), optionally since an exchange time."""
        wanted = None if symbol is None else symbol.upper()
        return [fill for fill in self._store.fills(symbol=wanted, since_ms=since_ms)
                if fill.strategy == self.name]

    # ----------------------------------------------------------------- account

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Account balances: asset -> (free, locked).  Shared by every strategy of the account."""
        return self._store.balances()

    # ------------------------------------------------------------------ market

    def best_bid_ask(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        return self._market.best_bid_ask(symbol)

    def last_price(self, symbol: str) -> Decimal | None:
        return self._market.last_price(symbol)

    def mid_price(self, symbol: str) -> Decimal | None:
        return self._market.mid_price(symbol)

    def market_age(self, symbol: str) -> float | None:
        """Seconds since any market data for ``symbol`` arrived; None if never (risk: stale data)."""
        return self._market.age(symbol)

    def book(self, symbol: str):
        """The local order book of ``symbol`` (``None`` if the daemon keeps none for it).

        Check ``book.synced`` before trusting it: after a gap it is resyncing.
        """
        return self._books.book(symbol.upper()) if self._books is not None else None

    def subscribe(self, *streams: str) -> None:
        """Start receiving more market streams (``"ethusdt@trade"``) while running."""
        if self._streams is None:
            raise RuntimeError("this context has no live market streams")
        self._streams.subscribe(list(streams))

    def unsubscribe(self, *streams: str) -> None:
        """Stop receiving market streams this strategy no longer needs."""
        if self._streams is None:
            raise RuntimeError("this context has no live market streams")
        self._streams.unsubscribe(list(streams))

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        """The exchange's trading rules for ``symbol`` (filters, precisions, order types)."""
        return self._gateway.symbol_info(symbol.upper())

    def quantize(self, symbol: str, *, price: Decimal | None = None,
                 quantity: Decimal | None = None, side: Side | None = None) -> Quantized:
        """Move a price onto the tick grid and a quantity onto the lot grid.

        Prices round *away* from the market (BUY down, SELL up), so ``side`` is
        required with a price; quantities round down.  For an unknown symbol the
        values come back unchanged: the gateway will refuse the order with a reason.
        """
        if price is not None and side is None:
            raise TradingdError("quantize: a price needs a side (BUY rounds down, SELL up)")
        compiled = getattr(self._gateway, "symbol_rules", None)
        info = compiled(symbol.upper()) if compiled is not None else self.symbol_info(symbol)
        if info is None:
            return Quantized(price=price, quantity=quantity)
        return Quantized(
            price=None if price is None else filters.round_price(info, price, Side(side)),
            quantity=None if quantity is None else filters.floor_quantity(info, quantity),
        )
