"""plugins/risk.py and daemon/risk_settings.py: each limit on its own, off when unset, fail closed."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace

import pytest

from daemon.context import StrategyContext
from daemon.errors import ConfigError
from daemon.market import MarketCache
from daemon.orders import OrderRequest, OrderType, RejectCode, Side, TimeInForce
from daemon.risk_settings import RiskSettings
from plugins.risk import RiskLimits

NOON = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc).timestamp()
MIDNIGHT_MS = int(datetime(2024, 5, 1, tzinfo=timezone.utc).timestamp() * 1000)


class Store:
    def __init__(self, orders=(), fills=()):
        self._orders, self._fills = list(orders), list(fills)
        self.fill_queries: list[dict] = []

    def orders(self, symbol=None, open_only=False, limit=None):
        return [o for o in self._orders if symbol is None or o.symbol == symbol]

    def fills(self, symbol=None, since_ms=None, limit=None):
        self.fill_queries.append({"symbol": symbol, "since_ms": since_ms})
        return [f for f in self._fills if since_ms is None or f.trade_time >= since_ms]


class Gateway:
    def __init__(self, in_flight=0):
        self.in_flight = in_flight

    def in_flight_count(self, strategy):
        return self.in_flight


def open_order(strategy="grid", price="100", qty="1", executed="0", stop="0"):
    return SimpleNamespace(symbol="BTCUSDT", strategy=strategy, price=D(price), quantity=D(qty),
                           executed_qty=D(executed), stop_price=D(stop), client_order_id="o")


def fill(quote, when_ms, strategy="grid"):
    return SimpleNamespace(quote_qty=D(quote), trade_time=when_ms, strategy=strategy, symbol="BTCUSDT")


def make(settings: dict, *, orders=(), fills=(), in_flight=0, last="100", age_s=1.0, tmp_path=None):
    now = [0.0]
    market = MarketCache(clock=lambda: now[0])
    if last is not None:
        market.update_price("BTCUSDT", D(last), 1)
    now[0] = age_s
    ctx = StrategyContext("grid", gateway=Gateway(in_flight), store=Store(orders, fills), market=market,
                          params=None)
    plugin = RiskLimits(RiskSettings.from_mapping(settings, base_dir=tmp_path), clock=lambda: NOON)
    return plugin, ctx


def limit(price="100", qty="1", **kw):
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
                        price=D(price), quantity=D(qty), client_order_id="c-1", **kw)


def test_no_limits_configured_allows_everything():
    plugin, ctx = make({}, last=None, age_s=10_000)
    assert plugin.check_order(ctx, limit("1000000", "1000")) is None


def test_kill_switch_file_present_refuses_every_order(tmp_path):
    plugin, ctx = make({"kill_switch_file": "kill"}, tmp_path=tmp_path)
    assert plugin.check_order(ctx, limit()) is None
    (tmp_path / "kill").write_text("on")
    refused = plugin.check_order(ctx, limit())
    assert refused.code is RejectCode.KILL_SWITCH
    assert refused.reason == f"KILL_SWITCH: kill switch {tmp_path / 'kill'} is on: every new order is refused"
    assert refused.detail == {"limit": "kill_switch", "file": str(tmp_path / "kill")}
    assert (refused.symbol, refused.client_order_id) == ("BTCUSDT", "c-1")


def test_max_order_notional_values_each_kind_of_order():
    plugin, ctx = make({"max_order_notional": "500"})
    assert plugin.check_order(ctx, limit("100", "5")) is None
    refused = plugin.check_order(ctx, limit("100", "5.01"))
    assert refused.code is RejectCode.MAX_ORDER_NOTIONAL
    assert refused.reason == "MAX_ORDER_NOTIONAL: order notional 501 is above max_order_notional 500"
    assert refused.detail == {"limit": "max_order_notional", "max_order_notional": "500", "notional": "501"}
    market = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET, quantity=D("6"))
    assert plugin.check_order(ctx, market).detail["notional"] == "600"  # at the last price
    by_quote = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quote_order_qty=D("499"))
    assert plugin.check_order(ctx, by_quote) is None
    stop = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.STOP_LOSS, quantity=D("6"),
                        stop_price=D("90"))
    assert plugin.check_order(ctx, stop).detail["notional"] == "540"  # at its trigger
    blind, blind_ctx = make({"max_order_notional": "500"}, last=None)
    assert blind.check_order(blind_ctx, market).reason == (
        "MAX_ORDER_NOTIONAL: cannot value the order without a last price of BTCUSDT")


def test_max_open_orders_counts_open_and_in_flight_orders_of_this_strategy():
    mine = [open_order(), open_order()]
    plugin, ctx = make({"max_open_orders": 3}, orders=mine + [open_order(strategy="other")])
    assert plugin.check_order(ctx, limit()) is None
    plugin, ctx = make({"max_open_orders": 3}, orders=mine, in_flight=1)
    refused = plugin.check_order(ctx, limit())
    assert refused.code is RejectCode.MAX_OPEN_ORDERS
    assert refused.reason == ("MAX_OPEN_ORDERS: strategy grid has 3 open orders (in flight included); "
                              "max_open_orders is 3")


@pytest.mark.parametrize("price, ok", [("101", True), ("99", True), ("101.01", False), ("98.99", False)])
def test_price_band_in_basis_points_of_the_last_trade(price, ok):
    plugin, ctx = make({"price_band_bps": "100"})
    refused = plugin.check_order(ctx, limit(price))
    assert (refused is None) is ok
    if refused is not None:
        assert refused.code is RejectCode.PRICE_BAND


def test_price_band_reason_skips_market_orders_and_needs_a_last_price():
    plugin, ctx = make({"price_band_bps": "50"})
    refused = plugin.check_order(ctx, limit("102"))
    assert refused.reason == ("PRICE_BAND: price 102 is 200.0 bps from the last trade 100, beyond "
                              "price_band_bps 50")
    assert refused.detail["deviation_bps"] == "200"
    market = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=D("1"))
    assert plugin.check_order(ctx, market) is None
    blind, blind_ctx = make({"price_band_bps": "50"}, last=None)
    assert blind.check_order(blind_ctx, limit()).reason == (
        "PRICE_BAND: no last trade price of BTCUSDT to check price 100 against the 50 bps band")


def test_stale_market_data_by_age_and_when_never_seen():
    fresh, ctx = make({"max_data_age_s": 5}, age_s=5.0)
    assert fresh.check_order(ctx, limit()) is None
    stale, ctx = make({"max_data_age_s": 5}, age_s=5.5)
    refused = stale.check_order(ctx, limit())
    assert (refused.code, refused.reason) == (
        RejectCode.STALE_MARKET_DATA,
        "STALE_MARKET_DATA: BTCUSDT: last market data 5.5 s old, max_data_age_s is 5")
    never, ctx = make({"max_data_age_s": 5}, last=None)
    assert never.check_order(ctx, limit()).reason == (
        "STALE_MARKET_DATA: BTCUSDT: no market data yet, max_data_age_s is 5")


def test_max_daily_notional_adds_todays_fills_open_orders_and_this_order():
    fills = [fill("300", MIDNIGHT_MS + 1), fill("9999", MIDNIGHT_MS - 1)]  # yesterday's does not count
    orders = [open_order(price="100", qty="2", executed="0.5")]  # 150 still open
    plugin, ctx = make({"max_daily_notional": "550"}, orders=orders, fills=fills)
    assert plugin.check_order(ctx, limit("100", "1")) is None  # 300 + 150 + 100 = 550
    refused = plugin.check_order(ctx, limit("100", "1.01"))
    assert refused.code is RejectCode.MAX_DAILY_NOTIONAL
    assert refused.reason == ("MAX_DAILY_NOTIONAL: strategy grid traded 300 today (UTC) with 150 open; "
                              "this order's 101 makes 551, above max_daily_notional 550")
    assert ctx._store.fill_queries[-1] == {"symbol": None, "since_ms": MIDNIGHT_MS}
    others = [fill("1000", MIDNIGHT_MS + 5, strategy="other")]
    plugin, ctx = make({"max_daily_notional": "550"}, fills=others)
    assert plugin.check_order(ctx, limit()) is None  # another strategy's fills are its own


def test_checks_run_in_order_and_the_first_refusal_wins(tmp_path):
    (tmp_path / "kill").write_text("on")
    plugin, ctx = make({"kill_switch_file": str(tmp_path / "kill"), "max_order_notional": "1"})
    assert plugin.check_order(ctx, limit()).code is RejectCode.KILL_SWITCH


@pytest.mark.parametrize("table, path, message", [
    ({"max_order_notional": 5000.5}, "risk.max_order_notional", "decimal written as a string"),
    ({"max_order_notional": "-1"}, "risk.max_order_notional", "must be > 0"),
    ({"price_band_bps": "wide"}, "risk.price_band_bps", "must be a decimal"),
    ({"max_open_orders": 0}, "risk.max_open_orders", "whole number >= 1"),
    ({"max_open_orders": True}, "risk.max_open_orders", "whole number >= 1"),
    ({"max_data_age_s": "5"}, "risk.max_data_age_s", "number of seconds"),
    ({"kill_switch_file": ""}, "risk.kill_switch_file", "file path"),
    ({"max_notional": "5"}, "risk.max_notional", "unknown key"),
])
def test_settings_errors_name_the_key(table, path, message):
    with pytest.raises(ConfigError, match=message) as caught:
        RiskSettings.from_mapping(table)
    assert caught.value.path == path


def test_settings_parse_every_key(tmp_path):
    settings = RiskSettings.from_mapping(
        {"kill_switch_file": "state/kill", "max_order_notional": "5000", "max_open_orders": 20,
         "price_band_bps": "150", "max_data_age_s": 10, "max_daily_notional": 100000}, base_dir=tmp_path)
    assert settings == RiskSettings(kill_switch_file=tmp_path / "state/kill", max_order_notional=D("5000"),
                                    max_open_orders=20, price_band_bps=D("150"), max_data_age_s=10.0,
                                    max_daily_notional=D("100000"))
    assert RiskSettings.from_mapping({"kill_switch_file": "/abs/kill"}, base_dir=tmp_path).kill_switch_file == (
        Path("/abs/kill"))
    assert RiskSettings.from_mapping(None) == RiskSettings()
