"""StrategyContext's order-path additions: submit(adjust=True), submit_oco, fills, market_age,
in_flight_count, and quantize through the gateway's compiled rules."""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

from daemon.context import StrategyContext
from daemon.filters import compile_rules
from daemon.market import MarketCache
from daemon.orders import (
    Accepted,
    ListAccepted,
    OcoRequest,
    OrderRequest,
    OrderType,
    RejectCode,
    Rejection,
    Side,
    TimeInForce,
)
from daemon.venues.binance.models import SymbolInfo

BTC = SymbolInfo(symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT", filters=(
    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
))
REQUEST = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
                       quantity=D("0.001"), price=D("100"))
OCO = OcoRequest(symbol="BTCUSDT", side=Side.SELL, quantity=D("1"), price=D("110"), stop_price=D("90"))


class Gateway:
    def __init__(self, result):
        self.result = result
        self.calls = []
        self.rules_asked = []

    async def submit(self, request, *, strategy, adjust=False):
        self.calls.append(("submit", request, strategy, adjust))
        return self.result

    async def submit_oco(self, request, *, strategy):
        self.calls.append(("submit_oco", request, strategy))
        return self.result

    def symbol_info(self, symbol):
        return BTC if symbol == "BTCUSDT" else None

    def symbol_rules(self, symbol):
        self.rules_asked.append(symbol)
        return compile_rules(BTC) if symbol == "BTCUSDT" else None

    def in_flight_count(self, strategy):
        return {"grid": 3}.get(strategy, 0)


class Dispatcher:
    def __init__(self):
        self.routed = []

    def publish_to(self, plugin, hook, **kwargs):
        self.routed.append((plugin, hook, kwargs))
        return True


class Store:
    def __init__(self, fills=()):
        self._fills = list(fills)
        self.queries = []

    def fills(self, symbol=None, since_ms=None, limit=None):
        self.queries.append((symbol, since_ms))
        return list(self._fills)


def make(result=None, fills=(), market=None):
    gateway, dispatcher, store = Gateway(result), Dispatcher(), Store(fills)
    ctx = StrategyContext("grid", gateway=gateway, store=store, market=market or MarketCache(),
                          params=None, dispatcher=dispatcher)
    return ctx, gateway, dispatcher, store


async def test_submit_passes_adjust_only_when_asked():
    accepted = Accepted(symbol="BTCUSDT", client_order_id="g-1", order_id=1, status="NEW",
                        adjustments={"price": "100.004 -> 100"})
    ctx, gateway, dispatcher, _ = make(accepted)
    assert await ctx.submit(REQUEST, adjust=True) is accepted
    assert await ctx.submit(REQUEST) is accepted
    assert gateway.calls == [("submit", REQUEST, "grid", True), ("submit", REQUEST, "grid", False)]
    assert dispatcher.routed == []


async def test_submit_oco_routes_a_refusal_to_this_strategy():
    refused = Rejection(code=RejectCode.OCO_PRICES, reason="OCO_PRICES: no", symbol="BTCUSDT")
    ctx, gateway, dispatcher, _ = make(refused)
    assert await ctx.submit_oco(OCO) is refused
    assert gateway.calls == [("submit_oco", OCO, "grid")]
    assert dispatcher.routed == [("strategy:grid", "on_order_rejected", {"rejection": refused})]
    listed = ListAccepted(symbol="BTCUSDT", list_client_order_id="L", order_list_id=1,
                          list_order_status="EXECUTING", legs=())
    ctx, _, dispatcher, _ = make(listed)
    assert await ctx.submit_oco(OCO) is listed and dispatcher.routed == []


def test_fills_are_this_strategys_and_market_age_and_in_flight_are_read_through():
    mine = SimpleNamespace(strategy="grid", quote_qty=D("1"))
    ctx, _, _, store = make(fills=[mine, SimpleNamespace(strategy="other", quote_qty=D("2"))])
    assert ctx.fills("btcusdt", since_ms=5) == [mine]
    assert store.queries == [("BTCUSDT", 5)]
    now = [0.0]
    market = MarketCache(clock=lambda: now[0])
    ctx, _, _, _ = make(market=market)
    assert ctx.market_age("BTCUSDT") is None
    market.update_price("BTCUSDT", D("100"), 1)
    now[0] = 2.5
    assert ctx.market_age("btcusdt") == 2.5
    assert ctx.in_flight_count() == 3


def test_quantize_uses_the_gateways_compiled_rules():
    ctx, gateway, _, _ = make()
    assert ctx.quantize("btcusdt", price=D("100.019"), side=Side.BUY).price == D("100.01")
    assert gateway.rules_asked == ["BTCUSDT"]
