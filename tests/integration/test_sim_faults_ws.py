"""Websocket faults over loopback: drops, stalls, duplicated and reordered user events, expiry.

The server closes these sockets, so the client is ``websockets.trio`` (see test_sim_server).
"""

from __future__ import annotations

import json

import httpx
import pytest
import trio
from sim_limits_support import next_json, place, resting_price
from websockets.exceptions import ConnectionClosed
from websockets.trio.client import connect

from sim import SimConfig, SimHandle, run_simulator


async def start(nursery, **config) -> SimHandle:
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=50, **config))
    return handle


def rest(handle: SimHandle) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=handle.rest_url, headers={"X-MBX-APIKEY": handle.api_key},
                             timeout=10)


async def listen_key(client: httpx.AsyncClient) -> str:
    return (await client.post("/api/v3/userDataStream")).json()["listenKey"]


async def test_drop_market_connections_only(nursery):
    handle = await start(nursery)
    async with rest(handle) as client:
        key = await listen_key(client)
        async with connect(f"{handle.stream_url}/ws/btcusdt@trade") as market, \
                connect(f"{handle.stream_url}/ws/{key}") as user:
            await next_json(market)  # the participants trade every 50 ms
            with trio.fail_after(5):
                while handle.faults.status()["connections"] != {"market": 1, "user": 1, "all": 2}:
                    await trio.sleep(0.01)
            assert handle.faults.drop_connections("market") == 1
            with pytest.raises(ConnectionClosed), trio.fail_after(5):
                while True:
                    await market.recv()
            assert market.close_code == 1011
            handle.exchange.pause_market()
            await place(client, handle.api_secret, await resting_price(client))
            assert (await next_json(user))["e"] == "executionReport"  # the user stream lives on


async def test_stalled_user_stream_delivers_late_but_complete(nursery):
    handle = await start(nursery)
    handle.exchange.pause_market()
    async with rest(handle) as client:
        key = await listen_key(client)
        price = await resting_price(client)
        async with connect(f"{handle.stream_url}/ws/{key}") as user:
            handle.faults.stall_streams(0.5, kind="user")
            sent_at = trio.current_time()
            await place(client, handle.api_secret, price)
            first = await next_json(user)
            assert trio.current_time() - sent_at >= 0.45
            assert first["e"] == "executionReport"
            assert (await next_json(user))["e"] == "outboundAccountPosition"


async def test_duplicated_and_reordered_user_events(nursery):
    handle = await start(nursery)
    handle.exchange.pause_market()
    async with rest(handle) as client:
        key = await listen_key(client)
        price = await resting_price(client)
        async with connect(f"{handle.stream_url}/stream?streams={key}") as user:
            handle.faults.duplicate_user_events(1)
            await place(client, handle.api_secret, price)
            frames = [await next_json(user) for _ in range(3)]
            kinds = [frame["data"]["e"] for frame in frames]
            assert kinds == ["executionReport", "executionReport", "outboundAccountPosition"]
            assert frames[0] == frames[1]

            handle.faults.reorder_user_events(1)
            await place(client, handle.api_secret, price)
            kinds = [(await next_json(user))["data"]["e"] for _ in range(2)]
            assert kinds == ["outboundAccountPosition", "executionReport"]
    assert handle.faults.effects["duplicated_user_events"] == 1
    assert handle.faults.effects["reordered_user_events"] == 1


async def test_expire_listen_keys_now(nursery):
    handle = await start(nursery)
    async with rest(handle) as client:
        key = await listen_key(client)
        async with connect(f"{handle.stream_url}/ws/{key}") as user:
            assert handle.faults.expire_listen_keys() == 1
            expired = await next_json(user)
            assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
            with pytest.raises(ConnectionClosed), trio.fail_after(5):
                await user.recv()
        keepalive = await client.put("/api/v3/userDataStream", params={"listenKey": key})
        assert keepalive.json() == {"code": -1125, "msg": "This listenKey does not exist."}


async def test_server_shutdown_warns_market_streams_then_closes_with_1001(nursery):
    """Today's docs: ``serverShutdown`` first, the close (1001) after the grace period."""
    handle = await start(nursery)
    async with connect(f"{handle.stream_url}/stream?streams=btcusdt@trade") as market:
        await next_json(market)
        assert handle.faults.server_shutdown("market", grace_s=0.5) == 1
        told = trio.current_time()
        streams = []
        with pytest.raises(ConnectionClosed), trio.fail_after(5):
            while True:
                streams.append(json.loads(await market.recv())["stream"])
        assert market.close_code == 1001
        assert trio.current_time() - told >= 0.45  # the grace was given
        assert streams.count("!serverShutdown") == 1
        assert "btcusdt@trade" in streams[streams.index("!serverShutdown"):]  # still served


async def test_ws_api_connections_are_user_connections(nursery):
    handle = await start(nursery)
    async with connect(handle.ws_api_url) as ws:
        with trio.fail_after(5):
            while handle.faults.status()["connections"]["user"] != 1:
                await trio.sleep(0.01)
        assert handle.faults.drop_connections("user") == 1
        with pytest.raises(ConnectionClosed), trio.fail_after(5):
            await ws.recv()
        assert ws.close_code == 1011


async def test_depth_gap_skips_update_ids_in_the_diff_stream(nursery):
    handle = await start(nursery)
    async with connect(f"{handle.stream_url}/ws/btcusdt@depth@100ms") as depth:
        previous = await next_json(depth)
        following = await next_json(depth)
        assert following["U"] == previous["u"] + 1  # contiguous without the fault
        handle.faults.depth_gap("BTCUSDT")
        with trio.fail_after(10):
            while True:
                event = await next_json(depth)
                if event["U"] != following["u"] + 1:
                    break
                following = event
        assert event["U"] > following["u"] + 1
    assert handle.faults.effects["depth_gaps"] == 1
