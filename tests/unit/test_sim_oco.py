"""OCO order lists: placement, the price rule, one leg touched cancels the other,
cancels by leg or list, listStatus events and exact locked balances throughout."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sim_trading_helpers import bal, build, limit, listen, maker, oco, order, trade_at

from sim import errors
from sim.oco_requests import parse_list_ref, parse_new_oco
from sim.requests import parse_order_ref


@pytest.fixture
def ex():
    return build()


def events(log) -> list[tuple]:
    out = []
    for payload in log.payloads():
        if payload["e"] == "executionReport":
            out.append(("ER", payload["i"], payload["x"], payload["g"]))
        elif payload["e"] == "listStatus":
            out.append(("LS", payload["g"], payload["l"], payload["L"]))
    return out


def test_sell_oco_placement_shapes_and_single_lock(ex):
    log = listen(ex)
    answer = oco(ex, side="SELL", quantity="0.5", price="31000.00", stopPrice="29000.00",
                 stopLimitPrice="28900.00", stopLimitTimeInForce="GTC", listClientOrderId="L1",
                 limitClientOrderId="lim", stopClientOrderId="stp")
    assert (answer["contingencyType"], answer["listStatusType"], answer["listOrderStatus"],
            answer["listClientOrderId"]) == ("OCO", "EXEC_STARTED", "EXECUTING", "L1")
    stop, lim = answer["orderReports"]
    assert (stop["type"], stop["stopPrice"], stop["price"], stop["clientOrderId"]) == (
        "STOP_LOSS_LIMIT", "29000.00000000", "28900.00000000", "stp")
    assert (lim["type"], lim["price"], "stopPrice" in lim) == ("LIMIT_MAKER", "31000.00000000",
                                                                False)
    assert [o["orderId"] for o in answer["orders"]] == [stop["orderId"], lim["orderId"]]
    assert bal(ex.default_account, "BTC") == (D("1.5"), D("0.5"))   # locked once for both legs
    list_id = answer["orderListId"]
    assert events(log) == [("ER", stop["orderId"], "NEW", list_id),
                           ("ER", lim["orderId"], "NEW", list_id),
                           ("LS", list_id, "EXEC_STARTED", "EXECUTING")]
    assert ex.depth("BTCUSDT", 5)["asks"] == [["31000.00000000", "0.50000000"]]


def test_buy_oco_locks_the_larger_of_its_legs(ex):
    oco(ex, side="BUY", quantity="0.1", price="29000.00", stopPrice="31000.00",
        stopLimitPrice="31100.00", stopLimitTimeInForce="GTC")
    assert bal(ex.default_account, "USDT") == (D(100000) - D(3110), D(3110))


@pytest.mark.parametrize(("side", "price", "stop"), [
    ("SELL", "30000.00", "29000.00"),   # limit must be above the last price (30000)
    ("SELL", "31000.00", "30000.00"),   # stop must be below it
    ("BUY", "30000.00", "31000.00"),
    ("BUY", "29000.00", "30000.00"),
])
def test_prices_must_straddle_the_last_price(ex, side, price, stop):
    with pytest.raises(errors.SimApiError) as refused:
        oco(ex, side=side, quantity="0.1", price=price, stopPrice=stop)
    assert (refused.value.code, refused.value.msg) == (
        -2010, "The relationship of the prices for the orders is not correct.")
    assert ex.default_account.orders == {}


def test_limit_leg_touched_expires_the_stop_leg(ex):
    answer = oco(ex, side="SELL", quantity="0.5", price="31000.00", stopPrice="29000.00")
    stop_id, limit_id = (o["orderId"] for o in answer["orders"])
    log = listen(ex)
    order(ex, maker(ex), side="BUY", type="MARKET", quantity="0.2")
    list_id = answer["orderListId"]
    assert events(log) == [("ER", limit_id, "TRADE", list_id), ("ER", stop_id, "EXPIRED", list_id),
                           ("LS", list_id, "ALL_DONE", "ALL_DONE")]
    assert bal(ex.default_account, "BTC") == (D("1.5"), D("0.3"))   # the rest still rests
    assert len(ex.stops["BTCUSDT"]) == 0
    trade_at(ex, "28000.00")                                        # no stop any more
    assert ex.default_account.orders[("BTCUSDT", stop_id)].status == "EXPIRED"
    trades = ex.my_trades(ex.default_account, "BTCUSDT")
    assert [t["orderListId"] for t in trades] == [list_id]


def test_stop_leg_trigger_cancels_the_limit_leg_first(ex):
    answer = oco(ex, side="SELL", quantity="0.5", price="31000.00", stopPrice="29000.00")
    stop_id, limit_id = (o["orderId"] for o in answer["orders"])
    limit(ex, maker(ex, 2), "BUY", "1", "28990.00")
    log = listen(ex)
    trade_at(ex, "29000.00")
    list_id = answer["orderListId"]
    assert events(log) == [("ER", limit_id, "EXPIRED", list_id),
                           ("LS", list_id, "ALL_DONE", "ALL_DONE"),
                           ("ER", stop_id, "NEW", list_id), ("ER", stop_id, "TRADE", list_id)]
    assert ex.depth("BTCUSDT", 5)["asks"] == []
    got = D("0.5") * D("28990")
    assert bal(ex.default_account, "BTC") == (D("1.5"), D(0))
    assert bal(ex.default_account, "USDT") == (D(100000) + got - got * D("0.001"), D(0))


def test_cancel_by_list_or_by_leg_cancels_both(ex):
    first = oco(ex, side="SELL", quantity="0.5", price="31000.00", stopPrice="29000.00",
                listClientOrderId="A")
    log = listen(ex)
    canceled = ex.cancel_order_list(ex.default_account, parse_list_ref(
        {"symbol": "BTCUSDT", "listClientOrderId": "A"}, for_cancel=True))
    assert (canceled["listStatusType"], canceled["listOrderStatus"]) == ("ALL_DONE", "ALL_DONE")
    assert [r["status"] for r in canceled["orderReports"]] == ["CANCELED", "CANCELED"]
    assert events(log)[-1] == ("LS", first["orderListId"], "ALL_DONE", "ALL_DONE")
    assert bal(ex.default_account, "BTC") == (D(2), D(0))
    second = oco(ex, side="SELL", quantity="0.5", price="31000.00", stopPrice="29000.00")
    leg = second["orders"][1]["orderId"]
    answer = ex.cancel_order(ex.default_account, parse_order_ref(
        {"symbol": "BTCUSDT", "orderId": str(leg)}, for_cancel=True))
    assert (answer["status"], answer["orderListId"]) == ("CANCELED", second["orderListId"])
    assert all(not o.is_open for o in ex.default_account.orders.values())
    assert bal(ex.default_account, "BTC") == (D(2), D(0))
    with pytest.raises(errors.SimApiError) as again:
        ex.cancel_order_list(ex.default_account, parse_list_ref(
            {"symbol": "BTCUSDT", "orderListId": str(second["orderListId"])}, for_cancel=True))
    assert again.value.code == -2011


def test_cancel_all_open_orders_of_a_symbol_includes_lists(ex):
    oco(ex, side="SELL", quantity="0.5", price="31000.00", stopPrice="29000.00")
    limit(ex, ex.default_account, "BUY", "0.1", "29500.00")
    answers = ex.cancel_open_orders(ex.default_account, "BTCUSDT")
    assert [("orderReports" in a, a.get("status")) for a in answers] == [
        (True, None), (False, "CANCELED")]
    assert bal(ex.default_account, "BTC") == (D(2), D(0))
    assert bal(ex.default_account, "USDT") == (D(100000), D(0))
    with pytest.raises(errors.SimApiError) as none_left:
        ex.cancel_open_orders(ex.default_account, "BTCUSDT")
    assert (none_left.value.code, none_left.value.msg) == (-2011, "Unknown order sent.")


def test_a_limit_leg_that_would_take_is_refused(ex):
    limit(ex, maker(ex), "BUY", "1", "30500.00")
    with pytest.raises(errors.SimApiError) as refused:
        oco(ex, side="SELL", quantity="0.1", price="30400.00", stopPrice="29000.00")
    assert refused.value.msg == "Order would immediately match and take."


def test_oco_request_grammar():
    base = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "1", "price": "2", "stopPrice": "1"}
    with pytest.raises(errors.SimApiError) as missing_tif:
        parse_new_oco({**base, "stopLimitPrice": "0.9"})
    assert (missing_tif.value.code, missing_tif.value.msg) == (
        -1128, "Combination of optional parameters invalid. Recommendation: "
               "'stopLimitTimeInForce' should also be sent.")
    with pytest.raises(errors.SimApiError) as stray:
        parse_new_oco({**base, "stopLimitTimeInForce": "GTC"})
    assert stray.value.code == -1106
    with pytest.raises(errors.SimApiError) as no_stop:
        parse_new_oco({k: v for k, v in base.items() if k != "stopPrice"})
    assert no_stop.value.code == -1102
    assert parse_new_oco({**base, "stopLimitPrice": "0.9", "stopLimitTimeInForce": "FOK"}
                         ).stop_leg().order_type == "STOP_LOSS_LIMIT"
