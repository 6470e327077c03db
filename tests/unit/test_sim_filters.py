"""Every filter the simulator enforces, passed and failed at its boundary.

Each test gives BTCUSDT exactly one filter (exchangeInfo shape, via
``SimConfig.symbols``), so a refusal can only come from the filter under test;
the average and last price start at 30000.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sim_trading_helpers import Clock, limit, maker, oco, order

from sim import errors
from sim.config import SimConfig
from sim.exchange import Exchange

BALANCES = {"USDT": "1000000", "BTC": "2", "ETH": "100"}


def market_with(*filters: dict, exchange_filters=None, asset_filters=()) -> Exchange:
    symbols = [
        {"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT",
         "filters": list(filters), "simInitialPrice": "30000", "simLot": "0.01"},
        {"symbol": "ETHUSDT", "baseAsset": "ETH", "quoteAsset": "USDT",
         "filters": [], "simInitialPrice": "2000", "simLot": "0.1"},
    ]
    config = SimConfig(balances=BALANCES, symbols=symbols, exchange_filters=exchange_filters,
                       asset_filters=list(asset_filters))
    exchange = Exchange(config, clock=Clock(), seed_liquidity=False)
    exchange.accounts.add("MAKER1", "s1", {"USDT": D(10**7), "BTC": D(100)},
                          maker_rate=D(0), taker_rate=D(0))
    exchange.accounts.add("MAKER2", "s2", {"USDT": D(10**7), "BTC": D(100)},
                          maker_rate=D(0), taker_rate=D(0))
    return exchange


def refused(call, name: str) -> None:
    with pytest.raises(errors.SimApiError) as caught:
        call()
    assert (caught.value.code, caught.value.msg) == (-1013, f"Filter failure: {name}")


def buy(ex, qty, price, **extra):
    return lambda: limit(ex, ex.default_account, "BUY", qty, price, **extra)


def test_price_filter_bounds_tick_and_stop_price():
    ex = market_with({"filterType": "PRICE_FILTER", "minPrice": "100", "maxPrice": "50000",
                      "tickSize": "0.5"})
    for ok in ("100", "100.5", "50000"):
        buy(ex, "0.01", ok)()
    for bad in ("99.5", "50000.5", "100.25"):
        refused(buy(ex, "0.01", bad), "PRICE_FILTER")
    refused(lambda: order(ex, side="SELL", type="STOP_LOSS", quantity="0.01",
                          stopPrice="20000.25"), "PRICE_FILTER")
    order(ex, side="SELL", type="STOP_LOSS", quantity="0.01", stopPrice="20000.5")


def test_a_zero_part_of_the_price_filter_is_disabled():
    ex = market_with({"filterType": "PRICE_FILTER", "minPrice": "0", "maxPrice": "0",
                      "tickSize": "0.01"})
    buy(ex, "0.0001", "1000000.00")()
    refused(buy(ex, "0.01", "1.001"), "PRICE_FILTER")


def test_percent_price_around_the_average():
    ex = market_with({"filterType": "PERCENT_PRICE", "multiplierUp": "1.1",
                      "multiplierDown": "0.9", "avgPriceMins": 5})
    buy(ex, "0.01", "33000")()
    buy(ex, "0.01", "27000")()
    refused(buy(ex, "0.01", "33000.01"), "PERCENT_PRICE")
    refused(buy(ex, "0.01", "26999.99"), "PERCENT_PRICE")


def test_percent_price_by_side_uses_the_side_s_multipliers():
    ex = market_with({"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "1.05",
                      "bidMultiplierDown": "0.5", "askMultiplierUp": "2",
                      "askMultiplierDown": "0.95", "avgPriceMins": 1})
    buy(ex, "0.01", "31500")()
    refused(buy(ex, "0.01", "31500.01"), "PERCENT_PRICE_BY_SIDE")
    limit(ex, ex.default_account, "SELL", "0.01", "28500")
    refused(lambda: limit(ex, ex.default_account, "SELL", "0.01", "28499.99"),
            "PERCENT_PRICE_BY_SIDE")
    limit(ex, ex.default_account, "SELL", "0.01", "60000")   # a SELL may go to 2x


def test_lot_size_on_quantity_and_iceberg_quantity():
    ex = market_with({"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1",
                      "stepSize": "0.001"})
    buy(ex, "0.001", "100")()
    buy(ex, "1", "100")()
    for bad in ("0.0009", "1.001", "0.0015"):
        refused(buy(ex, bad, "100"), "LOT_SIZE")
    refused(buy(ex, "0.5", "100", icebergQty="0.0505"), "LOT_SIZE")
    buy(ex, "0.5", "100", icebergQty="0.05")()


def test_min_notional_limit_market_and_algo():
    ex = market_with({"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": True,
                      "avgPriceMins": 5})
    buy(ex, "0.01", "1000")()                                  # exactly 10
    refused(buy(ex, "0.01", "999.99"), "MIN_NOTIONAL")
    limit(ex, maker(ex), "SELL", "1", "30000")
    order(ex, side="BUY", type="MARKET", quantity="0.00033334")  # 10.0002 at the average
    refused(lambda: order(ex, side="BUY", type="MARKET", quantity="0.00033333"), "MIN_NOTIONAL")
    refused(lambda: order(ex, side="BUY", type="MARKET", quoteOrderQty="9.99"), "MIN_NOTIONAL")
    refused(lambda: order(ex, side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC",
                          quantity="0.01", price="1000", stopPrice="999"), "MIN_NOTIONAL")


def test_min_notional_without_apply_to_market_lets_small_market_orders_pass():
    ex = market_with({"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": False,
                      "avgPriceMins": 5})
    limit(ex, maker(ex), "SELL", "1", "30000")
    order(ex, side="BUY", type="MARKET", quantity="0.0001")
    refused(buy(ex, "0.0001", "30000"), "MIN_NOTIONAL")


def test_notional_min_and_max_with_market_switches():
    ex = market_with({"filterType": "NOTIONAL", "minNotional": "10", "applyMinToMarket": True,
                      "maxNotional": "100", "applyMaxToMarket": False, "avgPriceMins": 5})
    buy(ex, "0.1", "1000")()                                   # exactly 100
    refused(buy(ex, "0.1", "1000.1"), "NOTIONAL")
    refused(buy(ex, "0.001", "9999"), "NOTIONAL")              # 9.999
    limit(ex, maker(ex), "SELL", "0.003", "30000")             # 90: a maker obeys it too
    order(ex, side="BUY", type="MARKET", quantity="0.01")     # 300: the max is not applied
    refused(lambda: order(ex, side="BUY", type="MARKET", quantity="0.0003"), "NOTIONAL")


def test_iceberg_parts():
    ex = market_with({"filterType": "ICEBERG_PARTS", "limit": 10})
    buy(ex, "1", "100", icebergQty="0.1")()                   # 10 parts
    refused(buy(ex, "1", "100", icebergQty="0.09"), "ICEBERG_PARTS")


def test_market_lot_size_applies_to_market_orders_only():
    ex = market_with({"filterType": "MARKET_LOT_SIZE", "minQty": "0.01", "maxQty": "1",
                      "stepSize": "0.01"})
    limit(ex, maker(ex), "SELL", "5", "30000")
    order(ex, side="BUY", type="MARKET", quantity="0.01")
    for bad in ("0.005", "1.01", "0.015"):
        refused(lambda bad=bad: order(ex, side="BUY", type="MARKET", quantity=bad),
                "MARKET_LOT_SIZE")
    buy(ex, "0.005", "100")()


def test_max_num_orders_counts_an_oco_as_two():
    ex = market_with({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 3})
    buy(ex, "0.01", "100")()
    oco(ex, side="SELL", quantity="0.01", price="31000", stopPrice="29000")
    refused(buy(ex, "0.01", "100"), "MAX_NUM_ORDERS")


def test_max_num_algo_orders():
    ex = market_with({"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 1})
    order(ex, side="SELL", type="STOP_LOSS", quantity="0.01", stopPrice="29000")
    refused(lambda: order(ex, side="SELL", type="TAKE_PROFIT", quantity="0.01",
                          stopPrice="31000"), "MAX_NUM_ALGO_ORDERS")
    buy(ex, "0.01", "100")()


def test_max_num_iceberg_orders():
    ex = market_with({"filterType": "MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 1})
    buy(ex, "1", "100", icebergQty="0.1")()
    refused(buy(ex, "1", "100", icebergQty="0.1"), "MAX_NUM_ICEBERG_ORDERS")
    buy(ex, "1", "100")()


def test_max_position_counts_balance_and_open_buys():
    ex = market_with({"filterType": "MAX_POSITION", "maxPosition": "2.5"})
    buy(ex, "0.5", "100")()                                    # 2 held + 0.5 = 2.5
    refused(buy(ex, "0.00001", "100"), "MAX_POSITION")
    limit(ex, ex.default_account, "SELL", "1", "40000")        # a SELL is never refused


def test_trailing_delta_above_and_below():
    ex = market_with({"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10,
                      "maxTrailingAboveDelta": 100, "minTrailingBelowDelta": 20,
                      "maxTrailingBelowDelta": 200})
    order(ex, side="BUY", type="STOP_LOSS", quantity="0.01", trailingDelta="10")
    order(ex, side="BUY", type="STOP_LOSS", quantity="0.01", trailingDelta="100")
    for bad in ("9", "101"):
        refused(lambda bad=bad: order(ex, side="BUY", type="STOP_LOSS", quantity="0.01",
                                      trailingDelta=bad), "TRAILING_DELTA")
    order(ex, side="SELL", type="STOP_LOSS", quantity="0.01", trailingDelta="200")
    refused(lambda: order(ex, side="SELL", type="STOP_LOSS", quantity="0.01",
                          trailingDelta="19"), "TRAILING_DELTA")
    refused(lambda: order(ex, side="SELL", type="TAKE_PROFIT", quantity="0.01",
                          trailingDelta="101"), "TRAILING_DELTA")   # TP SELL trails above


def test_max_num_order_lists():
    ex = market_with({"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 1})
    oco(ex, side="SELL", quantity="0.01", price="31000", stopPrice="29000")
    refused(lambda: oco(ex, side="SELL", quantity="0.01", price="31000", stopPrice="29000"),
            "MAX_NUM_ORDER_LISTS")


@pytest.mark.parametrize(("filter_type", "key", "place"), [
    ("EXCHANGE_MAX_NUM_ORDERS", "maxNumOrders",
     lambda ex, s: order(ex, symbol=s, side="BUY", type="LIMIT", timeInForce="GTC",
                         quantity="0.01", price="100")),
    ("EXCHANGE_MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders",
     lambda ex, s: order(ex, symbol=s, side="SELL", type="STOP_LOSS", quantity="0.01",
                         stopPrice="10")),
    ("EXCHANGE_MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders",
     lambda ex, s: order(ex, symbol=s, side="BUY", type="LIMIT", timeInForce="GTC",
                         quantity="0.1", price="100", icebergQty="0.05")),
    ("EXCHANGE_MAX_NUM_ORDER_LISTS", "maxNumOrderLists",
     lambda ex, s: oco(ex, symbol=s, side="SELL", quantity="0.01", price="1000000",
                       stopPrice="10")),
])
def test_exchange_filters_count_every_symbol(filter_type, key, place):
    ex = market_with(exchange_filters=[{"filterType": filter_type, key: 2}])
    place(ex, "BTCUSDT")
    place(ex, "ETHUSDT")
    refused(lambda: place(ex, "BTCUSDT"), filter_type)
    info = ex.rules.exchange_filters.raw
    assert info == ({"filterType": filter_type, key: 2},)


def test_max_asset_bounds_base_quantity_and_quote_notional():
    ex = market_with(asset_filters=[{"filterType": "MAX_ASSET", "asset": "BTC", "limit": "0.5"},
                                    {"filterType": "MAX_ASSET", "asset": "USDT",
                                     "limit": "1000"}])
    buy(ex, "0.5", "2000")()
    refused(buy(ex, "0.50001", "100"), "MAX_ASSET")
    refused(buy(ex, "0.1", "10000.01"), "MAX_ASSET")          # 1000.001 USDT


def test_filters_run_in_exchange_info_order():
    ex = market_with({"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1",
                      "stepSize": "0.001"},
                     {"filterType": "PRICE_FILTER", "minPrice": "100", "maxPrice": "50000",
                      "tickSize": "0.5"})
    refused(buy(ex, "0.0001", "1.25"), "LOT_SIZE")   # both broken: the first listed answers
