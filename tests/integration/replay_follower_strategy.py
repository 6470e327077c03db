"""A strategy for the replay test: answers every fill of its own with a counter order.

Deterministic (no clock, no randomness): a replay of the same journal must take
exactly the decisions the live run took.  The test drives the first orders
through ``ctx`` by hand; every fill then makes it place a LIMIT on the other
side, ``offset_ticks`` away from the fill price.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import trio

from daemon import OrderRequest, OrderType, Side, TimeInForce, hookimpl


class FollowerParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    symbol: str = "BTCUSDT"
    offset_ticks: int = 500
    tick: Decimal = Decimal("0.01")


class FollowerStrategy:
    Params = FollowerParams

    def __init__(self, name: str, params: FollowerParams) -> None:
        self.name = name
        self.params = params
        self.ctx = None
        self.started = trio.Event()
        self.counter_orders: list[OrderRequest] = []

    def subscriptions(self) -> list[str]:
        return [f"{self.params.symbol.lower()}@trade"]

    @hookimpl
    def on_start(self, ctx) -> None:
        self.ctx = ctx
        self.started.set()

    @hookimpl
    async def on_fill(self, ctx, fill) -> None:
        offset = self.params.tick * self.params.offset_ticks
        side = Side.SELL if fill.side == "BUY" else Side.BUY
        price = fill.price + offset if side is Side.SELL else fill.price - offset
        request = OrderRequest(symbol=fill.symbol, side=side, type=OrderType.LIMIT,
                               quantity=fill.quantity, price=price,
                               time_in_force=TimeInForce.GTC)
        self.counter_orders.append(request)
        await ctx.submit(request)
