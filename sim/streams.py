"""Websocket endpoints: raw ``/ws/<name>`` and combined ``/stream?streams=a/b``.

Why one connection type for market and user streams: the seed allows a listenKey
wherever a stream name goes, and ccxt connects to ``/ws/<anything>`` and then
sends ``SUBSCRIBE``; so every connection is a set of subscriptions fed by the
hub into one outgoing queue, drained by one writer task.

Delivery rules:

* the exchange never waits for a socket: ``deliver`` only appends to the queue;
* a connection with a user-data subscription is lossless: its queue is unbounded
  and drained in order (a user's events are never dropped while connected);
* a market-only connection that falls ``max_pending`` frames behind is closed
  (code 1008), as the live exchange cuts slow consumers, rather than silently
  skipping trades.
"""

from __future__ import annotations

import json
import logging
import math
import re

import trio
from starlette.websockets import WebSocket, WebSocketDisconnect

from sim.hub import EventHub
from sim.userdata import ListenKeys

log = logging.getLogger(__name__)

MARKET_STREAM_RE = re.compile(r"^([a-z0-9]+)@(trade|bookTicker)$")
WELL_FORMED_RE = re.compile(r"^(![A-Za-z0-9_]+|[a-z0-9]+@[A-Za-z0-9_@]+|[A-Za-z0-9]{1,128})$")
_END = b""  # queue sentinel: close after what is queued before it


class Connection:
    """One websocket client's subscriptions and outgoing queue (see the module docstring)."""

    def __init__(self, router: StreamRouter, *, combined: bool, max_pending: int) -> None:
        self.router = router
        self.combined = combined
        self.max_pending = max_pending
        self.labels: dict[str, str] = {}  # hub topic -> stream name the client knows it by
        self.listen_keys: set[str] = set()
        self.close_reason: str | None = None
        self.close_code = 1000
        self._send, self.outgoing = trio.open_memory_channel[bytes](math.inf)

    @property
    def lossless(self) -> bool:
        return bool(self.listen_keys)

    def deliver(self, topic: str, data: bytes) -> None:
        label = self.labels.get(topic)
        if label is None or self.close_reason is not None:
            return
        if not self.lossless and self._send.statistics().current_buffer_used >= self.max_pending:
            log.warning("stream.slow_consumer pending=%d", self.max_pending)
            self.finish("slow consumer", code=1008)
            return
        if self.combined:
            data = b'{"stream":%s,"data":%s}' % (json.dumps(label).encode(), data)
        self._send.send_nowait(data)

    def reply(self, payload: dict[str, object]) -> None:
        """A control answer, queued behind the events already on their way."""
        if self.close_reason is None:
            self._send.send_nowait(json.dumps(payload, separators=(",", ":")).encode())

    def finish(self, reason: str, code: int = 1000) -> None:
        if self.close_reason is None:
            self.close_reason, self.close_code = reason, code
            self._send.send_nowait(_END)

    def subscribe(self, name: str) -> None:
        topic = self.router.topic_for(name, self)
        if topic is not None:
            self.labels[topic] = name
            self.router.hub.subscribe(topic, self)

    def unsubscribe(self, name: str) -> None:
        for topic, label in list(self.labels.items()):
            if label == name:
                del self.labels[topic]
                self.router.hub.unsubscribe(topic, self)
        if name in self.listen_keys:
            self.listen_keys.discard(name)
            self.router.listen_keys.detach(name, self)

    def release(self) -> None:
        self.router.hub.unsubscribe_all(self)
        for key in self.listen_keys:
            self.router.listen_keys.detach(key, self)
        self.labels.clear()
        self.listen_keys.clear()


class StreamRouter:
    """Maps stream names to hub topics and runs websocket connections."""

    def __init__(self, hub: EventHub, listen_keys: ListenKeys, symbols: set[str], *,
                 max_pending: int = 10_000) -> None:
        self.hub = hub
        self.listen_keys = listen_keys
        self.symbols = {symbol.lower() for symbol in symbols}
        self.max_pending = max_pending
        self.shutting_down = trio.Event()
        self._connections: set[Connection] = set()

    def topic_for(self, name: str, connection: Connection) -> str | None:
        """The hub topic of a stream name; None for well-formed names that produce nothing yet."""
        entry = self.listen_keys.attach(name, connection)
        if entry is not None:
            connection.listen_keys.add(name)
            return entry.topic
        if name == "!bookTicker":
            return name
        match = MARKET_STREAM_RE.match(name)
        if match and match.group(1) in self.symbols:
            return name
        return None

    def shutdown(self) -> None:
        self.shutting_down.set()
        for connection in list(self._connections):
            connection.finish("server shutdown", code=1001)

    async def serve(self, websocket: WebSocket, names: list[str], *, combined: bool) -> None:
        connection = Connection(self, combined=combined, max_pending=self.max_pending)
        # Subscribe before accepting: once the client sees the socket open, no event is missed.
        for name in names:
            connection.subscribe(name)
        self._connections.add(connection)
        try:
            await websocket.accept()
            if self.shutting_down.is_set():
                connection.finish("server shutdown", code=1001)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read_controls, websocket, connection, nursery.cancel_scope)
                await self._write(websocket, connection)
                nursery.cancel_scope.cancel()
        finally:
            self._connections.discard(connection)
            connection.release()

    async def _write(self, websocket: WebSocket, connection: Connection) -> None:
        async for frame in connection.outgoing:
            if frame == _END:
                await _close_quietly(websocket, connection.close_code, connection.close_reason)
                return
            try:
                await websocket.send_text(frame.decode())
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                log.debug("stream.send_failed error=%r", exc)
                return

    async def _read_controls(self, websocket: WebSocket, connection: Connection,
                             scope: trio.CancelScope) -> None:
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:  # a binary frame: not a control message
                    connection.reply({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"})
                    continue
                handle_control(connection, text)
        except (WebSocketDisconnect, RuntimeError) as exc:
            log.debug("stream.receive_failed error=%r", exc)
        connection.finish("client gone")
        scope.cancel()


def handle_control(connection: Connection, text: str) -> None:
    """SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY (the seed)."""
    try:
        request = json.loads(text)
    except ValueError:
        connection.reply({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"})
        return
    if not isinstance(request, dict) or "method" not in request:
        connection.reply({"code": 2, "msg": "Invalid request: missing field method"})
        return
    request_id = request.get("id")
    if not isinstance(request_id, int) or isinstance(request_id, bool) or request_id < 0:
        connection.reply({"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"})
        return
    method, params = request.get("method"), request.get("params") or []
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        names = [name for name in params if isinstance(name, str) and WELL_FORMED_RE.match(name)]
        if len(names) != len(params):
            connection.reply({"code": 2, "msg": "Invalid request: invalid stream name", "id": request_id})
            return
        for name in names:
            (connection.subscribe if method == "SUBSCRIBE" else connection.unsubscribe)(name)
        connection.reply({"result": None, "id": request_id})
    elif method == "LIST_SUBSCRIPTIONS":
        connection.reply({"result": sorted(set(connection.labels.values())), "id": request_id})
    elif method in ("SET_PROPERTY", "GET_PROPERTY"):
        if not params or params[0] != "combined":
            connection.reply({"code": 0, "msg": "Unknown property", "id": request_id})
        elif method == "GET_PROPERTY":
            connection.reply({"result": connection.combined, "id": request_id})
        elif len(params) != 2 or not isinstance(params[1], bool):
            connection.reply({"code": 1, "msg": "Invalid value type: expected Boolean", "id": request_id})
        else:
            connection.combined = params[1]
            connection.reply({"result": None, "id": request_id})
    else:
        connection.reply({
            "code": 2,
            "msg": f"Invalid request: unknown variant {method}, expected one of SUBSCRIBE, "
                   "UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY",
            "id": request_id,
        })


async def _close_quietly(websocket: WebSocket, code: int, reason: str | None) -> None:
    try:
        await websocket.close(code=code, reason=reason or "")
    except (WebSocketDisconnect, RuntimeError, OSError) as exc:
        log.debug("stream.close_failed error=%r", exc)
