"""daemon.gateway.submit_oco: checks, one intent per leg, POST /api/v3/order/oco, outcomes."""

from __future__ import annotations

from decimal import Decimal as D

import trio

from daemon.errors import OrderRejected, OutcomeUnknown, TransportError, UnknownOrder
from daemon.gateway import Gateway
from daemon.orders import ListAccepted, OcoRequest, OrderRequest, OrderType, RejectCode, Side, TimeInForce
from daemon.venues.binance.models import ExchangeInfo, RateLimit, SymbolInfo
from gateway_fakes import FakeRest, FakeStore, Journal

FILTERS = (
    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
    {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "9000", "stepSize": "0.001"},
    {"filterType": "MIN_NOTIONAL", "minNotional": "10", "applyToMarket": True, "avgPriceMins": 5},
    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 3},
)
BTCUSDT = SymbolInfo(symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT",
                     order_types=("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"),
                     oco_allowed=True, filters=FILTERS)
LIMITS = (RateLimit(rate_limit_type="ORDERS", interval="SECOND", interval_num=10, limit=3),)


def make(wallet=None, risk_check=None):
    journal = Journal()
    rest, store = FakeRest(journal), FakeStore(journal)
    balances = wallet if wallet is not None else {"USDT": (D("1000"), D("0")), "BTC": (D("2"), D("0"))}
    gateway = Gateway(rest, store, ExchangeInfo(symbols=(BTCUSDT,), rate_limits=LIMITS),
                      balances=lambda: balances, reference_price=lambda symbol: D("100"),
                      risk_check=risk_check, clock=lambda: 1_700_000_000.0, resolve_delays=(0.5, 1.0))
    return gateway, rest, store, journal


def sell_oco(**kw) -> OcoRequest:
    values = dict(symbol="BTCUSDT", side=Side.SELL, quantity=D("1"), price=D("110"), stop_price=D("95"),
                  stop_limit_price=D("94.5"), stop_limit_time_in_force=TimeInForce.GTC,
                  list_client_order_id="L-1", limit_client_order_id="L-1-lim", stop_client_order_id="L-1-stp")
    values.update(kw)
    return OcoRequest(**values)


def kinds(journal):
    return [entry[0] for entry in journal]


async def test_accepted_oco_journals_an_intent_per_leg_before_sending():
    gateway, rest, store, journal = make()
    result = await gateway.submit_oco(sell_oco(), strategy="grid")
    assert isinstance(result, ListAccepted) and result.accepted
    assert (result.list_client_order_id, result.order_list_id, result.list_order_status) == (
        "L-1", 77, "EXECUTING")
    assert [(leg.client_order_id, leg.order_id) for leg in result.legs] == [("L-1-lim", 7001), ("L-1-stp", 7002)]
    assert kinds(journal) == ["record_intent", "record_intent", "new_oco", "record_ack", "record_ack"]
    limit_intent, stop_intent, sent = journal[0], journal[1], journal[2][2]
    assert limit_intent[1:4] == ("L-1-lim", "grid", "BTCUSDT")
    assert limit_intent[4] == {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT_MAKER", "quantity": "1",
                               "price": "110", "newClientOrderId": "L-1-lim", "newOrderRespType": "RESULT",
                               "contingencyType": "OCO", "listClientOrderId": "L-1"}
    assert stop_intent[4]["type"] == "STOP_LOSS_LIMIT" and stop_intent[4]["stopPrice"] == "95"
    assert sent == {"symbol": "BTCUSDT", "side": "SELL", "quantity": "1", "price": "110", "stopPrice": "95",
                    "stopLimitPrice": "94.5", "stopLimitTimeInForce": "GTC", "listClientOrderId": "L-1",
                    "limitClientOrderId": "L-1-lim", "stopClientOrderId": "L-1-stp",
                    "newOrderRespType": "RESULT"}
    assert gateway.stats().accepted == 1 and gateway.stats().in_flight == 0


async def test_client_ids_are_generated_when_missing_and_must_differ():
    gateway, rest, store, journal = make()
    bare = sell_oco(list_client_order_id=None, limit_client_order_id=None, stop_client_order_id=None)
    result = await gateway.submit_oco(bare, strategy="grid")
    ids = {result.list_client_order_id, *(leg.client_order_id for leg in result.legs)}
    assert len(ids) == 3 and all(i.startswith("grid-") for i in ids)
    same = await gateway.submit_oco(sell_oco(stop_client_order_id="L-1-lim"), strategy="grid")
    assert same.code is RejectCode.INVALID_PARAMETERS and same.client_order_id == "L-1"


async def test_refused_oco_is_recorded_under_its_list_id_and_never_sent():
    gateway, rest, store, journal = make()
    refused = await gateway.submit_oco(sell_oco(price=D("99")), strategy="grid")  # below the last price
    assert refused.code is RejectCode.OCO_PRICES
    assert journal == [("record_rejection", "grid", "L-1", "BTCUSDT", "OCO_PRICES", refused.reason,
                        refused.detail)]


async def test_oco_balance_sell_locks_the_quantity_buy_the_dearer_leg():
    gateway, rest, store, journal = make(wallet={"USDT": (D("100"), D("0")), "BTC": (D("0.5"), D("0"))})
    sell = await gateway.submit_oco(sell_oco(), strategy="s")
    assert sell.reason == ("INSUFFICIENT_BALANCE: needs 1 BTC, free 0.5 minus 0 held by 0 unacknowledged "
                           "orders leaves 0.5")
    buy = sell_oco(side=Side.BUY, price=D("90"), stop_price=D("105"), stop_limit_price=D("106"))
    assert (await gateway.submit_oco(buy, strategy="s")).detail["required"] == "106"


async def test_an_oco_in_flight_counts_as_two_open_orders():
    gateway, rest, store, journal = make()
    single = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
                          quantity=D("0.2"), price=D("90"), client_order_id="single")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            rest.gate = trio.Event()
            nursery.start_soon(lambda: gateway.submit_oco(sell_oco(), strategy="a"))
            await rest.entered.wait()
            assert gateway.in_flight_count("a") == 2
            assert gateway.explain(single) == []  # 2 in flight + 1 fits maxNumOrders 3
            second_pair = await gateway.submit_oco(sell_oco(list_client_order_id="L-2",
                                                            limit_client_order_id="L-2-lim",
                                                            stop_client_order_id="L-2-stp"), strategy="b")
            assert second_pair.code is RejectCode.MAX_NUM_ORDERS
            assert second_pair.detail["open"] == "2"  # the first pair, not yet acknowledged
            rest.gate.set()


async def test_risk_check_sees_each_leg_and_rate_budget_counts_two():
    legs = []
    gateway, rest, store, journal = make(risk_check=lambda strategy, leg: legs.append(leg.type) or [])
    assert (await gateway.submit_oco(sell_oco(), strategy="s")).accepted
    assert legs == [OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT]
    second = await gateway.submit_oco(sell_oco(list_client_order_id="L-2", limit_client_order_id="L-2-lim",
                                               stop_client_order_id="L-2-stp"), strategy="s")
    assert second.code is RejectCode.RATE_LIMIT and second.detail["used"] == "2"


async def test_exchange_refusal_closes_both_intents():
    gateway, rest, store, journal = make()
    rest.new_oco_script = [OrderRejected(-2010, "The relationship of the prices for the orders is not correct.")]
    refused = await gateway.submit_oco(sell_oco(), strategy="s")
    assert refused.code is RejectCode.EXCHANGE_REJECTED and refused.client_order_id == "L-1"
    assert kinds(journal) == ["record_intent", "record_intent", "new_oco", "record_send_error",
                              "record_send_error", "record_rejection"]
    assert journal[3] == ("record_send_error", "L-1-lim", False)


async def test_unknown_outcome_resolved_through_the_legs(autojump_clock):
    gateway, rest, store, journal = make()
    rest.new_oco_script = [OutcomeUnknown(-1007, "Timeout waiting for response from backend server.")]
    rest.get_order_script = [TransportError("reset"), "ok", "ok"]
    result = await gateway.submit_oco(sell_oco(), strategy="s")
    assert isinstance(result, ListAccepted)
    assert kinds(journal) == ["record_intent", "record_intent", "new_oco", "record_send_error",
                              "record_send_error", "get_order", "get_order", "record_ack", "get_order",
                              "record_ack"]


async def test_unknown_outcome_where_the_exchange_has_no_such_list(autojump_clock):
    gateway, rest, store, journal = make()
    rest.new_oco_script = [TransportError("read timed out")]
    rest.get_order_script = [UnknownOrder(-2013, "Order does not exist.")]
    refused = await gateway.submit_oco(sell_oco(), strategy="s")
    assert refused.reason == "EXCHANGE_REJECTED: outcome unknown; exchange has no such order list"
    assert kinds(journal)[-1] == "record_rejection"


async def test_unresolved_oco_stays_open_for_reconciliation(autojump_clock):
    gateway, rest, store, journal = make()
    rest.new_oco_script = [OutcomeUnknown(-1007, "Timeout")]
    rest.get_order_script = [TransportError("down")] * 2
    refused = await gateway.submit_oco(sell_oco(), strategy="s")
    assert refused.code is RejectCode.OUTCOME_UNKNOWN and "record_rejection" not in kinds(journal)
    assert gateway.stats().rejected == {"OUTCOME_UNKNOWN": 1}


async def test_strings_for_enums_are_accepted_and_nonsense_is_refused():
    gateway, rest, store, journal = make()
    spelled = sell_oco(side="SELL", stop_limit_time_in_force="GTC")
    assert (await gateway.submit_oco(spelled, strategy="s")).accepted
    nonsense = await gateway.submit_oco(sell_oco(side="HOLD", list_client_order_id="L-9",
                                                 limit_client_order_id="L-9-l",
                                                 stop_client_order_id="L-9-s"), strategy="s")
    assert nonsense.reason == "INVALID_PARAMETERS: limit leg: side 'HOLD' is not one of BUY, SELL"
