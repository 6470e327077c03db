"""Trading REST of the simulator over loopback: order/test, stops, OCO endpoints,
allOrders, openOrders cancel, myTrades combinations, rateLimit/order, listStatus events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from sim import SimConfig, SimHandle, run_simulator

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def signed(secret: str, params: dict[str, str]) -> str:
    payload = urlencode({**params, "timestamp": str(int(time.time() * 1000))})
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}&signature={digest}"


class Api:
    def __init__(self, http: httpx.AsyncClient, secret: str) -> None:
        self.http, self.secret = http, secret

    async def call(self, method: str, path: str, **params: str) -> httpx.Response:
        query = signed(self.secret, params)
        if method == "POST":
            return await self.http.post(path, content=query, headers=FORM)
        return await self.http.request(method, f"{path}?{query}")


@pytest.fixture
async def sim(nursery) -> SimHandle:
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=10_000))
    handle.exchange.pause_market()
    yield handle
    handle.shutdown()


@pytest.fixture
async def api(sim):
    async with httpx.AsyncClient(base_url=sim.rest_url, headers={"X-MBX-APIKEY": sim.api_key},
                                 timeout=10) as http:
        yield Api(http, sim.api_secret)


def best(sim: SimHandle, side: str) -> Decimal:
    return sim.exchange.books["BTCUSDT"].best(side)[0]


async def test_order_test_validates_everything_and_executes_nothing(sim, api):
    bid = best(sim, "BUY")
    ok = await api.call("POST", "/api/v3/order/test", symbol="BTCUSDT", side="BUY", type="LIMIT",
                        timeInForce="GTC", quantity="0.001", price=str(bid))
    assert (ok.status_code, ok.json()) == (200, {})
    assert sim.exchange.default_account.orders == {}
    assert sim.exchange.default_account.balance("USDT").locked == 0
    small = await api.call("POST", "/api/v3/order/test", symbol="BTCUSDT", side="BUY",
                           type="LIMIT", timeInForce="GTC", quantity="0.0001", price=str(bid))
    assert small.json() == {"code": -1013, "msg": "Filter failure: MIN_NOTIONAL"}
    stop = await api.call("POST", "/api/v3/order/test", symbol="BTCUSDT", side="SELL",
                          type="STOP_LOSS", quantity="0.001",
                          stopPrice=str(sim.exchange.last_price("BTCUSDT") + 1))
    assert stop.json()["msg"] == "Order would trigger immediately."


async def test_stop_order_rest_shapes_and_cancel_all(sim, api):
    last = sim.exchange.last_price("BTCUSDT")
    stop = (await api.call("POST", "/api/v3/order", symbol="BTCUSDT", side="SELL",
                           type="STOP_LOSS_LIMIT", timeInForce="GTC", quantity="0.01",
                           price=str(last - 100), stopPrice=str(last - 50))).json()
    assert set(stop) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    queried = (await api.call("GET", "/api/v3/order", symbol="BTCUSDT",
                              orderId=str(stop["orderId"]))).json()
    assert (queried["isWorking"], queried["stopPrice"], queried["type"]) == (
        False, f"{last - 50:.8f}", "STOP_LOSS_LIMIT")
    rest = (await api.call("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                           timeInForce="GTC", quantity="0.001",
                           price=str(best(sim, "BUY") - 10))).json()
    canceled = (await api.call("DELETE", "/api/v3/openOrders", symbol="BTCUSDT")).json()
    assert sorted(c["orderId"] for c in canceled) == sorted([stop["orderId"], rest["orderId"]])
    assert {c["status"] for c in canceled} == {"CANCELED"}
    again = await api.call("DELETE", "/api/v3/openOrders", symbol="BTCUSDT")
    assert again.json() == {"code": -2011, "msg": "Unknown order sent."}
    every = (await api.call("GET", "/api/v3/allOrders", symbol="BTCUSDT")).json()
    assert [o["orderId"] for o in every] == [stop["orderId"], rest["orderId"]]
    paged = (await api.call("GET", "/api/v3/allOrders", symbol="BTCUSDT",
                            orderId=str(rest["orderId"]), limit="5")).json()
    assert [o["orderId"] for o in paged] == [rest["orderId"]]
    assert (await api.call("GET", "/api/v3/allOrders")).json()["code"] == -1102


async def test_oco_endpoints_and_list_status_on_the_user_stream(sim, api):
    listen_key = (await api.http.post("/api/v3/userDataStream")).json()["listenKey"]
    last = sim.exchange.last_price("BTCUSDT")
    async with open_websocket_url(f"{sim.stream_url}/ws/{listen_key}") as user_ws:
        placed = await api.call("POST", "/api/v3/order/oco", symbol="BTCUSDT", side="SELL",
                                quantity="0.01", price=str(best(sim, "SELL") + 100),
                                stopPrice=str(last - 100), stopLimitPrice=str(last - 150),
                                stopLimitTimeInForce="GTC", listClientOrderId="myList")
        body = placed.json()
        assert placed.status_code == 200 and body["listOrderStatus"] == "EXECUTING"
        with trio.fail_after(10):
            while True:
                event = json.loads(await user_ws.get_message())
                if event["e"] == "listStatus":
                    break
        assert (event["g"], event["l"], event["L"], event["C"]) == (
            body["orderListId"], "EXEC_STARTED", "EXECUTING", "myList")
        by_id = (await api.call("GET", "/api/v3/orderList",
                                orderListId=str(body["orderListId"]))).json()
        by_client = (await api.call("GET", "/api/v3/orderList",
                                    origClientOrderId="myList")).json()
        assert by_id == by_client and "orderReports" not in by_id
        assert (await api.call("GET", "/api/v3/openOrderList")).json() == [by_id]
        canceled = (await api.call("DELETE", "/api/v3/orderList", symbol="BTCUSDT",
                                   listClientOrderId="myList")).json()
        assert canceled["listStatusType"] == "ALL_DONE"
        with trio.fail_after(10):
            while True:
                event = json.loads(await user_ws.get_message())
                if event["e"] == "listStatus":
                    break
        assert (event["l"], event["L"]) == ("ALL_DONE", "ALL_DONE")
    assert (await api.call("GET", "/api/v3/openOrderList")).json() == []
    history = (await api.call("GET", "/api/v3/allOrderList")).json()
    assert [h["orderListId"] for h in history] == [body["orderListId"]]
    missing = await api.call("GET", "/api/v3/orderList", orderListId="999")
    assert missing.json() == {"code": -2013, "msg": "Order list does not exist."}
    bad = await api.call("POST", "/api/v3/order/oco", symbol="BTCUSDT", side="SELL",
                         quantity="0.01", price=str(last - 200), stopPrice=str(last - 100))
    assert bad.json() == {"code": -2010, "msg": "The relationship of the prices for the "
                                                "orders is not correct."}
    mixed = await api.call("GET", "/api/v3/allOrderList", fromId="1", startTime="1")
    assert mixed.json()["code"] == -1128


async def test_my_trades_combinations_and_order_counts(sim, api):
    ask = best(sim, "SELL")
    bought = (await api.call("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY",
                             type="LIMIT", timeInForce="IOC", quantity="0.001",
                             price=str(ask))).json()
    assert bought["status"] == "FILLED" and len(bought["fills"]) == 1
    trades = (await api.call("GET", "/api/v3/myTrades", symbol="BTCUSDT",
                             orderId=str(bought["orderId"]),
                             fromId=str(bought["fills"][0]["tradeId"]))).json()
    assert [t["id"] for t in trades] == [bought["fills"][0]["tradeId"]]
    assert trades[0]["orderListId"] == -1
    conflict = await api.call("GET", "/api/v3/myTrades", symbol="BTCUSDT", fromId="1",
                              startTime="1")
    assert conflict.json()["code"] == -1128
    now = int(time.time() * 1000)
    too_long = await api.call("GET", "/api/v3/myTrades", symbol="BTCUSDT",
                              startTime=str(now - 86_400_001), endTime=str(now))
    assert too_long.json() == {"code": -1127,
                               "msg": "More than 24 hours between startTime and endTime."}
    usage = (await api.call("GET", "/api/v3/rateLimit/order")).json()
    assert [(u["rateLimitType"], u["interval"], u["intervalNum"], u["count"]) for u in usage] == [
        ("ORDERS", "SECOND", 10, 1), ("ORDERS", "DAY", 1, 1)]
    info = (await api.call("GET", "/api/v3/account")).json()
    assert info["canTrade"] is True
