"""Both websocket transports against one loopback trio-websocket server: same contract."""

from __future__ import annotations

import gc
import json

import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

from daemon.errors import ConfigError, TransportError
from daemon.venues.binance.transport import (
    TRANSPORT_NAMES,
    TransportOptions,
    make_transport,
)

pytestmark = pytest.mark.parametrize("transport_name", TRANSPORT_NAMES)


class Server:
    """Echoes control messages back, sends ``burst`` frames, then behaves per ``mode``."""

    def __init__(self, burst: int = 3, mode: str = "hold") -> None:
        self.burst = burst
        self.mode = mode
        self.received: list[str] = []
        self.url = ""
        self.closed_by_client = trio.Event()

    async def handler(self, request: WebSocketRequest) -> None:
        if self.mode == "reject":
            await request.reject(503)
            return
        ws = await request.accept()
        try:
            for n in range(self.burst):
                await ws.send_message(json.dumps({"n": n}))
            if self.mode == "close":
                await ws.aclose(code=1001, reason="bye")
                return
            while True:
                text = await ws.get_message()
                self.received.append(text)
                await ws.send_message(text)
        except ConnectionClosed:
            self.closed_by_client.set()

    async def start(self, nursery: trio.Nursery) -> None:
        server = await nursery.start(serve_websocket, self.handler, "127.0.0.1", 0, None)
        self.url = f"ws://127.0.0.1:{server.port}/stream?streams=a@trade"


async def test_receive_send_and_close(transport_name: str) -> None:
    server = Server()
    transport = make_transport(transport_name)
    assert transport.name == transport_name
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            async with transport.connect(server.url) as conn:
                got = [json.loads(await conn.receive()) for _ in range(3)]
                assert got == [{"n": 0}, {"n": 1}, {"n": 2}]
                await conn.send('{"method":"LIST_SUBSCRIPTIONS","id":1}')
                assert json.loads(await conn.receive()) == {"method": "LIST_SUBSCRIPTIONS", "id": 1}
                await conn.close()
                await conn.close()  # idempotent
                with pytest.raises(TransportError):
                    await conn.receive()
            await server.closed_by_client.wait()
            assert server.received == ['{"method":"LIST_SUBSCRIPTIONS","id":1}']
            nursery.cancel_scope.cancel()


async def test_server_close_is_a_transport_error_and_leaks_no_socket(transport_name: str) -> None:
    server = Server(burst=2, mode="close")
    transport = make_transport(transport_name)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            for _ in range(3):
                async with transport.connect(server.url) as conn:
                    assert json.loads(await conn.receive()) == {"n": 0}
                    assert json.loads(await conn.receive()) == {"n": 1}
                    with pytest.raises(TransportError, match="closed"):
                        await conn.receive()
                    with pytest.raises(TransportError):
                        await conn.send("late")
            nursery.cancel_scope.cancel()
    gc.collect()  # a leaked socket would raise ResourceWarning (an error here)


async def test_rejected_and_refused_connects_are_transport_errors(transport_name: str) -> None:
    server = Server(mode="reject")
    transport = make_transport(transport_name, TransportOptions(connect_timeout_s=2))
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            with pytest.raises(TransportError):
                async with transport.connect(server.url):
                    pytest.fail("must not connect")
            nursery.cancel_scope.cancel()
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()  # nothing listens there now
        with pytest.raises(TransportError):
            async with transport.connect(f"ws://127.0.0.1:{port}/ws/a@trade"):
                pytest.fail("must not connect")
    gc.collect()


async def test_caller_errors_pass_through_unchanged(transport_name: str) -> None:
    server = Server()
    transport = make_transport(transport_name)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            with pytest.raises(KeyError):
                async with transport.connect(server.url) as conn:
                    await conn.receive()
                    raise KeyError("mine")
            nursery.cancel_scope.cancel()


async def test_cancellation_closes_promptly(transport_name: str) -> None:
    server = Server(burst=0)
    transport = make_transport(transport_name)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await server.start(nursery)
            with trio.move_on_after(0.2) as scope:
                async with transport.connect(server.url) as conn:
                    await conn.receive()  # nothing comes: cancelled while waiting
            assert scope.cancelled_caught
            nursery.cancel_scope.cancel()
    gc.collect()


def test_unknown_transport_is_a_config_error(transport_name: str) -> None:
    with pytest.raises(ConfigError, match="ws_transport"):
        make_transport(transport_name + "-nope")
