"""One connection to Binance's WebSocket API (``/ws-api/v3``): requests and events.

Why a session object of its own: on this API one socket carries two kinds of
frames, answers to our requests (matched by ``id``) and pushed events (wrapped
as ``{"subscriptionId": N, "event": {...}}``), and the user-data stream must sometimes
hold two connections at once (a ``serverShutdown`` handover opens the new one
before the old one is let go).  So each connection is a task that owns its socket
(``open_stream_connection``, which never leaks it), answers requests, and puts
everything else, *in arrival order*, into one bounded channel:

* ``SessionEvent`` for a user-data event (decoded, or ``event=None`` if it did not decode);
* ``Terminated`` for ``eventStreamTerminated`` (the subscription ended, the socket lives);
* ``ShutdownNotice`` for ``serverShutdown`` (the socket will close soon).

When the connection ends, the channel is closed after the items already in it,
so a reader drains everything that arrived before learning why it ended
(``session.failure``).

Requests are signed as today's docs say for the WebSocket API: every parameter
but ``signature``, sorted by name, joined as ``name=value`` (not URL-encoded),
HMAC-SHA256 with the secret, hex.  Answers' ``rateLimits`` feed the rate governor
(the WebSocket API shares the IP's request weight with REST).
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import msgspec
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from daemon.credentials import Credentials
from daemon.errors import DecodeError, ExchangeError, IpBanned, RateLimited, TransportError
from daemon.venues.binance.error_codes import error_for_code
from daemon.venues.binance.models import UserEvent, decode_user_event
from daemon.venues.binance.ratelimit import RateGovernor
from daemon.venues.binance.signing import format_value, sign
from daemon.venues.binance.streams import open_stream_connection
from daemon.venues.binance.userdata import event_key, heartbeat

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionEvent:
    """A user-data event as received; ``event`` is None when it did not decode."""

    event: UserEvent | None
    raw: bytes  # the inner event payload (without the subscription wrapper)
    subscription_id: int | None


@dataclass(frozen=True)
class Terminated:
    """``eventStreamTerminated``; ``ours``: it ended this session's current subscription."""

    subscription_id: int | None
    ours: bool


@dataclass(frozen=True)
class ShutdownNotice:
    event_time: int


SessionItem = SessionEvent | Terminated | ShutdownNotice


class _Error(msgspec.Struct):
    code: int
    msg: str = ""
    data: dict | None = None


class _LimitStatus(msgspec.Struct, rename="camel"):
    rate_limit_type: str
    interval: str
    interval_num: int
    count: int


_ABSENT = msgspec.Raw(b"")


class _Frame(msgspec.Struct):
    """An answer (``status``) or an event (``event``); ``Raw`` fields stay undecoded."""

    id: int | str | None = None
    status: int | None = None
    result: msgspec.Raw = _ABSENT  # empty when absent (msgspec has no optional Raw)
    error: _Error | None = None
    event: msgspec.Raw = _ABSENT
    subscriptionId: int | None = None
    rateLimits: list[_LimitStatus] | None = None


class _Head(msgspec.Struct):
    e: str | None = None
    E: int = 0


_frame_decoder = msgspec.json.Decoder(_Frame)
_head_decoder = msgspec.json.Decoder(_Head)


def signed_params(credentials: Credentials, params: Mapping[str, object], *,
                  timestamp_ms: int, recv_window_ms: int | None) -> dict[str, object]:
    """``params`` plus ``apiKey``, ``timestamp``, ``recvWindow`` and the ``signature``."""
    full: dict[str, object] = {**params, "apiKey": credentials.api_key, "timestamp": timestamp_ms}
    if recv_window_ms is not None:
        full["recvWindow"] = recv_window_ms
    payload = "&".join(f"{name}={format_value(value)}"  # type: ignore[arg-type]
                       for name, value in sorted(full.items()))
    full["signature"] = sign(credentials.api_secret, payload)
    return full


class _Pending:
    def __init__(self) -> None:
        self.done = trio.Event()
        self.frame: _Frame | None = None
        self.failure: BaseException | None = None


class WsApiSession:
    """One ``/ws-api/v3`` connection; run it with ``await nursery.start(session.run)``."""

    def __init__(self, url: str, *, name: str = "ws-api", buffer_size: int = 10_000,
                 request_timeout_s: float = 10.0, heartbeat_s: float | None = 30.0,
                 governor: RateGovernor | None = None, seen_size: int = 4096,
                 message_queue_size: int = 64) -> None:
        self.url = url
        self.name = name
        self.request_timeout_s = request_timeout_s
        self.heartbeat_s = heartbeat_s
        self.governor = governor
        self.message_queue_size = message_queue_size
        self.subscription_id: int | None = None
        self.failure: BaseException | None = None
        self.frames = 0
        self.unreadable = 0
        self._send, self.items = trio.open_memory_channel[SessionItem](buffer_size)
        self._seen: set[Hashable] = set()
        self._seen_order: deque[Hashable] = deque(maxlen=seen_size)
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._ws: WebSocketConnection | None = None
        self._scope = trio.CancelScope()

    # ------------------------------------------------------------------ running

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, report started, then read until the connection ends or ``stop()``.

        A failure to connect propagates to the starter; a later failure is kept in
        ``failure`` (the items channel is closed either way).
        """
        async with self._send:
            with self._scope:
                try:
                    async with open_stream_connection(
                            self.url, message_queue_size=self.message_queue_size) as ws:
                        self._ws = ws
                        task_status.started()
                        await self._serve(ws)
                except Exception as exc:
                    if self._ws is None:
                        raise  # never connected: the starter handles it
                    if self.failure is None:
                        self.failure = exc
                finally:
                    self._fail_pending(self.failure or TransportError(f"{self.name} closed"))
            if self._scope.cancelled_caught and self.failure is None:
                self.failure = TransportError(f"{self.name} stopped")

    def stop(self) -> None:
        """End the connection (the items already received stay readable)."""
        self._scope.cancel()

    async def _serve(self, ws: WebSocketConnection) -> None:
        """Read until the connection ends; raise why (never from inside the nursery,
        so the reason leaves as itself, not wrapped in an exception group)."""
        failure: Exception | None = None
        async with trio.open_nursery() as nursery:
            if self.heartbeat_s:
                nursery.start_soon(self._guarded_heartbeat, ws)
            try:
                while True:
                    await self._dispatch(await ws.get_message())
            except ConnectionClosed as exc:
                reason = exc.reason
                failure = TransportError(f"{self.name} closed by the server "
                                         f"(code={getattr(reason, 'code', None)} "
                                         f"reason={getattr(reason, 'reason', None)})")
                failure.__cause__ = exc
            except Exception as exc:  # e.g. the consumer closed the items channel
                failure = exc
            nursery.cancel_scope.cancel()
        raise failure

    async def _guarded_heartbeat(self, ws: WebSocketConnection) -> None:
        try:
            await heartbeat(ws, self.heartbeat_s or 30.0)
        except TransportError as exc:
            if self.failure is None:
                self.failure = exc
            with trio.move_on_after(2):
                await ws.aclose()  # ends the reader, which raises ConnectionClosed

    async def _dispatch(self, raw: str | bytes) -> None:
        data = raw.encode() if isinstance(raw, str) else raw
        self.frames += 1
        try:
            frame = _frame_decoder.decode(data)
        except msgspec.DecodeError:
            self.unreadable += 1
            log.warning("wsapi.unreadable_frame session=%s frame=%.200r", self.name, data)
            await self._send.send(SessionEvent(None, data, None))
            return
        if frame.status is not None:
            self._answer(frame)
        elif len(frame.event):
            await self._event(bytes(frame.event), frame.subscriptionId)
        else:
            self.unreadable += 1
            log.warning("wsapi.unexpected_frame session=%s frame=%.200r", self.name, data)

    async def _event(self, raw: bytes, subscription_id: int | None) -> None:
        try:
            head = _head_decoder.decode(raw)
        except msgspec.DecodeError:
            head = _Head()
        if head.e == "serverShutdown":
            log.warning("wsapi.server_shutdown session=%s", self.name)
            await self._send.send(ShutdownNotice(head.E))
            return
        if head.e == "eventStreamTerminated":
            log.warning("wsapi.event_stream_terminated session=%s subscription=%s",
                        self.name, subscription_id)
            ours = subscription_id is None or subscription_id == self.subscription_id
            if ours:
                self.subscription_id = None
            await self._send.send(Terminated(subscription_id, ours))
            return
        try:
            event: UserEvent | None = decode_user_event(raw)
        except DecodeError:
            event = None
        if event is not None:
            self._remember(event_key(event))
        await self._send.send(SessionEvent(event, raw, subscription_id))

    def _remember(self, key: Hashable) -> None:
        if key in self._seen:
            return
        if len(self._seen_order) == self._seen_order.maxlen:
            self._seen.discard(self._seen_order[0])
        self._seen_order.append(key)
        self._seen.add(key)

    def has_seen(self, event: UserEvent) -> bool:
        """Did this connection receive ``event`` (recently)?  Used to find the overlap."""
        return event_key(event) in self._seen

    # ----------------------------------------------------------------- requests

    async def request(self, method: str, params: Mapping[str, object] | None = None) -> bytes:
        """Send one request and return its ``result`` (raw JSON); errors raise ``ExchangeError``."""
        ws = self._ws
        if ws is None or self.failure is not None:
            raise TransportError(f"{self.name} is not connected")
        request_id = next(self._ids)
        pending = self._pending[request_id] = _Pending()
        message: dict[str, object] = {"id": request_id, "method": method}
        if params:
            message["params"] = dict(params)
        try:
            try:
                await ws.send_message(msgspec.json.encode(message).decode())
            except ConnectionClosed as exc:
                raise TransportError(f"{self.name}: {method} not sent, connection closed") from exc
            with trio.move_on_after(self.request_timeout_s):
                await pending.done.wait()
        finally:
            self._pending.pop(request_id, None)
        if pending.failure is not None:
            raise TransportError(f"{self.name}: {method} unanswered: {pending.failure}")
        if pending.frame is None:
            raise TransportError(f"{self.name}: {method} unanswered after "
                                 f"{self.request_timeout_s:g} s")
        return self._result(method, pending.frame)

    def _answer(self, frame: _Frame) -> None:
        if frame.rateLimits and self.governor is not None:
            self.governor.observe(None, {
                f"{_header_prefix(s.rate_limit_type)}{s.interval_num}{s.interval[:1]}": str(s.count)
                for s in frame.rateLimits if _header_prefix(s.rate_limit_type)})
        pending = self._pending.get(frame.id) if isinstance(frame.id, int) else None
        if pending is None:
            log.info("wsapi.unmatched_answer session=%s id=%r status=%s", self.name, frame.id,
                     frame.status)
            return
        pending.frame = frame
        pending.done.set()

    def _result(self, method: str, frame: _Frame) -> bytes:
        status = frame.status or 0
        if 200 <= status < 300 and len(frame.result):
            return bytes(frame.result)
        error = frame.error or _Error(code=status, msg=f"status {status} without error")
        exc: ExchangeError
        if status in (418, 429):
            retry_after = _retry_after_s(error.data)
            cls = IpBanned if status == 418 else RateLimited
            exc = cls(error.code, error.msg, http_status=status, retry_after=retry_after)
            if self.governor is not None:
                self.governor.on_rejected(exc)
        else:
            exc = error_for_code(error.code, error.msg, http_status=status)
        log.warning("wsapi.error session=%s method=%s status=%d code=%d msg=%r",
                    self.name, method, status, error.code, error.msg)
        raise exc

    def _fail_pending(self, failure: BaseException) -> None:
        for pending in self._pending.values():
            pending.failure = failure
            pending.done.set()


def _header_prefix(rate_limit_type: str) -> str:
    return {"REQUEST_WEIGHT": "x-mbx-used-weight-", "ORDERS": "x-mbx-order-count-"}.get(
        rate_limit_type, "")


def _retry_after_s(data: dict | None) -> float | None:
    """Seconds until ``data.retryAfter`` (server ms), measured against ``data.serverTime``."""
    if not data:
        return None
    retry_at, server_time = data.get("retryAfter"), data.get("serverTime")
    if isinstance(retry_at, int) and isinstance(server_time, int):
        return max(0.0, (retry_at - server_time) / 1000)
    return None
