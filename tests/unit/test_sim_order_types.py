"""Order types of the simulator: stops and take-profits (plain and trailing), icebergs,
time in force and the response types, each with exact balances and user-stream reports."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sim_trading_helpers import bal, build, limit, listen, maker, order, reports, trade_at

from sim import errors
from sim.requests import parse_order_ref


@pytest.fixture
def ex():
    return build()


def test_stop_loss_limit_sell_waits_then_fires_on_the_fall(ex):
    log = listen(ex)
    placed = order(ex, side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC", quantity="0.1",
                   price="29900.00", stopPrice="29950.00")
    assert set(placed) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    assert bal(ex.default_account, "BTC") == (D("1.9"), D("0.1"))
    assert ex.depth("BTCUSDT", 5)["asks"] == []  # contingent orders are not on the book
    limit(ex, maker(ex), "BUY", "1", "29920.00")
    trade_at(ex, "29960.00")                      # not yet: 29960 > 29950
    assert ex.default_account.orders[("BTCUSDT", placed["orderId"])].working is False
    trade_at(ex, "29950.00")                      # the stop price is reached
    sl = placed["orderId"]
    assert [r for r in reports(log) if r[0] == sl] == [
        (sl, "STOP_LOSS_LIMIT", "NEW", "NEW"), (sl, "STOP_LOSS_LIMIT", "NEW", "NEW"),
        (sl, "STOP_LOSS_LIMIT", "TRADE", "FILLED")]
    first, fired = log.payloads("executionReport")[:2]
    assert (first["w"], first["P"]) == (False, "29950.00000000")
    sold = D("0.1") * D("29920")
    assert bal(ex.default_account, "BTC") == (D("1.9"), D(0))
    assert bal(ex.default_account, "USDT") == (D(100000) + sold - sold * D("0.001"), D(0))
    query = ex.query_order(ex.default_account, parse_order_ref(
        {"symbol": "BTCUSDT", "orderId": str(sl)}, for_cancel=False))
    assert (query["isWorking"], query["stopPrice"], query["status"]) == (
        True, "29950.00000000", "FILLED")


def test_stop_loss_buy_runs_past_its_stop_and_locks_the_difference(ex):
    placed = order(ex, side="BUY", type="STOP_LOSS", quantity="0.1", stopPrice="30100.00")
    assert bal(ex.default_account, "USDT") == (D(100000) - D(3010), D(3010))
    limit(ex, maker(ex), "SELL", "0.1", "30300.00")   # the only liquidity, far above the stop
    trade_at(ex, "30100.00")
    answer = ex.query_order(ex.default_account, parse_order_ref(
        {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])}, for_cancel=False))
    assert (answer["status"], answer["cummulativeQuoteQty"]) == ("FILLED", "3030.00000000")
    assert bal(ex.default_account, "USDT") == (D(100000) - D(3030), D(0))
    assert bal(ex.default_account, "BTC") == (D(2) + D("0.1") - D("0.0001"), D(0))  # taker 0.1%


def test_triggered_market_buy_buys_what_the_balance_pays_and_expires_the_rest():
    ex = build(balances={"USDT": "3100", "BTC": "0"})
    order(ex, side="BUY", type="STOP_LOSS", quantity="0.1", stopPrice="30100.00")
    limit(ex, maker(ex), "SELL", "0.1", "31500.00")
    trade_at(ex, "30200.00")
    (only,) = ex.default_account.orders.values()
    assert only.status == "EXPIRED"
    assert only.executed_qty == D("0.09841")  # floor(3100 / 31500, step 0.00001)
    assert bal(ex.default_account, "USDT") == (D(3100) - D("0.09841") * D(31500), D(0))


@pytest.mark.parametrize(("order_type", "side", "extra"), [
    ("TAKE_PROFIT", "SELL", {}),
    ("TAKE_PROFIT_LIMIT", "SELL", {"timeInForce": "GTC", "price": "30150.00"}),
])
def test_take_profit_sell_fires_on_the_rise(ex, order_type, side, extra):
    placed = order(ex, side=side, type=order_type, quantity="0.1", stopPrice="30200.00", **extra)
    limit(ex, maker(ex), "BUY", "0.1", "30190.00")
    trade_at(ex, "30199.99")
    assert ex.default_account.orders[("BTCUSDT", placed["orderId"])].status == "NEW"
    trade_at(ex, "30200.00")
    fired = ex.default_account.orders[("BTCUSDT", placed["orderId"])]
    assert (fired.status, fired.executed_qty, fired.cum_quote) == ("FILLED", D("0.1"), D("3019"))


def test_take_profit_limit_buy_rests_after_its_trigger_when_nothing_crosses(ex):
    placed = order(ex, side="BUY", type="TAKE_PROFIT_LIMIT", timeInForce="GTC",
                   quantity="0.1", price="29700.00", stopPrice="29800.00")
    trade_at(ex, "29800.00")
    fired = ex.default_account.orders[("BTCUSDT", placed["orderId"])]
    assert (fired.status, fired.working, fired.on_book) == ("NEW", True, True)
    assert ex.depth("BTCUSDT", 5)["bids"] == [["29700.00000000", "0.10000000"]]
    assert bal(ex.default_account, "USDT") == (D(100000) - D(2970), D(2970))


@pytest.mark.parametrize(("order_type", "side", "stop"), [
    ("STOP_LOSS", "BUY", "30000.00"),        # must be above the last price (30000)
    ("STOP_LOSS", "SELL", "30000.00"),       # must be below
    ("TAKE_PROFIT", "BUY", "30000.01"),      # must be below: above is immediate
    ("TAKE_PROFIT", "SELL", "29999.99"),     # must be above
])
def test_a_stop_price_already_reached_is_refused(ex, order_type, side, stop):
    with pytest.raises(errors.SimApiError) as refused:
        order(ex, side=side, type=order_type, quantity="0.1", stopPrice=stop)
    assert (refused.value.code, refused.value.msg) == (-2010, "Order would trigger immediately.")
    assert bal(ex.default_account, "USDT") == (D(100000), D(0))


def test_canceled_stop_gives_back_its_funds_and_never_fires(ex):
    placed = order(ex, side="SELL", type="STOP_LOSS", quantity="0.2", stopPrice="29900.00")
    ex.cancel_order(ex.default_account, parse_order_ref(
        {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])}, for_cancel=True))
    assert bal(ex.default_account, "BTC") == (D(2), D(0))
    trade_at(ex, "29800.00")
    assert ex.default_account.trades == {}


def test_trailing_stop_sell_without_stop_price_follows_the_high(ex):
    placed = order(ex, side="SELL", type="STOP_LOSS", quantity="0.1", trailingDelta="100")
    watched = ex.default_account.orders[("BTCUSDT", placed["orderId"])]
    trade_at(ex, "30600.00")     # new high; trigger now at 30600 * 0.99 = 30294
    trade_at(ex, "30300.00")
    assert watched.status == "NEW"
    limit(ex, maker(ex), "BUY", "0.1", "30000.00")
    trade_at(ex, "30294.00")
    assert (watched.status, watched.cum_quote) == ("FILLED", D("3000"))


def test_trailing_stop_buy_with_stop_price_tracks_only_after_the_stop(ex):
    placed = order(ex, side="BUY", type="STOP_LOSS_LIMIT", timeInForce="GTC", quantity="0.1",
                   price="33000.00", stopPrice="31000.00", trailingDelta="500")
    watched = ex.default_account.orders[("BTCUSDT", placed["orderId"])]
    trade_at(ex, "29000.00")     # a fall before the stop: ignored
    trade_at(ex, "30500.00")     # +5.2% from the low, but not tracking yet
    assert watched.working is False
    trade_at(ex, "31000.00")     # stop reached: tracking from 31000
    trade_at(ex, "30000.00")     # new low: triggers at 31500
    trade_at(ex, "31499.99")
    assert watched.working is False
    limit(ex, maker(ex), "SELL", "0.1", "31600.00")
    trade_at(ex, "31500.00")
    assert (watched.status, watched.cum_quote) == ("FILLED", D("3160"))
    rendered = ex.query_order(ex.default_account, parse_order_ref(
        {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])}, for_cancel=False))
    assert rendered["trailingDelta"] == 500


def test_iceberg_shows_its_part_and_loses_priority_on_each_refill(ex):
    ice = limit(ex, ex.default_account, "SELL", "0.3", "30000.00", icebergQty="0.1")
    other = limit(ex, maker(ex), "SELL", "0.05", "30000.00")
    assert ex.depth("BTCUSDT", 1)["asks"] == [["30000.00000000", "0.15000000"]]
    taken = order(ex, maker(ex, 2), side="BUY", type="MARKET", quantity="0.2")
    # part 1 of the iceberg (0.1), then the order behind it (0.05), then part 2 (0.05 of 0.1).
    assert [(f["qty"], f["tradeId"]) for f in taken["fills"]] == [
        ("0.10000000", 1), ("0.05000000", 2), ("0.05000000", 3)]
    assert ex.depth("BTCUSDT", 1)["asks"] == [["30000.00000000", "0.05000000"]]
    iceberg = ex.default_account.orders[("BTCUSDT", ice["orderId"])]
    assert (iceberg.executed_qty, iceberg.visible) == (D("0.15"), D("0.05"))
    assert other["status"] == "NEW"
    query = ex.query_order(ex.default_account, parse_order_ref(
        {"symbol": "BTCUSDT", "orderId": str(ice["orderId"])}, for_cancel=False))
    assert query["icebergQty"] == "0.10000000"


def test_iceberg_taker_takes_its_whole_quantity_then_shows_a_fresh_part(ex):
    limit(ex, maker(ex), "SELL", "0.25", "30000.00")
    placed = limit(ex, ex.default_account, "BUY", "0.5", "30000.00", icebergQty="0.1")
    assert placed["executedQty"] == "0.25000000"
    assert ex.depth("BTCUSDT", 1)["bids"] == [["30000.00000000", "0.10000000"]]


def test_ioc_fills_what_it_can_and_fok_all_or_nothing(ex):
    limit(ex, maker(ex), "SELL", "0.1", "30000.00")
    ioc = limit(ex, ex.default_account, "BUY", "0.3", "30000.00", tif="IOC")
    assert (ioc["status"], ioc["executedQty"]) == ("EXPIRED", "0.10000000")
    limit(ex, maker(ex), "SELL", "0.1", "30000.00")
    fok = limit(ex, ex.default_account, "BUY", "0.3", "30000.00", tif="FOK")
    assert (fok["status"], fok["executedQty"], fok["fills"]) == ("EXPIRED", "0.00000000", [])
    assert bal(ex.default_account, "USDT")[1] == D(0)
    assert ex.depth("BTCUSDT", 1)["asks"] == [["30000.00000000", "0.10000000"]]


@pytest.mark.parametrize(("params", "keys"), [
    ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01", "price": "29000.00"}, "FULL"),
    ({"type": "LIMIT_MAKER", "quantity": "0.01", "price": "29000.00"}, "ACK"),
    ({"type": "STOP_LOSS", "quantity": "0.01", "stopPrice": "31000.00"}, "ACK"),
    ({"type": "STOP_LOSS_LIMIT", "timeInForce": "GTC", "quantity": "0.01", "price": "31000.00",
      "stopPrice": "31000.00", "newOrderRespType": "RESULT"}, "RESULT"),
])
def test_response_type_defaults_per_order_type(ex, params, keys):
    answer = order(ex, side="BUY", **params)
    ack = {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    if keys == "ACK":
        assert set(answer) == ack
    elif keys == "RESULT":
        assert "fills" not in answer and answer["stopPrice"] == "31000.00000000"
    else:
        assert answer["fills"] == [] and answer["status"] == "NEW"
