"""BinanceRest: signing on the wire, typed answers, errors, clock resync.

Pure unit tests use ``httpx.MockTransport``; the last tests run a small starlette
app on hypercorn at 127.0.0.1 that verifies signatures over the raw query string
exactly as a real exchange does.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from daemon.credentials import Credentials
from daemon.errors import (
    ConfigError,
    DecodeError,
    ExchangeUnavailable,
    InvalidTimestamp,
    OutcomeUnknown,
    RateLimited,
    TransportError,
    UnknownOrder,
)
from daemon.venues.binance.clock import OffsetSample, ServerClock, wall_ms
from daemon.venues.binance.models import RestOrder
from daemon.venues.binance.rest import BinanceRest

KEY, SECRET = "test-api-key-0123456789", "test-secret-abcdefghijklmnop"
ORDER = {"symbol": "BTCUSDT", "orderId": 42, "clientOrderId": "grid-1", "price": "100.50000000",
         "origQty": "0.01000000", "executedQty": "0.00000000", "status": "NEW",
         "type": "LIMIT", "side": "BUY", "timeInForce": "GTC", "transactTime": 1700000000000}


def _verify(query: str, secret: str = SECRET) -> dict[str, str]:
    """Check the signature over the raw query, as the exchange does; return the params."""
    payload, _, signature = query.rpartition("&signature=")
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    assert signature == expected
    return dict(parse_qsl(payload, keep_blank_values=True))


def _client(handler, credentials: Credentials | None = Credentials(KEY, SECRET), **kw) -> BinanceRest:
    return BinanceRest("http://127.0.0.1:9", credentials, transport=httpx.MockTransport(handler), **kw)


async def test_signed_order_is_signed_with_timestamp_and_recv_window() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ORDER, headers={"X-MBX-USED-WEIGHT-1M": "7",
                                                        "X-MBX-ORDER-COUNT-10S": "1",
                                                        "X-MBX-ORDER-COUNT-1D": "12"})

    clock = ServerClock(wall=lambda: 1_700_000_000_000)
    clock.offset_ms = 250
    async with _client(handler, recv_window_ms=3000, clock=clock) as rest:
        order = await rest.new_order({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                      "timeInForce": "GTC", "quantity": "0.01", "price": "100.5",
                                      "newClientOrderId": "grid-1"})
        assert isinstance(order, RestOrder)
        assert (order.order_id, order.price, order.status) == (42, Decimal("100.50000000"), "NEW")
        assert rest.used_weight == {"1M": 7} and rest.used_weight_1m == 7
        assert rest.order_count == {"10S": 1, "1D": 12}
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/api/v3/order"
    assert request.headers["X-MBX-APIKEY"] == KEY
    params = _verify(request.url.query.decode())
    assert list(params)[:7] == ["symbol", "side", "type", "timeInForce", "quantity", "price",
                                "newClientOrderId"]
    assert params["newOrderRespType"] == "RESULT"
    assert (params["recvWindow"], params["timestamp"]) == ("3000", str(1_700_000_000_250))


async def test_public_endpoints_send_no_key_and_encode_symbols() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v3/depth":
            return httpx.Response(200, json={"lastUpdateId": 5, "bids": [["1.0", "2.0"]], "asks": []})
        return httpx.Response(200, json={"symbols": [{"symbol": "BTCUSDT", "status": "TRADING",
                                                      "baseAsset": "BTC", "quoteAsset": "USDT"}]})

    async with _client(handler, credentials=None) as rest:
        info = await rest.exchange_info(["BTCUSDT", "ETHBTC"])
        assert info.symbol("BTCUSDT").base_asset == "BTC"
        await rest.exchange_info(["BTCUSDT"])
        depth = await rest.depth("BTCUSDT", limit=5)
        assert depth.bids == ((Decimal("1.0"), Decimal("2.0")),)
    assert "X-MBX-APIKEY" not in seen[0].headers
    assert seen[0].url.query == b"symbols=%5B%22BTCUSDT%22%2C%22ETHBTC%22%5D"
    assert seen[1].url.query == b"symbol=BTCUSDT"
    assert seen[2].url.query == b"symbol=BTCUSDT&limit=5"


async def test_signed_call_without_credentials_is_a_config_error() -> None:
    async with _client(lambda r: httpx.Response(200, json={}), credentials=None) as rest:
        with pytest.raises(ConfigError):
            await rest.account()


async def test_order_lookups_need_an_id() -> None:
    async with _client(lambda r: httpx.Response(200, json=ORDER)) as rest:
        with pytest.raises(ValueError):
            await rest.cancel_order("BTCUSDT")
        order = await rest.get_order("BTCUSDT", orig_client_order_id="grid-1")
        assert order.client_order_id == "grid-1"


async def test_invalid_timestamp_resyncs_the_clock_and_retries_once() -> None:
    calls: list[str] = []
    server_ahead_ms = 4000
    wall = [1_000_000]

    def now() -> int:
        wall[0] += 1
        return wall[0]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/v3/time":
            return httpx.Response(200, json={"serverTime": wall[0] + server_ahead_ms})
        params = _verify(request.url.query.decode())
        if abs(int(params["timestamp"]) - (wall[0] + server_ahead_ms)) > 1000:
            return httpx.Response(400, json={"code": -1021, "msg": "Timestamp for this request "
                                                                   "is outside of the recvWindow."})
        return httpx.Response(200, json={"balances": [{"asset": "BTC", "free": "1.5",
                                                       "locked": "0"}]})

    async with _client(handler, clock=ServerClock(wall=now)) as rest:
        account = await rest.account()
        assert account.balances[0].free == Decimal("1.5")
        assert abs(rest.clock.offset_ms - server_ahead_ms) <= 2
    assert calls == ["/api/v3/account", "/api/v3/time", "/api/v3/time", "/api/v3/time",
                     "/api/v3/account"]


async def test_a_second_invalid_timestamp_is_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v3/time":
            return httpx.Response(200, json={"serverTime": 1})
        return httpx.Response(400, json={"code": -1021, "msg": "Timestamp ahead"})

    async with _client(handler) as rest:
        with pytest.raises(InvalidTimestamp) as info:
            await rest.open_orders()
        assert info.value.retryable and info.value.exchange_message == "Timestamp ahead"


async def test_sync_clock_keeps_the_smallest_round_trip() -> None:
    walls = iter([0, 100, 200, 210, 300, 350])   # RTTs 100, 10, 50
    servers = iter([5050, 10205, 5325])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"serverTime": next(servers)})

    async with _client(handler, clock=ServerClock(wall=lambda: next(walls))) as rest:
        assert await rest.sync_clock(samples=3) == 10_000
        assert rest.clock.rtt_ms == 10


def test_offset_sample_uses_the_midpoint() -> None:
    sample = OffsetSample(sent_ms=1000, server_ms=1600, received_ms=1200)
    assert (sample.rtt_ms, sample.offset_ms) == (200, 500)


@pytest.mark.parametrize(("exc", "order_call", "expected"), [
    (httpx.ReadTimeout("slow"), True, OutcomeUnknown),
    (httpx.RemoteProtocolError("dropped"), True, OutcomeUnknown),
    (httpx.ConnectError("refused"), True, TransportError),
    (httpx.ReadTimeout("slow"), False, TransportError),
])
async def test_network_failures(exc: Exception, order_call: bool, expected: type) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    async with _client(handler) as rest:
        with pytest.raises(expected) as info:
            if order_call:
                await rest.cancel_order("BTCUSDT", order_id=1)
            else:
                await rest.get_order("BTCUSDT", order_id=1)
    assert type(info.value) is expected  # OutcomeUnknown is not a TransportError, nor the reverse
    assert isinstance(info.value.__cause__, httpx.RequestError)


async def test_server_errors_depend_on_the_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="Service Unavailable")

    async with _client(handler) as rest:
        with pytest.raises(OutcomeUnknown):
            await rest.new_order({"symbol": "BTCUSDT"})
        with pytest.raises(ExchangeUnavailable):
            await rest.account()


async def test_unreadable_success_bodies() -> None:
    async with _client(lambda r: httpx.Response(200, content=b"<html>")) as rest:
        with pytest.raises(OutcomeUnknown):
            await rest.new_order({"symbol": "BTCUSDT"})
        with pytest.raises(DecodeError):
            await rest.account()


async def test_unknown_order_and_listen_key_calls() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v3/order":
            return httpx.Response(400, json={"code": -2011, "msg": "Unknown order sent."})
        if request.method == "POST":
            return httpx.Response(200, json={"listenKey": "lk-1"})
        return httpx.Response(200, json={})

    async with _client(handler) as rest:
        with pytest.raises(UnknownOrder):
            await rest.cancel_order("BTCUSDT", orig_client_order_id="gone")
        assert await rest.create_listen_key() == "lk-1"
        await rest.keepalive_listen_key("lk-1")
        await rest.close_listen_key("lk-1")
    post, put, delete = seen[1:]
    assert [r.method for r in (post, put, delete)] == ["POST", "PUT", "DELETE"]
    assert all(r.headers["X-MBX-APIKEY"] == KEY for r in (post, put, delete))
    assert post.url.query == b"" and put.url.query == delete.url.query == b"listenKey=lk-1"
    assert b"signature" not in put.url.query


# ------------------------------------------------------------------ over loopback


def _exchange_app(server_skew_ms: int, state: dict) -> Starlette:
    """A tiny exchange: verifies key, signature (raw query) and recvWindow like Binance."""

    def server_ms() -> int:
        return wall_ms() + server_skew_ms

    async def time_endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"serverTime": server_ms()}, headers={"X-MBX-USED-WEIGHT-1M": "1"})

    async def order_endpoint(request: Request) -> JSONResponse:
        state["orders"] = state.get("orders", 0) + 1
        if request.headers.get("X-MBX-APIKEY") != KEY:
            return JSONResponse({"code": -2015, "msg": "Invalid API-key"}, status_code=401)
        query = request.url.query
        payload, _, signature = query.rpartition("&signature=")
        if hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest() != signature:
            return JSONResponse({"code": -1022, "msg": "Signature for this request is not valid."},
                                status_code=400)
        params = dict(parse_qsl(payload))
        timestamp, window = int(params["timestamp"]), int(params["recvWindow"])
        now = server_ms()
        if not (timestamp < now + 1000 and now - timestamp <= window):
            return JSONResponse({"code": -1021, "msg": "Timestamp for this request is outside "
                                                       "of the recvWindow."}, status_code=400)
        if state.get("throttle"):
            return JSONResponse({"code": -1015, "msg": "Too many new orders."}, status_code=429,
                                headers={"Retry-After": "3"})
        return JSONResponse({**ORDER, "clientOrderId": params["newClientOrderId"],
                             "price": params["price"]},
                            headers={"X-MBX-USED-WEIGHT-1M": "9", "X-MBX-ORDER-COUNT-10S": "1"})

    return Starlette(routes=[Route("/api/v3/time", time_endpoint),
                             Route("/api/v3/order", order_endpoint, methods=["POST"])])


async def _serve(app: Starlette, nursery: trio.Nursery) -> str:
    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    binds = await nursery.start(serve, app, config)
    return binds[0]


async def test_loopback_exchange_verifies_signature_and_resync_cures_a_skewed_clock() -> None:
    state: dict = {}
    async with trio.open_nursery() as nursery:
        base_url = await _serve(_exchange_app(server_skew_ms=-7000, state=state), nursery)
        with trio.fail_after(20):
            async with BinanceRest(base_url, Credentials(KEY, SECRET), recv_window_ms=5000) as rest:
                order = await rest.new_order({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                                              "timeInForce": "GTC", "quantity": "0.01",
                                              "price": "101.25", "newClientOrderId": "a b/c"})
                assert order.client_order_id == "a b/c" and order.price == Decimal("101.25")
                assert state["orders"] == 2          # refused (-1021), resynced, accepted
                assert -7100 < rest.clock.offset_ms < -6900
                assert rest.used_weight_1m == 9 and rest.order_count == {"10S": 1}

                state["throttle"] = True
                with pytest.raises(RateLimited) as info:
                    await rest.new_order({"symbol": "BTCUSDT", "price": "1",
                                          "newClientOrderId": "x"})
                assert (info.value.code, info.value.retry_after) == (-1015, 3.0)
        nursery.cancel_scope.cancel()
