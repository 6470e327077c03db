"""A strategy for the crash test: a fast, varied burst of orders while the market moves.

Why this shape: the crash test needs every kind of order life in flight when the
daemon is killed, many times a second: marketable LIMITs that fill at once (fully
or partly, then rest), resting LIMITs that fill later or get cancelled, MARKET
orders in both directions, IOC orders that expire, and cancels.

It acts only on trades *between the simulator's own participants* (neither
side is one of our orders).  Those stop when the market is paused, so the test
can freeze the account completely (no participant, no strategy) and compare
the database with the exchange.  Loaded by path
(``kind = "crash_burst_strategy:BurstStrategy"`` with this folder on PYTHONPATH).
"""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

import msgspec

from daemon import OrderRequest, OrderType, Rejection, Side, TimeInForce, hookimpl


class BurstParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    symbol: str
    quantity: Decimal = Decimal("0.001")
    max_open: int = 6
    min_interval_ms: int = 100
    tick: Decimal = Decimal("0.01")


_ACTIONS = ("cross_buy", "rest_sell", "market_sell", "ioc_sell", "rest_buy", "market_buy",
            "cross_sell", "cancel")


class BurstStrategy:
    Params = BurstParams

    def __init__(self, name: str, params: BurstParams) -> None:
        self.name = name
        self.params = params
        self.symbol = params.symbol.upper()
        self._ours: set[int] = set()
        self._next = itertools.cycle(_ACTIONS)
        self._last_action = 0.0
        self.submitted = self.rejected = self.fills = 0

    def subscriptions(self) -> list[str]:
        return [f"{self.symbol.lower()}@trade", f"{self.symbol.lower()}@bookTicker"]

    @hookimpl
    async def on_trade(self, ctx, trade) -> None:
        if trade.symbol != self.symbol or trade.buyer_order_id in self._ours \
                or trade.seller_order_id in self._ours:
            return
        now = time.monotonic()
        if (now - self._last_action) * 1000 < self.params.min_interval_ms:
            return
        self._last_action = now
        bid, ask = ctx.best_bid_ask(self.symbol)
        if not bid or not ask:
            return
        mine = ctx.open_orders(self.symbol)
        for order in mine:
            self._ours.add(order.order_id)
        action = next(self._next)
        if action == "cancel" or len(mine) >= self.params.max_open:
            if mine:
                await ctx.cancel(self.symbol, mine[0].client_order_id)
            return
        await self._submit(ctx, self._request(action, bid, ask))

    def _request(self, action: str, bid: Decimal, ask: Decimal) -> OrderRequest:
        qty, tick, sym = self.params.quantity, self.params.tick, self.symbol
        gtc, ioc = TimeInForce.GTC, TimeInForce.IOC
        limit, market = OrderType.LIMIT, OrderType.MARKET
        return {
            "cross_buy": OrderRequest(symbol=sym, side=Side.BUY, type=limit, quantity=qty * 3,
                                      price=ask + tick, time_in_force=gtc),
            "cross_sell": OrderRequest(symbol=sym, side=Side.SELL, type=limit, quantity=qty * 3,
                                       price=bid - tick, time_in_force=gtc),
            "rest_sell": OrderRequest(symbol=sym, side=Side.SELL, type=limit, quantity=qty,
                                      price=ask + 2 * tick, time_in_force=gtc),
            "rest_buy": OrderRequest(symbol=sym, side=Side.BUY, type=limit, quantity=qty,
                                     price=bid - 2 * tick, time_in_force=gtc),
            "market_sell": OrderRequest(symbol=sym, side=Side.SELL, type=market, quantity=qty),
            "market_buy": OrderRequest(symbol=sym, side=Side.BUY, type=market, quantity=qty),
            "ioc_sell": OrderRequest(symbol=sym, side=Side.SELL, type=limit, quantity=qty * 2,
                                     price=bid, time_in_force=ioc),
        }[action]

    async def _submit(self, ctx, request: OrderRequest) -> None:
        result = await ctx.submit(request)
        self.submitted += 1
        order_id = getattr(result, "order_id", None)
        if order_id is not None:
            self._ours.add(order_id)

    @hookimpl
    def on_order_update(self, ctx, order) -> None:
        self._ours.add(order.order_id)

    @hookimpl
    def on_fill(self, ctx, fill) -> None:
        self.fills += 1
        self._ours.add(fill.order_id)

    @hookimpl
    def on_order_rejected(self, ctx, rejection: Rejection) -> None:
        self.rejected += 1
