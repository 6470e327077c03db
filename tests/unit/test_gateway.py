"""daemon.gateway against fakes of the REST client and the store that log every call."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest
import trio

from daemon.errors import (
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    StateError,
    TransportError,
    UnknownOrder,
)
from daemon.gateway import Gateway, GatewayStats, order_params
from daemon.orders import Accepted, OrderRequest, OrderType, RejectCode, Rejection, Side, TimeInForce
from daemon.venues.binance.models import ExchangeInfo, RestOrder, SymbolInfo
from gateway_fakes import FakeRest, FakeStore, Journal

FILTERS = (
    {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000",
     "tickSize": "0.01000000"},
    {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
    {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
     "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
)
BTCUSDT = SymbolInfo(symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT",
                     order_types=("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT"),
                     filters=FILTERS)
INFO = ExchangeInfo(symbols=(BTCUSDT,))


def make(balances=None, reference=D("60000")):
    journal = Journal()
    rest, store = FakeRest(journal), FakeStore(journal)
    wallet = {"USDT": (D("1000"), D("0")), "BTC": (D("0.5"), D("0"))} if balances is None else balances
    gateway = Gateway(rest, store, INFO, balances=lambda: wallet,
                      reference_price=lambda symbol: reference if symbol == "BTCUSDT" else None)
    return gateway, rest, store, journal


def buy_limit(qty="0.01", price="60000", cid=None) -> OrderRequest:
    return OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
                        quantity=D(qty), price=D(price), client_order_id=cid)


def kinds(journal):
    return [entry[0] for entry in journal]


# ------------------------------------------------------------------ refusals


async def test_filter_rejection_is_recorded_logged_counted_and_never_sent(caplog):
    gateway, rest, store, journal = make()
    with caplog.at_level(logging.INFO, logger="daemon.gateway"):
        result = await gateway.submit(buy_limit(qty="0.000015"), strategy="grid")
    assert isinstance(result, Rejection) and not result.accepted
    assert result.code is RejectCode.LOT_SIZE
    assert result.client_order_id.startswith("grid-")
    assert journal == [("record_rejection", "grid", result.client_order_id, "BTCUSDT", "LOT_SIZE",
                        "LOT_SIZE: quantity 0.000015 is not a multiple of stepSize 0.00001 above minQty 0.00001",
                        {"filter": "LOT_SIZE", "stepSize": "0.00001", "minQty": "0.00001",
                         "quantity": "0.000015"})]
    lines = [r.getMessage() for r in caplog.records if r.name == "daemon.gateway"]
    assert len(lines) == 1 and lines[0].startswith(
        f"order.rejected code=LOT_SIZE symbol=BTCUSDT client_order_id={result.client_order_id} strategy=grid")
    assert gateway.stats() == GatewayStats(accepted=0, rejected={"LOT_SIZE": 1}, in_flight=0)


async def test_unknown_symbol_and_bad_client_order_ids_are_refused_locally():
    gateway, rest, store, journal = make()
    eth = OrderRequest(symbol="ETHUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=D("1"))
    assert (await gateway.submit(eth, strategy="s")).code is RejectCode.UNKNOWN_SYMBOL
    bad = await gateway.submit(buy_limit(cid="has space"), strategy="s")
    assert bad.code is RejectCode.INVALID_PARAMETERS
    assert bad.reason.startswith("INVALID_PARAMETERS: client_order_id 'has space' does not match")
    assert "new_order" not in kinds(journal)
    assert gateway.stats().rejected == {"UNKNOWN_SYMBOL": 1, "INVALID_PARAMETERS": 1}


# ------------------------------------------------------------------ the accepted path


async def test_accepted_path_journals_the_intent_before_sending():
    gateway, rest, store, journal = make()
    result = await gateway.submit(buy_limit(qty="0.01000000", price="60000.00000000"), strategy="grid")
    assert isinstance(result, Accepted) and result.accepted
    cid = result.client_order_id
    assert (result.symbol, result.order_id, result.status) == ("BTCUSDT", 4242, "NEW")
    expected = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                "quantity": "0.01", "price": "60000", "newClientOrderId": cid, "newOrderRespType": "RESULT"}
    assert journal == [("record_intent", cid, "grid", "BTCUSDT", expected),
                       ("new_order", cid, expected),
                       ("record_ack", cid, 4242)]
    assert gateway.stats() == GatewayStats(accepted=1, rejected={}, in_flight=0)


async def test_a_failing_intent_write_means_nothing_is_sent():
    gateway, rest, store, journal = make()
    store.fail_intent = True
    with pytest.raises(StateError):
        await gateway.submit(buy_limit(), strategy="grid")
    assert journal == [] and gateway.stats().in_flight == 0


def test_order_params_for_market_and_stop_limit():
    quote = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET,
                         quote_order_qty=D("25.50"), client_order_id="x1")
    assert order_params(quote) == {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET",
                                   "quoteOrderQty": "25.5", "newClientOrderId": "x1",
                                   "newOrderRespType": "RESULT"}
    stop = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.STOP_LOSS_LIMIT,
                        time_in_force=TimeInForce.GTC, quantity=D("1E+1"), price=D("100.10"),
                        stop_price=D("101.0"), iceberg_qty=D("2"), client_order_id="x2")
    assert order_params(stop) == {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT",
                                  "timeInForce": "GTC", "quantity": "10", "price": "100.1",
                                  "stopPrice": "101", "icebergQty": "2", "newClientOrderId": "x2",
                                  "newOrderRespType": "RESULT"}
    trailing = OrderRequest(symbol="BTCUSDT", side="SELL", type="STOP_LOSS", quantity=D("0.5"),
                            trailing_delta=250, client_order_id="x3")
    assert order_params(trailing) == {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS",
                                      "quantity": "0.5", "trailingDelta": "250", "newClientOrderId": "x3",
                                      "newOrderRespType": "RESULT"}


# ------------------------------------------------------------------ exchange answers


async def test_exchange_rejection_is_recorded_with_its_code_and_message():
    gateway, rest, store, journal = make()
    rest.new_order_script = [OrderRejected(-2010, "Account has insufficient balance for requested action.")]
    result = await gateway.submit(buy_limit(cid="mine-1"), strategy="grid")
    assert result.code is RejectCode.EXCHANGE_REJECTED
    assert result.reason == "EXCHANGE_REJECTED: [-2010] Account has insufficient balance for requested action."
    assert result.detail == {"exchange_code": "-2010",
                             "exchange_message": "Account has insufficient balance for requested action.",
                             "error": "OrderRejected", "retryable": "False"}
    assert kinds(journal) == ["record_intent", "new_order", "record_send_error", "record_rejection"]
    assert journal[2] == ("record_send_error", "mine-1", False)
    assert gateway.stats().rejected == {"EXCHANGE_REJECTED": 1}


async def test_rate_limited_order_is_not_placed_and_says_retryable():
    gateway, rest, store, journal = make()
    rest.new_order_script = [RateLimited(-1015, "Too many new orders.", http_status=429)]
    result = await gateway.submit(buy_limit(), strategy="grid")
    assert result.detail["retryable"] == "True"
    assert kinds(journal).count("new_order") == 1 and "get_order" not in kinds(journal)


async def test_outcome_unknown_resolved_as_placed(autojump_clock):
    gateway, rest, store, journal = make()
    rest.new_order_script = [OutcomeUnknown(-1007, "Timeout waiting for response from backend server.")]
    rest.get_order_script = [TransportError("connection reset"), "ok"]
    result = await gateway.submit(buy_limit(cid="u-1"), strategy="grid")
    assert isinstance(result, Accepted) and result.order_id == 4242
    assert kinds(journal) == ["record_intent", "new_order", "record_send_error",
                              "get_order", "get_order", "record_ack"]
    assert journal[2] == ("record_send_error", "u-1", True)
    assert gateway.stats().accepted == 1


async def test_outcome_unknown_resolved_as_not_placed(autojump_clock):
    gateway, rest, store, journal = make()
    rest.new_order_script = [TransportError("read timed out")]
    rest.get_order_script = [UnknownOrder(-2013, "Order does not exist.")]
    result = await gateway.submit(buy_limit(cid="u-2"), strategy="grid")
    assert result.code is RejectCode.EXCHANGE_REJECTED
    assert result.reason == "EXCHANGE_REJECTED: outcome unknown; exchange has no such order"
    assert kinds(journal) == ["record_intent", "new_order", "record_send_error", "get_order",
                              "record_rejection"]


async def test_unresolvable_outcome_is_left_open_for_reconciliation(autojump_clock):
    gateway, rest, store, journal = make()
    rest.new_order_script = [OutcomeUnknown(-1007, "Timeout")]
    rest.get_order_script = [TransportError("down")] * 3
    start = trio.current_time()
    result = await gateway.submit(buy_limit(cid="u-3"), strategy="grid")
    assert result.code is RejectCode.OUTCOME_UNKNOWN
    assert result.reason == ("OUTCOME_UNKNOWN: order state not known after 3 queries; left to "
                             "reconciliation (last error: TransportError: down)")
    # Never re-sent, and never recorded as a rejection (that would close the intent).
    assert kinds(journal) == ["record_intent", "new_order", "record_send_error"] + ["get_order"] * 3
    assert trio.current_time() - start == pytest.approx(3.5)
    assert gateway.stats().rejected == {"OUTCOME_UNKNOWN": 1}


async def test_cancellation_while_sending_marks_the_intent_unknown():
    gateway, rest, store, journal = make()
    rest.gate = trio.Event()
    with trio.move_on_after(0.05):
        await gateway.submit(buy_limit(cid="c-1"), strategy="grid")
    assert journal[-1] == ("record_send_error", "c-1", True)
    assert gateway.stats().in_flight == 0


# ------------------------------------------------------------------ balances


async def test_in_flight_intents_count_against_the_free_balance():
    gateway, rest, store, journal = make()  # 1000 USDT free
    rest.gate = trio.Event()
    results = {}

    async def first():
        results["first"] = await gateway.submit(buy_limit(qty="0.01", price="60000"), strategy="a")

    # fail_after: a regression would send the second order, which then waits on the gate.
    with trio.fail_after(5):
        await _race_second_order_against(gateway, rest, first)
    assert results["first"].accepted
    # Once acknowledged, the hold is released (the exchange's lock shows in balances instead).
    assert gateway.stats().in_flight == 0
    third = await gateway.submit(buy_limit(qty="0.01", price="60000"), strategy="b")
    assert third.accepted


async def _race_second_order_against(gateway, rest, first):
    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        await rest.entered.wait()  # 600 USDT are now held by an unacknowledged order
        second = await gateway.submit(buy_limit(qty="0.01", price="60000"), strategy="b")
        assert second.code is RejectCode.INSUFFICIENT_BALANCE
        assert second.reason == ("INSUFFICIENT_BALANCE: needs 600 USDT, free 1000 minus 600 held by "
                                 "1 unacknowledged orders leaves 400")
        assert second.detail == {"asset": "USDT", "required": "600", "free": "1000", "pending": "600"}
        just_over = await gateway.submit(buy_limit(qty="0.00667", price="60000"), strategy="b")
        assert just_over.detail["required"] == "400.2"  # 400 left: refused by 0.2
        assert just_over.code is RejectCode.INSUFFICIENT_BALANCE
        rest.gate.set()


@pytest.mark.parametrize("request_, reason", [
    (OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
                  quantity=D("0.6"), price=D("60000")),
     "INSUFFICIENT_BALANCE: needs 0.6 BTC, free 0.5 minus 0 held by 0 unacknowledged orders leaves 0.5"),
    (OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quote_order_qty=D("1000.01")),
     "INSUFFICIENT_BALANCE: needs 1000.01 USDT, free 1000 minus 0 held by 0 unacknowledged orders leaves 1000"),
    (OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=D("0.02")),
     "INSUFFICIENT_BALANCE: needs 1200 USDT, free 1000 minus 0 held by 0 unacknowledged orders leaves 1000"),
    (OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET, quote_order_qty=D("36000")),
     "INSUFFICIENT_BALANCE: needs 0.6 BTC, free 0.5 minus 0 held by 0 unacknowledged orders leaves 0.5"),
])
async def test_balance_requirement_per_side_and_type(request_, reason):
    gateway, rest, store, journal = make()
    result = await gateway.submit(request_, strategy="s")
    assert (result.code, result.reason) == (RejectCode.INSUFFICIENT_BALANCE, reason)
    assert "new_order" not in kinds(journal)


async def test_market_buy_without_reference_price_fails_closed():
    gateway, rest, store, journal = make(reference=None)
    by_quote = OrderRequest(symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET, quote_order_qty=D("10"))
    result = await gateway.submit(by_quote, strategy="s")
    assert result.code is RejectCode.INSUFFICIENT_BALANCE
    assert result.reason == ("INSUFFICIENT_BALANCE: no reference price for BTCUSDT to estimate the BTC "
                             "a MARKET SELL needs")
    by_qty = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, quantity=D("0.001"))
    assert (await gateway.submit(by_qty, strategy="s")).code is RejectCode.NOTIONAL  # filter comes first


async def test_missing_asset_counts_as_zero():
    gateway, rest, store, journal = make(balances={})
    result = await gateway.submit(buy_limit(), strategy="s")
    assert result.detail == {"asset": "USDT", "required": "600", "free": "0", "pending": "0"}


# ------------------------------------------------------------------ cancel and rules


async def test_cancel_stores_the_answer_under_the_orders_own_id():
    gateway, rest, store, journal = make()
    rest.cancel_script = [RestOrder(symbol="BTCUSDT", order_id=7, client_order_id="cancel-xyz", status="CANCELED")]
    assert await gateway.cancel("BTCUSDT", "grid-1", strategy="grid") is True
    assert journal == [("cancel_order", "grid-1"), ("upsert_rest_order", "grid-1", "CANCELED", "cancel")]


async def test_cancel_of_an_order_the_exchange_no_longer_knows_refreshes_it():
    gateway, rest, store, journal = make()
    rest.cancel_script = [UnknownOrder(-2011, "Unknown order sent.")]
    rest.get_order_script = ["ok"]  # it filled meanwhile: the store learns its real state
    assert await gateway.cancel("BTCUSDT", "gone-1", strategy="grid") is False
    assert journal == [("cancel_order", "gone-1"), ("get_order", "gone-1"),
                       ("upsert_rest_order", "gone-1", "NEW", "cancel")]


async def test_cancel_of_an_unknown_order_whose_refresh_fails_still_answers():
    gateway, rest, store, journal = make()
    rest.cancel_script = [UnknownOrder(-2011, "Unknown order sent.")]
    rest.get_order_script = [TransportError("reset")]
    assert await gateway.cancel("BTCUSDT", "gone-2", strategy="grid") is False
    assert journal == [("cancel_order", "gone-2"), ("get_order", "gone-2")]


async def test_cancel_failure_is_logged_and_answered_false(caplog):
    gateway, rest, store, journal = make()
    rest.cancel_script = [TransportError("reset")]
    with caplog.at_level(logging.WARNING, logger="daemon.gateway"):
        assert await gateway.cancel("BTCUSDT", "x", strategy="grid") is False
    assert [r.getMessage() for r in caplog.records] == [
        "order.cancel_failed symbol=BTCUSDT client_order_id=x strategy=grid error=reset"]
    assert journal == [("cancel_order", "x")]


async def test_update_exchange_info_changes_the_rules():
    gateway, rest, store, journal = make()
    assert gateway.symbol_info("BTCUSDT") is BTCUSDT and gateway.symbol_info("ETHUSDT") is None
    assert (await gateway.submit(buy_limit(), strategy="grid")).accepted  # rules compiled and cached
    halted = SymbolInfo(symbol="BTCUSDT", status="BREAK", base_asset="BTC", quote_asset="USDT",
                        order_types=BTCUSDT.order_types, filters=FILTERS)
    gateway.update_exchange_info(ExchangeInfo(symbols=(halted,)))
    result = await gateway.submit(buy_limit(), strategy="grid")
    assert result.code is RejectCode.SYMBOL_NOT_TRADING
