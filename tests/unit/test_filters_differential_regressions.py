"""Gateway rules that disagreed with the simulator in the differential test, and the spec.

Each test pins one rule ``daemon.filters`` lacked or misread
(``tests/integration/test_gateway_differential.py`` found them):

* exchangeInfo's ``allowTrailingStop`` and ``quoteOrderQtyMarketAllowed`` were
  dropped by ``SymbolInfo``, so the gateway allowed what the symbol disables;
* -1111 "Precision is over the maximum defined for this asset." (baseAssetPrecision,
  quoteAssetPrecision) and -2010 "Price * QTY is zero or less." were not checked;
* "An ICEBERG order is any order where the icebergQty is > 0" (filters.md): an
  icebergQty of 0 is a plain order, not a malformed one;
* a trailing STOP_LOSS / TAKE_PROFIT with no stopPrice has no notional of its own:
  it is a MARKET order once triggered, judged at the average price like one;
* a quoteOrderQty MARKET order's estimated quantity is truncated to 1e-8.
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import msgspec
import pytest

from daemon.filters import MarketInputs, compile_rules, normalized, validate, validate_all
from daemon.order_params import order_params
from daemon.orders import OrderRequest, OrderType, RejectCode, Side, TimeInForce
from daemon.venues.binance.models import ExchangeInfo, SymbolInfo

TRAILING = {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 10, "maxTrailingBelowDelta": 2000}
MARKET = MarketInputs(average_price=D("30000"), last_price=D("30000"))


def info(*filters: dict, **fields) -> SymbolInfo:
    """A symbol as the daemon decodes it from an exchangeInfo answer."""
    entry = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT",
             "orderTypes": [kind.value for kind in OrderType], "icebergAllowed": True,
             "permissions": ["SPOT"], "filters": list(filters), **fields}
    document = json.dumps({"symbols": [entry]})
    return msgspec.json.decode(document, type=ExchangeInfo).symbols[0]


def order(kind: OrderType = OrderType.LIMIT, side: Side = Side.BUY, **values) -> OrderRequest:
    if kind in (OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT):
        values.setdefault("time_in_force", TimeInForce.GTC)
    return OrderRequest(symbol="BTCUSDT", side=side, type=kind,
                        **{k: v if k in ("time_in_force", "trailing_delta") else D(v)
                           for k, v in values.items()})


def codes(symbol: SymbolInfo, request: OrderRequest, market: MarketInputs = MARKET) -> list[RejectCode]:
    return [found.code for found in validate_all(compile_rules(symbol), request, market)]


TRAILING_STOP = order(OrderType.STOP_LOSS, Side.SELL, quantity="0.01", trailing_delta=100)


def test_allow_trailing_stop_is_read_from_exchange_info():
    refused = codes(info(TRAILING, allowTrailingStop=False), TRAILING_STOP)
    assert refused == [RejectCode.ORDER_TYPE_NOT_ALLOWED]
    assert codes(info(allowTrailingStop=True), TRAILING_STOP) == []
    # The seed's exchangeInfo has no such field: a TRAILING_DELTA filter implies trailing stops.
    assert info().allow_trailing_stop is None
    assert codes(info(TRAILING), TRAILING_STOP) == []
    assert codes(info(), TRAILING_STOP) == [RejectCode.ORDER_TYPE_NOT_ALLOWED]


def test_quote_order_qty_market_allowed_is_read_from_exchange_info():
    by_quote = order(OrderType.MARKET, quote_order_qty="100")
    assert codes(info(quoteOrderQtyMarketAllowed=False), by_quote) == [RejectCode.ORDER_TYPE_NOT_ALLOWED]
    assert codes(info(quoteOrderQtyMarketAllowed=True), by_quote) == []
    assert codes(info(), by_quote) == []


@pytest.mark.parametrize("fields, request_, parameter", [
    ({}, order(quantity="0.000000001", price="30000"), "quantity"),
    ({}, order(quantity="1", price="30000.000000001"), "price"),
    ({"baseAssetPrecision": 2}, order(quantity="0.001", price="30000"), "quantity"),
    ({"baseAssetPrecision": 2}, order(quantity="1", price="30000", iceberg_qty="0.005"), "icebergQty"),
    ({"quoteAssetPrecision": 2}, order(OrderType.MARKET, quote_order_qty="10.001"), "quoteOrderQty"),
    ({"quoteAssetPrecision": 2}, order(OrderType.STOP_LOSS, Side.SELL, quantity="1",
                                       stop_price="29000.001"), "stopPrice"),
])
def test_amounts_more_precise_than_their_asset_are_refused(fields, request_, parameter):
    refused = validate(compile_rules(info(**fields)), request_, MARKET)
    assert refused.code is RejectCode.INVALID_PARAMETERS
    assert refused.detail["parameter"] == parameter
    assert "decimals" in refused.reason


def test_precision_counts_the_decimals_the_wire_carries():
    # Trailing zeros are not sent (``show``), so they are no precision.
    exact = order(quantity="0.10000000000000", price="30000.000000000000")
    assert codes(info(baseAssetPrecision=1, quoteAssetPrecision=0), exact) == []
    assert order_params(exact)["quantity"] == "0.1"


def test_price_times_quantity_below_the_smallest_amount_is_refused():
    tiny = order(quantity="0.0095", price="0.000001")  # 9.5e-9 of the quote asset
    refused = validate(compile_rules(info()), tiny, MARKET)
    assert refused.code is RejectCode.INVALID_PARAMETERS
    assert refused.reason.startswith("INVALID_PARAMETERS: price 0.000001 * quantity 0.0095 is below")
    assert codes(info(), order(quantity="0.01", price="0.000001")) == []  # exactly 1e-8


def test_an_iceberg_qty_of_zero_is_a_plain_order():
    zero = order(quantity="1", price="30000", iceberg_qty="0")
    assert normalized(zero).iceberg_qty is None
    assert codes(info(icebergAllowed=False), zero) == []
    assert "icebergQty" not in order_params(normalized(zero))
    negative = order(quantity="1", price="30000", iceberg_qty="-1")
    assert codes(info(), negative) == [RejectCode.INVALID_PARAMETERS]


@pytest.mark.parametrize("spec, applies", [
    ({"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": True, "avgPriceMins": 5}, True),
    ({"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": False, "avgPriceMins": 5}, False),
    ({"filterType": "NOTIONAL", "minNotional": "10", "applyMinToMarket": True, "maxNotional": "1000",
      "applyMaxToMarket": False, "avgPriceMins": 5}, True),
    ({"filterType": "NOTIONAL", "minNotional": "10", "applyMinToMarket": False, "maxNotional": "1000",
      "applyMaxToMarket": False, "avgPriceMins": 5}, False),
])
def test_a_trailing_stop_market_order_is_judged_at_the_average_price(spec, applies):
    small = order(OrderType.STOP_LOSS, Side.SELL, quantity="0.0003", trailing_delta=100)  # 9 at 30000
    expected = [RejectCode(spec["filterType"])] if applies else []
    assert codes(info(spec, TRAILING), small) == expected
    assert codes(info(spec, TRAILING), order(OrderType.STOP_LOSS, Side.SELL, quantity="0.001",
                                             trailing_delta=100)) == []
    # With a stopPrice the stop price prices it, as before.
    assert codes(info(spec, TRAILING), order(OrderType.STOP_LOSS, Side.SELL, quantity="0.0003",
                                             stop_price="40000", trailing_delta=100),
                 MarketInputs(average_price=D(30000), last_price=D(50000))) == []


def test_max_asset_prices_a_trailing_stop_market_order_at_the_average():
    rules = compile_rules(info(TRAILING), asset_filters=[{"filterType": "MAX_ASSET", "asset": "USDT",
                                                          "limit": "100"}])
    assert validate(rules, order(OrderType.STOP_LOSS, Side.SELL, quantity="0.003", trailing_delta=100),
                    MARKET) is None  # 90 USDT
    refused = validate(rules, order(OrderType.STOP_LOSS, Side.SELL, quantity="0.004", trailing_delta=100),
                       MARKET)  # 120 USDT
    assert refused.code is RejectCode.MAX_ASSET and refused.detail["notional"] == "120"


def test_a_quote_order_quantity_estimate_is_truncated_to_one_unit():
    rules = compile_rules(info(), asset_filters=[{"filterType": "MAX_ASSET", "asset": "BTC",
                                                  "limit": "0.0001"}])
    market = MarketInputs(average_price=D("9602"), last_price=D("9602"))
    # 0.96020002 / 9602 = 0.000100000002...: at most 0.0001 BTC can fill.
    assert validate(rules, order(OrderType.MARKET, Side.SELL, quote_order_qty="0.96020002"), market) is None
    assert validate(rules, order(OrderType.MARKET, Side.SELL, quote_order_qty="0.96030000"),
                    market).code is RejectCode.MAX_ASSET
