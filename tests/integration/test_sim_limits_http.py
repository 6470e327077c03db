"""Rate limits and HTTP faults of the simulator over loopback (httpx)."""

from __future__ import annotations

import time

import httpx
import pytest
import trio
from sim_limits_support import open_order_ids, place, resting_price, signed

from sim import SimConfig, SimHandle, run_simulator
from sim.limits import LimitsConfig


async def start(nursery, **config) -> SimHandle:
    handle = await nursery.start(run_simulator, SimConfig(participant_interval_ms=1000, **config))
    handle.exchange.pause_market()  # resting orders stay resting
    return handle


def client_for(handle: SimHandle, name: str | None = None) -> httpx.AsyncClient:
    headers = {"X-MBX-APIKEY": handle.api_key}
    if name is not None:
        headers["X-SIM-CLIENT"] = name
    return httpx.AsyncClient(base_url=handle.rest_url, headers=headers, timeout=10)


async def test_used_weight_headers_count_by_endpoint_weight(nursery):
    handle = await start(nursery)
    async with client_for(handle) as client:
        ping = await client.get("/api/v3/ping")
        assert ping.headers["x-mbx-used-weight-1m"] == ping.headers["x-mbx-used-weight"] == "1"
        depth = await client.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "500"})
        assert depth.headers["x-mbx-used-weight-1m"] == "6"  # depth limit=500 weighs 5
        refused = await client.get("/api/v3/depth", params={"symbol": "NOPE"})
        assert refused.status_code == 400 and refused.headers["x-mbx-used-weight-1m"] == "7"
        info = await client.get("/api/v3/exchangeInfo")
        assert info.headers["x-mbx-used-weight-1m"] == "17"
        assert info.json()["rateLimits"][0] == {"rateLimitType": "REQUEST_WEIGHT",
                                                "interval": "MINUTE", "intervalNum": 1, "limit": 1200}
        sapi = await client.get("/sapi/v1/system/status")
        assert "x-sapi-used-ip-weight-1m" in sapi.headers
        assert "x-mbx-used-weight-1m" not in sapi.headers
    assert handle.limits.used_weight("127.0.0.1") == {"1M": 17}
    handle.limits.reset()
    assert handle.limits.used_weight("127.0.0.1") == {"1M": 0}


async def test_429_with_retry_after_then_the_418_ban(nursery):
    handle = await start(nursery, limits=LimitsConfig(request_weight_per_minute=3,
                                                      ban_after_ignored=2))
    async with client_for(handle, "greedy") as greedy, client_for(handle, "polite") as polite:
        for _ in range(3):
            assert (await greedy.get("/api/v3/ping")).status_code == 200
        limited = await greedy.get("/api/v3/ping")
        assert limited.status_code == 429
        assert limited.json()["code"] == -1003
        assert "current limit is 3 request weight per 1 MINUTE" in limited.json()["msg"]
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["x-mbx-used-weight-1m"] == "4"
        assert (await greedy.get("/api/v3/ping")).status_code == 429  # ignored once
        banned = await greedy.get("/api/v3/ping")  # ignored twice: banned
        assert banned.status_code == 418 and banned.json()["code"] == -1003
        assert banned.json()["msg"].startswith("Way too much request weight used; IP banned until ")
        assert int(banned.headers["retry-after"]) == 120
        still = await greedy.get("/api/v3/time")
        assert still.status_code == 418 and int(still.headers["retry-after"]) <= 120
        assert (await polite.get("/api/v3/ping")).status_code == 200  # another "IP"
    assert handle.limits.ban_remaining_s("127.0.0.1|greedy") > 100


async def test_windows_reset_with_the_time_factor(nursery):
    # time_factor 60: the 1-minute window lasts 1 real second.
    handle = await start(nursery, time_factor=60,
                         limits=LimitsConfig(request_weight_per_minute=2, ban_after_ignored=5))
    async with client_for(handle) as client:
        window = 1.0
        await trio.sleep_until((trio.current_time() // window + 1) * window + 0.05)
        for _ in range(2):
            assert (await client.get("/api/v3/ping")).status_code == 200
        limited = await client.get("/api/v3/ping")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        await trio.sleep(1.0)
        again = await client.get("/api/v3/ping")
        assert again.status_code == 200 and again.headers["x-mbx-used-weight-1m"] == "1"


async def test_order_count_headers_and_the_order_limit(nursery):
    handle = await start(nursery, limits=LimitsConfig(orders_per_10_seconds=2))
    async with client_for(handle) as client:
        price = await resting_price(client)
        first = await place(client, handle.api_secret, price)
        assert first.status_code == 200, first.text
        assert (first.headers["x-mbx-order-count-10s"], first.headers["x-mbx-order-count-1d"]) == (
            "1", "1")
        poor = await place(client, handle.api_secret, price, quantity="100")
        assert poor.status_code == 400 and "x-mbx-order-count-10s" not in poor.headers
        second = await place(client, handle.api_secret, price)
        assert second.headers["x-mbx-order-count-10s"] == "2"
        third = await place(client, handle.api_secret, price)
        assert third.status_code == 429 and "retry-after" not in third.headers
        assert third.json() == {"code": -1015,
                                "msg": "Too many new orders; current limit is 2 orders per 10 SECOND."}
        assert len(await open_order_ids(client, handle.api_secret)) == 2
    account = handle.exchange.default_account.account_id
    assert handle.limits.order_count(account) == {"10S": 2, "1D": 2}


async def test_failed_orders_with_and_without_execution(nursery):
    handle = await start(nursery)
    async with client_for(handle) as client:
        price = await resting_price(client)
        handle.faults.fail_next_orders(1, executed=True)
        executed = await place(client, handle.api_secret, price)
        assert executed.status_code == 500
        assert executed.json() == {"code": -1000,
                                   "msg": "An unknown error occurred while processing the request."}
        assert len(await open_order_ids(client, handle.api_secret)) == 1  # it exists all the same

        handle.faults.fail_next_orders(1, executed=False, status=503)
        lost = await place(client, handle.api_secret, price)
        assert lost.status_code == 503 and lost.json()["code"] == -1001
        assert len(await open_order_ids(client, handle.api_secret)) == 1

        handle.faults.unknown_status_next_orders(1, executed=False)
        unknown = await place(client, handle.api_secret, price)
        assert unknown.status_code == 408 and unknown.json()["code"] == -1007
        handle.faults.unknown_status_next_orders(1, executed=True)
        unknown = await place(client, handle.api_secret, price)
        assert unknown.json()["msg"] == ("Timeout waiting for response from backend server. "
                                         "Send status unknown; execution status unknown.")
        assert len(await open_order_ids(client, handle.api_secret)) == 2
        assert (await place(client, handle.api_secret, price)).status_code == 200  # faults used up
    account = handle.exchange.default_account.account_id
    assert handle.limits.order_count(account)["1D"] == 3  # executed ones count, lost ones not


async def test_delayed_responses(nursery):
    handle = await start(nursery)
    async with client_for(handle) as client:
        handle.faults.delay_responses("/api/v3/time", 0.4, count=1)
        started = time.monotonic()
        assert (await client.get("/api/v3/time")).status_code == 200
        assert time.monotonic() - started >= 0.4
        started = time.monotonic()
        await client.get("/api/v3/time")
        assert time.monotonic() - started < 0.4
        handle.faults.delay_responses("/api/v3/ping", 1.0, count=1)
        with pytest.raises(httpx.ReadTimeout):  # what a client sees of a slow exchange
            await client.get("/api/v3/ping", timeout=0.2)


async def test_rate_limit_storm(nursery):
    handle = await start(nursery)
    async with client_for(handle) as client:
        handle.faults.rate_limit_storm(1.0)
        stormed = await client.get("/api/v3/time")
        assert stormed.status_code == 429
        assert stormed.json() == {"code": -1003, "msg": "Too many requests queued."}
        assert stormed.headers["retry-after"] == "1"
        await trio.sleep(1.05)
        assert (await client.get("/api/v3/time")).status_code == 200
    assert handle.faults.effects["storm_refused"] == 1


async def test_clock_skew_moves_server_time_and_the_timestamp_check(nursery):
    handle = await start(nursery)
    async with client_for(handle) as client:
        handle.faults.clock_skew(20_000)
        server_time = (await client.get("/api/v3/time")).json()["serverTime"]
        assert 15_000 < server_time - time.time() * 1000 < 25_000
        late = await client.get(f"/api/v3/account?{signed(handle.api_secret, {})}")
        assert late.json() == {"code": -1021,
                               "msg": "Timestamp for this request is outside of the recvWindow."}
        handle.faults.clock_skew(-5_000)
        ahead = await client.get(f"/api/v3/account?{signed(handle.api_secret, {})}")
        assert ahead.json()["msg"] == "Timestamp for this request was 1000ms ahead of the server's time."
        handle.faults.clear()
        assert (await client.get(f"/api/v3/account?{signed(handle.api_secret, {})}")).status_code == 200


async def test_admin_endpoint_injects_faults_and_reads_limits(nursery):
    handle = await start(nursery, admin=True)
    async with client_for(handle) as client:
        made = await client.post("/_sim/faults/fail_next_orders", json={"n": 1, "executed": False})
        assert made.status_code == 200 and made.json() == {"fault": "fail_next_orders", "result": None}
        status = (await client.get("/_sim/faults")).json()
        assert status["order_faults"] == [{"code": -1000, "status": 500, "executed": False}]
        assert "x-mbx-used-weight-1m" not in made.headers  # not an /api request
        price = await resting_price(client)
        assert (await place(client, handle.api_secret, price)).status_code == 500
        assert await open_order_ids(client, handle.api_secret) == []

        assert (await client.post("/_sim/faults/format_disk", json={})).status_code == 404
        bad = await client.post("/_sim/faults/fail_next_orders", json={"n": 0})
        assert bad.status_code == 400 and "n must be" in bad.json()["error"]
        unknown_arg = await client.post("/_sim/faults/clock_skew", json={"seconds": 1})
        assert unknown_arg.status_code == 400
        assert (await client.post("/_sim/faults/clock_skew", content=b"[1]")).status_code == 400
        counted = (await client.get("/_sim/limits")).json()
        assert counted["weight"]["127.0.0.1"]["1M"] > 0
        assert (await client.post("/_sim/limits/reset")).json() == {}
        assert (await client.get("/_sim/limits")).json()["weight"] == {}
        cleared = await client.post("/_sim/faults/clear", content=b"")
        assert cleared.json() == {"fault": "clear", "result": None}


async def test_no_admin_endpoint_unless_enabled(nursery):
    handle = await start(nursery)
    async with client_for(handle) as client:
        assert (await client.post("/_sim/faults/rate_limit_storm", json={"seconds": 5})).status_code == 404
        assert (await client.get("/api/v3/ping")).status_code == 200
    assert handle.faults.storm_remaining_s() == 0
