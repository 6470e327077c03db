"""One market-stream websocket: a reader that never waits, and its control requests.

Why the reader never waits: the library answers the server's pings only while
its own reader can queue messages, so a busy consumer must never stall the
socket.  ``_read`` takes each message from the transport and handles it at once,
synchronously: decode, then hand the event to the sink, which accepts it into
the owner's ordered outbox (``streams``) without awaiting the consumer.  One task
per connection, no hop between reading and decoding: the per-message cost on
trio is mostly task switches.

When the consumer is so far behind that the outbox is full, the sink refuses the
event: it is dropped, counted, and the link turns ``lossy``.  A lossy link
delivers nothing more (anything after a hole would make the hole permanent);
the owner replaces it at once and the REST backfill repairs what it can, instead
of the server cutting us after a minute of unanswered pings.

Control requests (``SUBSCRIBE``, ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``) share the
connection's budget of 5 incoming messages per second with our pongs, so they go
through a ``ControlPacer``.  Their replies are matched by id and are processed in
frame order: when a reply arrives, every data frame the server queued before it
has been accepted by the sink.  ``streams`` uses that as the drain marker of a
make-before-break hand-over.

A ``serverShutdown`` event (``!serverShutdown`` on combined streams) sets
``shutdown_notice``: the server is about to close this connection.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from daemon.errors import DecodeError, RequestRejected, TransportError
from daemon.venues.binance.models import decode_combined
from daemon.venues.binance.transport import WsConnection

log = logging.getLogger(__name__)

SHUTDOWN_STREAM = "!serverShutdown"
#: Accepts one decoded event; False when the owner's outbox is full (the event is dropped).
Sink = Callable[["StreamLink", str, object], bool]


class ControlPacer:
    """At most ``limit`` sends in any ``window_s`` (a sliding window of send times).

    Binance counts pings, pongs and JSON control messages together against 5 per
    second per connection; the default 4 leaves room for a pong.
    """

    def __init__(self, limit: int = 4, window_s: float = 1.0,
                 clock: Callable[[], float] = trio.current_time) -> None:
        if limit < 1:
            raise ValueError("control message limit must be >= 1")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._sent: deque[float] = deque()
        self._lock = trio.Lock()

    async def wait_turn(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.window_s:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                await trio.sleep(self._sent[0] + self.window_s - now)


@dataclass
class LinkStats:
    """Counted per link, or into the owner's counters when it passes its own (same names)."""

    messages: int = 0
    decode_errors: int = 0
    overflows: int = 0
    control_sent: int = 0
    unknown_frames: int = 0


@dataclass(eq=False)
class StreamLink:
    """State of one connection, shared between its tasks and its owner (``streams``)."""

    link_id: int
    url_streams: tuple[str, ...]
    sink: Sink
    buffer_frames: int = 10_000  # the owner's outbox bound (for the log line)
    pacer: ControlPacer = field(default_factory=ControlPacer)
    clock: Callable[[], float] = trio.current_time
    # what the server sends us (URL streams, then confirmed SUBSCRIBE/UNSUBSCRIBE)
    subscribed: set[str] = field(default_factory=set)
    subscribed_at: dict[str, float] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)
    opened_at: float = 0.0
    # hand-over: while ``holding``, events wait in ``held`` instead of reaching the sink
    holding: bool = False
    held: deque[tuple[str, object]] = field(default_factory=deque)
    lossy: bool = False
    error: str | None = None
    stats: LinkStats = field(default_factory=LinkStats)
    overflows: int = 0  # this link's own, for its log lines
    first_frame: trio.Event = field(default_factory=trio.Event)
    shutdown_notice: trio.Event = field(default_factory=trio.Event)
    done: trio.Event = field(default_factory=trio.Event)
    on_change: Callable[[], None] = lambda: None
    _conn: WsConnection | None = None
    _next_id: int = 1
    _pending: dict[int, tuple[trio.Event, list]] = field(default_factory=dict)
    _abandoned: set[int] = field(default_factory=set)

    @property
    def alive(self) -> bool:
        return not self.done.is_set()

    # ------------------------------------------------------------- lifecycle

    async def serve(self, conn: WsConnection, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Read and handle messages until the connection ends; never raises TransportError."""
        self._conn = conn
        self.opened_at = now = self.clock()
        self.subscribed = set(self.url_streams)
        self.subscribed_at = dict.fromkeys(self.url_streams, now)
        task_status.started(self)
        try:
            while True:
                self._handle(await conn.receive())
        except TransportError as exc:
            self.error = str(exc)
        finally:
            self.done.set()
            for event, _ in self._pending.values():
                event.set()  # waiters see no reply and raise
            self.on_change()

    async def retire(self) -> None:
        """Close politely (bounded); ``serve`` ends once the close completes."""
        if self._conn is not None and self.alive:
            await self._conn.close()

    def _overflow(self) -> None:
        self.stats.overflows += 1
        self.overflows += 1
        if not self.lossy:
            self.lossy = True
            self.on_change()
        if self.overflows == 1 or self.overflows % 1000 == 0:
            log.warning("stream.overflow link=%d dropped=%d buffer=%d",
                        self.link_id, self.overflows, self.buffer_frames)

    def _handle(self, raw: str | bytes) -> None:
        stats = self.stats
        stats.messages += 1
        if not self.first_frame.is_set():
            self.first_frame.set()
            self.on_change()
        head = raw[:9]
        if head != '{"stream"' and head != b'{"stream"':
            self._control_reply(raw)
            return
        try:
            stream, event = decode_combined(raw)
        except DecodeError as exc:
            if _is_shutdown(raw):
                self._shutdown_notice()
                return
            stats.decode_errors += 1
            log.warning("stream.decode_error link=%d count=%d error=%s frame=%.200r",
                        self.link_id, stats.decode_errors, exc, raw)
            return
        self.last_seen[stream] = self.clock()
        if self.holding and not self.lossy:
            self.held.append((stream, event))
        elif self.lossy or not self.sink(self, stream, event):
            self._overflow()  # nothing after a hole: the replacement backfills

    def _shutdown_notice(self) -> None:
        log.info("stream.server_shutdown link=%d", self.link_id)
        self.shutdown_notice.set()
        self.on_change()

    def _control_reply(self, raw: str | bytes) -> None:
        try:
            reply = json.loads(raw)
        except ValueError as exc:
            self.stats.decode_errors += 1
            log.warning("stream.decode_error link=%d count=%d error=%s frame=%.200r",
                        self.link_id, self.stats.decode_errors, exc, raw)
            return
        request_id = reply.get("id") if isinstance(reply, dict) else None
        waiter = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if waiter is None and request_id in self._abandoned:
            self._abandoned.discard(request_id)
            log.debug("stream.late_reply link=%d id=%s", self.link_id, request_id)
            return
        if waiter is None:
            self.stats.unknown_frames += 1
            log.warning("stream.unexpected_frame link=%d frame=%.200r", self.link_id, raw)
            return
        event, slot = waiter
        slot.append(reply)
        event.set()

    # ------------------------------------------------------------- requests

    async def request(self, method: str, params: list[str] | None = None, *,
                      timeout_s: float = 10.0) -> object:
        """Send one control request and return its ``result``.

        Raises ``RequestRejected`` for an error reply and ``TransportError`` when
        the connection ends or no reply comes within ``timeout_s``.
        """
        if self._conn is None or not self.alive:
            raise TransportError(f"link {self.link_id} is closed")
        await self.pacer.wait_turn()
        request_id = self._next_id
        self._next_id += 1
        event, slot = trio.Event(), []
        self._pending[request_id] = (event, slot)
        message = {"method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        try:
            await self._conn.send(json.dumps(message, separators=(",", ":")))
            self.stats.control_sent += 1
            with trio.move_on_after(timeout_s):
                await event.wait()
        finally:
            if self._pending.pop(request_id, None) is not None:
                self._abandoned.add(request_id)  # a reply may still come: not a surprise
        if not slot:
            raise TransportError(f"no reply to {method} id={request_id} on link {self.link_id}"
                                 + ("" if self.alive else f": {self.error}"))
        reply = slot[0]
        if "code" in reply:
            raise RequestRejected(int(reply.get("code", 0)), str(reply.get("msg", "")))
        return reply.get("result")

    async def change_subscriptions(self, method: str, streams: list[str], *,
                                   timeout_s: float = 10.0) -> None:
        """SUBSCRIBE or UNSUBSCRIBE ``streams`` and record the server's new set once confirmed."""
        await self.request(method, streams, timeout_s=timeout_s)
        now = self.clock()
        if method == "SUBSCRIBE":
            for stream in streams:
                if stream not in self.subscribed:
                    self.subscribed.add(stream)
                    self.subscribed_at[stream] = now
        else:
            for stream in streams:
                self.subscribed.discard(stream)
                self.subscribed_at.pop(stream, None)
                self.last_seen.pop(stream, None)

    def silent_for(self, stream: str, now: float) -> float:
        """Seconds since ``stream`` last delivered on this link (or since it was subscribed)."""
        seen = self.last_seen.get(stream, self.subscribed_at.get(stream, self.opened_at))
        return now - seen


def _is_shutdown(raw: str | bytes) -> bool:
    """Is this combined frame the ``!serverShutdown`` notice?  (Asked when decoding failed.)"""
    head = raw[:64]
    return (SHUTDOWN_STREAM in head) if isinstance(head, str) else (SHUTDOWN_STREAM.encode() in head)
