"""daemon.context.StrategyContext against a fake gateway, store and dispatcher."""

from __future__ import annotations

import logging
from decimal import Decimal
from types import SimpleNamespace

import pytest

from daemon.context import Quantized, StrategyContext
from daemon.errors import TradingdError
from daemon.market import MarketCache
from daemon.orders import Accepted, OrderRequest, OrderType, RejectCode, Rejection, Side, TimeInForce
from daemon.venues.binance.models import BookTicker, SymbolInfo

BTC = SymbolInfo(symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT", filters=(
    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
))


class FakeGateway:
    def __init__(self, result):
        self.result = result
        self.submitted: list[tuple[OrderRequest, str]] = []
        self.cancelled: list[tuple[str, str, str]] = []

    async def submit(self, request, *, strategy):
        self.submitted.append((request, strategy))
        return self.result

    async def cancel(self, symbol, client_order_id, *, strategy):
        self.cancelled.append((symbol, client_order_id, strategy))
        return client_order_id != "gone"

    def symbol_info(self, symbol):
        return BTC if symbol == "BTCUSDT" else None


class FakeStore:
    def __init__(self, orders, balances=None):
        self._orders = orders
        self._balances = balances or {}
        self.queries: list[dict] = []

    def orders(self, symbol=None, open_only=False, limit=None):
        self.queries.append({"symbol": symbol, "open_only": open_only})
        return [o for o in self._orders
                if (symbol is None or o.symbol == symbol) and (not open_only or o.open)]

    def balances(self):
        return dict(self._balances)


class FakeDispatcher:
    def __init__(self):
        self.routed: list[tuple[str, str, dict]] = []

    def publish_to(self, plugin_name, hook, **kwargs):
        self.routed.append((plugin_name, hook, kwargs))
        return True


def order(symbol, strategy, cid, open_=True):
    return SimpleNamespace(symbol=symbol, strategy=strategy, client_order_id=cid, open=open_)


REQUEST = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                       time_in_force=TimeInForce.GTC, quantity=Decimal("0.001"), price=Decimal("100"))


def make_ctx(result=None, *, orders=(), balances=None, dispatcher=None, market=None):
    gateway = FakeGateway(result)
    store = FakeStore(list(orders), balances)
    ctx = StrategyContext("grid", gateway=gateway, store=store,
                          market=market or MarketCache(), params={"levels": 2}, dispatcher=dispatcher)
    return ctx, gateway, store


async def test_submit_stamps_the_strategy_and_returns_acceptance_without_routing():
    accepted = Accepted(symbol="BTCUSDT", client_order_id="grid-1", order_id=5, status="NEW")
    dispatcher = FakeDispatcher()
    ctx, gateway, _ = make_ctx(accepted, dispatcher=dispatcher)
    assert await ctx.submit(REQUEST) is accepted
    assert gateway.submitted == [(REQUEST, "grid")]
    assert dispatcher.routed == []


async def test_rejection_is_returned_and_routed_to_this_strategy_only():
    rejection = Rejection(code=RejectCode.LOT_SIZE, reason="quantity below minQty", symbol="BTCUSDT")
    dispatcher = FakeDispatcher()
    ctx, _, _ = make_ctx(rejection, dispatcher=dispatcher)
    assert await ctx.submit(REQUEST) is rejection
    assert dispatcher.routed == [("strategy:grid", "on_order_rejected", {"rejection": rejection})]


async def test_rejection_without_dispatcher_is_still_returned():
    rejection = Rejection(code=RejectCode.GATEWAY_CLOSED, reason="closed")
    ctx, _, _ = make_ctx(rejection)
    assert await ctx.submit(REQUEST) is rejection


async def test_gateway_errors_propagate_to_the_strategy():
    class Broken(FakeGateway):
        async def submit(self, request, *, strategy):
            raise TradingdError("gateway exploded")

    ctx = StrategyContext("grid", gateway=Broken(None), store=FakeStore([]), market=MarketCache(),
                          params=None)
    with pytest.raises(TradingdError, match="exploded"):
        await ctx.submit(REQUEST)


async def test_cancel_passes_the_strategy_name_and_the_answer():
    ctx, gateway, _ = make_ctx()
    assert await ctx.cancel("BTCUSDT", "grid-1") is True
    assert await ctx.cancel("BTCUSDT", "gone") is False
    assert gateway.cancelled == [("BTCUSDT", "grid-1", "grid"), ("BTCUSDT", "gone", "grid")]


def test_open_orders_are_this_strategys_only():
    mine = order("BTCUSDT", "grid", "g-1")
    mine_eth = order("ETHUSDT", "grid", "g-2")
    ctx, _, store = make_ctx(orders=[mine, mine_eth, order("BTCUSDT", "other", "o-1"),
                                     order("BTCUSDT", None, "manual"),
                                     order("BTCUSDT", "grid", "g-old", open_=False)])
    assert ctx.open_orders() == [mine, mine_eth]
    assert ctx.open_orders("btcusdt") == [mine]
    assert store.queries[-1] == {"symbol": "BTCUSDT", "open_only": True}


def test_balances_come_from_the_store():
    ctx, _, _ = make_ctx(balances={"USDT": (Decimal("100"), Decimal("5"))})
    assert ctx.balances() == {"USDT": (Decimal("100"), Decimal("5"))}


def test_market_reads_go_through_the_shared_cache():
    market = MarketCache(clock=lambda: 0.0)
    ctx, _, _ = make_ctx(market=market)
    assert ctx.best_bid_ask("BTCUSDT") == (None, None)
    assert ctx.mid_price("BTCUSDT") is None and ctx.last_price("BTCUSDT") is None
    market.update(BookTicker(update_id=1, symbol="BTCUSDT", bid_price=Decimal("100"),
                             bid_qty=Decimal(1), ask_price=Decimal("101"), ask_qty=Decimal(1)))
    market.update_price("BTCUSDT", Decimal("100.5"), 10)
    assert ctx.best_bid_ask("BTCUSDT") == (Decimal("100"), Decimal("101"))
    assert ctx.mid_price("BTCUSDT") == Decimal("100.5")
    assert ctx.last_price("BTCUSDT") == Decimal("100.5")


def test_identity_params_logger_and_symbol_info():
    ctx, _, _ = make_ctx()
    assert ctx.name == "grid" and ctx.params == {"levels": 2}
    assert ctx.log.name == "tradingd.strategy.grid"
    assert ctx.symbol_info("btcusdt") is BTC and ctx.symbol_info("XYZ") is None
    custom = logging.getLogger("custom")
    other = StrategyContext("x", gateway=FakeGateway(None), store=FakeStore([]), market=MarketCache(),
                            params=None, logger=custom)
    assert other.log is custom


def test_quantize_rounds_prices_away_from_the_market_and_floors_quantities():
    ctx, _, _ = make_ctx()
    buy = ctx.quantize("BTCUSDT", price=Decimal("100.019"), quantity=Decimal("0.000129"), side=Side.BUY)
    assert buy == Quantized(price=Decimal("100.01"), quantity=Decimal("0.00012"))
    sell = ctx.quantize("BTCUSDT", price=Decimal("100.011"), side=Side.SELL)
    assert sell.price == Decimal("100.02") and sell.quantity is None
    unknown = ctx.quantize("XYZ", price=Decimal("1.234"), side=Side.BUY)
    assert unknown.price == Decimal("1.234")
    with pytest.raises(TradingdError, match="side"):
        ctx.quantize("BTCUSDT", price=Decimal("1"))
