"""run_ws_api_user_stream against a scripted WebSocket API on 127.0.0.1.

The fake server checks the subscribe signature as the docs define it and then
plays a script per connection; REST (clock resync) is an ``httpx.MockTransport``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

from daemon.credentials import Credentials
from daemon.errors import Unauthorized
from daemon.venues.binance.models import AccountPosition, BalanceUpdate, ExecutionReport
from daemon.venues.binance.rest import BinanceRest
from daemon.venues.binance.streams import Backoff
from daemon.venues.binance.user_stream import user_stream_flavour
from daemon.venues.binance.userdata_wsapi import WsApiStreamCounters, run_ws_api_user_stream
from daemon.venues.binance.wsapi_session import signed_params

KEY, SECRET = "wsapikey", "wsapisecret"


def report(order_id: int, execution: str = "NEW", event_time: int = 1) -> dict:
    return {"e": "executionReport", "E": event_time, "s": "BTCUSDT", "c": f"c-{order_id}",
            "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.01", "p": "100", "x": execution,
            "X": execution, "i": order_id, "l": "0", "z": "0", "L": "0", "T": event_time,
            "t": -1}


BALANCE = {"e": "balanceUpdate", "E": 7, "a": "BTC", "d": "0.5", "T": 7}
POSITION = {"e": "outboundAccountPosition", "E": 8, "u": 8, "B": [{"a": "BTC", "f": "1", "l": "0"}]}


class Conn:
    """One accepted connection of the fake server, with helpers for scripts."""

    def __init__(self, ws: WebSocketConnection, server: FakeWsApi, index: int) -> None:
        self.ws, self.server, self.index = ws, server, index
        self.subscription = -1

    async def expect_subscribe(self, answer: dict | None = None) -> None:
        request = json.loads(await self.ws.get_message())
        self.server.requests.append((self.index, request))
        assert request["method"] == "userDataStream.subscribe.signature"
        params = dict(request["params"])
        signature = params.pop("signature")
        payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        assert signature == hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        assert params["apiKey"] == KEY and "timestamp" in params
        if answer is None:
            self.server.subscriptions += 1
            self.subscription = self.server.subscriptions
            answer = {"status": 200, "result": {"subscriptionId": self.subscription},
                      "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                      "intervalNum": 1, "limit": 6000, "count": 77}]}
        await self.ws.send_message(json.dumps({"id": request["id"], **answer}))

    async def event(self, payload: dict, subscription: int | None = None) -> None:
        sub = self.subscription if subscription is None else subscription
        await self.ws.send_message(json.dumps({"subscriptionId": sub, "event": payload}))

    async def raw(self, text: str) -> None:
        await self.ws.send_message(text)


Script = Callable[[Conn], Awaitable[None]]


class FakeWsApi:
    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.connections = 0
        self.subscriptions = 0
        self.requests: list[tuple[int, dict]] = []
        self.url = ""

    async def handler(self, request: WebSocketRequest) -> None:
        index = self.connections
        self.connections += 1
        ws = await request.accept()
        try:
            await self.scripts[min(index, len(self.scripts) - 1)](Conn(ws, self, index))
            await trio.sleep_forever()
        except ConnectionClosed:
            pass

    async def start(self, nursery: trio.Nursery) -> None:
        server = await nursery.start(serve_websocket, self.handler, "127.0.0.1", 0, None)
        self.url = f"ws://127.0.0.1:{server.port}/ws-api/v3"


def rest_client(handler=None) -> BinanceRest:
    def default(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"serverTime": 1})
    return BinanceRest("http://127.0.0.1:9", Credentials(KEY, SECRET),
                       transport=httpx.MockTransport(handler or default))


async def run_until(server: FakeWsApi, rest: BinanceRest, on_connected, wanted: int,
                    **kw) -> tuple[list, WsApiStreamCounters]:
    send, recv = trio.open_memory_channel(100)
    received = []
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            counters = await nursery.start(lambda task_status: run_ws_api_user_stream(
                rest, server.url, send, on_connected, backoff=Backoff(0.01, 0.05),
                task_status=task_status, **kw))
            while len(received) < wanted:
                received.append(await recv.receive())
            nursery.cancel_scope.cancel()
    return received, counters


def test_signature_matches_the_documented_example() -> None:
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01000000", "price": "52000.00"}
    docs_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
    docs_secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    signed = signed_params(Credentials(docs_key, docs_secret), params,
                           timestamp_ms=1645423376532, recv_window_ms=100)
    assert signed["signature"] == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"


def test_flavour_choice() -> None:
    assert user_stream_flavour("binance") == "ws-api"
    assert user_stream_flavour("binance-testnet", "auto") == "ws-api"
    assert user_stream_flavour("sim") == "ws-api"
    assert user_stream_flavour("sim", "listenkey") == "listenkey"
    assert user_stream_flavour("binance", "ws-api") == "ws-api"
    with pytest.raises(Exception, match="venue.user_stream"):
        user_stream_flavour("binance", "carrier-pigeon")


async def test_reconcile_first_then_events_in_order_with_unknowns_counted() -> None:
    reconciling = False

    async def script(conn: Conn) -> None:
        await conn.expect_subscribe()
        await conn.event(report(1))
        await conn.event({"e": "somethingNew", "E": 3})
        await conn.raw("not json")
        await conn.event(BALANCE)
        await conn.event(report(1))                    # a resend: dropped as a duplicate

    async def on_connected() -> None:
        nonlocal reconciling
        reconciling = True
        await trio.sleep(0.2)                          # the events arrive meanwhile
        reconciling = False

    server = FakeWsApi([script])
    rest = rest_client()
    received, counters = await run_until(server, rest, on_connected, 2)
    assert not reconciling
    assert [type(e) for e, _ in received] == [ExecutionReport, BalanceUpdate]
    assert json.loads(received[1][1]) == BALANCE       # the inner event, unwrapped
    assert (counters.unknown_events, counters.decode_errors, counters.subscriptions) == (1, 1, 1)
    # the answer's rateLimits reached the shared governor
    assert rest.governor.snapshot()["limits"]["REQUEST_WEIGHT/1M"]["used"] == 77


async def test_event_stream_terminated_resubscribes_on_the_same_connection() -> None:
    reconciles = 0

    async def script(conn: Conn) -> None:
        await conn.expect_subscribe()
        await conn.event(report(1))
        await conn.event({"e": "eventStreamTerminated", "E": 5}, subscription=99)  # not ours
        await conn.event(report(2))
        await conn.event({"e": "eventStreamTerminated", "E": 6})
        await conn.expect_subscribe()
        await conn.event(report(3))

    async def on_connected() -> None:
        nonlocal reconciles
        reconciles += 1

    server = FakeWsApi([script])
    received, counters = await run_until(server, rest_client(), on_connected, 3)
    assert [e.order_id for e, _ in received] == [1, 2, 3]
    assert server.connections == 1 and [i for i, _ in server.requests] == [0, 0]
    assert (counters.resubscribes, counters.terminations, counters.reconnects) == (1, 1, 0)
    assert reconciles == 2


async def test_server_shutdown_hands_over_before_the_old_connection_closes() -> None:
    second_subscribed = trio.Event()

    async def first(conn: Conn) -> None:
        await conn.expect_subscribe()
        await conn.event(report(1, event_time=10))
        await conn.event({"e": "serverShutdown", "E": 11})
        await second_subscribed.wait()
        # the old connection still brings an event from before, then the overlap
        await conn.event(report(2, event_time=12))
        await conn.event(report(3, event_time=13))
        await conn.event(POSITION)
        await trio.sleep(0.2)
        await conn.ws.aclose()

    async def second(conn: Conn) -> None:
        await conn.expect_subscribe()
        second_subscribed.set()
        await conn.event(report(3, event_time=13))     # the same events, on the new connection
        await conn.event(POSITION)
        await conn.event(report(4, event_time=14))

    reconciles = 0

    async def on_connected() -> None:
        nonlocal reconciles
        reconciles += 1

    server = FakeWsApi([first, second])
    received, counters = await run_until(server, rest_client(), on_connected, 5,
                                         handover_grace_s=5.0)
    kinds = [(type(e).__name__, getattr(e, "order_id", None)) for e, _ in received]
    assert kinds == [("ExecutionReport", 1), ("ExecutionReport", 2), ("ExecutionReport", 3),
                     ("AccountPosition", None), ("ExecutionReport", 4)]
    assert (counters.handovers, counters.reconnects, counters.subscriptions) == (1, 0, 2)
    assert counters.duplicates == 1 and reconciles == 2   # the old one stopped at the overlap
    assert isinstance(received[3][0], AccountPosition)


async def test_subscribe_refused_with_minus_1021_resyncs_and_retries_once() -> None:
    times = 0

    def rest_handler(request: httpx.Request) -> httpx.Response:
        nonlocal times
        times += 1
        return httpx.Response(200, json={"serverTime": 1})

    async def script(conn: Conn) -> None:
        await conn.expect_subscribe({"status": 400, "error": {
            "code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}})
        await conn.expect_subscribe()
        await conn.event(report(1))

    async def on_connected() -> None:
        pass

    rest = rest_client(rest_handler)
    received, counters = await run_until(FakeWsApi([script]), rest, on_connected, 1)
    assert times == 3 and rest.stats.clock_resyncs == 1 and rest.stats.timestamp_rejections == 1
    assert counters.subscriptions == 1 and received[0][0].order_id == 1


async def test_bad_credentials_propagate() -> None:
    async def script(conn: Conn) -> None:
        await conn.expect_subscribe({"status": 401, "error": {
            "code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}})

    async def on_connected() -> None:
        pytest.fail("never subscribed")

    server = FakeWsApi([script])
    send, _recv = trio.open_memory_channel(1)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            with pytest.raises(Unauthorized):
                await run_ws_api_user_stream(rest_client(), server.url, send, on_connected)
            nursery.cancel_scope.cancel()
    assert server.subscriptions == 0


async def test_a_dropped_connection_reconnects_and_reconciles_again() -> None:
    async def first(conn: Conn) -> None:
        await conn.expect_subscribe()
        await conn.event(report(1))
        await conn.ws.aclose()

    async def second(conn: Conn) -> None:
        await conn.expect_subscribe()
        await conn.event(report(2))

    reconciles = 0

    async def on_connected() -> None:
        nonlocal reconciles
        reconciles += 1

    server = FakeWsApi([first, second])
    received, counters = await run_until(server, rest_client(), on_connected, 2)
    assert [e.order_id for e, _ in received] == [1, 2]
    assert server.connections == 2 and counters.reconnects == 1 and reconciles == 2
    assert "closed by the server" in (counters.last_error or "")


async def test_a_refused_connection_is_retried_not_fatal() -> None:
    attempts: list[str] = []

    async def on_connected() -> None:
        pytest.fail("nothing listens there")

    send, _recv = trio.open_memory_channel(1)
    counters = WsApiStreamCounters()
    with trio.move_on_after(0.5):
        await run_ws_api_user_stream(rest_client(), "ws://127.0.0.1:9/ws-api/v3", send,
                                     on_connected, counters=counters, backoff=Backoff(0.02, 0.05))
    attempts.append(counters.last_error or "")
    assert "connect" in attempts[0] and not counters.connected and counters.subscriptions == 0
