"""A small symmetric grid around the mid price: the example strategy.

It keeps ``levels`` BUY orders below and ``levels`` SELL orders above the mid
price, ``spacing_bps`` apart.  When the mid drifts more than ``requote_bps``
from the centre the grid was built on, or after any fill, it cancels its
orders and rebuilds the grid around the new mid.  That exercises the whole
order life cycle (place, rest, partial and full fill, cancel, replace), which
is why it is the strategy `make run` shows.

It is deliberately simple, not a money-maker: it has no inventory skew and no
fee awareness.  Read it as a template for the hooks a strategy implements and
for how it must treat a ``Rejection`` (as a normal answer, not an error).
"""

from __future__ import annotations

import time
from decimal import Decimal

import msgspec

from daemon import (
    BookTicker,
    OrderRequest,
    OrderType,
    Rejection,
    Side,
    StrategyContext,
    TimeInForce,
    hookimpl,
)

_BPS = Decimal("0.0001")


class GridParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The ``[strategies.<name>]`` keys of a grid (see config.example.toml)."""

    symbol: str
    levels: int = 2
    spacing_bps: Decimal = Decimal("4")
    quantity: Decimal = Decimal("0.0005")
    requote_bps: Decimal = Decimal("6")
    min_requote_ms: int = 1000
    cancel_on_stop: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.levels <= 20:
            raise ValueError("levels must be between 1 and 20")
        if self.spacing_bps <= 0 or self.requote_bps <= 0:
            raise ValueError("spacing_bps and requote_bps must be positive")
        if self.quantity <= 0:
            raise ValueError("quantity must be positive")


class GridStrategy:
    """Places, cancels and replaces a ladder of LIMIT orders around the mid."""

    Params = GridParams

    def __init__(self, name: str, params: GridParams) -> None:
        self.name = name
        self.params = params
        self.symbol = params.symbol.upper()
        self._centre: Decimal | None = None
        self._dirty = True
        self._last_requote_ms = float("-inf")
        self.placed = 0
        self.rejected = 0
        self.fills = 0

    def subscriptions(self) -> list[str]:
        lower = self.symbol.lower()
        return [f"{lower}@bookTicker", f"{lower}@trade"]

    # ------------------------------------------------------------------ hooks

    @hookimpl
    async def on_start(self, ctx: StrategyContext) -> None:
        # Orders left by a previous run are ours but built on a stale mid.
        await self._cancel_all(ctx)
        ctx.log.info("grid.start symbol=%s levels=%d spacing_bps=%s qty=%s",
                     self.symbol, self.params.levels, self.params.spacing_bps, self.params.quantity)

    @hookimpl
    async def on_book_ticker(self, ctx: StrategyContext, ticker: BookTicker) -> None:
        if ticker.symbol != self.symbol or ticker.bid_price <= 0 or ticker.ask_price <= 0:
            return
        mid = (ticker.bid_price + ticker.ask_price) / 2
        now_ms = time.monotonic() * 1000
        if not self._needs_requote(mid) or now_ms - self._last_requote_ms < self.params.min_requote_ms:
            return
        self._last_requote_ms = now_ms
        await self._requote(ctx, mid)

    @hookimpl
    def on_fill(self, ctx: StrategyContext, fill) -> None:
        self.fills += 1
        self._dirty = True  # rebuild around the new mid on the next ticker
        ctx.log.info("grid.fill side=%s qty=%s price=%s trade_id=%s",
                     fill.side, fill.quantity, fill.price, fill.trade_id)

    @hookimpl
    def on_order_rejected(self, ctx: StrategyContext, rejection: Rejection) -> None:
        self.rejected += 1

    @hookimpl
    async def on_stop(self, ctx: StrategyContext) -> None:
        if self.params.cancel_on_stop:
            await self._cancel_all(ctx)
        ctx.log.info("grid.stop placed=%d fills=%d rejected=%d", self.placed, self.fills, self.rejected)

    # -------------------------------------------------------------- internals

    def _needs_requote(self, mid: Decimal) -> bool:
        if self._dirty or self._centre is None:
            return True
        drift_bps = abs(mid - self._centre) / self._centre / _BPS
        return drift_bps >= self.params.requote_bps

    async def _requote(self, ctx: StrategyContext, mid: Decimal) -> None:
        await self._cancel_all(ctx)
        self._centre = mid
        self._dirty = False
        step = self.params.spacing_bps * _BPS
        for level in range(1, self.params.levels + 1):
            offset = step * level
            for side, price in ((Side.BUY, mid * (1 - offset)), (Side.SELL, mid * (1 + offset))):
                price = ctx.quantize(self.symbol, price=price, side=side).price
                request = OrderRequest(symbol=self.symbol, side=side, type=OrderType.LIMIT,
                                       time_in_force=TimeInForce.GTC,
                                       quantity=self.params.quantity, price=price)
                result = await ctx.submit(request)
                if result.accepted:
                    self.placed += 1
                else:
                    ctx.log.info("grid.skip side=%s price=%s reason=%s", side.value, price, result)

    async def _cancel_all(self, ctx: StrategyContext) -> None:
        for order in ctx.open_orders(self.symbol):
            await ctx.cancel(order.symbol, order.client_order_id)

