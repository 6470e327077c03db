"""daemon.filters, first part: symbol, parameters, PRICE_FILTER, LOT_SIZE, notional filters, helpers.

Every branch of every rule, with the exact text a person reads.  The other
filters, the market rules and OCO are in test_filters_market.py.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.filters import (
    NO_MARKET_DATA,
    MarketInputs,
    check_parameters,
    check_symbol,
    compile_rules,
    floor_quantity,
    min_quantity,
    round_price,
    validate,
    validate_all,
)
from daemon.filters.price import PriceFilter
from daemon.filters.quantity import LotSize
from daemon.orders import OrderRequest, OrderType, RejectCode, Side, TimeInForce
from daemon.venues.binance.models import SymbolInfo

ALL_TYPES = tuple(t.value for t in OrderType)

# The seed's own example filters (section "Filters").
SEED_PRICE = {"filterType": "PRICE_FILTER", "minPrice": "0.00000100",
              "maxPrice": "100000.00000000", "tickSize": "0.00000100"}
SEED_LOT = {"filterType": "LOT_SIZE", "minQty": "0.00100000",
            "maxQty": "100000.00000000", "stepSize": "0.00100000"}
SEED_MIN_NOTIONAL = {"filterType": "MIN_NOTIONAL", "minNotional": "0.00100000",
                     "applyToMarket": True, "avgPriceMins": 5}
TODAY_NOTIONAL = {"filterType": "NOTIONAL", "minNotional": "10.00000000", "applyMinToMarket": False,
                  "maxNotional": "10000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5}


def symbol(*specs: dict, name: str = "BTCUSDT", status: str = "TRADING",
           order_types: tuple[str, ...] = ALL_TYPES, iceberg: bool = True, **kw) -> SymbolInfo:
    return SymbolInfo(symbol=name, status=status, base_asset="BTC", quote_asset="USDT",
                      order_types=order_types, iceberg_allowed=iceberg, filters=tuple(specs), **kw)


def check(spec: dict, request: OrderRequest, market: MarketInputs = NO_MARKET_DATA):
    """The one filter ``spec`` judging ``request`` (through the public ``validate``)."""
    return validate(compile_rules(symbol(spec)), request, market)


def avg(price: str) -> MarketInputs:
    return MarketInputs(average_price=D(price))


def limit(price: str, qty: str, **kw) -> OrderRequest:
    return OrderRequest(symbol="BTCUSDT", side=kw.pop("side", Side.BUY), type=OrderType.LIMIT,
                        time_in_force=TimeInForce.GTC, price=D(price), quantity=D(qty),
                        client_order_id="cid-1", **kw)


def market(qty: str | None = None, quote: str | None = None) -> OrderRequest:
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET,
                        quantity=D(qty) if qty else None, quote_order_qty=D(quote) if quote else None)


# ------------------------------------------------------------------ PRICE_FILTER


PRICE = {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000", "tickSize": "0.01"}


@pytest.mark.parametrize("price, reason, detail", [
    ("0.009", "PRICE_FILTER: price 0.009 is below minPrice 0.01",
     {"filter": "PRICE_FILTER", "minPrice": "0.01", "price": "0.009"}),
    ("1000.01", "PRICE_FILTER: price 1000.01 is above maxPrice 1000",
     {"filter": "PRICE_FILTER", "maxPrice": "1000", "price": "1000.01"}),
    ("10.005", "PRICE_FILTER: price 10.005 is not a multiple of tickSize 0.01 above minPrice 0.01",
     {"filter": "PRICE_FILTER", "tickSize": "0.01", "minPrice": "0.01", "price": "10.005"}),
])
def test_price_filter_rejections(price, reason, detail):
    rejection = check(PRICE, limit(price, "1"))
    assert rejection.code is RejectCode.PRICE_FILTER
    assert rejection.reason == reason
    assert rejection.detail == detail
    assert (rejection.symbol, rejection.client_order_id) == ("BTCUSDT", "cid-1")


@pytest.mark.parametrize("price", ["0.01", "1000", "1000.00", "10.01", "0.02"])
def test_price_filter_boundaries_pass(price):
    assert check(PRICE, limit(price, "1")) is None


def test_price_filter_tick_grid_is_anchored_at_min_price():
    # Seed formula (price - minPrice) % tickSize: with minPrice 0.005 the grid is 0.005, 0.015, ...
    spec = dict(PRICE, minPrice="0.005")
    assert check(spec, limit("0.015", "1")) is None
    assert check(spec, limit("0.02", "1")).reason == (
        "PRICE_FILTER: price 0.02 is not a multiple of tickSize 0.01 above minPrice 0.005")


@pytest.mark.parametrize("disabled, price", [
    ("minPrice", "0.00"), ("maxPrice", "99999999"), ("tickSize", "10.0001")])
def test_price_filter_zero_disables_only_that_rule(disabled, price):
    # The filter alone: a price of 0 is refused earlier, by the parameter rules.
    spec = dict(PRICE, **{disabled: "0.00000000"})
    assert PriceFilter.parse(spec).check(limit(price, "1"), NO_MARKET_DATA, None) is None
    assert PriceFilter.parse(PRICE).check(limit(price, "1"), NO_MARKET_DATA, None) is not None


def test_price_filter_checks_stop_price_too():
    request = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.STOP_LOSS,
                           quantity=D("1"), stop_price=D("5.001"))
    assert check(PRICE, request).reason == (
        "PRICE_FILTER: stopPrice 5.001 is not a multiple of tickSize 0.01 above minPrice 0.01")


def test_price_filter_seed_example():
    assert check(SEED_PRICE, limit("0.00000200", "1")) is None
    assert check(SEED_PRICE, limit("0.00000050", "1")).reason == (
        "PRICE_FILTER: price 0.0000005 is below minPrice 0.000001")


def test_malformed_filter_fails_closed():
    spec = {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "abc"}
    rejection = check(spec, limit("1", "1"))
    assert rejection.code is RejectCode.PRICE_FILTER
    assert rejection.reason == "PRICE_FILTER: maxPrice is missing or not a number ('abc')"
    missing = check({"filterType": "LOT_SIZE", "minQty": "1", "maxQty": "2"}, limit("1", "1"))
    assert missing.reason == "LOT_SIZE: stepSize is missing or not a number (None)"


# ------------------------------------------------------------------ LOT_SIZE


def test_lot_size_seed_example_message():
    rejection = check(SEED_LOT, limit("1", "0.0105"))
    assert rejection.code is RejectCode.LOT_SIZE
    assert rejection.reason == "LOT_SIZE: quantity 0.0105 is not a multiple of stepSize 0.001 above minQty 0.001"
    assert rejection.detail == {"filter": "LOT_SIZE", "stepSize": "0.001", "minQty": "0.001",
                                "quantity": "0.0105"}


@pytest.mark.parametrize("qty, reason", [
    ("0.0009", "LOT_SIZE: quantity 0.0009 is below minQty 0.001"),
    ("100000.001", "LOT_SIZE: quantity 100000.001 is above maxQty 100000"),
])
def test_lot_size_bounds(qty, reason):
    assert check(SEED_LOT, limit("1", qty)).reason == reason


@pytest.mark.parametrize("qty", ["0.001", "100000", "0.011", "1.000"])
def test_lot_size_boundaries_pass(qty):
    assert check(SEED_LOT, limit("1", qty)) is None


def test_lot_size_checks_iceberg_qty():
    request = limit("1", "1", iceberg_qty=D("0.0005"))
    assert check(SEED_LOT, request).reason == "LOT_SIZE: icebergQty 0.0005 is below minQty 0.001"


def test_lot_size_zero_step_skips_only_the_grid():
    spec = dict(SEED_LOT, stepSize="0")
    assert check(spec, limit("1", "0.0010001")) is None
    assert check(spec, limit("1", "0.0001")) is not None


# ------------------------------------------------------------------ MIN_NOTIONAL


MIN_NOTIONAL = {"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": True, "avgPriceMins": 5}


def test_min_notional_limit_order():
    rejection = check(MIN_NOTIONAL, limit("9.99", "1"))
    assert rejection.code is RejectCode.MIN_NOTIONAL
    assert rejection.reason == "MIN_NOTIONAL: notional 9.99 (price 9.99 * quantity 1) is below minNotional 10"
    assert rejection.detail == {"filter": "MIN_NOTIONAL", "minNotional": "10", "notional": "9.99"}
    assert check(MIN_NOTIONAL, limit("10", "1")) is None  # boundary: equal passes


def test_min_notional_algo_order_checks_stop_price_times_quantity():
    request = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.STOP_LOSS_LIMIT,
                           time_in_force=TimeInForce.GTC, quantity=D("1"), price=D("20"), stop_price=D("9"))
    assert check(MIN_NOTIONAL, request).reason == (
        "MIN_NOTIONAL: notional 9 (stopPrice 9 * quantity 1) is below minNotional 10")


def test_min_notional_iceberg_checks_price_times_iceberg_qty():
    request = limit("5", "4", iceberg_qty=D("1"))
    assert check(MIN_NOTIONAL, request).reason == (
        "MIN_NOTIONAL: notional 5 (price 5 * icebergQty 1) is below minNotional 10")


def test_min_notional_market_uses_reference_price():
    assert check(MIN_NOTIONAL, market("1"), avg("10")) is None
    assert check(MIN_NOTIONAL, market("1"), avg("9.5")).reason == (
        "MIN_NOTIONAL: notional 9.5 (average price 9.5 * quantity 1) is below minNotional 10")
    assert check(MIN_NOTIONAL, market(quote="9")).reason == (
        "MIN_NOTIONAL: notional 9 (quoteOrderQty 9) is below minNotional 10")


def test_min_notional_market_without_average_price_is_refused():
    rejection = check(MIN_NOTIONAL, market("1"))
    assert rejection.reason == (
        "MIN_NOTIONAL: MARKET order needs an average price (avgPriceMins 5) and none is available")


@pytest.mark.parametrize("flag", [False, "false"])
def test_min_notional_skips_market_when_not_applied(flag):
    spec = dict(MIN_NOTIONAL, applyToMarket=flag)
    assert check(spec, market("0.0001"), avg("1")) is None
    assert check(spec, limit("1", "0.0001")) is not None  # still applies to LIMIT


# ------------------------------------------------------------------ NOTIONAL


def test_notional_min_and_max_for_limit_orders():
    low = check(TODAY_NOTIONAL, limit("9", "1"))
    assert low.code is RejectCode.NOTIONAL
    assert low.reason == "NOTIONAL: notional 9 (price 9 * quantity 1) is below minNotional 10"
    high = check(TODAY_NOTIONAL, limit("10000.01", "1"))
    assert high.reason == "NOTIONAL: notional 10000.01 (price 10000.01 * quantity 1) is above maxNotional 10000"
    assert high.detail == {"filter": "NOTIONAL", "maxNotional": "10000", "notional": "10000.01"}
    assert check(TODAY_NOTIONAL, limit("10", "1")) is None
    assert check(TODAY_NOTIONAL, limit("10000", "1")) is None


def test_notional_market_flags_apply_each_bound_separately():
    tiny, huge = market("1"), market("1000")
    assert check(TODAY_NOTIONAL, tiny, avg("1")) is None
    min_only = dict(TODAY_NOTIONAL, applyMinToMarket=True)
    assert check(min_only, tiny, avg("1")).reason == (
        "NOTIONAL: notional 1 (average price 1 * quantity 1) is below minNotional 10")
    assert check(min_only, huge, avg("100")) is None
    max_only = dict(TODAY_NOTIONAL, applyMaxToMarket=True)
    assert check(max_only, tiny, avg("1")) is None
    assert check(max_only, huge, avg("100")).code is RejectCode.NOTIONAL
    assert check(max_only, huge).reason == (
        "NOTIONAL: MARKET order needs an average price (avgPriceMins 5) and none is available")


# ------------------------------------------------------------------ symbol and parameters


def test_check_symbol_status_type_iceberg_and_name():
    request = limit("1", "1")
    halted = check_symbol(compile_rules(symbol(status="BREAK")), request)
    assert (halted.code, halted.reason) == (RejectCode.SYMBOL_NOT_TRADING,
                                            "SYMBOL_NOT_TRADING: BTCUSDT status is BREAK")
    no_limit = check_symbol(compile_rules(symbol(order_types=("MARKET",))), request)
    assert (no_limit.code, no_limit.reason) == (
        RejectCode.ORDER_TYPE_NOT_ALLOWED,
        "ORDER_TYPE_NOT_ALLOWED: LIMIT is not among the order types of BTCUSDT (MARKET)")
    iceberg = check_symbol(compile_rules(symbol(iceberg=False)), limit("1", "2", iceberg_qty=D("1")))
    assert iceberg.reason == "ORDER_TYPE_NOT_ALLOWED: iceberg orders are not allowed on BTCUSDT"
    other = check_symbol(compile_rules(symbol(name="ETHUSDT")), request)
    assert other.code is RejectCode.UNKNOWN_SYMBOL
    assert check_symbol(compile_rules(symbol()), request) is None


def test_check_symbol_permissions_trailing_stops_and_quote_orders():
    margin_only = check_symbol(compile_rules(symbol(permissions=("MARGIN",))), limit("1", "1"))
    assert (margin_only.code, margin_only.reason) == (
        RejectCode.SYMBOL_NOT_TRADING, "SYMBOL_NOT_TRADING: BTCUSDT does not permit SPOT trading "
                                       "(permissions: MARGIN)")
    assert margin_only.detail["permissions"] == "MARGIN"
    assert check_symbol(compile_rules(symbol(permissions=("SPOT", "MARGIN"))), limit("1", "1")) is None
    no_spot = check_symbol(compile_rules(symbol(is_spot_trading_allowed=False)), limit("1", "1"))
    assert no_spot.reason == "SYMBOL_NOT_TRADING: BTCUSDT status is TRADING without spot trading"
    trailing = _req(OrderType.STOP_LOSS, quantity="1", trailing_delta=100)
    # Without a TRAILING_DELTA filter (SymbolInfo has no allowTrailingStop) the symbol has none.
    refused = check_symbol(compile_rules(symbol()), trailing)
    assert refused.reason == "ORDER_TYPE_NOT_ALLOWED: trailing stops are not allowed on BTCUSDT"
    with_filter = symbol({"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10,
                          "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 10,
                          "maxTrailingBelowDelta": 2000})
    assert check_symbol(compile_rules(with_filter), trailing) is None


def _req(kind: OrderType, **kw) -> OrderRequest:
    values = {k: (D(v) if k not in ("time_in_force", "trailing_delta") else v) for k, v in kw.items()}
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=kind, **values)


GTC = TimeInForce.GTC


@pytest.mark.parametrize("request_, reason", [
    (_req(OrderType.LIMIT, quantity="1", price="1"), "LIMIT order requires timeInForce"),
    (_req(OrderType.STOP_LOSS, quantity="1", stop_price="1", trailing_delta=0),
     "trailingDelta must be a positive whole number of basis points, got 0"),
    (_req(OrderType.LIMIT, time_in_force=GTC, quantity="1", price="1", trailing_delta=100),
     "LIMIT order does not take trailingDelta"),
    (_req(OrderType.LIMIT, time_in_force=GTC, price="1"), "LIMIT order requires quantity"),
    (_req(OrderType.LIMIT, time_in_force=GTC, quantity="1"), "LIMIT order requires price"),
    (_req(OrderType.MARKET), "MARKET order requires quantity or quoteOrderQty"),
    (_req(OrderType.MARKET, quantity="1", quote_order_qty="5"),
     "MARKET order takes quantity or quoteOrderQty, not both"),
    (_req(OrderType.MARKET, quantity="1", price="5"), "MARKET order does not take price"),
    (_req(OrderType.MARKET, quantity="1", time_in_force=GTC), "MARKET order does not take timeInForce"),
    (_req(OrderType.LIMIT_MAKER, quantity="1", price="1", time_in_force=GTC),
     "LIMIT_MAKER order does not take timeInForce"),
    (_req(OrderType.LIMIT_MAKER, quantity="1"), "LIMIT_MAKER order requires price"),
    (_req(OrderType.STOP_LOSS, quantity="1"), "STOP_LOSS order requires stopPrice or trailingDelta"),
    (_req(OrderType.TAKE_PROFIT, stop_price="1"), "TAKE_PROFIT order requires quantity"),
    (_req(OrderType.TAKE_PROFIT, quantity="1", stop_price="1", price="2"),
     "TAKE_PROFIT order does not take price"),
    (_req(OrderType.STOP_LOSS_LIMIT, time_in_force=GTC, quantity="1", price="1"),
     "STOP_LOSS_LIMIT order requires stopPrice or trailingDelta"),
    (_req(OrderType.TAKE_PROFIT_LIMIT, quantity="1", price="1", stop_price="1"),
     "TAKE_PROFIT_LIMIT order requires timeInForce"),
    (_req(OrderType.LIMIT, time_in_force=GTC, quantity="1", price="1", quote_order_qty="1"),
     "LIMIT order does not take quoteOrderQty"),
    (_req(OrderType.LIMIT, time_in_force=GTC, quantity="0", price="1"),
     "quantity must be a positive number, got 0"),
    (_req(OrderType.LIMIT, time_in_force=GTC, quantity="1", price="-2"),
     "price must be a positive number, got -2"),
    (_req(OrderType.LIMIT, time_in_force=GTC, quantity="NaN", price="1"),
     "quantity must be a positive number, got NaN"),
    (_req(OrderType.LIMIT, time_in_force=TimeInForce.IOC, quantity="2", price="1", iceberg_qty="1"),
     "an iceberg order needs timeInForce GTC, got IOC"),
    (_req(OrderType.LIMIT, time_in_force=GTC, quantity="1", price="1", iceberg_qty="1"),
     "icebergQty 1 must be less than quantity 1"),
])
def test_check_parameters_rules(request_, reason):
    rejection = check_parameters(request_)
    assert rejection.code is RejectCode.INVALID_PARAMETERS
    assert rejection.reason == f"INVALID_PARAMETERS: {reason}"


def test_check_parameters_detail_names_the_parameter():
    assert check_parameters(_req(OrderType.LIMIT, quantity="1", price="1")).detail == {
        "type": "LIMIT", "missing": "timeInForce"}
    assert check_parameters(_req(OrderType.MARKET, quantity="1", price="5")).detail == {
        "type": "MARKET", "extra": "price"}


def test_check_parameters_refuses_float_and_unknown_enums():
    floaty = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=0.1)
    assert check_parameters(floaty).reason == "INVALID_PARAMETERS: quantity must be a Decimal, got float 0.1"
    bogus = OrderRequest(symbol="BTCUSDT", side="HOLD", type=OrderType.MARKET, quantity=D(1))
    assert check_parameters(bogus).reason == "INVALID_PARAMETERS: side 'HOLD' is not one of BUY, SELL"
    no_side = OrderRequest(symbol="BTCUSDT", side=None, type=OrderType.MARKET, quantity=D(1))
    assert check_parameters(no_side).reason == "INVALID_PARAMETERS: side is required (BUY, SELL)"
    odd_tif = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, time_in_force="GTD",
                           quantity=D(1), price=D(1))
    assert check_parameters(odd_tif).detail == {"parameter": "timeInForce", "timeInForce": "GTD"}
    spelled = OrderRequest(symbol="BTCUSDT", side="SELL", type="LIMIT", time_in_force="IOC",
                           quantity=D(1), price=D(1))
    assert check_parameters(spelled) is None  # enum values as plain strings are fine


@pytest.mark.parametrize("request_", [
    _req(OrderType.LIMIT, time_in_force=GTC, quantity="1", price="1", iceberg_qty="0.5"),
    _req(OrderType.MARKET, quantity="1"),
    _req(OrderType.MARKET, quote_order_qty="10"),
    _req(OrderType.LIMIT_MAKER, quantity="1", price="1"),
    _req(OrderType.STOP_LOSS, quantity="1", stop_price="1"),
    _req(OrderType.TAKE_PROFIT, quantity="1", stop_price="1"),
    _req(OrderType.STOP_LOSS_LIMIT, time_in_force=GTC, quantity="1", price="1", stop_price="1"),
    _req(OrderType.TAKE_PROFIT_LIMIT, time_in_force="FOK", quantity="1", price="1", stop_price="1"),
    _req(OrderType.STOP_LOSS, quantity="1", trailing_delta=250),
    _req(OrderType.TAKE_PROFIT_LIMIT, time_in_force=GTC, quantity="1", price="1", trailing_delta=50,
         stop_price="1"),
])
def test_check_parameters_accepts_each_valid_shape(request_):
    assert check_parameters(request_) is None


# ------------------------------------------------------------------ validate


BTC = symbol(PRICE, SEED_LOT, MIN_NOTIONAL, TODAY_NOTIONAL)


def test_validate_returns_first_rejection_in_stable_order():
    # Breaks PRICE_FILTER (tick), LOT_SIZE (step) and MIN_NOTIONAL at once.
    request = limit("1.005", "0.0015")
    assert validate(BTC, request).code is RejectCode.PRICE_FILTER
    codes = [r.code for r in validate_all(BTC, request)]
    assert codes == [RejectCode.PRICE_FILTER, RejectCode.LOT_SIZE, RejectCode.MIN_NOTIONAL, RejectCode.NOTIONAL]
    # The order of filters in exchangeInfo does not change the order of checks.
    shuffled = symbol(TODAY_NOTIONAL, MIN_NOTIONAL, SEED_LOT, PRICE)
    assert [r.code for r in validate_all(shuffled, request)] == codes


def test_validate_symbol_first_and_no_filters_on_bad_parameters():
    halted = symbol(PRICE, SEED_LOT, status="HALT")
    bad = _req(OrderType.LIMIT, quantity="-1", price="1.005")
    assert [r.code for r in validate_all(halted, bad)] == [
        RejectCode.SYMBOL_NOT_TRADING, RejectCode.INVALID_PARAMETERS]


def test_validate_passes_a_good_order():
    assert validate(BTC, limit("25.5", "1")) is None
    assert validate_all(BTC, limit("25.5", "1")) == []
    assert validate(BTC, market("1"), avg("25")) is None


def test_unknown_and_malformed_filters_fail_closed_unless_allowed():
    unknown = {"filterType": "MAX_FUTURE_THING", "limit": 3}
    info = symbol(PRICE, SEED_LOT, unknown, name="NEWUSDT")
    request = OrderRequest(symbol="NEWUSDT", side=Side.BUY, type=OrderType.LIMIT,
                           time_in_force=GTC, quantity=D("1"), price=D("20"))
    rules = compile_rules(info)
    assert rules.unknown_filters == ("MAX_FUTURE_THING",)
    refused = validate(rules, request)
    assert refused.code is RejectCode.UNKNOWN_FILTER
    assert refused.reason == ("UNKNOWN_FILTER: NEWUSDT has symbol filter MAX_FUTURE_THING, which this "
                              "daemon does not evaluate; orders are refused unless [gateway] "
                              "allow_unknown_filters lists it")
    assert refused.detail == {"filter": "MAX_FUTURE_THING", "scope": "symbol"}
    allowed = compile_rules(info, allow_unknown_filters={"MAX_FUTURE_THING"})
    assert allowed.allowed_unknown == ("MAX_FUTURE_THING",) and validate(allowed, request) is None
    # An unknown *exchange* filter blocks every symbol the same way.
    exchange_wide = compile_rules(symbol(PRICE, SEED_LOT, name="NEWUSDT"),
                                  exchange_filters=[{"filterType": "EXCHANGE_MAX_SOMETHING"}])
    assert validate(exchange_wide, request).detail == {"filter": "EXCHANGE_MAX_SOMETHING", "scope": "exchange"}
    # Known but not applicable to new orders: no refusal, and not "unknown".
    amends = compile_rules(symbol(PRICE, SEED_LOT, {"filterType": "MAX_NUM_ORDER_AMENDS",
                                                     "maxNumOrderAmends": 10}, name="NEWUSDT"))
    assert amends.unknown_filters == () and validate(amends, request) is None


def test_malformed_known_filter_refuses_with_its_own_code():
    broken = {"filterType": "ICEBERG_PARTS", "limit": "ten"}
    rules = compile_rules(symbol(PRICE, SEED_LOT, broken))
    assert rules.malformed == ("ICEBERG_PARTS",)
    refused = validate(rules, limit("20", "1"))
    assert (refused.code, refused.reason) == (RejectCode.ICEBERG_PARTS,
                                              "ICEBERG_PARTS: limit is missing or not a number ('ten')")
    assert refused.detail == {"filter": "ICEBERG_PARTS", "limit": "ten"}


# ------------------------------------------------------------------ helpers


def test_round_price_never_more_aggressive():
    assert round_price(BTC, D("10.019"), Side.BUY) == D("10.01")
    assert round_price(BTC, D("10.011"), Side.SELL) == D("10.02")
    assert round_price(BTC, D("10.01"), Side.SELL) == D("10.01")
    anchored = symbol(dict(PRICE, minPrice="0.005"))
    assert round_price(anchored, D("0.02"), Side.BUY) == D("0.015")
    assert round_price(symbol(dict(PRICE, tickSize="0")), D("1.23456"), Side.BUY) == D("1.23456")
    assert round_price(symbol(), D("1.23456"), Side.SELL) == D("1.23456")  # no PRICE_FILTER at all


def test_floor_quantity():
    assert floor_quantity(BTC, D("0.0105")) == D("0.010")
    assert floor_quantity(BTC, D("0.0009")) == D(0)
    assert floor_quantity(BTC, D("250000")) == D("100000")
    assert floor_quantity(symbol(), D("0.123")) == D("0.123")


def test_min_quantity():
    # minNotional 10 at price 3: 10/3 = 3.333.. -> next step 3.334 (step 0.001 from minQty 0.001).
    assert min_quantity(BTC, D("3")) == D("3.334")
    assert validate(BTC, limit("3", "3.334")) is None
    assert validate(BTC, limit("3", "3.333")).code is RejectCode.MIN_NOTIONAL
    assert min_quantity(BTC, D("100000")) == D("0.001")  # minQty dominates
    assert min_quantity(BTC, D("0")) is None
    assert min_quantity(symbol(SEED_LOT, TODAY_NOTIONAL), D("0.00001")) is None  # above maxQty
    assert min_quantity(symbol(dict(SEED_LOT, minQty="0")), D("5")) == D("0.001")
    assert min_quantity(symbol(), D("5")) is None


decimals = st.decimals(min_value=D("0.00000001"), max_value=D("1000000"), places=8,
                       allow_nan=False, allow_infinity=False)
exponents = st.integers(min_value=0, max_value=8)


@st.composite
def grid_filters(draw):
    """A PRICE_FILTER and LOT_SIZE on a realistic grid (limits are multiples of the step)."""
    tick = D(draw(st.integers(1, 5))).scaleb(-draw(exponents))
    step = D(draw(st.integers(1, 5))).scaleb(-draw(exponents))
    min_price = tick * draw(st.integers(0, 1000))
    max_price = min_price + tick * draw(st.integers(1, 10**7))
    min_qty = step * draw(st.integers(0, 1000))
    max_qty = min_qty + step * draw(st.integers(1, 10**7))
    price = {"filterType": "PRICE_FILTER", "minPrice": str(min_price), "maxPrice": str(max_price),
             "tickSize": str(tick)}
    lot = {"filterType": "LOT_SIZE", "minQty": str(min_qty), "maxQty": str(max_qty), "stepSize": str(step)}
    return symbol(price, lot)


@settings(max_examples=300, deadline=None)
@given(info=grid_filters(), raw_price=decimals, raw_qty=decimals, side=st.sampled_from(list(Side)))
def test_helpers_output_always_passes_the_filters(info, raw_price, raw_qty, side):
    price_spec, lot_spec = info.filter("PRICE_FILTER"), info.filter("LOT_SIZE")
    low, high = D(price_spec["minPrice"]), D(price_spec["maxPrice"])
    inside = min(max(raw_price, low), high)
    rounded = round_price(info, inside, side)
    assert rounded <= inside if side is Side.BUY else rounded >= inside
    assert abs(rounded - inside) < D(price_spec["tickSize"])
    probe = OrderRequest(symbol="BTCUSDT", side=side, type=OrderType.LIMIT, time_in_force=GTC,
                         price=rounded, quantity=D(1))
    assert PriceFilter.parse(price_spec).check(probe, NO_MARKET_DATA, None) is None

    floored = floor_quantity(info, raw_qty)
    assert floored <= raw_qty
    if raw_qty >= D(lot_spec["minQty"]):
        assert LotSize.parse(lot_spec).check(limit("1", str(floored)), NO_MARKET_DATA, None) is None
        assert raw_qty >= D(lot_spec["maxQty"]) or raw_qty - floored < D(lot_spec["stepSize"])
    else:
        assert floored == 0


@settings(max_examples=200, deadline=None)
@given(price=st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4),
       min_notional=st.decimals(min_value=D("0"), max_value=D("100"), places=2))
def test_min_quantity_is_valid_and_minimal(price, min_notional):
    info = symbol(SEED_LOT, dict(MIN_NOTIONAL, minNotional=str(min_notional)))
    qty = min_quantity(info, price)
    if qty is None:
        assert min_notional / price > D("100000")  # beyond maxQty: nothing fits
        return
    request = limit(str(price), str(qty))
    assert check(SEED_LOT, request) is None
    assert check(info.filter("MIN_NOTIONAL"), request) is None
    smaller = qty - D("0.001")
    if smaller >= D("0.001"):
        assert check(info.filter("MIN_NOTIONAL"), limit(str(price), str(smaller))) is not None
