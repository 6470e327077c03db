"""The simulator over real loopback sockets: httpx for REST, trio-websocket for streams.

No daemon code here: requests are signed by the test's own five-line helper.
Where the *server* closes a socket, the tests read with ``websockets.trio``:
trio-websocket 0.12 leaves its TCP socket open after a server-initiated close
(its ``aclose`` returns early once a close reason is set), which surfaces here
as a ResourceWarning, an error under this project's warning filter.
"""

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
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import connect

from sim import SimConfig, SimHandle, run_simulator

WAIT_S = 20


def signed(secret: str, params: dict[str, str]) -> str:
    """``params`` as a query string with timestamp and HMAC-SHA256 signature appended."""
    payload = urlencode({**params, "timestamp": str(int(time.time() * 1000))})
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}&signature={signature}"


async def next_json(ws, *, timeout: float = WAIT_S) -> dict:
    with trio.fail_after(timeout):
        return json.loads(await ws.get_message())


async def until(ws, predicate, *, timeout: float = WAIT_S) -> dict:
    with trio.fail_after(timeout):
        while True:
            message = json.loads(await ws.get_message())
            if predicate(message):
                return message


@pytest.fixture
async def sim(nursery) -> SimHandle:
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=50))
    yield handle
    handle.shutdown()


@pytest.fixture
async def client(sim):
    async with httpx.AsyncClient(base_url=sim.rest_url, headers={"X-MBX-APIKEY": sim.api_key},
                                 timeout=10) as http:
        yield http


async def test_handle_reports_the_real_port(sim):
    assert sim.rest_url.startswith("http://127.0.0.1:") and not sim.rest_url.endswith(":0")
    port = sim.rest_url.rsplit(":", 1)[1]
    assert sim.stream_url == f"ws://127.0.0.1:{port}"
    assert sim.ws_api_url == f"ws://127.0.0.1:{port}/ws-api/v3"
    assert len(sim.api_key) == 64 and len(sim.api_secret) == 64


async def test_public_endpoints(client):
    assert (await client.get("/api/v3/ping")).json() == {}
    server_time = (await client.get("/api/v3/time")).json()["serverTime"]
    assert abs(server_time - time.time() * 1000) < 5000
    info = (await client.get("/api/v3/exchangeInfo", params={"symbol": "BTCUSDT"})).json()
    (btc,) = info["symbols"]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["MIN_NOTIONAL"]["minNotional"] == "10.00000000"
    assert "MARKET" in btc["orderTypes"] and btc["permissions"] == ["SPOT"]
    assert {limit["rateLimitType"] for limit in info["rateLimits"]} == {
        "REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"}
    many = (await client.get("/api/v3/exchangeInfo",
                             params={"symbols": '["ETHUSDT","ETHBTC"]'})).json()
    assert [s["symbol"] for s in many["symbols"]] == ["ETHUSDT", "ETHBTC"]
    depth = (await client.get("/api/v3/depth", params={"symbol": "ETHUSDT", "limit": "5"})).json()
    assert len(depth["bids"]) == len(depth["asks"]) == 5
    assert Decimal(depth["bids"][0][0]) < Decimal(depth["asks"][0][0])


async def test_errors_are_rendered_with_code_and_status(sim, client):
    bad_symbol = await client.get("/api/v3/depth", params={"symbol": "DOGEUSDT"})
    assert (bad_symbol.status_code, bad_symbol.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})
    query = signed(sim.api_secret, {"symbol": "BTCUSDT"})
    wrong_key = await client.get(f"/api/v3/openOrders?{query}", headers={"X-MBX-APIKEY": "A" * 64})
    assert wrong_key.status_code == 401 and wrong_key.json()["code"] == -2015
    forged = await client.get(f"/api/v3/account?{signed('not-the-secret', {})}")
    assert (forged.status_code, forged.json()["code"]) == (400, -1022)
    poor = await client.post("/api/v3/order", content=signed(sim.api_secret, {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "1", "price": "29000.00"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert poor.status_code == 400
    assert poor.json() == {"code": -2010, "msg": "Account has insufficient balance for requested action."}
    gone = await client.delete(f"/api/v3/order?{signed(sim.api_secret, {'symbol': 'BTCUSDT', 'orderId': '424242'})}")
    assert gone.json() == {"code": -2011, "msg": "Unknown order sent."}


async def test_order_open_orders_user_stream_and_market_streams(sim, client):
    listen_key = (await client.post("/api/v3/userDataStream")).json()["listenKey"]
    assert (await client.post("/api/v3/userDataStream")).json()["listenKey"] == listen_key

    combined = f"{sim.stream_url}/stream?streams=btcusdt@trade/btcusdt@bookTicker"
    async with open_websocket_url(f"{sim.stream_url}/ws/{listen_key}") as user_ws, \
            open_websocket_url(combined) as market_ws:
        depth = (await client.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "5"})).json()
        price = Decimal(depth["bids"][0][0]) - Decimal("0.05")
        # Signed over query and body together, split between the two.
        body = signed(sim.api_secret, {"quantity": "0.0005", "price": str(price),
                                        "newClientOrderId": "it-1"})
        query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
        payload, signature = body.rsplit("&signature=", 1)
        signature = hmac.new(sim.api_secret.encode(), (query + payload).encode(),
                             hashlib.sha256).hexdigest()
        placed = await client.post(f"/api/v3/order?{query}", content=f"{payload}&signature={signature}",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert placed.status_code == 200, placed.text
        order_id = placed.json()["orderId"]

        new = await next_json(user_ws)
        assert (new["e"], new["x"], new["i"], new["c"]) == ("executionReport", "NEW", order_id, "it-1")
        position = await next_json(user_ws)
        assert position["e"] == "outboundAccountPosition"
        locked = price * Decimal("0.0005")
        assert position["B"] == [{"a": "USDT", "f": f"{Decimal(10000) - locked:.8f}",
                                  "l": f"{locked:.8f}"}]

        open_orders = (await client.get(f"/api/v3/openOrders?{signed(sim.api_secret, {'symbol': 'BTCUSDT'})}")).json()
        assert [(o["orderId"], o["status"], o["clientOrderId"]) for o in open_orders] == [
            (order_id, "NEW", "it-1")]

        seen = set()
        with trio.fail_after(WAIT_S):
            while seen != {"btcusdt@trade", "btcusdt@bookTicker"}:
                envelope = json.loads(await market_ws.get_message())
                seen.add(envelope["stream"])
                if envelope["stream"] == "btcusdt@trade":
                    assert envelope["data"]["e"] == "trade" and envelope["data"]["s"] == "BTCUSDT"
                else:
                    assert set(envelope["data"]) == {"u", "s", "b", "B", "a", "A"}

        # The participants trade with the resting order within seconds.
        fill = await until(user_ws, lambda m: m.get("e") == "executionReport" and m["x"] == "TRADE")
        assert fill["i"] == order_id and fill["N"] == "BTC"
        trades = (await client.get(f"/api/v3/myTrades?{signed(sim.api_secret, {'symbol': 'BTCUSDT'})}")).json()
        mine = [t for t in trades if t["id"] == fill["t"]]
        assert mine and mine[0]["orderId"] == order_id
        assert (mine[0]["price"], mine[0]["qty"], mine[0]["commission"]) == (fill["L"], fill["l"], fill["n"])


async def test_listen_key_keepalive_close_and_expiry(nursery):
    handle = await nursery.start(run_simulator, SimConfig(time_factor=3600 / 1.5))  # key lives 1.5 s
    headers = {"X-MBX-APIKEY": handle.api_key}
    async with httpx.AsyncClient(base_url=handle.rest_url, headers=headers) as http:
        key = (await http.post("/api/v3/userDataStream")).json()["listenKey"]
        assert (await http.put("/api/v3/userDataStream", params={"listenKey": key})).json() == {}
        unknown = await http.put("/api/v3/userDataStream", params={"listenKey": "x" * 64})
        assert unknown.json()["code"] == -1125
        missing = await http.put("/api/v3/userDataStream")
        assert missing.json()["code"] == -1102
        async with connect(f"{handle.stream_url}/ws/{key}") as ws:
            with trio.fail_after(10):
                expired = json.loads(await ws.recv())
            assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
            with pytest.raises(ConnectionClosed), trio.fail_after(5):
                await ws.recv()
        gone = await http.delete("/api/v3/userDataStream", params={"listenKey": key})
        assert gone.json()["code"] == -1125
        fresh = (await http.post("/api/v3/userDataStream")).json()["listenKey"]
        async with connect(f"{handle.stream_url}/ws/{fresh}") as ws:
            await http.delete("/api/v3/userDataStream", params={"listenKey": fresh})
            with pytest.raises(ConnectionClosed), trio.fail_after(5):
                await ws.recv()
            assert ws.close_code == 1000
    handle.shutdown()


async def test_subscribe_on_a_bare_connection(sim):
    async with open_websocket_url(f"{sim.stream_url}/ws/0") as ws:
        await ws.send_message(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@trade"], "id": 1}))
        assert await until(ws, lambda m: m.get("id") == 1) == {"result": None, "id": 1}
        await ws.send_message(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        assert await until(ws, lambda m: m.get("id") == 2) == {"result": ["ethusdt@trade"], "id": 2}
        trade = await until(ws, lambda m: m.get("e") == "trade")
        assert trade["s"] == "ETHUSDT"
        await ws.send_message(json.dumps({"method": "PING", "id": 3}))
        assert (await until(ws, lambda m: "error" in m))["error"]["code"] == 2


async def test_shutdown_closes_streams_and_returns():
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:  # exits only once run_simulator returned
            handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=50))
            async with connect(f"{handle.stream_url}/ws/btcusdt@bookTicker") as ws:
                ticker = json.loads(await ws.recv())  # no snapshot on connect: wait for one
                assert ticker["s"] == "BTCUSDT"
                handle.shutdown()
                with pytest.raises(ConnectionClosed):
                    while True:
                        await ws.recv()
                assert ws.close_code == 1001
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"{handle.rest_url}/api/v3/ping")


async def test_user_events_survive_a_burst_in_order(sim, client):
    """Many orders at once: every NEW report arrives, in order, through a one-slot client queue."""
    key = (await client.post("/api/v3/userDataStream")).json()["listenKey"]
    async with open_websocket_url(f"{sim.stream_url}/ws/{key}", message_queue_size=1) as ws:
        placed = []
        for n in range(25):
            query = signed(sim.api_secret, {
                "symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                "quantity": "0.01", "price": "1000.00", "newClientOrderId": f"burst-{n}",
                "newOrderRespType": "ACK"})
            answer = await client.post(f"/api/v3/order?{query}")
            placed.append(answer.json()["orderId"])
        await trio.sleep(0.5)  # let the server queue run ahead of the reader
        reports = []
        with trio.fail_after(WAIT_S):
            while len(reports) < len(placed):
                message = json.loads(await ws.get_message())
                if message["e"] == "executionReport":
                    reports.append(message)
    assert [r["i"] for r in reports] == placed
    assert [r["c"] for r in reports] == [f"burst-{n}" for n in range(25)]


async def test_a_simulator_bug_answers_500_with_code_minus_1000(sim, client):
    def broken(account):
        raise ZeroDivisionError("simulated bug")

    sim.exchange.account_info = broken
    answer = await client.get(f"/api/v3/account?{signed(sim.api_secret, {})}")
    assert answer.status_code == 500
    assert answer.json()["code"] == -1000
    assert (await client.get("/api/v3/ping")).status_code == 200  # the server lives on
