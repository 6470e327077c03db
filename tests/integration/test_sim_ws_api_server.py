"""The WebSocket API over loopback: user-data subscription, wrapped events, termination, shutdown.

The server closes these sockets, so the client is ``websockets.trio`` (see test_sim_server).
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import trio
from sim_limits_support import next_json, place, resting_price, subscribe_request, until, ws_signature
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import connect

from sim import SimConfig, SimHandle, run_simulator


async def start(nursery, **config) -> SimHandle:
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=1000, **config))
    handle.exchange.pause_market()
    return handle


def rest(handle: SimHandle) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=handle.rest_url, headers={"X-MBX-APIKEY": handle.api_key},
                             timeout=10)


async def test_subscribe_receive_wrapped_events_and_unsubscribe(nursery):
    handle = await start(nursery)
    async with connect(handle.ws_api_url) as ws, rest(handle) as client:
        await ws.send(subscribe_request(handle.api_key, handle.api_secret, 1))
        answer = await next_json(ws)
        assert answer["id"] == 1 and answer["status"] == 200
        assert answer["result"] == {"subscriptionId": 0}
        assert answer["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
        assert answer["rateLimits"][0]["count"] == 4  # connecting (2) + subscribing (2)

        placed = await place(client, handle.api_secret, await resting_price(client))
        order_id = placed.json()["orderId"]
        new = await next_json(ws)
        assert set(new) == {"subscriptionId", "event"} and new["subscriptionId"] == 0
        assert (new["event"]["e"], new["event"]["x"], new["event"]["i"]) == (
            "executionReport", "NEW", order_id)
        position = await next_json(ws)
        assert position["subscriptionId"] == 0
        assert position["event"]["e"] == "outboundAccountPosition"

        await ws.send(json.dumps({"id": 2, "method": "session.subscriptions"}))
        assert (await next_json(ws))["result"] == [{"subscriptionId": 0}]
        await ws.send(json.dumps({"id": 3, "method": "userDataStream.unsubscribe",
                                  "params": {"subscriptionId": 0}}))
        ended = await next_json(ws)
        assert ended["subscriptionId"] == 0 and ended["event"]["e"] == "eventStreamTerminated"
        assert (await next_json(ws))["id"] == 3
        await place(client, handle.api_secret, await resting_price(client))
        await ws.send(json.dumps({"id": 4, "method": "ping"}))
        assert (await next_json(ws))["id"] == 4  # no event of the ended subscription came first


async def test_a_wrong_signature_is_refused(nursery):
    handle = await start(nursery)
    async with connect(handle.ws_api_url) as ws:
        params = {"apiKey": handle.api_key, "timestamp": int(time.time() * 1000)}
        params["signature"] = ws_signature("not-the-secret", params)
        await ws.send(json.dumps({"id": "x", "method": "userDataStream.subscribe.signature",
                                  "params": params}))
        answer = await next_json(ws)
        assert answer["id"] == "x" and answer["status"] == 400
        assert answer["error"] == {"code": -1022, "msg": "Signature for this request is not valid."}
        await ws.send(json.dumps({"id": 2, "method": "session.status"}))
        assert (await next_json(ws))["result"]["userDataStream"] is False


async def test_server_side_termination_keeps_the_connection(nursery):
    handle = await start(nursery)
    async with connect(handle.ws_api_url) as ws:
        await ws.send(subscribe_request(handle.api_key, handle.api_secret))
        await next_json(ws)
        assert handle.faults.terminate_user_streams() == 1
        ended = await next_json(ws)
        assert ended == {"subscriptionId": 0, "event": ended["event"]}
        assert ended["event"]["e"] == "eventStreamTerminated"
        await ws.send(subscribe_request(handle.api_key, handle.api_secret, 2))
        assert (await next_json(ws))["result"] == {"subscriptionId": 1}


async def test_server_shutdown_fault_warns_then_closes_after_the_grace(nursery):
    handle = await start(nursery)
    async with connect(handle.ws_api_url) as ws:
        await ws.send(subscribe_request(handle.api_key, handle.api_secret))
        await next_json(ws)
        assert handle.faults.server_shutdown("user", grace_s=0.3) == 1
        warned_at = trio.current_time()
        warning = await next_json(ws)
        assert set(warning) == {"event"} and warning["event"]["e"] == "serverShutdown"
        await ws.send(json.dumps({"id": 9, "method": "ping"}))  # still served during the grace
        assert (await next_json(ws))["id"] == 9
        with pytest.raises(ConnectionClosed), trio.fail_after(5):
            await ws.recv()
        assert trio.current_time() - warned_at >= 0.25
        assert ws.close_code == 1001


async def test_graceful_simulator_stop_sends_server_shutdown(nursery):
    handle = await start(nursery)
    async with connect(handle.ws_api_url) as ws:
        await ws.send(json.dumps({"id": 1, "method": "ping"}))
        await next_json(ws)
        handle.shutdown()
        assert (await next_json(ws))["event"]["e"] == "serverShutdown"
        with pytest.raises(ConnectionClosed), trio.fail_after(5):
            await ws.recv()
        assert ws.close_code == 1001


async def test_rate_limit_fields_can_be_hidden_per_connection(nursery):
    handle = await start(nursery)
    async with connect(f"{handle.ws_api_url}?returnRateLimits=false") as ws:
        await ws.send(json.dumps({"id": 1, "method": "time"}))
        answer = await next_json(ws)
        assert set(answer) == {"id", "status", "result"}
        await ws.send(json.dumps({"id": 2, "method": "time", "params": {"returnRateLimits": True}}))
        assert "rateLimits" in await until(ws, lambda frame: frame.get("id") == 2)


async def test_connecting_costs_weight_and_a_banned_ip_is_refused_at_the_handshake(nursery):
    from websockets.exceptions import InvalidStatus

    from sim.limits import LimitsConfig

    handle = await start(nursery, limits=LimitsConfig(request_weight_per_minute=3,
                                                      ban_after_ignored=1))
    async with connect(handle.ws_api_url) as ws:  # 2 weight
        await ws.send(json.dumps({"id": 1, "method": "ping"}))  # 1 weight: at the limit
        assert (await next_json(ws))["status"] == 200
    with pytest.raises(InvalidStatus) as refused:
        async with connect(handle.ws_api_url):
            pass
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"]
    with pytest.raises(InvalidStatus) as banned:
        async with connect(handle.ws_api_url):
            pass
    assert banned.value.response.status_code == 418
    assert int(banned.value.response.headers["Retry-After"]) == 120
