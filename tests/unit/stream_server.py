"""A small Binance-like combined-stream server on 127.0.0.1 for the market-stream unit tests.

It does what the stream code relies on and nothing more: ``/stream?streams=``
subscriptions, SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS with replies queued
behind the frames already on their way, ``publish(stream, payload)`` to every
connection subscribed to it, and per-connection misbehaviour for the tests
(``mute`` a connection: frames and replies are swallowed; ``drop`` it; send it a
``serverShutdown`` notice).  The fault tests use the real simulator instead.
"""

from __future__ import annotations

import json
import math
import urllib.parse

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket


def trade(trade_id: int, symbol: str = "BTCUSDT") -> dict:
    return {"e": "trade", "E": trade_id, "s": symbol, "t": trade_id, "p": "100.00000000",
            "q": "0.50000000", "b": 1, "a": 2, "T": trade_id, "m": True, "M": True}


class ServerConnection:
    def __init__(self, server: StreamServer, ws: WebSocketConnection, path: str) -> None:
        self.server = server
        self.ws = ws
        self.path = path
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        names = query.get("streams", [""])[0]
        self.streams: list[str] = [n for n in names.split("/") if n]
        self.controls: list[dict] = []
        self.control_times: list[float] = []
        self.muted = False
        self.closed = trio.Event()
        self._send, self._outbox = trio.open_memory_channel[str | None](math.inf)

    def push(self, text: str) -> None:
        if not self.muted and not self.closed.is_set():
            self._send.send_nowait(text)

    def drop(self) -> None:
        self._send.send_nowait(None)

    def shutdown_notice(self) -> None:
        self.push(json.dumps({"stream": "!serverShutdown",
                              "data": {"e": "serverShutdown", "E": 1}}))

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._controls, nursery.cancel_scope)
            try:
                async for text in self._outbox:
                    if text is None:
                        await self.ws.aclose(code=1011, reason="dropped")
                        break
                    await self.ws.send_message(text)
            except ConnectionClosed:
                pass  # the client went away
            nursery.cancel_scope.cancel()

    async def _controls(self, scope: trio.CancelScope) -> None:
        try:
            while True:
                request = json.loads(await self.ws.get_message())
                self.controls.append(request)
                self.control_times.append(trio.current_time())
                method, params = request.get("method"), request.get("params") or []
                if method == "SUBSCRIBE":
                    bad = [p for p in params if p in self.server.refuse]
                    if bad:
                        self.push(json.dumps({"code": 2, "msg": "Invalid request: invalid stream",
                                              "id": request["id"]}))
                        continue
                    self.streams += [p for p in params if p not in self.streams]
                    self.push(json.dumps({"result": None, "id": request["id"]}))
                elif method == "UNSUBSCRIBE":
                    self.streams = [s for s in self.streams if s not in params]
                    self.push(json.dumps({"result": None, "id": request["id"]}))
                elif method == "LIST_SUBSCRIPTIONS":
                    self.push(json.dumps({"result": sorted(self.streams), "id": request["id"]}))
        except ConnectionClosed:
            scope.cancel()


class StreamServer:
    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []
        self.refuse: set[str] = set()
        self.reject_next = 0
        self.url = ""
        self.connected = trio.Event()

    async def handler(self, request: WebSocketRequest) -> None:
        if self.reject_next:
            self.reject_next -= 1
            await request.reject(503)
            return
        ws = await request.accept()
        connection = ServerConnection(self, ws, request.path)
        self.connections.append(connection)
        self.connected.set()
        self.connected = trio.Event()
        try:
            await connection.run()
        except ConnectionClosed:
            pass
        finally:
            connection.closed.set()

    async def start(self, nursery: trio.Nursery) -> StreamServer:
        server = await nursery.start(serve_websocket, self.handler, "127.0.0.1", 0, None)
        self.url = f"ws://127.0.0.1:{server.port}"
        return self

    def live(self) -> list[ServerConnection]:
        return [c for c in self.connections if not c.closed.is_set()]

    def publish(self, stream: str, payload: dict) -> int:
        text = json.dumps({"stream": stream, "data": payload})
        targets = [c for c in self.live() if stream in c.streams]
        for connection in targets:
            connection.push(text)
        return len(targets)

    async def wait_connections(self, count: int) -> None:
        while len(self.connections) < count:
            await self.connected.wait()
