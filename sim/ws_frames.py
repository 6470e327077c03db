"""Websocket control frames (ping, pong) that the ASGI layer never shows the application.

Why this exists: the live stream server pings every 20 s, drops a connection
whose pongs stop for a minute, and counts the client's PING and PONG frames
against its 5-messages-per-second limit.  ASGI carries only data messages;
hypercorn answers pings and discards pongs itself.  So the simulator installs a
small subclass of hypercorn's websocket stream (``install()``) that

* puts a ``FrameMonitor`` into the connection's ASGI scope, under
  ``scope["extensions"]["tradingd.frames"]``, before the application runs;
* reports every ping and pong the client sends to that monitor;
* sends its own pings (every ``websocket_ping_interval`` of the hypercorn
  config) with a numbered payload, so that only a pong echoing a ping counts as
  its answer ("unsolicited pong frames ... will not prevent disconnection").

It also takes a batch of text frames in one ASGI message (``websocket.send`` with
the list under ``BATCH_KEY``) and writes them to the socket in one go.  Why: with
one message per frame, every frame costs a trip through the trio scheduler, and
a busy market loop gets a turn between any two frames; a connection behind by
a thousand frames then catches up at one frame per market round.

What the connection does with all this (the timeout, the limit, batching) is the
stream router's business (``sim.streams``).  ``install()`` replaces the class that
hypercorn's HTTP/1.1 and HTTP/2 protocols instantiate, for the whole process;
without a monitor-reading application the subclass behaves as hypercorn does.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

from hypercorn.protocol import h2 as hypercorn_h2
from hypercorn.protocol import h11 as hypercorn_h11
from hypercorn.protocol.events import Data
from hypercorn.protocol.ws_stream import ASGIWebsocketState, WSStream
from wsproto.connection import ConnectionState
from wsproto.events import Ping, Pong, TextMessage
from wsproto.utilities import LocalProtocolError

log = logging.getLogger(__name__)

EXTENSION = "tradingd.frames"
_CLOSED_CHECK_S = 0.05
BATCH_KEY = "tradingd.texts"  # in a websocket.send message: UTF-8 payloads of text frames


class FrameMonitor:
    """Pings sent and pongs received on one websocket (times in the server's clock)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.pings_sent = 0
        self.pings_received = 0
        self.pongs_received = 0
        self.on_incoming: Callable[[str], None] | None = None  # "ping" | "pong"
        self._unanswered: dict[bytes, float] = {}

    def sent_ping(self, payload: bytes) -> None:
        self.pings_sent += 1
        self._unanswered[payload] = self.clock()

    def received(self, event: object) -> None:
        if isinstance(event, Ping):
            self.pings_received += 1
            kind = "ping"
        elif isinstance(event, Pong):
            self.pongs_received += 1
            # A pong answers its ping and every earlier one (the client is alive).
            sent = self._unanswered.get(bytes(event.payload))
            if sent is not None:
                self._unanswered = {k: t for k, t in self._unanswered.items() if t > sent}
            kind = "pong"
        else:
            return
        if self.on_incoming is not None:
            self.on_incoming(kind)

    def oldest_unanswered(self) -> float | None:
        """When the oldest ping still waiting for its pong was sent, or None."""
        return min(self._unanswered.values(), default=None)


class _ReportingConnection:
    """A wsproto connection whose incoming events are shown to a monitor first."""

    def __init__(self, inner: Any, monitor: FrameMonitor) -> None:
        self._inner = inner
        self._monitor = monitor

    def events(self):
        for event in self._inner.events():
            self._monitor.received(event)
            yield event

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MonitoredWSStream(WSStream):
    """hypercorn's websocket stream, reporting control frames to a ``FrameMonitor``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames = FrameMonitor(self.context.time)
        self._plain_frames = False

    @property
    def scope(self) -> Any:
        return self._tradingd_scope

    @scope.setter
    def scope(self, value: Any) -> None:
        # The scope is built and handed to the application in one call; setting the
        # extension here puts it there before the application can look.
        value.setdefault("extensions", {})[EXTENSION] = self.frames
        self._tradingd_scope = value

    async def app_send(self, message: Any) -> None:
        texts = None if message is None else message.get(BATCH_KEY)
        if (texts is None or message.get("type") != "websocket.send" or self.closed
                or self.state != ASGIWebsocketState.CONNECTED):
            await super().app_send(message)
            return
        connection = self.connection
        if connection.state != ConnectionState.OPEN:
            return  # closing: hypercorn drops late frames the same way
        if not self._plain_frames:  # an extension was asked for (deflate): let wsproto frame
            try:
                data = b"".join([connection.send(TextMessage(data=bytes(t).decode())) for t in texts])
            except LocalProtocolError:
                return
        else:
            data = b"".join([text_frame(payload) for payload in texts])
        await self.send(Data(stream_id=self.stream_id, data=data))

    async def _accept(self, message: Any) -> None:
        await super()._accept(message)
        # No extension requested, none in use: text frames can be written by hand.
        self._plain_frames = not self.handshake.extensions
        self.connection = _ReportingConnection(self.connection, self.frames)

    async def _send_pings(self) -> None:
        """Ping every interval; wake often enough to end soon after the socket closes.

        (hypercorn's own loop sleeps a whole interval, so a closed connection keeps
        its task group, and a graceful shutdown, waiting for up to 20 s.)
        """
        interval = self.config.websocket_ping_interval
        number = 0
        while not self.closed:
            due = self.context.time() + interval
            while not self.closed and (left := due - self.context.time()) > 0:
                await self.context.sleep(min(left, _CLOSED_CHECK_S))
            if self.closed:
                return
            number += 1
            payload = str(number).encode()
            self.frames.sent_ping(payload)
            await self._send_wsproto_event(Ping(payload=payload))


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented server-to-client text frame (RFC 6455 5.2)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65_536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def install() -> None:
    """Make hypercorn use ``MonitoredWSStream`` (idempotent, process-wide)."""
    for module in (hypercorn_h11, hypercorn_h2):
        if getattr(module, "WSStream", None) is not MonitoredWSStream:
            module.WSStream = MonitoredWSStream
    log.debug("ws_frames.installed")


def monitor_of(scope: dict[str, Any]) -> FrameMonitor | None:
    """The connection's monitor (None when ``install()`` did not run)."""
    return scope.get("extensions", {}).get(EXTENSION)
