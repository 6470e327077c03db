"""run_market_streams against a small trio-websocket server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import partial

import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

from daemon.errors import TransportError
from daemon.venues.binance.models import BookTicker, Trade
from daemon.venues.binance.streams import (
    Backoff,
    StreamCounters,
    combined_stream_url,
    open_stream_connection,
    run_market_streams,
)

STREAMS = ["btcusdt@trade", "btcusdt@bookTicker"]
Script = Callable[[WebSocketConnection], Awaitable[None]]


def trade_frame(trade_id: int) -> str:
    return json.dumps({"stream": "btcusdt@trade", "data": {
        "e": "trade", "E": 1, "s": "BTCUSDT", "t": trade_id, "p": "100.00000000",
        "q": "0.50000000", "b": 1, "a": 2, "T": 1, "m": True, "M": True}})


BOOK_FRAME = json.dumps({"stream": "btcusdt@bookTicker", "data": {
    "u": 7, "s": "BTCUSDT", "b": "99.9", "B": "1", "a": "100.1", "A": "2"}})


class ScriptedServer:
    """Runs ``scripts[n]`` for the n-th connection (the last one repeats)."""

    def __init__(self, scripts: list[Script | None]) -> None:
        self.scripts = scripts
        self.paths: list[str] = []
        self.url = ""

    async def handler(self, request: WebSocketRequest) -> None:
        index = len(self.paths)
        self.paths.append(request.path)
        script = self.scripts[min(index, len(self.scripts) - 1)]
        if script is None:
            await request.reject(503)
            return
        ws = await request.accept()
        try:
            await script(ws)
        except ConnectionClosed:
            pass  # the client went away: part of several scenarios

    async def start(self, nursery: trio.Nursery) -> None:
        server = await nursery.start(serve_websocket, self.handler, "127.0.0.1", 0, None)
        self.url = f"ws://127.0.0.1:{server.port}"


async def hold_open(ws: WebSocketConnection) -> None:
    await trio.sleep_forever()


def fast_backoff() -> Backoff:
    return Backoff(initial_s=0.01, cap_s=0.05)


async def test_reconnects_after_a_drop_and_survives_malformed_frames() -> None:
    async def first(ws: WebSocketConnection) -> None:
        await ws.send_message(trade_frame(1))
        await ws.send_message('{"stream":"btcusdt@trade","data":{"e":"trade"}}')
        await ws.send_message("not json at all")
        await ws.send_message(BOOK_FRAME)
        await ws.aclose()                      # the connection drops mid-stream

    async def second(ws: WebSocketConnection) -> None:
        await ws.send_message(trade_frame(2))
        await trio.sleep_forever()

    server = ScriptedServer([first, second])
    send, recv = trio.open_memory_channel(100)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            counters = await nursery.start(lambda task_status: run_market_streams(
                server.url, STREAMS, send, backoff=fast_backoff(), task_status=task_status))
            events = [await recv.receive() for _ in range(3)]
            assert [type(e) for e in events] == [Trade, BookTicker, Trade]
            assert [events[0].trade_id, events[2].trade_id] == [1, 2]
            assert isinstance(counters, StreamCounters)
            assert (counters.messages, counters.decode_errors, counters.reconnects) == (5, 2, 1)
            assert counters.connected
            nursery.cancel_scope.cancel()
    assert server.paths == ["/stream?streams=btcusdt@trade/btcusdt@bookTicker"] * 2


async def test_silence_watchdog_reconnects() -> None:
    async def second(ws: WebSocketConnection) -> None:
        await ws.send_message(trade_frame(9))
        await trio.sleep_forever()

    server = ScriptedServer([hold_open, second])
    send, recv = trio.open_memory_channel(10)
    counters = StreamCounters()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            await nursery.start(lambda task_status: run_market_streams(
                server.url, STREAMS, send, silence_timeout_s=0.3, counters=counters,
                backoff=fast_backoff(), task_status=task_status))
            event = await recv.receive()
            assert event.trade_id == 9
            assert counters.reconnects == 1 and "StreamStalled" in counters.last_error
            nursery.cancel_scope.cancel()


async def test_retries_until_the_first_connect_succeeds() -> None:
    server = ScriptedServer([None, None, hold_open])
    send, _recv = trio.open_memory_channel(10)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            counters = await nursery.start(lambda task_status: run_market_streams(
                server.url, STREAMS, send, backoff=fast_backoff(), task_status=task_status))
            assert len(server.paths) == 3 and counters.reconnects == 0
            assert "ConnectionRejected" in counters.last_error
            nursery.cancel_scope.cancel()


async def test_stops_quietly_when_the_consumer_closes_its_channel() -> None:
    async def flood(ws: WebSocketConnection) -> None:
        for trade_id in range(1, 50):
            await ws.send_message(trade_frame(trade_id))
        await trio.sleep_forever()

    server = ScriptedServer([flood])
    send, recv = trio.open_memory_channel(0)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            done = trio.Event()

            async def stream(task_status=trio.TASK_STATUS_IGNORED) -> None:
                await run_market_streams(server.url, STREAMS, send, backoff=fast_backoff(),
                                         task_status=task_status)
                done.set()

            await nursery.start(stream)
            assert (await recv.receive()).trade_id == 1
            await recv.aclose()
            await done.wait()          # returned by itself, no cancellation needed
            nursery.cancel_scope.cancel()


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    low, high = Backoff(initial_s=1, cap_s=30, rng=lambda: 0.0), Backoff(1, 30, rng=lambda: 1.0)
    assert [low.next_delay() for _ in range(7)] == [0.5, 1, 2, 4, 8, 15, 15]
    assert [high.next_delay() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    high.reset()
    assert high.next_delay() == 1


def test_combined_url_validates_the_stream_list() -> None:
    assert combined_stream_url("ws://h:1/", ["a@trade", "b@trade"]) == "ws://h:1/stream?streams=a@trade/b@trade"
    with pytest.raises(ValueError):
        combined_stream_url("ws://h:1", [])
    with pytest.raises(ValueError):
        combined_stream_url("ws://h:1", [f"s{i}@trade" for i in range(1025)])


async def test_a_silent_handshake_times_out_as_a_transport_error() -> None:
    """A server that accepts TCP but never answers the upgrade request."""

    async def mute(stream: trio.SocketStream) -> None:
        await trio.sleep_forever()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(partial(trio.serve_tcp, mute, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            with pytest.raises(TransportError, match="handshake"):
                async with open_stream_connection(f"ws://127.0.0.1:{port}/stream?streams=a@trade",
                                                  connect_timeout_s=0.2):
                    pytest.fail("must not connect")
            nursery.cancel_scope.cancel()
