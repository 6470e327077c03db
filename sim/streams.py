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

Limits (``sim.stream_limits``): server pings and the pong timeout, the
messages-per-second limit, the streams-per-connection limit and the connection
lifetime.  Control messages are answered by ``sim.stream_controls``.  The router
keeps every open connection (``connections``), for ``drop_all`` and shutdown.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time

import trio
from starlette.websockets import WebSocket, WebSocketDisconnect

from sim.hub import EventHub
from sim.stream_controls import handle_control
from sim.stream_limits import GOING_AWAY, POLICY_VIOLATION, IncomingRate, StreamLimits
from sim.stream_names import parse_stream_name
from sim.userdata import ListenKeys
from sim.ws_frames import BATCH_KEY, FrameMonitor, monitor_of

log = logging.getLogger(__name__)

__all__ = ["Connection", "StreamRouter", "handle_control"]

WELL_FORMED_RE = re.compile(r"^(![A-Za-z0-9_@]+|[a-z0-9]+@[A-Za-z0-9_@]+|[A-Za-z0-9]{1,128})$")
_END = b""  # queue sentinel: close after what is queued before it
MAX_BATCH = 512  # frames per socket write when batching (see _write)


class Connection:
    """One websocket client's subscriptions and outgoing queue (see the module docstring)."""

    def __init__(self, router: StreamRouter, *, combined: bool, max_pending: int) -> None:
        self.router = router
        self.combined = combined
        self.max_pending = max_pending
        self.labels: dict[str, str] = {}  # hub topic -> stream name the client knows it by
        self._envelopes: dict[str, bytes] = {}  # hub topic -> b'{"stream":"<name>","data":'
        self.incoming = IncomingRate(router.limits.max_incoming_per_s)
        self.monitor: FrameMonitor | None = None
        self.listen_keys: set[str] = set()
        self.close_reason: str | None = None
        self.close_code = 1000
        self._send, self.outgoing = trio.open_memory_channel[bytes](math.inf)
        self.queued = 0  # frames delivered and not yet taken by the writer (cheap to read)
        self.nursery: trio.Nursery | None = None  # the connection's own tasks (set by serve)

    @property
    def lossless(self) -> bool:
        return bool(self.listen_keys)

    def deliver(self, topic: str, data: bytes) -> None:
        label = self.labels.get(topic)
        if label is None or self.close_reason is not None:
            return
        if not self.lossless and self.queued >= self.max_pending:
            log.warning("stream.slow_consumer pending=%d", self.max_pending)
            self.finish("slow consumer", code=1008)
            return
        if self.combined:
            envelope = self._envelopes.get(topic)
            if envelope is None:
                envelope = self._envelopes[topic] = b'{"stream":%s,"data":' % json.dumps(label).encode()
            data = b"%s%s}" % (envelope, data)
        self._queue(data)

    def _queue(self, frame: bytes) -> None:
        self.queued += 1
        self._send.send_nowait(frame)

    def reply(self, payload: dict[str, object]) -> None:
        """A control answer, queued behind the events already on their way."""
        if self.close_reason is None:
            self._queue(json.dumps(payload, separators=(",", ":")).encode())

    def notify_shutdown(self, event_time_ms: int) -> None:
        """Today's ``serverShutdown`` event (combined: from the stream ``!serverShutdown``)."""
        if self.close_reason is None:
            payload = b'{"e":"serverShutdown","E":%d}' % event_time_ms
            if self.combined:
                payload = b'{"stream":"!serverShutdown","data":%s}' % payload
            self._queue(payload)

    def server_shutdown(self, event_time_ms: int, grace_s: float) -> bool:
        """``serverShutdown`` now, close (1001) after ``grace_s`` real seconds.

        Today's docs: the event comes first and the disconnection follows, so a
        client can move its streams to a new connection in between.  The close
        runs in the connection's own nursery, so it dies with the connection.
        False when the connection is already closing (nothing is sent).
        """
        if self.close_reason is not None:
            return False
        self.notify_shutdown(event_time_ms)
        if grace_s <= 0 or self.nursery is None:
            self.finish("server shutdown", code=GOING_AWAY)
        else:
            self.nursery.start_soon(self._finish_later, grace_s)
        return True

    async def _finish_later(self, grace_s: float) -> None:
        await trio.sleep(grace_s)
        self.finish("server shutdown", code=GOING_AWAY)

    def finish(self, reason: str, code: int = 1000) -> None:
        if self.close_reason is None:
            self.close_reason, self.close_code = reason, code
            self._queue(_END)

    def subscribe(self, name: str) -> None:
        topic = self.router.topic_for(name, self)
        if topic is not None:
            self.labels[topic] = name
            self._envelopes.pop(topic, None)
            self.router.hub.subscribe(topic, self)

    def subscribe_many(self, names: list[str]) -> str | None:
        """Subscribe all of ``names``, or none when that would pass the streams limit."""
        limit = self.router.limits.max_streams
        if len(set(self.labels.values()) | set(names)) > limit:
            return f"Invalid request: too many streams (at most {limit} per connection)"
        for name in names:
            self.subscribe(name)
        return None

    def subscriptions(self) -> list[str]:
        """LIST_SUBSCRIPTIONS: the names in the order they were subscribed."""
        return list(dict.fromkeys(self.labels.values()))

    def is_stream_name(self, name: str) -> bool:
        return bool(WELL_FORMED_RE.match(name))

    def count_incoming(self, kind: str) -> None:
        """One message from the client (a frame of any kind); too many closes the connection."""
        if not self.incoming.allow():
            log.info("stream.too_many_messages kind=%s limit=%d", kind, self.incoming.limit)
            self.finish("too many messages", code=POLICY_VIOLATION)

    def unsubscribe(self, name: str) -> None:
        for topic, label in list(self.labels.items()):
            if label == name:
                del self.labels[topic]
                self._envelopes.pop(topic, None)
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
                 max_pending: int = 10_000, limits: StreamLimits | None = None) -> None:
        self.hub = hub
        self.listen_keys = listen_keys
        self.symbols = {symbol.upper() for symbol in symbols}
        self.max_pending = max_pending
        self.limits = limits or StreamLimits()
        self.shutting_down = trio.Event()
        self._connections: set[Connection] = set()

    @property
    def connections(self) -> frozenset[Connection]:
        """The open connections (market and listenKey streams)."""
        return frozenset(self._connections)

    def add_symbols(self, symbols: set[str]) -> None:
        """Serve market streams of more symbols (a replayed recording's)."""
        self.symbols |= {symbol.upper() for symbol in symbols}

    def drop_all(self, code: int = GOING_AWAY, reason: str = "connection dropped") -> int:
        """Close every open connection after what is already queued; how many there were."""
        connections = list(self._connections)
        for connection in connections:
            connection.finish(reason, code=code)
        return len(connections)

    def topic_for(self, name: str, connection: Connection) -> str | None:
        """The hub topic of a stream name; None for well-formed names that produce nothing yet."""
        entry = self.listen_keys.attach(name, connection)
        if entry is not None:
            connection.listen_keys.add(name)
            return entry.topic
        stream = parse_stream_name(name)
        if stream is not None and (stream.symbol is None or stream.symbol in self.symbols):
            return name
        return None

    def server_shutdown(self, grace_s: float, kind: str = "all") -> int:
        """``serverShutdown`` to the open connections of ``kind`` now, close them after ``grace_s``.

        ``kind``: "market" (no listenKey), "user" (a listenKey stream) or "all";
        returns how many were told.  Connections opened during the grace period
        stand in for the replacement servers and are left alone.  The one path of
        the ``server_shutdown`` fault (``sim.faults``) and of the server's stop.
        """
        now_ms = time.time_ns() // 1_000_000
        told = 0
        for connection in list(self._connections):
            if kind == "all" or (kind == "user") == connection.lossless:
                told += connection.server_shutdown(now_ms, grace_s)
        return told

    def shutdown(self) -> None:
        """The server stops: ``serverShutdown`` to every connection, then close (1001)."""
        self.shutting_down.set()
        self.server_shutdown(0)

    async def serve(self, websocket: WebSocket, names: list[str], *, combined: bool) -> None:
        connection = Connection(self, combined=combined, max_pending=self.max_pending)
        # Subscribe before accepting: once the client sees the socket open, no event is missed.
        refused = connection.subscribe_many(names)
        self._connections.add(connection)
        try:
            await websocket.accept()
            connection.monitor = monitor_of(websocket.scope)
            if connection.monitor is not None:
                connection.monitor.on_incoming = connection.count_incoming
            if refused is not None:
                connection.finish("too many streams", code=POLICY_VIOLATION)
            if self.shutting_down.is_set():
                connection.finish("server shutdown", code=1001)
            async with trio.open_nursery() as nursery:
                connection.nursery = nursery
                nursery.start_soon(self._read_controls, websocket, connection, nursery.cancel_scope)
                nursery.start_soon(self._watch, connection)
                await self._write(websocket, connection)
                nursery.cancel_scope.cancel()
        finally:
            self._connections.discard(connection)
            connection.release()

    async def _write(self, websocket: WebSocket, connection: Connection) -> None:
        """Drain the queue to the socket; market frames go in batches (``sim.ws_frames``).

        A user-data connection sends one frame per message, so that frame-level
        faults (duplicates, reordering) still see every user event on its own.
        """
        async for frame in connection.outgoing:
            frames = [frame]
            if connection.monitor is not None and not connection.lossless:
                while frame != _END and len(frames) < MAX_BATCH:
                    try:
                        frame = connection.outgoing.receive_nowait()
                    except trio.WouldBlock:
                        break
                    frames.append(frame)
            connection.queued -= len(frames)
            closing = frames[-1] == _END
            if closing:
                frames.pop()
            try:
                if len(frames) == 1:
                    await websocket.send_text(frames[0].decode())
                elif frames:  # UTF-8 payloads of text frames, written at once
                    await websocket.send({"type": "websocket.send", "text": "", BATCH_KEY: frames})
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                log.debug("stream.send_failed error=%r", exc)
                return
            if closing:
                await _close_quietly(websocket, connection.close_code, connection.close_reason)
                return

    async def _watch(self, connection: Connection) -> None:
        """Close the connection when its pongs stop or its lifetime is over."""
        limits = self.limits
        lifetime_end = math.inf if limits.lifetime_s is None else trio.current_time() + limits.lifetime_s
        monitor = connection.monitor
        while True:
            if monitor is None or limits.ping_interval_s is None:
                await trio.sleep_until(lifetime_end)
            else:
                await trio.sleep_until(min(lifetime_end, trio.current_time() + limits.watch_interval_s))
                sent = monitor.oldest_unanswered()
                if sent is not None and trio.current_time() - sent >= limits.pong_timeout_s:
                    log.info("stream.pong_timeout timeout_s=%s", limits.pong_timeout_s)
                    connection.finish("pong timeout", code=POLICY_VIOLATION)
                    return
            if trio.current_time() >= lifetime_end:
                log.info("stream.lifetime_over lifetime_s=%s", limits.lifetime_s)
                connection.finish("connection lifetime over", code=GOING_AWAY)
                return

    async def _read_controls(self, websocket: WebSocket, connection: Connection,
                             scope: trio.CancelScope) -> None:
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                connection.count_incoming("message")
                text = message.get("text")
                if text is None:  # a binary frame: not a control message
                    connection.reply({"error": {"code": 3, "msg": "Invalid JSON: expected value at "
                                                "line 1 column 1"}, "id": None})
                    continue
                handle_control(connection, text)
        except (WebSocketDisconnect, RuntimeError) as exc:
            log.debug("stream.receive_failed error=%r", exc)
        connection.finish("client gone")
        scope.cancel()


async def _close_quietly(websocket: WebSocket, code: int, reason: str | None) -> None:
    try:
        await websocket.close(code=code, reason=reason or "")
    except (WebSocketDisconnect, RuntimeError, OSError) as exc:
        log.debug("stream.close_failed error=%r", exc)
