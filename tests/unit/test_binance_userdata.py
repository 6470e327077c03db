"""run_user_stream: listenKey lifecycle, reconcile ordering, reconnects, shutdown.

REST goes to an ``httpx.MockTransport`` that plays the listenKey endpoints; the
stream comes from a trio-websocket server on 127.0.0.1 scripted per connection.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

from daemon.credentials import Credentials
from daemon.errors import TransportError, Unauthorized
from daemon.venues.binance.models import AccountPosition, BalanceUpdate, ExecutionReport
from daemon.venues.binance.rest import BinanceRest
from daemon.venues.binance.streams import Backoff
from daemon.venues.binance.userdata import UserStreamCounters, heartbeat, run_user_stream

Script = Callable[[WebSocketConnection], Awaitable[None]]

EXECUTION = json.dumps({
    "e": "executionReport", "E": 1, "s": "BTCUSDT", "c": "grid-1", "S": "BUY", "o": "LIMIT",
    "f": "GTC", "q": "0.01000000", "p": "100.00000000", "P": "0", "F": "0", "g": -1, "C": "",
    "x": "NEW", "X": "NEW", "r": "NONE", "i": 7, "l": "0", "z": "0", "L": "0", "n": "0",
    "N": None, "T": 1, "t": -1, "I": 1, "w": True, "m": False, "M": False, "O": 1, "Z": "0",
    "Y": "0", "Q": "0"})
BALANCE = json.dumps({"e": "balanceUpdate", "E": 2, "a": "BTC", "d": "0.5", "T": 2})
POSITION = json.dumps({"e": "outboundAccountPosition", "E": 3, "u": 3,
                       "B": [{"a": "BTC", "f": "1.5", "l": "0"}]})
EXPIRED = json.dumps({"e": "listenKeyExpired", "E": 4, "listenKey": "lk-2"})
UNKNOWN = json.dumps({"e": "somethingNew", "E": 5})


class FakeListenKeyApi:
    """The three listenKey endpoints; ``put_answers`` scripts the keepalive replies."""

    def __init__(self, put_answers: list[httpx.Response] | None = None,
                 post_answer: httpx.Response | None = None) -> None:
        self.created = 0
        self.puts: list[str] = []
        self.deletes: list[str] = []
        self.put_answers = list(put_answers or [])
        self.post_answer = post_answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v3/userDataStream"
        assert request.headers["X-MBX-APIKEY"] == "key"
        key = request.url.params.get("listenKey")
        if request.method == "POST":
            if self.post_answer is not None:
                return self.post_answer
            self.created += 1
            return httpx.Response(200, json={"listenKey": f"lk-{self.created}"})
        if request.method == "PUT":
            self.puts.append(key)
            return self.put_answers.pop(0) if self.put_answers else httpx.Response(200, json={})
        self.deletes.append(key)
        return httpx.Response(200, json={})


class ScriptedServer:
    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.paths: list[str] = []
        self.url = ""

    async def handler(self, request: WebSocketRequest) -> None:
        index = len(self.paths)
        self.paths.append(request.path)
        ws = await request.accept()
        try:
            await self.scripts[min(index, len(self.scripts) - 1)](ws)
        except ConnectionClosed:
            pass

    async def start(self, nursery: trio.Nursery) -> None:
        server = await nursery.start(serve_websocket, self.handler, "127.0.0.1", 0, None)
        self.url = f"ws://127.0.0.1:{server.port}"


def sends(*frames: str, then_close: bool = False) -> Script:
    async def script(ws: WebSocketConnection) -> None:
        for frame in frames:
            await ws.send_message(frame)
        if then_close:
            await ws.aclose()
        else:
            await trio.sleep_forever()
    return script


def rest_for(api: FakeListenKeyApi) -> BinanceRest:
    return BinanceRest("http://127.0.0.1:9", Credentials("key", "secret"),
                       transport=httpx.MockTransport(api))


async def test_reconcile_first_then_events_in_order_across_reconnects_and_expiry() -> None:
    api = FakeListenKeyApi()
    server = ScriptedServer([
        sends(EXECUTION, UNKNOWN, "garbage{", BALANCE, then_close=True),   # drops at once
        sends(EXPIRED),                                                    # key expires
        sends(POSITION),
    ])
    reconciling = False
    reconciles = 0
    received: list[tuple[object, bytes]] = []

    async def on_connected() -> None:
        nonlocal reconciling, reconciles
        reconciling = True
        await trio.sleep(0.2)      # the server's frames (and its close) arrive meanwhile
        reconciles += 1
        reconciling = False

    send, recv = trio.open_memory_channel(100)
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            rest = rest_for(api)
            counters = await nursery.start(lambda task_status: run_user_stream(
                rest, server.url, send, on_connected, backoff=Backoff(0.01, 0.05),
                task_status=task_status))
            assert isinstance(counters, UserStreamCounters) and reconciles == 1
            for _ in range(3):
                item = await recv.receive()
                assert not reconciling, "an event was forwarded during on_connected"
                received.append(item)
            nursery.cancel_scope.cancel()
    assert [type(event) for event, _ in received] == [ExecutionReport, BalanceUpdate, AccountPosition]
    assert [raw for _, raw in received] == [EXECUTION.encode(), BALANCE.encode(), POSITION.encode()]
    assert reconciles == 3
    assert server.paths == ["/ws/lk-1", "/ws/lk-2", "/ws/lk-3"]
    assert (counters.reconnects, counters.unknown_events, counters.decode_errors) == (2, 1, 1)
    assert counters.messages == 6 and counters.subscriptions == 3
    assert api.deletes == ["lk-3"]       # shielded best-effort close at shutdown


async def test_keepalive_refused_with_1125_recreates_the_key() -> None:
    api = FakeListenKeyApi(put_answers=[
        httpx.Response(200, json={}),
        httpx.Response(503, text="busy"),                  # transient: retried later
        httpx.Response(400, json={"code": -1125, "msg": "This listenKey does not exist."}),
    ])
    server = ScriptedServer([sends()])
    connects = 0

    async def on_connected() -> None:
        nonlocal connects
        connects += 1

    send, _recv = trio.open_memory_channel(10)
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            rest = rest_for(api)
            counters = await nursery.start(lambda task_status: run_user_stream(
                rest, server.url, send, on_connected, keepalive_s=0.05,
                backoff=Backoff(0.01, 0.05), task_status=task_status))
            while connects < 2:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    assert api.puts[:3] == ["lk-1", "lk-1", "lk-1"]
    assert server.paths[:2] == ["/ws/lk-1", "/ws/lk-2"]
    assert counters.keepalives >= 1 and counters.reconnects >= 1
    assert "keepalive refused" in counters.last_error


async def test_retryable_reconcile_failure_reconnects_and_reconciles_again() -> None:
    api = FakeListenKeyApi()
    server = ScriptedServer([sends(BALANCE)])
    attempts = 0

    async def on_connected() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise TransportError("REST down during reconcile")

    send, recv = trio.open_memory_channel(10)
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            rest = rest_for(api)
            await nursery.start(lambda task_status: run_user_stream(
                rest, server.url, send, on_connected, backoff=Backoff(0.01, 0.05),
                task_status=task_status))
            event, _ = await recv.receive()
            assert isinstance(event, BalanceUpdate) and attempts == 2
            nursery.cancel_scope.cancel()


async def test_bad_credentials_propagate_instead_of_retrying_forever() -> None:
    api = FakeListenKeyApi(post_answer=httpx.Response(
        401, json={"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}))
    send, _recv = trio.open_memory_channel(10)

    async def on_connected() -> None:
        pytest.fail("never connected")

    with trio.fail_after(10):
        with pytest.raises(Unauthorized):
            await run_user_stream(rest_for(api), "ws://127.0.0.1:9", send, on_connected)
    assert api.deletes == []            # no key was ever created, nothing to close


async def test_heartbeat_without_pong_fails_the_connection() -> None:
    class DeafSocket:
        async def ping(self) -> None:
            await trio.sleep_forever()

    with trio.fail_after(5):
        with pytest.raises(TransportError, match="no pong"):
            await heartbeat(DeafSocket(), 0.05)  # type: ignore[arg-type]
