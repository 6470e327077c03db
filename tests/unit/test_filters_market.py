"""daemon.filters, second part: the filters that read live state, the market rules, OCO, adjust.

Each filter of filters.md with its boundaries (equal passes), its refusal text
and detail, and its "input unknown" refusal (fail closed).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from daemon.filters import (
    NO_MARKET_DATA,
    NOTHING_ADDED,
    MarketInputs,
    OpenCounts,
    additions,
    adjust,
    compile_rules,
    floor_quantity,
    oco_additions,
    round_stop_price,
    validate,
    validate_all,
    validate_oco,
    validate_oco_all,
)
from daemon.orders import OcoRequest, OrderRequest, OrderType, RejectCode, Side, TimeInForce
from daemon.venues.binance.models import SymbolInfo

GTC = TimeInForce.GTC
ALL_TYPES = tuple(t.value for t in OrderType)
PRICE = {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"}
LOT = {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"}


def rules(*specs: dict, exchange=(), assets=(), **kw):
    info = SymbolInfo(symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT",
                      order_types=ALL_TYPES, iceberg_allowed=True, oco_allowed=kw.pop("oco", True),
                      filters=(PRICE, LOT) + specs, **kw)
    return compile_rules(info, exchange_filters=exchange, asset_filters=assets)


def order(kind=OrderType.LIMIT, side=Side.BUY, **kw) -> OrderRequest:
    values = {k: D(v) if isinstance(v, str) else v for k, v in kw.items()}
    if kind in (OrderType.LIMIT, OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT):
        values.setdefault("time_in_force", GTC)
    return OrderRequest(symbol="BTCUSDT", side=side, type=kind, client_order_id="c-1", **values)


def buy(price="100", qty="1", **kw):
    return order(price=price, quantity=qty, **kw)


# ------------------------------------------------------------------ PERCENT_PRICE


PERCENT = {"filterType": "PERCENT_PRICE", "multiplierUp": "1.3", "multiplierDown": "0.7", "avgPriceMins": 5}


@pytest.mark.parametrize("price, ok", [("130", True), ("70", True), ("130.01", False), ("69.99", False)])
def test_percent_price_band_around_the_average(price, ok):
    refused = validate(rules(PERCENT), buy(price), MarketInputs(average_price=D("100")))
    assert (refused is None) is ok


def test_percent_price_reasons_and_missing_average():
    above = validate(rules(PERCENT), buy("131"), MarketInputs(average_price=D("100")))
    assert above.code is RejectCode.PERCENT_PRICE
    assert above.reason == ("PERCENT_PRICE: price 131 is above 130 (average price (5 min) 100 * "
                            "multiplierUp 1.3)")
    assert above.detail == {"filter": "PERCENT_PRICE", "multiplierUp": "1.3", "referencePrice": "100",
                            "limit": "130", "price": "131"}
    below = validate(rules(PERCENT), buy("69"), MarketInputs(average_price=D("100")))
    assert below.reason == "PERCENT_PRICE: price 69 is below 70 (average price (5 min) 100 * multiplierDown 0.7)"
    unknown = validate(rules(PERCENT), buy("100"), NO_MARKET_DATA)
    assert unknown.reason == ("PERCENT_PRICE: needs the average price (5 min) of BTCUSDT and none "
                              "is available")
    # A MARKET order has no price: the band does not apply.
    market = order(OrderType.MARKET, quantity="1")
    assert validate(rules(PERCENT), market, NO_MARKET_DATA) is None


def test_percent_price_with_zero_minutes_uses_the_last_price():
    zero = dict(PERCENT, avgPriceMins=0)
    assert "last_price" in rules(zero).needs
    market = MarketInputs(average_price=D("1000"), last_price=D("100"))
    assert validate(rules(zero), buy("125"), market) is None
    refused = validate(rules(zero), buy("140"), market)
    assert refused.reason == "PERCENT_PRICE: price 140 is above 130 (last price 100 * multiplierUp 1.3)"


BY_SIDE = {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "1.2", "bidMultiplierDown": "0.2",
           "askMultiplierUp": "5", "askMultiplierDown": "0.8", "avgPriceMins": 1}


def test_percent_price_by_side_uses_the_sides_multipliers():
    market = MarketInputs(average_price=D("100"))
    assert validate(rules(BY_SIDE), buy("120"), market) is None
    bid = validate(rules(BY_SIDE), buy("121"), market)
    assert bid.code is RejectCode.PERCENT_PRICE_BY_SIDE
    assert bid.reason == ("PERCENT_PRICE_BY_SIDE: price 121 is above 120 (average price (1 min) 100 * "
                          "bidMultiplierUp 1.2)")
    assert validate(rules(BY_SIDE), order(side=Side.SELL, price="121", quantity="1"), market) is None
    ask = validate(rules(BY_SIDE), order(side=Side.SELL, price="79", quantity="1"), market)
    assert ask.reason == ("PERCENT_PRICE_BY_SIDE: price 79 is below 80 (average price (1 min) 100 * "
                          "askMultiplierDown 0.8)")
    assert validate(rules(BY_SIDE), buy("21"), market) is None  # 0.2 * 100 = 20


# ------------------------------------------------------------------ quantities


def test_market_lot_size_applies_to_market_quantities_only():
    spec = {"filterType": "MARKET_LOT_SIZE", "minQty": "0", "maxQty": "5", "stepSize": "0"}
    market = MarketInputs(average_price=D("100"))
    assert validate(rules(spec), order(OrderType.MARKET, quantity="5"), market) is None
    refused = validate(rules(spec), order(OrderType.MARKET, quantity="5.001"), market)
    assert (refused.code, refused.reason) == (RejectCode.MARKET_LOT_SIZE,
                                              "MARKET_LOT_SIZE: quantity 5.001 is above maxQty 5")
    assert validate(rules(spec), buy("100", "6"), market) is None  # a LIMIT order: LOT_SIZE only
    assert validate(rules(spec), order(OrderType.MARKET, quote_order_qty="10000"), market) is None
    stepped = dict(spec, minQty="0.01", stepSize="0.01")
    assert validate(rules(stepped), order(OrderType.MARKET, quantity="0.015"), market).reason == (
        "MARKET_LOT_SIZE: quantity 0.015 is not a multiple of stepSize 0.01 above minQty 0.01")


def test_iceberg_parts_is_the_ceiling_of_quantity_over_iceberg():
    spec = {"filterType": "ICEBERG_PARTS", "limit": 10}
    assert validate(rules(spec), buy("100", "1", iceberg_qty="0.1")) is None  # exactly 10 parts
    refused = validate(rules(spec), buy("100", "1", iceberg_qty="0.099"))  # ceil(10.1) = 11
    assert refused.code is RejectCode.ICEBERG_PARTS
    assert refused.reason == ("ICEBERG_PARTS: quantity 1 / icebergQty 0.099 makes 11 parts, above the "
                              "limit of 10")
    assert refused.detail == {"filter": "ICEBERG_PARTS", "limit": "10", "parts": "11", "quantity": "1",
                              "icebergQty": "0.099"}


MAX_POSITION = {"filterType": "MAX_POSITION", "maxPosition": "10"}


def test_max_position_counts_the_order_on_top_of_the_position():
    assert validate(rules(MAX_POSITION), buy("100", "2"), MarketInputs(position=D("8"))) is None
    refused = validate(rules(MAX_POSITION), buy("100", "2.001"), MarketInputs(position=D("8")))
    assert refused.code is RejectCode.MAX_POSITION
    assert refused.reason == ("MAX_POSITION: position 8 + quantity 2.001 = 10.001 would exceed "
                              "maxPosition 10")
    assert refused.detail == {"filter": "MAX_POSITION", "maxPosition": "10", "position": "8",
                              "quantity": "2.001"}
    # SELL orders reduce the position: never refused, even without knowing it.
    assert validate(rules(MAX_POSITION), order(side=Side.SELL, price="100", quantity="50")) is None
    unknown = validate(rules(MAX_POSITION), buy("100", "1"), NO_MARKET_DATA)
    assert unknown.reason == "MAX_POSITION: cannot check: the account's position is not known"


def test_max_position_estimates_a_quote_market_buy_from_the_average_price():
    quote_buy = order(OrderType.MARKET, quote_order_qty="300")
    refused = validate(rules(MAX_POSITION), quote_buy, MarketInputs(position=D("8"), average_price=D("100")))
    assert refused.reason == ("MAX_POSITION: position 8 + quoteOrderQty 300 / average price 100 = 11 "
                              "would exceed maxPosition 10")
    no_price = validate(rules(MAX_POSITION), quote_buy, MarketInputs(position=D("8")))
    assert no_price.reason == ("MAX_POSITION: cannot check: the order's size (quantity unknown without an "
                               "average price) is not known")


def test_max_asset_limits_base_quantity_and_quote_notional():
    assets = [{"filterType": "MAX_ASSET", "asset": "BTC", "limit": "2"},
              {"filterType": "MAX_ASSET", "asset": "USDT", "limit": "500"},
              {"filterType": "MAX_ASSET", "asset": "ETH", "limit": "0.000001"}]  # not this symbol's
    compiled = rules(assets=assets)
    assert validate(compiled, buy("250", "2")) is None
    base = validate(compiled, buy("100", "2.001"))
    assert (base.code, base.reason) == (RejectCode.MAX_ASSET, "MAX_ASSET: quantity 2.001 BTC (quantity "
                                                              "2.001) is above the limit of 2 BTC per order")
    quote = validate(compiled, buy("300", "1.7"))
    assert quote.reason == ("MAX_ASSET: notional 510 USDT (price 300 * quantity 1.7) is above the limit "
                            "of 500 USDT per order")
    assert quote.detail == {"filter": "MAX_ASSET", "asset": "USDT", "limit": "500", "notional": "510"}
    market = order(OrderType.MARKET, quantity="1")
    assert validate(compiled, market, MarketInputs(average_price=D("499"))) is None
    assert validate(compiled, market, NO_MARKET_DATA).reason == (
        "MAX_ASSET: cannot check the USDT notional of this order (no average price)")


# ------------------------------------------------------------------ trailing stops


TRAILING = {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 20, "maxTrailingBelowDelta": 1000}


@pytest.mark.parametrize("kind, side, delta, reason", [
    (OrderType.STOP_LOSS, Side.BUY, 9,
     "TRAILING_DELTA: trailingDelta 9 is below minTrailingAboveDelta 10 for STOP_LOSS BUY"),
    (OrderType.TAKE_PROFIT, Side.SELL, 2001,
     "TRAILING_DELTA: trailingDelta 2001 is above maxTrailingAboveDelta 2000 for TAKE_PROFIT SELL"),
    (OrderType.STOP_LOSS, Side.SELL, 19,
     "TRAILING_DELTA: trailingDelta 19 is below minTrailingBelowDelta 20 for STOP_LOSS SELL"),
    (OrderType.TAKE_PROFIT, Side.BUY, 1001,
     "TRAILING_DELTA: trailingDelta 1001 is above maxTrailingBelowDelta 1000 for TAKE_PROFIT BUY"),
    (OrderType.STOP_LOSS, Side.BUY, 10, None),
    (OrderType.STOP_LOSS, Side.SELL, 1000, None),
])
def test_trailing_delta_bounds_by_trigger_side(kind, side, delta, reason):
    refused = validate(rules(TRAILING), order(kind, side, quantity="1", trailing_delta=delta))
    assert (refused.reason if refused else None) == reason
    if refused:
        assert refused.code is RejectCode.TRAILING_DELTA


# ------------------------------------------------------------------ open-order counts


COUNTS = [{"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 5},
          {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 2},
          {"filterType": "MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 1},
          {"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 1}]
EXCHANGE = [{"filterType": "EXCHANGE_MAX_NUM_ORDERS", "maxNumOrders": 8},
            {"filterType": "EXCHANGE_MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 3},
            {"filterType": "EXCHANGE_MAX_NUM_ICEBERG_ORDERS", "maxNumIcebergOrders": 2},
            {"filterType": "EXCHANGE_MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 2}]
LAST = D("100")


def counted(symbol: OpenCounts, exchange: OpenCounts) -> MarketInputs:
    return MarketInputs(symbol_open=symbol, exchange_open=exchange, last_price=LAST)


STOP = order(OrderType.STOP_LOSS, Side.SELL, quantity="1", stop_price="90")
ICEBERG = buy("100", "1", iceberg_qty="0.5")


@pytest.mark.parametrize("request_, here, everywhere, code, reason", [
    (buy(), OpenCounts(5), OpenCounts(5), RejectCode.MAX_NUM_ORDERS,
     "MAX_NUM_ORDERS: 5 open orders on BTCUSDT + 1 new would exceed maxNumOrders 5"),
    (STOP, OpenCounts(2, 2), OpenCounts(2, 2), RejectCode.MAX_NUM_ALGO_ORDERS,
     "MAX_NUM_ALGO_ORDERS: 2 open algo (stop) orders on BTCUSDT + 1 new would exceed maxNumAlgoOrders 2"),
    (ICEBERG, OpenCounts(1, 0, 1), OpenCounts(1, 0, 1), RejectCode.MAX_NUM_ICEBERG_ORDERS,
     "MAX_NUM_ICEBERG_ORDERS: 1 open iceberg orders on BTCUSDT + 1 new would exceed "
     "maxNumIcebergOrders 1"),
    (buy(), OpenCounts(1), OpenCounts(8), RejectCode.EXCHANGE_MAX_NUM_ORDERS,
     "EXCHANGE_MAX_NUM_ORDERS: 8 open orders on the account + 1 new would exceed maxNumOrders 8"),
    (STOP, OpenCounts(1, 1), OpenCounts(3, 3), RejectCode.EXCHANGE_MAX_NUM_ALGO_ORDERS,
     "EXCHANGE_MAX_NUM_ALGO_ORDERS: 3 open algo (stop) orders on the account + 1 new would exceed "
     "maxNumAlgoOrders 3"),
    (ICEBERG, OpenCounts(0), OpenCounts(2, 0, 2), RejectCode.EXCHANGE_MAX_NUM_ICEBERG_ORDERS,
     "EXCHANGE_MAX_NUM_ICEBERG_ORDERS: 2 open iceberg orders on the account + 1 new would exceed "
     "maxNumIcebergOrders 2"),
])
def test_count_limits_per_kind_and_scope(request_, here, everywhere, code, reason):
    refused = validate(rules(*COUNTS, exchange=EXCHANGE), request_, counted(here, everywhere))
    assert (refused.code, refused.reason) == (code, reason)
    assert refused.detail["filter"] == code.value and refused.detail["adding"] == "1"
    one_less = OpenCounts(*(max(n - 1, 0) for n in here))
    one_less_everywhere = OpenCounts(*(max(n - 1, 0) for n in everywhere))
    assert validate(rules(*COUNTS, exchange=EXCHANGE), request_, counted(one_less, one_less_everywhere)) is None


def test_a_kind_the_order_does_not_add_is_not_limited():
    full_algo = counted(OpenCounts(2, 2, 1, 1), OpenCounts(3, 3, 2, 2))
    assert validate(rules(*COUNTS, exchange=EXCHANGE), buy(), full_algo) is None
    assert validate(rules(*COUNTS), buy(), MarketInputs(), adding=NOTHING_ADDED) is None
    unknown = validate(rules(*COUNTS), buy(), NO_MARKET_DATA)
    assert unknown.reason == "MAX_NUM_ORDERS: cannot check: the number of open orders on BTCUSDT is not known"


def test_additions_by_kind():
    assert additions(buy()) == OpenCounts(1, 0, 0, 0)
    assert additions(STOP) == OpenCounts(1, 1, 0, 0)
    assert additions(ICEBERG) == OpenCounts(1, 0, 1, 0)


# ------------------------------------------------------------------ stop direction, LIMIT_MAKER


@pytest.mark.parametrize("kind, side, stop, ok", [
    (OrderType.STOP_LOSS, Side.SELL, "99.99", True), (OrderType.STOP_LOSS, Side.SELL, "100", False),
    (OrderType.STOP_LOSS, Side.BUY, "100.01", True), (OrderType.STOP_LOSS, Side.BUY, "100", False),
    (OrderType.TAKE_PROFIT, Side.SELL, "101", True), (OrderType.TAKE_PROFIT, Side.SELL, "99", False),
    (OrderType.TAKE_PROFIT, Side.BUY, "99", True), (OrderType.TAKE_PROFIT, Side.BUY, "101", False),
    (OrderType.STOP_LOSS_LIMIT, Side.SELL, "99", True), (OrderType.TAKE_PROFIT_LIMIT, Side.BUY, "100", False),
])
def test_stop_price_must_wait_on_its_side_of_the_last_price(kind, side, stop, ok):
    extra = {"price": stop} if kind in (OrderType.STOP_LOSS_LIMIT, OrderType.TAKE_PROFIT_LIMIT) else {}
    request = order(kind, side, quantity="1", stop_price=stop, **extra)
    refused = validate(rules(), request, MarketInputs(last_price=D("100")))
    assert (refused is None) is ok
    if refused is not None:
        assert refused.code is RejectCode.STOP_PRICE_DIRECTION


def test_stop_direction_reason_and_unknown_last_price():
    request = order(OrderType.STOP_LOSS, Side.SELL, quantity="1", stop_price="101")
    refused = validate(rules(), request, MarketInputs(last_price=D("100")))
    assert refused.reason == ("STOP_PRICE_DIRECTION: STOP_LOSS SELL needs stopPrice below the last price "
                              "100; 101 would trigger immediately")
    assert refused.detail == {"rule": "STOP_PRICE_DIRECTION", "stopPrice": "101", "lastPrice": "100",
                              "required": "below"}
    blind = validate(rules(), request, NO_MARKET_DATA)
    assert blind.reason == ("STOP_PRICE_DIRECTION: cannot check: no last price of BTCUSDT to place the "
                            "STOP_LOSS SELL stopPrice 101 below")


def test_limit_maker_that_would_take_is_refused():
    book = MarketInputs(best_bid=D("99"), best_ask=D("101"))
    maker = lambda side, price: order(OrderType.LIMIT_MAKER, side, price=price, quantity="1")  # noqa: E731
    assert validate(rules(), maker(Side.BUY, "100.99"), book) is None
    refused = validate(rules(), maker(Side.BUY, "101"), book)
    assert (refused.code, refused.reason) == (
        RejectCode.LIMIT_MAKER_WOULD_TAKE,
        "LIMIT_MAKER_WOULD_TAKE: BUY LIMIT_MAKER at 101 would match the best ask 101 and trade as a taker")
    assert refused.detail == {"rule": "LIMIT_MAKER_WOULD_TAKE", "price": "101", "bestAsk": "101"}
    assert validate(rules(), maker(Side.SELL, "99"), book).detail["bestBid"] == "99"
    assert validate(rules(), maker(Side.SELL, "99.01"), book) is None
    assert validate(rules(), maker(Side.BUY, "1000"), NO_MARKET_DATA) is None  # no book: the exchange decides
    assert validate(rules(), buy("1000"), book) is None  # a plain LIMIT may cross


def test_validate_all_lists_filters_then_market_rules():
    request = order(OrderType.STOP_LOSS_LIMIT, Side.SELL, quantity="1.0005", price="100.005", stop_price="101")
    codes = [r.code for r in validate_all(rules(PERCENT), request, MarketInputs(last_price=D("100")))]
    assert codes == [RejectCode.PRICE_FILTER, RejectCode.PERCENT_PRICE, RejectCode.LOT_SIZE,
                     RejectCode.STOP_PRICE_DIRECTION]


# ------------------------------------------------------------------ OCO


def sell_oco(**kw) -> OcoRequest:
    values = dict(symbol="BTCUSDT", side=Side.SELL, quantity=D("1"), price=D("110"), stop_price=D("90"),
                  list_client_order_id="list-1")
    values.update(kw)
    return OcoRequest(**values)


def test_oco_price_relationship_straddles_the_last_price():
    market = MarketInputs(last_price=D("100"))
    assert validate_oco(rules(), sell_oco(), market) is None
    bad = validate_oco(rules(), sell_oco(price=D("100")), market)
    assert bad.code is RejectCode.OCO_PRICES and bad.client_order_id == "list-1"
    assert bad.reason == ("OCO_PRICES: SELL OCO needs price > last price > stopPrice; got price 100, last "
                          "price 100, stopPrice 90")
    buy_oco = sell_oco(side=Side.BUY, price=D("90"), stop_price=D("110"))
    assert validate_oco(rules(), buy_oco, market) is None
    assert validate_oco(rules(), sell_oco(side=Side.BUY), market).detail["rule"] == (
        "price < last price < stopPrice")
    assert validate_oco(rules(), sell_oco(), NO_MARKET_DATA).reason == (
        "OCO_PRICES: cannot check SELL OCO rule price > last price > stopPrice: no last price of BTCUSDT")


def test_oco_legs_pass_every_rule_and_are_named_in_the_refusal():
    market = MarketInputs(last_price=D("100"))
    ticky = validate_oco(rules(), sell_oco(stop_price=D("90.001")), market)
    assert ticky.code is RejectCode.PRICE_FILTER
    assert ticky.reason == ("PRICE_FILTER: stop leg: stopPrice 90.001 is not a multiple of tickSize 0.01 "
                            "above minPrice 0.01")
    assert ticky.detail["leg"] == "stop" and ticky.client_order_id == "list-1"
    no_tif = validate_oco(rules(), sell_oco(stop_limit_price=D("89")), market)
    assert no_tif.reason == "INVALID_PARAMETERS: stop leg: STOP_LOSS_LIMIT order requires timeInForce"
    good_limit = sell_oco(stop_limit_price=D("89"), stop_limit_time_in_force=GTC)
    assert validate_oco(rules(), good_limit, market) is None
    maker = validate_oco(rules(), sell_oco(), MarketInputs(last_price=D("100"), best_bid=D("111")))
    assert maker.reason == ("LIMIT_MAKER_WOULD_TAKE: limit leg: SELL LIMIT_MAKER at 110 would match the "
                            "best bid 111 and trade as a taker")


def test_oco_needs_oco_allowed_and_counts_as_two_orders_and_one_list():
    market = MarketInputs(last_price=D("100"))
    refused = validate_oco(rules(oco=False), sell_oco(), market)
    assert refused.reason == "ORDER_TYPE_NOT_ALLOWED: OCO orders are not allowed on BTCUSDT"
    assert oco_additions(sell_oco()) == OpenCounts(2, 1, 0, 1)
    assert oco_additions(sell_oco(limit_iceberg_qty=D("0.5"))) == OpenCounts(2, 1, 1, 1)
    with_counts = lambda here: MarketInputs(last_price=D("100"), symbol_open=here)  # noqa: E731
    assert validate_oco(rules(*COUNTS[:1]), sell_oco(), with_counts(OpenCounts(3))) is None
    full = validate_oco(rules(*COUNTS[:1]), sell_oco(), with_counts(OpenCounts(4)))
    assert full.reason == "MAX_NUM_ORDERS: 4 open orders on BTCUSDT + 2 new would exceed maxNumOrders 5"
    assert full.client_order_id == "list-1"
    lists = validate_oco(rules(COUNTS[3]), sell_oco(), with_counts(OpenCounts(2, 1, 0, 1)))
    assert lists.code is RejectCode.MAX_NUM_ORDER_LISTS
    exchange_lists = validate_oco(rules(exchange=EXCHANGE[3:]), sell_oco(),
                                  MarketInputs(last_price=D("100"), exchange_open=OpenCounts(4, 2, 0, 2)))
    assert exchange_lists.code is RejectCode.EXCHANGE_MAX_NUM_ORDER_LISTS
    everything = validate_oco_all(rules(oco=False), sell_oco(price=D("95")), market)
    assert [r.code for r in everything] == [RejectCode.ORDER_TYPE_NOT_ALLOWED, RejectCode.OCO_PRICES]


# ------------------------------------------------------------------ adjust and helpers


def test_adjust_rounds_each_value_the_safe_way_and_reports_it():
    request = order(OrderType.STOP_LOSS_LIMIT, Side.SELL, quantity="1.23456", price="99.996",
                    stop_price="100.004", iceberg_qty="0.5555")
    adjusted, changes = adjust(rules(), request)
    assert (adjusted.price, adjusted.stop_price, adjusted.quantity, adjusted.iceberg_qty) == (
        D("100.00"), D("100.00"), D("1.234"), D("0.555"))
    assert changes == {"price": "99.996 -> 100", "stopPrice": "100.004 -> 100",
                       "quantity": "1.23456 -> 1.234", "icebergQty": "0.5555 -> 0.555"}
    assert adjust(rules(), buy("100", "1")) == (buy("100", "1"), {})
    tiny, nothing = adjust(rules(), buy("100", "0.0005"))  # below minQty: left for validate to explain
    assert tiny.quantity == D("0.0005") and nothing == {}


def test_stop_prices_round_away_from_the_market():
    compiled = rules()
    assert round_stop_price(compiled, D("100.004"), OrderType.STOP_LOSS, Side.BUY) == D("100.01")
    assert round_stop_price(compiled, D("100.006"), OrderType.STOP_LOSS, Side.SELL) == D("100.00")
    assert round_stop_price(compiled, D("100.004"), OrderType.TAKE_PROFIT, Side.SELL) == D("100.01")
    assert round_stop_price(compiled, D("100.006"), OrderType.TAKE_PROFIT, Side.BUY) == D("100.00")


def test_floor_quantity_for_market_orders_honours_both_lot_filters():
    spec = {"filterType": "MARKET_LOT_SIZE", "minQty": "0", "maxQty": "5.5555", "stepSize": "0"}
    compiled = rules(spec)
    assert floor_quantity(compiled, D("7")) == D("7")
    assert floor_quantity(compiled, D("7"), market=True) == D("5.555")


def test_validation_is_exact_beyond_the_default_28_digits_and_restores_the_context():
    """price * quantity here has 30 digits; rounded to 28 it would slip under maxNotional."""
    from decimal import getcontext

    price, qty = D("12345678.12345678"), D("1234567.12345671")
    exact = D("15241568327998.4703552078859938")
    rounded_at_28 = D("15241568327998.47035520788599")
    spec = {"filterType": "NOTIONAL", "minNotional": "1", "maxNotional": str(rounded_at_28),
            "applyMinToMarket": True, "applyMaxToMarket": True, "avgPriceMins": 5}
    wide = {"filterType": "PRICE_FILTER", "minPrice": "0", "maxPrice": "0", "tickSize": "0.00000001"}
    lots = {"filterType": "LOT_SIZE", "minQty": "0.00000001", "maxQty": "100000000", "stepSize": "0.00000001"}
    info = SymbolInfo(symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT",
                      order_types=ALL_TYPES, filters=(wide, lots, spec))
    before = getcontext()
    refused = validate(compile_rules(info), buy(str(price), str(qty)))
    assert getcontext() is before
    assert refused.code is RejectCode.NOTIONAL and refused.detail["notional"] == str(exact)
