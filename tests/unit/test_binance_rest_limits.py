"""BinanceRest + RateGovernor: 429 pauses and retries, 418 stops everything, -1021 waves.

``httpx.MockTransport`` plays the exchange; trio's autojump clock makes the waits free.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest
import trio

from daemon.credentials import Credentials
from daemon.errors import IpBanned, RateLimited
from daemon.venues.binance.ban_store import MemoryBanStore
from daemon.venues.binance.clock import ServerClock
from daemon.venues.binance.ratelimit import LimitRule, RateGovernor
from daemon.venues.binance.rest import BinanceRest

ORDER = {"symbol": "BTCUSDT", "orderId": 42, "clientOrderId": "c-1", "price": "100.00000000",
         "origQty": "0.01000000", "executedQty": "0.00000000", "status": "NEW",
         "type": "LIMIT", "side": "BUY", "timeInForce": "GTC", "transactTime": 1}
ORDER_PARAMS = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                "quantity": "0.01", "price": "100", "newClientOrderId": "c-1"}


def trio_clock() -> ServerClock:
    """A ServerClock whose local time is trio's (so autojump moves it)."""
    return ServerClock(wall=lambda: int(trio.current_time() * 1000) + 1_700_000_000_000)


def client(handler, governor: RateGovernor | None = None) -> BinanceRest:
    return BinanceRest("http://127.0.0.1:9", Credentials("key", "secret"),
                       transport=httpx.MockTransport(handler), clock=trio_clock(),
                       governor=governor or RateGovernor(max_wait_s=None))


async def test_429_pauses_all_callers_then_the_request_is_resent(autojump_clock) -> None:
    sent: list[tuple[float, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((trio.current_time(), request.url.path))
        if len(sent) == 1:
            return httpx.Response(429, json={"code": -1003, "msg": "Too much request weight used"},
                                  headers={"Retry-After": "12", "X-MBX-USED-WEIGHT-1M": "1201"})
        if request.url.path == "/api/v3/order":
            return httpx.Response(200, json=ORDER, headers={"X-MBX-USED-WEIGHT-1M": "3"})
        return httpx.Response(200, json={"serverTime": 1})

    async with client(handler) as rest:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(rest.new_order, ORDER_PARAMS)
            await trio.sleep(1)
            nursery.start_soon(rest.server_time)        # another caller, during the pause
    assert sent[0][0] == 0 and all(t >= 12 for t, _ in sent[1:])
    assert sorted(path for _, path in sent[1:]) == ["/api/v3/order", "/api/v3/time"]
    assert (rest.stats.rate_limited, rest.stats.rate_retries, rest.stats.banned) == (1, 1, 0)
    assert rest.governor.stats.pauses_429 == 1


async def test_a_429_pause_longer_than_the_deadline_refuses_the_retry(autojump_clock) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, json={"code": -1003, "msg": "Too much request weight used"},
                              headers={"Retry-After": "60"})

    async with client(handler) as rest:
        with pytest.raises(RateLimited) as caught:
            await rest.new_order(ORDER_PARAMS, max_wait_s=5)
    assert calls == 1 and caught.value.http_status is None and "not sent" in str(caught.value)


async def test_418_stops_all_rest_and_saves_the_ban(autojump_clock) -> None:
    calls = 0
    store = MemoryBanStore()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(418, json={"code": -1003, "msg": "Way too much request weight used; "
                                         "IP banned until 1700000300000."},
                              headers={"Retry-After": "300"})

    governor = RateGovernor(max_wait_s=10, ban_store=store, wall=lambda: 1_700_000_000.0)
    async with client(handler, governor) as rest:
        with pytest.raises(IpBanned):
            await rest.account()
        with pytest.raises(IpBanned) as caught:                  # refused here, not sent
            await rest.open_orders("BTCUSDT")
    assert calls == 1 and rest.stats.banned == 1
    assert caught.value.http_status is None and 299 <= caught.value.retry_after <= 300
    assert store.until_epoch_s == 1_700_000_300.0


async def test_the_request_is_signed_after_the_governor_wait(autojump_clock) -> None:
    timestamps: list[tuple[float, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.url.query.decode()))
        timestamps.append((trio.current_time(), int(params["timestamp"])))
        return httpx.Response(200, json=ORDER)

    rules = (LimitRule("REQUEST_WEIGHT", "MINUTE", 1, 1200), LimitRule("ORDERS", "SECOND", 10, 1))
    async with client(handler, RateGovernor(rules, safety_margin=0, max_wait_s=None)) as rest:
        await rest.new_order(ORDER_PARAMS)
        await rest.new_order(ORDER_PARAMS)                       # waits ~10 s for the ORDERS window
    (t0, ts0), (t1, ts1) = timestamps
    assert t1 - t0 >= 10
    assert ts1 - ts0 >= 10_000                                   # not signed before the wait


async def test_a_wave_of_minus_1021_shares_one_resync(autojump_clock) -> None:
    state = {"skewed": True, "time_calls": 0, "rejected": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v3/time":
            state["time_calls"] += 1
            state["skewed"] = False
            return httpx.Response(200, json={"serverTime": 1_700_000_000_000})
        if state["skewed"]:
            state["rejected"] += 1
            return httpx.Response(400, json={"code": -1021, "msg": "Timestamp for this request "
                                             "was 1000ms ahead of the server's time."})
        return httpx.Response(200, json=ORDER)

    async with client(handler) as rest:
        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(rest.new_order, ORDER_PARAMS)
    assert state["rejected"] == 5
    assert rest.stats.timestamp_rejections == 5 and rest.stats.clock_resyncs == 1
    assert state["time_calls"] == 3                              # one sync_clock (3 samples)


async def test_exchange_info_limits_and_headers_steer_the_governor() -> None:
    info = {"timezone": "UTC", "serverTime": 1, "symbols": [], "exchangeFilters": [],
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
                 "limit": 61000}]}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=info, headers={"X-MBX-USED-WEIGHT-1M": "4321"})

    async with client(handler) as rest:
        await rest.exchange_info()
        limits = rest.governor.snapshot()["limits"]
    assert limits["REQUEST_WEIGHT/1M"] == {"used": 4321, "budget": 5400, "limit": 6000}
    assert limits["ORDERS/10S"]["limit"] == 100 and limits["RAW_REQUESTS/5M"]["used"] == 1
    assert rest.used_weight_1m == 4321
