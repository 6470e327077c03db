"""The websocket side of the request gate: where connection faults happen.

Why at the ASGI level: every websocket of the simulator (market and listenKey
streams, the WebSocket API) passes here, so a drop, a stall, a duplicated or
reordered user event is injected the same way for all of them, without the
stream code knowing about faults.  The tap sits between the server and the
endpoint: it forwards the client's messages through its own inbox (so that it
can tell the endpoint "the client is gone" when it cuts a connection) and
passes the endpoint's frames to the server (so that it can hold, double, swap or
refuse them).

A connection is "user" when it is a WebSocket API connection or names a live
listenKey (in its path, its ``streams=`` list or a later SUBSCRIBE); all others
are "market".  Once user, always user: an expired key leaves the label alone.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

import trio

from sim.faults import Faults

log = logging.getLogger(__name__)

WS_API_PATH = "/ws-api/v3"
USER_EVENT_TYPES = frozenset({
    "executionReport", "outboundAccountPosition", "balanceUpdate", "listStatus",
    "externalLockUpdate",
})
REORDER_HOLD_S = 1.0  # a held frame goes out alone if no successor comes within this time

Message = dict
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


def user_event_type(message: Message) -> str | None:
    """The ``e`` of a user-data frame (raw, combined or WebSocket API wrapping), else None."""
    raw = message.get("text") or message.get("bytes")
    if not raw or (b'"e"' not in raw if isinstance(raw, bytes) else '"e"' not in raw):
        return None
    try:
        frame = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(frame, dict):
        return None
    inner = frame.get("event") if "event" in frame else frame.get("data", frame)
    kind = inner.get("e") if isinstance(inner, dict) else None
    return kind if kind in USER_EVENT_TYPES else None


def stream_names(scope: dict) -> list[str]:
    """The stream names a connection asks for in its URL (``/ws/<name>``, ``?streams=a/b``)."""
    path: str = scope["path"]
    names = [path[len("/ws/"):]] if path.startswith("/ws/") else []
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    for value in query.get("streams", []):
        names += [name for name in value.split("/") if name]
    return names


class Tap:
    """One websocket connection between the server and its endpoint (see the module docstring)."""

    def __init__(self, scope: dict, faults: Faults, is_listen_key: Callable[[str], bool]) -> None:
        self.faults = faults
        self.ws_api = scope["path"] == WS_API_PATH
        self._is_listen_key = is_listen_key
        self._user = self.ws_api or any(is_listen_key(name) for name in stream_names(scope))
        self._closed = False
        self._close_request: tuple[int, str] | None = None
        self._close_wanted = trio.Event()
        self._lock = trio.Lock()
        self._held: Message | None = None
        self._inbox_send, self._inbox = trio.open_memory_channel[Message](math.inf)
        self._nursery: trio.Nursery | None = None
        self._server_send: Send | None = None

    @property
    def kind(self) -> str:
        return "user" if self._user else "market"

    def drop(self) -> None:
        self._request_close(1011, "dropped")

    def cut(self, code: int, reason: str) -> None:
        self._request_close(code, reason)

    async def run(self, endpoint: Callable[[dict, Receive, Send], Awaitable[None]], scope: dict,
                  receive: Receive, send: Send) -> None:
        self._server_send = send
        self.faults.connections.add(self)
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._pump, receive)
                nursery.start_soon(self._close_when_asked, send)
                await endpoint(scope, self._inbox.receive, self._forward)
                nursery.cancel_scope.cancel()
        finally:
            self.faults.connections.discard(self)
            self._inbox_send.close()

    # ------------------------------------------------------------------ inbound

    async def _pump(self, receive: Receive) -> None:
        """Client -> endpoint, noting listenKeys subscribed after the connection opened."""
        while True:
            message = await receive()
            if not self._user and message.get("type") == "websocket.receive":
                self._note_subscription(message.get("text"))
            self._inbox_send.send_nowait(message)
            if message.get("type") == "websocket.disconnect":
                return

    def _note_subscription(self, text: str | None) -> None:
        if not text or "SUBSCRIBE" not in text:
            return
        try:
            request = json.loads(text)
        except ValueError:
            return
        params = request.get("params") if isinstance(request, dict) else None
        if request.get("method") == "SUBSCRIBE" and isinstance(params, list):
            if any(isinstance(name, str) and self._is_listen_key(name) for name in params):
                self._user = True

    # ----------------------------------------------------------------- outbound

    async def _forward(self, message: Message) -> None:
        """Endpoint -> server."""
        assert self._server_send is not None
        send = self._server_send
        kind = message.get("type")
        if self._closed:
            return  # the tap cut the connection: the endpoint's late frames go nowhere
        if kind == "websocket.send":
            await self.faults.stream_gate(self.kind)
            await self._send_frames(self._shape(message))
        elif kind == "websocket.close":
            held, self._held = self._held, None
            async with self._lock:
                if held is not None and not self._closed:
                    await send(held)
                if not self._closed:
                    self._closed = True
                    await send(message)
        else:
            async with self._lock:
                await send(message)

    def _shape(self, message: Message) -> list[Message]:
        """The frames to send for ``message`` under the duplicate/reorder faults."""
        if self._held is None and not self.faults.user_frames_pending:
            return [message]
        if user_event_type(message) is None:
            return [message]
        if self._held is not None:
            held, self._held = self._held, None
            return [message, held]
        if self.faults.take_duplicate():
            return [message, message]
        if self.faults.take_reorder():
            self._held = message
            if self._nursery is not None:
                self._nursery.start_soon(self._release_held, message)
            return []
        return [message]

    async def _release_held(self, message: Message) -> None:
        await trio.sleep(REORDER_HOLD_S)
        if self._held is message:
            self._held = None
            await self._send_frames([message])

    async def _send_frames(self, frames: list[Message]) -> None:
        assert self._server_send is not None
        send = self._server_send
        async with self._lock:
            for frame in frames:
                if self._closed:
                    return
                await send(frame)

    # ------------------------------------------------------------------- close

    def _request_close(self, code: int, reason: str) -> None:
        if self._close_request is None and not self._closed:
            self._close_request = (code, reason)
            self._close_wanted.set()

    async def _close_when_asked(self, send: Send) -> None:
        await self._close_wanted.wait()
        assert self._close_request is not None
        code, reason = self._close_request
        async with self._lock:
            if not self._closed:
                self._closed = True
                self._held = None
                await send({"type": "websocket.close", "code": code, "reason": reason})
        log.info("ws.cut code=%d reason=%s kind=%s", code, reason, self.kind)
        # The endpoint learns it the way it learns of a client leaving.
        self._inbox_send.send_nowait({"type": "websocket.disconnect", "code": code})
