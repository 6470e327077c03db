"""BinanceRest's endpoint methods without a server: parameters, order-call errors, order counts.

``httpx.MockTransport`` answers; the simulator-backed tests of the same methods are
in tests/integration/test_binance_rest_endpoints.py.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest

from daemon.credentials import Credentials
from daemon.errors import ExchangeUnavailable, OutcomeUnknown
from daemon.gateway import Gateway
from daemon.orders import OrderRequest, OrderType, Side, TimeInForce
from daemon.venues.binance.models import ExchangeInfo, RateLimit, RestOrder, RestOrderList, SymbolInfo
from daemon.venues.binance.request_weights import request_cost
from daemon.venues.binance.rest import BinanceRest
from gateway_fakes import FakeStore, Journal
from sim.weights import weight_of

KEY, SECRET = "test-api-key-0123456789", "test-secret-abcdefghijklmnop"
ORDER = {"symbol": "BTCUSDT", "orderId": 42, "clientOrderId": "c-1", "price": "100.00000000",
         "origQty": "0.01000000", "executedQty": "0.00000000", "status": "NEW",
         "type": "LIMIT", "side": "BUY", "timeInForce": "GTC", "transactTime": 1700000000000}
LIST = {"orderListId": 9, "contingencyType": "OCO", "listStatusType": "ALL_DONE",
        "listOrderStatus": "ALL_DONE", "listClientOrderId": "L-1", "transactionTime": 1700000000001,
        "symbol": "BTCUSDT",
        "orders": [{"symbol": "BTCUSDT", "orderId": 43, "clientOrderId": "stop-1"},
                   {"symbol": "BTCUSDT", "orderId": 44, "clientOrderId": "limit-1"}],
        "orderReports": [{**ORDER, "orderId": 43, "orderListId": 9, "status": "CANCELED"},
                         {**ORDER, "orderId": 44, "orderListId": 9, "status": "CANCELED"}]}


def _client(handler) -> BinanceRest:
    return BinanceRest("http://127.0.0.1:9", Credentials(KEY, SECRET),
                       transport=httpx.MockTransport(handler))


def _params(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))


# ------------------------------------------------------------------ order counts -> callback


def _order_answer(headers: dict[str, str]):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=ORDER, headers=headers)
    return handler


async def test_order_counts_reach_the_callback_with_this_responses_values() -> None:
    seen: list[tuple[int | None, int | None]] = []
    rest = _client(_order_answer({"X-MBX-ORDER-COUNT-10S": "3", "X-MBX-ORDER-COUNT-1D": "17"}))
    rest.on_order_counts = lambda c10s, c1d: seen.append((c10s, c1d))
    async with rest:
        await rest.new_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"})
    assert seen == [(3, 17)]
    assert rest.order_count == {"10S": 3, "1D": 17}


async def test_a_response_without_order_counts_calls_nothing_and_a_partial_one_passes_none() -> None:
    answers = iter([{}, {"X-MBX-ORDER-COUNT-1D": "5"}])
    seen: list[tuple[int | None, int | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=ORDER, headers=next(answers))

    async with _client(handler) as rest:
        rest.on_order_counts = lambda c10s, c1d: seen.append((c10s, c1d))
        await rest.get_order("BTCUSDT", order_id=42)
        assert seen == []
        await rest.get_order("BTCUSDT", order_id=42)
    assert seen == [(None, 5)]


async def test_a_failing_order_counts_callback_does_not_fail_the_accepted_order(caplog) -> None:
    def explode(c10s, c1d):
        raise RuntimeError("observer broke")

    rest = _client(_order_answer({"X-MBX-ORDER-COUNT-10S": "1"}))
    rest.on_order_counts = explode
    with caplog.at_level(logging.ERROR, logger="daemon.venues.binance.rest"):
        async with rest:
            order = await rest.new_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                          "quantity": "1"})
    assert order.order_id == 42
    assert any("rest.order_counts_callback_failed" in r.getMessage() for r in caplog.records)


async def test_the_gateway_orders_budget_follows_the_exchange_counts() -> None:
    """The wiring daemon/app.py does: another client of the account used 7 of the 10 s window."""
    now = 1_700_000_000.0
    limits = (RateLimit(rate_limit_type="ORDERS", interval="SECOND", interval_num=10, limit=50),
              RateLimit(rate_limit_type="ORDERS", interval="DAY", interval_num=1, limit=160_000))
    info = ExchangeInfo(rate_limits=limits, symbols=(SymbolInfo(
        symbol="BTCUSDT", status="TRADING", base_asset="BTC", quote_asset="USDT",
        order_types=("LIMIT", "MARKET"), filters=()),))
    rest = _client(_order_answer({"X-MBX-ORDER-COUNT-10S": "7", "X-MBX-ORDER-COUNT-1D": "120"}))
    gateway = Gateway(rest, FakeStore(Journal()), info,
                      balances=lambda: {"USDT": (Decimal("1000"), Decimal("0"))},
                      reference_price=lambda symbol: Decimal("100"), clock=lambda: now)
    rest.on_order_counts = gateway.observe_order_counts
    async with rest:
        result = await gateway.submit(OrderRequest(
            symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, time_in_force=TimeInForce.GTC,
            quantity=Decimal("1"), price=Decimal("100"), client_order_id="c-1"), strategy="s")
    assert result.accepted
    assert gateway.order_rate.used(now) == {"10S": 7, "1D": 120}


# ------------------------------------------------------------------ order calls and reads


@pytest.mark.parametrize(("call", "expected"), [
    (lambda rest: rest.new_oco({"symbol": "BTCUSDT"}), OutcomeUnknown),
    (lambda rest: rest.cancel_order_list("BTCUSDT", order_list_id=9), OutcomeUnknown),
    (lambda rest: rest.cancel_open_orders("BTCUSDT"), OutcomeUnknown),
    (lambda rest: rest.test_order({"symbol": "BTCUSDT"}), ExchangeUnavailable),
    (lambda rest: rest.get_order_list(order_list_id=9), ExchangeUnavailable),
])
async def test_a_5xx_is_outcome_unknown_only_on_calls_that_act(call, expected) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"code": -1001, "msg": "Internal error"})

    async with _client(handler) as rest:
        with pytest.raises(Exception) as caught:
            await call(rest)
    assert type(caught.value) is expected


async def test_new_oco_asks_for_result_reports_and_decodes_the_legs() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={**LIST, "listStatusType": "EXEC_STARTED",
                                         "listOrderStatus": "EXECUTING"})

    async with _client(handler) as rest:
        answer = await rest.new_oco({"symbol": "BTCUSDT", "side": "SELL", "quantity": "1",
                                     "price": "110", "stopPrice": "90"})
    params = _params(seen[0])
    assert (seen[0].method, seen[0].url.path, params["newOrderRespType"]) == (
        "POST", "/api/v3/order/oco", "RESULT")
    assert (answer.order_list_id, answer.list_order_status) == (9, "EXECUTING")
    assert [r.order_id for r in answer.order_reports] == [43, 44]
    assert all(isinstance(r, RestOrder) for r in answer.order_reports)


async def test_cancel_open_orders_tells_orders_from_lists() -> None:
    async with _client(lambda request: httpx.Response(200, json=[ORDER, LIST])) as rest:
        canceled = await rest.cancel_open_orders("BTCUSDT")
    assert [type(entry) for entry in canceled] == [RestOrder, RestOrderList]
    assert canceled[1].orders[0].client_order_id == "stop-1"


async def test_cancel_open_orders_with_an_unreadable_entry_is_outcome_unknown() -> None:
    async with _client(lambda request: httpx.Response(200, json=[{"symbol": "BTCUSDT"}])) as rest:
        with pytest.raises(OutcomeUnknown):
            await rest.cancel_open_orders("BTCUSDT")


async def test_avg_price_is_a_decimal_and_historical_trades_sends_only_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v3/avgPrice":
            return httpx.Response(200, json={"mins": 5, "price": "9.35751834"})
        return httpx.Response(200, json=[{"id": 28457, "price": "4.00000100", "qty": "12.00000000",
                                          "quoteQty": "48.000012", "time": 1499865549590,
                                          "isBuyerMaker": True, "isBestMatch": True}])

    async with _client(handler) as rest:
        assert await rest.avg_price("BTCUSDT") == Decimal("9.35751834")
        (trade,) = await rest.historical_trades("BTCUSDT", from_id=28457, limit=1)
    assert (trade.id, trade.price, trade.is_buyer_maker) == (28457, Decimal("4.00000100"), True)
    assert seen[1].headers["X-MBX-APIKEY"] == KEY
    assert _params(seen[1]) == {"symbol": "BTCUSDT", "fromId": "28457", "limit": "1"}


@pytest.mark.parametrize("call", [
    lambda rest: rest.my_trades("BTCUSDT", order_id=1, start_time=0),
    lambda rest: rest.my_trades("BTCUSDT", from_id=1, end_time=0),
    lambda rest: rest.my_trades("BTCUSDT", start_time=0, end_time=24 * 3_600_000 + 1),
    lambda rest: rest.my_trades("BTCUSDT", limit=1001),
    lambda rest: rest.agg_trades("BTCUSDT", from_id=1, start_time=0),
    lambda rest: rest.agg_trades("BTCUSDT", start_time=0, end_time=3_600_001),
    lambda rest: rest.agg_trades("BTCUSDT", start_time=10, end_time=5),
    lambda rest: rest.recent_trades("BTCUSDT", limit=0),
    lambda rest: rest.cancel_order_list("BTCUSDT"),
    lambda rest: rest.get_order_list(),
])
async def test_refused_parameter_combinations_are_never_sent(call) -> None:
    sent: list[httpx.Request] = []

    async with _client(lambda request: sent.append(request) or httpx.Response(200, json=[])) as rest:
        with pytest.raises(ValueError):
            await call(rest)
    assert sent == []


async def test_my_trades_by_order_id_may_page_with_from_id() -> None:
    seen: list[httpx.Request] = []

    async with _client(lambda request: seen.append(request) or httpx.Response(200, json=[])) as rest:
        assert await rest.my_trades("BTCUSDT", order_id=42, from_id=7, limit=1000) == []
    params = _params(seen[0])
    assert {k: params[k] for k in ("symbol", "orderId", "fromId", "limit")} == {
        "symbol": "BTCUSDT", "orderId": "42", "fromId": "7", "limit": "1000"}
    assert "startTime" not in params and "signature" in params


@pytest.mark.parametrize(("method", "path", "params"), [
    ("GET", "/api/v3/trades", {"symbol": "BTCUSDT"}),
    ("GET", "/api/v3/historicalTrades", {"symbol": "BTCUSDT"}),
    ("GET", "/api/v3/aggTrades", {"symbol": "BTCUSDT"}),
    ("GET", "/api/v3/avgPrice", {"symbol": "BTCUSDT"}),
    ("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "orderId": "1"}),
    ("POST", "/api/v3/order/test", {"symbol": "BTCUSDT"}),
    ("POST", "/api/v3/order/oco", {"symbol": "BTCUSDT"}),
    ("DELETE", "/api/v3/orderList", {"symbol": "BTCUSDT"}),
    ("GET", "/api/v3/orderList", {"orderListId": "1"}),
    ("GET", "/api/v3/openOrderList", {}),
    ("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}),
])
def test_declared_weights_match_what_the_simulator_charges(method, path, params) -> None:
    assert request_cost(method, path, params).weight == weight_of(method, path, params)


def test_an_oco_reserves_two_order_units_and_a_test_order_none() -> None:
    assert request_cost("POST", "/api/v3/order/oco").orders == 2
    assert request_cost("POST", "/api/v3/order/test").orders == 0
