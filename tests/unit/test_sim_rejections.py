"""The simulator's refusals with the seed's codes and messages: request grammar (-11xx),
-1013 value errors and the matching engine's -2010/-2011 texts, per symbol capability."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sim_trading_helpers import Clock, bal, build, limit, oco, order

from sim import errors
from sim.config import SimConfig
from sim.exchange import Exchange
from sim.requests import parse_new_order, parse_order_ref
from sim.symbols import builtin_symbol_info


def btc_with(**changes) -> Exchange:
    """The built-in BTCUSDT with some exchangeInfo fields changed."""
    info = builtin_symbol_info()[0]
    info.update(changes)
    return Exchange(SimConfig(balances={"USDT": "100000", "BTC": "2"}, symbols=[info]),
                    clock=Clock(), seed_liquidity=False)


def refusal(call) -> tuple[int, str]:
    with pytest.raises(errors.SimApiError) as caught:
        call()
    return caught.value.code, caught.value.msg


@pytest.mark.parametrize(("params", "code", "msg"), [
    ({"side": "BUY", "type": "LIMIT"}, -1102,
     "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
    ({"symbol": "BTCUSDT", "side": "HOLD", "type": "LIMIT"}, -1117, "Invalid side."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "OCO"}, -1116, "Invalid orderType."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": "1"},
     -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX",
      "quantity": "1", "price": "1"}, -1115, "Invalid timeInForce."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}, -1102,
     "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_LOSS", "quantity": "1"}, -1102,
     "Param 'stopPrice' or 'trailingDelta' must be sent, but both were empty/null!"),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1",
      "timeInForce": "GTC"}, -1106, "Parameter 'timeInForce' sent when not required."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "1",
      "price": "1", "stopPrice": "1"}, -1106, "Parameter 'stopPrice' sent when not required."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_LOSS", "quantity": "1",
      "stopPrice": "1", "icebergQty": "0.1"}, -1106,
     "Parameter 'icebergQty' sent when not required."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
      "quantity": "1", "price": "1", "trailingDelta": "10"}, -1106,
     "Parameter 'trailingDelta' sent when not required."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
      "quantity": "-1", "price": "1"}, -1100,
     "Illegal characters found in parameter 'quantity'; legal range is "
     "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
      "quantity": "0", "price": "1"}, -1013, "Invalid quantity."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
      "quantity": "1", "price": "0.000"}, -1013, "Invalid price."),
    ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
      "quantity": "1", "price": "1", "newClientOrderId": "a b"}, -1100,
     "Illegal characters found in parameter 'newClientOrderId'; legal range is "
     "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."),
])
def test_request_grammar(params, code, msg):
    assert refusal(lambda: parse_new_order(params)) == (code, msg)


def test_cancel_without_any_id_is_an_invalid_cancel():
    assert refusal(lambda: parse_order_ref({"symbol": "BTCUSDT"}, for_cancel=True)) == (
        -2011, "Cancel order is invalid. Check origClOrdId and orderId.")
    assert refusal(lambda: parse_order_ref({"symbol": "BTCUSDT"}, for_cancel=False))[0] == -1102


@pytest.mark.parametrize(("changes", "params", "msg"), [
    ({"orderTypes": ["LIMIT", "LIMIT_MAKER"]}, {"type": "MARKET", "quantity": "0.01"},
     "Market orders are not supported for this symbol."),
    ({"orderTypes": ["LIMIT", "MARKET"]}, {"type": "STOP_LOSS", "quantity": "0.01",
                                            "stopPrice": "31000.00"},
     "Stop loss orders are not supported for this symbol."),
    ({"orderTypes": ["LIMIT", "MARKET"]}, {"type": "STOP_LOSS_LIMIT", "quantity": "0.01",
                                            "stopPrice": "31000.00", "price": "31000.00",
                                            "timeInForce": "GTC"},
     "Stop loss limit orders are not supported for this symbol."),
    ({"orderTypes": ["LIMIT", "MARKET"]}, {"type": "TAKE_PROFIT", "quantity": "0.01",
                                            "stopPrice": "29000.00"},
     "Take profit orders are not supported for this symbol."),
    ({"orderTypes": ["LIMIT", "MARKET"]}, {"type": "TAKE_PROFIT_LIMIT", "quantity": "0.01",
                                            "stopPrice": "29000.00", "price": "29000.00",
                                            "timeInForce": "GTC"},
     "Take profit limit orders are not supported for this symbol."),
    ({"icebergAllowed": False}, {"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.1",
                                 "price": "29000.00", "icebergQty": "0.01"},
     "Iceberg orders are not supported for this symbol."),
    ({"quoteOrderQtyMarketAllowed": False}, {"type": "MARKET", "quoteOrderQty": "100"},
     "Quote order qty market orders are not support for this symbol."),
    ({"allowTrailingStop": False}, {"type": "STOP_LOSS", "quantity": "0.01",
                                    "trailingDelta": "100"},
     "Trailing stop orders are not supported for this symbol."),
    ({"status": "HALT"}, {"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
                          "price": "29000.00"}, "Market is closed."),
    ({"isSpotTradingAllowed": False}, {"type": "LIMIT", "timeInForce": "GTC",
                                       "quantity": "0.01", "price": "29000.00"},
     "This symbol is not permitted for this account."),
])
def test_what_a_symbol_does_not_enable(changes, params, msg):
    ex = btc_with(**changes)
    assert refusal(lambda: order(ex, side="BUY", **params)) == (-2010, msg)
    assert bal(ex.default_account, "USDT") == (D(100000), D(0))


def test_oco_not_enabled_on_the_symbol():
    ex = btc_with(ocoAllowed=False)
    assert refusal(lambda: oco(ex, side="SELL", quantity="0.01", price="31000.00",
                               stopPrice="29000.00")) == (
        -2010, "OCO orders are not supported for this symbol")


def test_an_account_that_may_not_trade():
    ex = build()
    ex.default_account.can_trade = False
    assert refusal(lambda: limit(ex, ex.default_account, "BUY", "0.01", "29000.00")) == (
        -2010, "This action is disabled on this account.")
    assert ex.account_info(ex.default_account)["canTrade"] is False


def test_iceberg_rules():
    ex = build()
    assert refusal(lambda: limit(ex, ex.default_account, "BUY", "0.1", "29000.00", tif="IOC",
                                 icebergQty="0.01")) == (-2010, "Unsupported order combination")
    assert refusal(lambda: limit(ex, ex.default_account, "BUY", "0.1", "29000.00",
                                 icebergQty="0.1")) == (-2010, "IcebergQty exceeds QTY.")


def test_price_times_quantity_that_rounds_to_nothing():
    info = {"symbol": "TINYUSDT", "baseAsset": "TINY", "quoteAsset": "USDT", "filters": [],
            "simInitialPrice": "0.00000002"}
    ex = Exchange(SimConfig(balances={"USDT": "1"}, symbols=[info]), clock=Clock(),
                  seed_liquidity=False)
    assert refusal(lambda: order(ex, symbol="TINYUSDT", side="BUY", type="LIMIT",
                                 timeInForce="GTC", quantity="0.00000001",
                                 price="0.00000001")) == (-2010, "Price * QTY is zero or less.")


def test_precision_beyond_the_asset():
    ex = btc_with(baseAssetPrecision=3, quotePrecision=2)
    assert refusal(lambda: limit(ex, ex.default_account, "BUY", "0.0001", "29000.00")) == (
        -1111, "Precision is over the maximum defined for this asset.")
    assert refusal(lambda: limit(ex, ex.default_account, "BUY", "0.001", "29000.001"))[0] == -1111
    limit(ex, ex.default_account, "BUY", "0.001", "29000.00")


def test_insufficient_balance_for_a_stop_leaves_everything_untouched():
    ex = build(balances={"USDT": "100", "BTC": "0"})
    assert refusal(lambda: order(ex, side="BUY", type="STOP_LOSS_LIMIT", timeInForce="GTC",
                                 quantity="0.01", price="31000.00", stopPrice="31000.00")) == (
        -2010, "Account has insufficient balance for requested action.")
    assert ex.default_account.orders == {} and len(ex.stops["BTCUSDT"]) == 0
