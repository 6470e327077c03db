"""A strategy the fault tests drive by hand: it keeps its ctx and records what it hears.

Loaded by path (``kind = "scripted_strategy:ScriptedStrategy"``); the test calls
``await strategy.ctx.submit(...)`` and reads ``fills``/``updates``/``rejections``
to check that every fill reached the strategy exactly once.
"""

from __future__ import annotations

import msgspec
import trio

from daemon import hookimpl


class ScriptedParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    symbol: str = "BTCUSDT"


class ScriptedStrategy:
    Params = ScriptedParams

    def __init__(self, name: str, params: ScriptedParams) -> None:
        self.name = name
        self.params = params
        self.ctx = None
        self.started = trio.Event()
        self.fills: list = []        # FillRecord, in delivery order
        self.updates: list = []      # OrderRecord
        self.rejections: list = []

    def subscriptions(self) -> list[str]:
        """Trades feed the gateway's reference price (PERCENT_PRICE, MARKET balance checks)."""
        return [f"{self.params.symbol.lower()}@trade"]

    @hookimpl
    def on_start(self, ctx) -> None:
        self.ctx = ctx
        self.started.set()

    @hookimpl
    def on_fill(self, ctx, fill) -> None:
        self.fills.append(fill)

    @hookimpl
    def on_order_update(self, ctx, order) -> None:
        self.updates.append(order)

    @hookimpl
    def on_order_rejected(self, ctx, rejection) -> None:
        self.rejections.append(rejection)
