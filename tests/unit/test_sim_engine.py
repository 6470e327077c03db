"""Matching rules of the simulator: priority, fills, time in force, balances, commissions.

The books start empty (``seed_liquidity=False``) and every resting order belongs to
a second user account, so each test states its whole market and both sides'
balances can be checked to the last 1e-8.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from sim import errors
from sim.config import SimConfig
from sim.exchange import Exchange
from sim.hub import Collector, user_topic
from sim.requests import parse_new_order, parse_order_ref

T0 = 1_700_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def ex() -> Exchange:
    config = SimConfig(balances={"USDT": "10000", "BTC": "1", "ETH": "10"})
    exchange = Exchange(config, clock=Clock(), seed_liquidity=False)
    exchange.accounts.add("MAKER1", "s1", {"USDT": D(100000), "BTC": D(10)},
                          maker_rate=D("0.001"), taker_rate=D("0.002"))
    exchange.accounts.add("MAKER2", "s2", {"USDT": D(100000), "BTC": D(10)},
                          maker_rate=D("0.001"), taker_rate=D("0.002"))
    return exchange


def user(ex: Exchange):
    return ex.default_account


def maker(ex: Exchange, n: int = 1):
    return ex.accounts.get(f"MAKER{n}")


def order(symbol="BTCUSDT", side="BUY", type_="LIMIT", **extra):
    params = {"symbol": symbol, "side": side, "type": type_}
    if type_ == "LIMIT":
        params["timeInForce"] = extra.pop("tif", "GTC")
    params.update({k if k != "cid" else "newClientOrderId": v for k, v in extra.items()})
    return parse_new_order(params)


def bal(account, asset):
    held = account.balance(asset)
    return held.free, held.locked


def test_better_price_first_then_time_priority(ex):
    ex.place_order(maker(ex, 1), order(side="SELL", quantity="0.01", price="30001.00"))
    ex.place_order(maker(ex, 2), order(side="SELL", quantity="0.01", price="30001.00"))
    ex.place_order(maker(ex, 2), order(side="SELL", quantity="0.01", price="30000.50"))

    answer = ex.place_order(user(ex), order(side="BUY", quantity="0.025", price="30001.00"))

    fills = [(f["price"], f["qty"], f["tradeId"]) for f in answer["fills"]]
    assert fills == [
        ("30000.50000000", "0.01000000", 1),   # best price first
        ("30001.00000000", "0.01000000", 2),   # then the earlier of two at 30001
        ("30001.00000000", "0.00500000", 3),   # the later one only partly
    ]
    assert answer["status"] == "FILLED"
    first, second = maker(ex, 1).open_orders("BTCUSDT"), maker(ex, 2).open_orders("BTCUSDT")
    assert first == []
    assert [(o.status, o.remaining) for o in second] == [("PARTIALLY_FILLED", D("0.005"))]
    assert ex.depth("BTCUSDT", 5)["asks"] == [["30001.00000000", "0.00500000"]]


def test_buy_limit_locks_notional_and_refunds_price_improvement(ex):
    ex.place_order(maker(ex), order(side="SELL", quantity="0.1", price="29000.00"))
    ex.place_order(user(ex), order(side="BUY", quantity="0.2", price="30000.00"))

    # 0.1 bought at 29000 (taker 0.1% of 0.1 BTC = 0.0001 BTC fee); 0.1 rests at 30000.
    assert bal(user(ex), "USDT") == (D("10000") - D("2900") - D("3000"), D("3000"))
    assert bal(user(ex), "BTC") == (D("1.0999"), D(0))
    # The maker sold 0.1 BTC for 2900 USDT less 0.1% maker fee in USDT.
    assert bal(maker(ex), "USDT") == (D("100000") + D("2900") - D("2.9"), D(0))
    assert bal(maker(ex), "BTC") == (D("9.9"), D(0))


def test_sell_limit_locks_base_and_cancel_unlocks(ex):
    answer = ex.place_order(user(ex), order(side="SELL", quantity="0.3", price="31000.00",
                                             cid="mine-1"))
    assert bal(user(ex), "BTC") == (D("0.7"), D("0.3"))
    canceled = ex.cancel_order(user(ex), parse_order_ref(
        {"symbol": "BTCUSDT", "origClientOrderId": "mine-1", "newClientOrderId": "cx-1"},
        for_cancel=True))
    assert canceled["status"] == "CANCELED"
    assert canceled["origClientOrderId"] == "mine-1" and canceled["clientOrderId"] == "cx-1"
    assert canceled["orderId"] == answer["orderId"]
    assert bal(user(ex), "BTC") == (D("1"), D(0))
    assert ex.depth("BTCUSDT", 5)["asks"] == []


def test_partial_fill_events_and_final_fill(ex):
    log = Collector()
    ex.hub.subscribe(user_topic(user(ex).account_id), log)
    ex.place_order(user(ex), order(side="BUY", quantity="0.02", price="30000.00", cid="g1"))
    ex.place_order(maker(ex), order(side="SELL", type_="MARKET", quantity="0.015"))
    ex.place_order(maker(ex), order(side="SELL", type_="MARKET", quantity="0.005"))

    reports = log.payloads("executionReport")
    assert [(r["x"], r["X"], r["l"], r["z"], r["w"], r["m"]) for r in reports] == [
        ("NEW", "NEW", "0.00000000", "0.00000000", True, False),
        ("TRADE", "PARTIALLY_FILLED", "0.01500000", "0.01500000", True, True),
        ("TRADE", "FILLED", "0.00500000", "0.02000000", False, True),
    ]
    trade = reports[1]
    assert trade["c"] == "g1" and trade["L"] == "30000.00000000" and trade["t"] == 1
    assert trade["n"] == "0.00001500" and trade["N"] == "BTC"   # maker 0.1% of 0.015 BTC
    assert trade["Y"] == "450.00000000" and trade["Z"] == "450.00000000"
    expected_keys = set("eEscSofqpPFgCxXrilzLnNTtIwmMOZYQ")
    assert all(set(r) == expected_keys for r in reports)

    positions = log.payloads("outboundAccountPosition")
    assert len(positions) == 3  # the lock, then one per fill
    assert positions[-1]["B"] == [
        {"a": "USDT", "f": "9400.00000000", "l": "0.00000000"},
        {"a": "BTC", "f": "1.01998000", "l": "0.00000000"},
    ]
    # Events come in the order they happened: a position follows its execution report.
    kinds = [payload["e"] for _, payload in log.events]
    assert kinds == ["executionReport", "outboundAccountPosition"] * 3


def test_ioc_fills_what_it_can_and_expires_the_rest(ex):
    ex.place_order(maker(ex), order(side="SELL", quantity="0.01", price="30000.00"))
    answer = ex.place_order(user(ex), order(side="BUY", tif="IOC", quantity="0.03",
                                            price="30000.00"))
    assert answer["status"] == "EXPIRED" and answer["executedQty"] == "0.01000000"
    assert bal(user(ex), "USDT") == (D("9700"), D(0))  # the unfilled part's lock is back
    assert ex.depth("BTCUSDT", 5) == {"lastUpdateId": ex.books["BTCUSDT"].update_id,
                                      "bids": [], "asks": []}


def test_fok_is_all_or_nothing(ex):
    ex.place_order(maker(ex), order(side="SELL", quantity="0.01", price="30000.00"))
    killed = ex.place_order(user(ex), order(side="BUY", tif="FOK", quantity="0.02",
                                            price="30000.00"))
    assert killed["status"] == "EXPIRED" and killed["fills"] == []
    assert bal(user(ex), "USDT") == (D("10000"), D(0))
    filled = ex.place_order(user(ex), order(side="BUY", tif="FOK", quantity="0.01",
                                            price="30000.00"))
    assert filled["status"] == "FILLED"


def test_market_order_walks_the_book_and_expires_when_it_runs_dry(ex):
    ex.place_order(maker(ex), order(side="BUY", quantity="0.01", price="29990.00"))
    ex.place_order(maker(ex), order(side="BUY", quantity="0.01", price="29980.00"))
    answer = ex.place_order(user(ex), order(side="SELL", type_="MARKET", quantity="0.05"))
    assert answer["status"] == "EXPIRED"
    assert answer["executedQty"] == "0.02000000"
    assert answer["cummulativeQuoteQty"] == "599.70000000"
    assert [f["commission"] for f in answer["fills"]] == ["0.29990000", "0.29980000"]
    assert bal(user(ex), "BTC") == (D("0.98"), D(0))
    assert bal(user(ex), "USDT") == (D("10000") + D("599.7") - D("0.5997"), D(0))


def test_market_buy_must_be_paid_in_full_or_is_refused_untouched(ex):
    ex.place_order(maker(ex), order(side="SELL", quantity="1", price="30000.00"))
    with pytest.raises(errors.SimApiError) as refused:
        ex.place_order(user(ex), order(side="BUY", type_="MARKET", quantity="0.5"))
    assert refused.value.code == -2010
    assert refused.value.msg == "Account has insufficient balance for requested action."
    assert bal(user(ex), "USDT") == (D("10000"), D(0))
    assert ex.depth("BTCUSDT", 1)["asks"] == [["30000.00000000", "1.00000000"]]


def test_market_buy_by_quote_budget(ex):
    ex.place_order(maker(ex), order(side="SELL", quantity="0.01", price="30000.00"))
    ex.place_order(maker(ex), order(side="SELL", quantity="1", price="30010.00"))
    answer = ex.place_order(user(ex), order(side="BUY", type_="MARKET", quoteOrderQty="1000"))
    # 0.01 at 30000 = 300; 700 buys floor(700 / 30010, step 0.00001) = 0.02332 at 30010.
    assert [(f["price"], f["qty"]) for f in answer["fills"]] == [
        ("30000.00000000", "0.01000000"), ("30010.00000000", "0.02332000")]
    assert answer["status"] == "FILLED"
    assert answer["origQty"] == answer["executedQty"] == "0.03332000"
    assert D(answer["cummulativeQuoteQty"]) == D("300") + D("699.8332")
    assert bal(user(ex), "USDT") == (D("10000") - D("999.8332"), D(0))


def test_limit_maker_refuses_to_take(ex):
    ex.place_order(maker(ex), order(side="SELL", quantity="0.01", price="30000.00"))
    with pytest.raises(errors.SimApiError) as refused:
        ex.place_order(user(ex), parse_new_order({
            "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER",
            "quantity": "0.01", "price": "30000.00"}))
    assert (refused.value.code, refused.value.msg) == (-2010, errors.WOULD_TAKE)
    resting = ex.place_order(user(ex), parse_new_order({
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER",
        "quantity": "0.01", "price": "29999.99"}))
    assert set(resting) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}


def test_duplicate_client_order_id_only_among_open_orders(ex):
    ex.place_order(user(ex), order(side="BUY", quantity="0.01", price="29000.00", cid="dup"))
    with pytest.raises(errors.SimApiError) as refused:
        ex.place_order(user(ex), order(side="BUY", quantity="0.01", price="29000.00", cid="dup"))
    assert refused.value.msg == "Duplicate order sent."
    ex.cancel_order(user(ex), parse_order_ref({"symbol": "BTCUSDT", "origClientOrderId": "dup"},
                                              for_cancel=True))
    again = ex.place_order(user(ex), order(side="BUY", quantity="0.01", price="29000.00",
                                           cid="dup"))
    assert again["status"] == "NEW"
    found = ex.query_order(user(ex), parse_order_ref(
        {"symbol": "BTCUSDT", "origClientOrderId": "dup"}, for_cancel=False))
    assert found["orderId"] == again["orderId"] and found["status"] == "NEW"


def test_unknown_orders(ex):
    ref = parse_order_ref({"symbol": "BTCUSDT", "orderId": "999"}, for_cancel=True)
    with pytest.raises(errors.SimApiError) as cancel:
        ex.cancel_order(user(ex), ref)
    assert (cancel.value.code, cancel.value.msg) == (-2011, "Unknown order sent.")
    with pytest.raises(errors.SimApiError) as query:
        ex.query_order(user(ex), ref)
    assert (query.value.code, query.value.msg) == (-2013, "Order does not exist.")
    with pytest.raises(errors.SimApiError) as symbol:
        ex.query_order(user(ex), parse_order_ref({"symbol": "NOPE", "orderId": "1"},
                                                 for_cancel=False))
    assert symbol.value.code == -1121


@pytest.mark.parametrize(
    ("price", "quantity", "failure"),
    [
        ("30000.001", "0.01", "PRICE_FILTER"),     # off tick
        ("0.001", "0.01", "PRICE_FILTER"),         # below minPrice
        ("200000.00", "0.01", "PERCENT_PRICE"),    # above 5x the average price
        ("30000.00", "0.000015", "LOT_SIZE"),      # off step
        ("30000.00", "10000", "LOT_SIZE"),         # above maxQty
        ("30000.00", "0.0003", "MIN_NOTIONAL"),    # 9 USDT < 10
    ],
)
def test_filter_failures(ex, price, quantity, failure):
    with pytest.raises(errors.SimApiError) as refused:
        ex.place_order(user(ex), order(side="BUY", quantity=quantity, price=price))
    assert (refused.value.code, refused.value.msg) == (-1013, f"Filter failure: {failure}")


def test_my_trades_selection(ex):
    for _ in range(3):
        ex.place_order(maker(ex), order(side="SELL", quantity="0.001", price="30000.00"))
    first = ex.place_order(user(ex), order(side="BUY", type_="MARKET", quantity="0.002"))
    ex.place_order(user(ex), order(side="BUY", type_="MARKET", quantity="0.001"))
    every = ex.my_trades(user(ex), "BTCUSDT")
    assert [t["id"] for t in every] == [1, 2, 3]
    assert every[0]["isBuyer"] is True and every[0]["isMaker"] is False
    assert every[0]["commission"] == "0.00000100" and every[0]["commissionAsset"] == "BTC"
    assert [t["id"] for t in ex.my_trades(user(ex), "BTCUSDT", limit=2)] == [2, 3]
    assert [t["id"] for t in ex.my_trades(user(ex), "BTCUSDT", from_id=2, limit=1)] == [2]
    by_order = ex.my_trades(user(ex), "BTCUSDT", order_id=first["orderId"])
    assert [t["id"] for t in by_order] == [1, 2]
    sold = ex.my_trades(maker(ex), "BTCUSDT")
    assert all(t["isMaker"] and not t["isBuyer"] for t in sold)
    assert sold[0]["commission"] == "0.03000000" and sold[0]["commissionAsset"] == "USDT"


def test_request_grammar_errors():
    cases = [
        ({"side": "BUY", "type": "LIMIT"}, -1102),
        ({"symbol": "BTCUSDT", "side": "HOLD", "type": "LIMIT"}, -1117),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "ICEBERG"}, -1116),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_LOSS"}, -1102),  # no quantity
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": "1"},
         -1102),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTD",
          "quantity": "1", "price": "1"}, -1115),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}, -1102),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1e-3"}, -1100),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1",
          "price": "1"}, -1106),
    ]
    for params, code in cases:
        with pytest.raises(errors.SimApiError) as refused:
            parse_new_order(params)
        assert refused.value.code == code, params


def test_an_order_that_rests_after_a_partial_fill_reports_working(ex):
    log = Collector()
    ex.hub.subscribe(user_topic(user(ex).account_id), log)
    ex.place_order(maker(ex), order(side="SELL", quantity="0.01", price="30000.00"))
    ex.place_order(user(ex), order(side="BUY", quantity="0.03", price="30000.00"))
    reports = log.payloads("executionReport")
    assert [(r["x"], r["X"], r["w"]) for r in reports] == [
        ("NEW", "NEW", True), ("TRADE", "PARTIALLY_FILLED", True)]
    assert ex.depth("BTCUSDT", 5)["bids"] == [["30000.00000000", "0.02000000"]]
    assert bal(user(ex), "USDT") == (D("10000") - D("900"), D("600"))
