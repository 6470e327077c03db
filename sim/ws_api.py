"""The WebSocket API at ``/ws-api/v3``: today's user-data stream (and ping/time).

Why it exists next to the listenKey streams: since 2026-02-20 Binance delivers
spot user data only here (``userDataStream.subscribe.signature``), with every
event wrapped as ``{"subscriptionId": N, "event": {...}}``; a daemon meant for
real accounts must speak it, and the simulator must let it be tested.

Why sessions reuse the hub's account topic: the events are the very payloads the
listenKey streams carry (``executionReport``, ``outboundAccountPosition``,
``balanceUpdate``, ``listStatus`` ...), produced once by the exchange; a
subscription only wraps them.  Like a user stream, a session is lossless: its
queue is unbounded and drained in order by one writer task.

Connection events: ``eventStreamTerminated`` (with the subscriptionId) when a
subscription ends (``userDataStream.unsubscribe``, or server-side through
``Faults.terminate_user_streams``); ``serverShutdown`` (no subscriptionId) before
the server closes the connection on purpose (``SimHandle.shutdown()``, or
``Faults.server_shutdown`` with a grace period).  A connection lives at most
24 hours (scaled by ``time_factor``) and is closed when its pongs stop for a
minute, as on Binance: the stream connections' limits (``SimConfig.stream_*``,
``sim.stream_limits``; the pings are hypercorn's, seen through ``sim.ws_frames``).
The requests are handled in ``sim.ws_api_methods``.
"""

from __future__ import annotations

import json
import logging
import math

import trio
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from sim.accounts import Account, AccountRegistry
from sim.hub import EventHub, user_topic
from sim.limits import Limits, client_key
from sim.stream_limits import GOING_AWAY, POLICY_VIOLATION, StreamLimits
from sim.ws_frames import FrameMonitor, monitor_of
from sim.ws_api_methods import handle_text

log = logging.getLogger(__name__)

CONNECT_WEIGHT = 2  # "Connecting to WebSocket API costs 2 weight"
_END = b""  # queue sentinel: close after what is queued before it


def _frame(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class Subscription:
    """One account's events on one session, wrapped with the subscription's id."""

    def __init__(self, session: Session, subscription_id: int, account: Account) -> None:
        self.session = session
        self.id = subscription_id
        self.account = account
        self.topic = user_topic(account.account_id)

    def deliver(self, topic: str, data: bytes) -> None:
        self.session.queue(b'{"subscriptionId":%d,"event":%s}' % (self.id, data))


class Session:
    """One WebSocket API connection: its subscriptions and its outgoing queue."""

    def __init__(self, server: WsApi, client: str, connected_since: int, *,
                 return_rate_limits: bool) -> None:
        self.server = server
        self.client = client
        self.connected_since = connected_since
        self.return_rate_limits = return_rate_limits
        self.subscriptions: dict[int, Subscription] = {}
        self.subscriptions_started = 0
        self.close_reason: str | None = None
        self.close_code = 1000
        self.nursery: trio.Nursery | None = None
        self._send, self.outgoing = trio.open_memory_channel[bytes](math.inf)

    def queue(self, frame: bytes) -> None:
        if self.close_reason is None:
            self._send.send_nowait(frame)

    def reply(self, payload: dict[str, object]) -> None:
        self.queue(_frame(payload))

    def finish(self, reason: str, code: int = 1000) -> None:
        """Send what is queued, then close."""
        if self.close_reason is None:
            self.close_reason, self.close_code = reason, code
            self._send.send_nowait(_END)

    def subscribe(self, account: Account) -> Subscription:
        subscription = Subscription(self, self.subscriptions_started, account)
        self.subscriptions_started += 1
        self.subscriptions[subscription.id] = subscription
        self.server.hub.subscribe(subscription.topic, subscription)
        log.info("wsapi.subscribed account=%d subscription=%d", account.account_id, subscription.id)
        return subscription

    def subscription_for(self, account: Account) -> Subscription | None:
        return next((s for s in self.subscriptions.values() if s.account is account), None)

    def end(self, subscription_id: int) -> None:
        """Stop a subscription and tell the client with ``eventStreamTerminated``."""
        subscription = self.subscriptions.pop(subscription_id)
        self.server.hub.unsubscribe(subscription.topic, subscription)
        event = {"e": "eventStreamTerminated", "E": self.server.now_ms()}
        self.reply({"subscriptionId": subscription_id, "event": event})
        log.info("wsapi.subscription_ended subscription=%d", subscription_id)

    def server_shutdown(self, grace_s: float) -> None:
        """``serverShutdown`` now; close after ``grace_s`` (the client should reconnect)."""
        self.reply({"event": {"e": "serverShutdown", "E": self.server.now_ms()}})
        if grace_s <= 0 or self.nursery is None:
            self.finish("server shutdown", 1001)
        else:
            self.nursery.start_soon(self._finish_later, grace_s)

    async def _finish_later(self, grace_s: float) -> None:
        await trio.sleep(grace_s)
        self.finish("server shutdown", 1001)

    def release(self) -> None:
        for subscription in self.subscriptions.values():
            self.server.hub.unsubscribe(subscription.topic, subscription)
        self.subscriptions.clear()


class WsApi:
    """The ``/ws-api/v3`` endpoint and its open sessions."""

    def __init__(self, hub: EventHub, accounts: AccountRegistry, limits: Limits, now_ms,
                 *, connection_limits: StreamLimits | None = None) -> None:
        """``connection_limits``: lifetime (already scaled), pings and pong timeout."""
        self.hub = hub
        self.accounts = accounts
        self.limits = limits
        self.now_ms = now_ms
        self.connection_limits = connection_limits or StreamLimits()
        self.sessions: set[Session] = set()
        self.shutting_down = False

    async def serve(self, websocket: WebSocket) -> None:
        client = client_key(websocket.scope)
        verdict = self.limits.admit(client, CONNECT_WEIGHT)
        if not verdict.allowed:
            headers = {"Retry-After": str(verdict.retry_after_s)} if verdict.retry_after_s else {}
            await websocket.send_denial_response(
                JSONResponse(verdict.payload(), status_code=verdict.status, headers=headers))
            return
        hide = websocket.query_params.get("returnRateLimits", "").lower() == "false"
        session = Session(self, client, self.now_ms(), return_rate_limits=not hide)
        self.sessions.add(session)
        try:
            await websocket.accept()
            if self.shutting_down:
                session.server_shutdown(0)
            async with trio.open_nursery() as nursery:
                session.nursery = nursery
                nursery.start_soon(self._read, websocket, session)
                nursery.start_soon(self._watch, session, monitor_of(websocket.scope))
                await self._write(websocket, session)
                nursery.cancel_scope.cancel()
        finally:
            self.sessions.discard(session)
            session.release()

    def shutdown(self) -> int:
        """The simulator is stopping: ``serverShutdown`` and close on every session now."""
        self.shutting_down = True
        return self.server_shutdown(0)

    def server_shutdown(self, grace_s: float) -> int:
        sessions = [s for s in self.sessions if s.close_reason is None]
        for session in sessions:
            session.server_shutdown(grace_s)
        return len(sessions)

    def terminate_subscriptions(self) -> int:
        ended = 0
        for session in list(self.sessions):
            for subscription_id in list(session.subscriptions):
                session.end(subscription_id)
                ended += 1
        return ended

    async def _watch(self, session: Session, monitor: FrameMonitor | None) -> None:
        """Close the session when its pongs stop or its lifetime is over."""
        limits = self.connection_limits
        end = math.inf if limits.lifetime_s is None else trio.current_time() + limits.lifetime_s
        while True:
            if monitor is None or limits.ping_interval_s is None:
                await trio.sleep_until(end)
            else:
                await trio.sleep_until(min(end, trio.current_time() + limits.watch_interval_s))
                sent = monitor.oldest_unanswered()
                if sent is not None and trio.current_time() - sent >= limits.pong_timeout_s:
                    log.info("wsapi.pong_timeout client=%s", session.client)
                    session.finish("pong timeout", POLICY_VIOLATION)
                    return
            if trio.current_time() >= end:
                log.info("wsapi.lifetime_over client=%s", session.client)
                session.finish("connection lifetime over", GOING_AWAY)
                return

    async def _read(self, websocket: WebSocket, session: Session) -> None:
        try:
            while session.close_reason is None:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    session.reply({"id": None, "status": 400, "error": {
                        "code": -1135, "msg": "Invalid JSON Request"}})
                    continue
                handle_text(session, text)
        except (WebSocketDisconnect, RuntimeError) as exc:
            log.debug("wsapi.receive_failed error=%r", exc)
        session.finish("client gone")

    async def _write(self, websocket: WebSocket, session: Session) -> None:
        async for frame in session.outgoing:
            if frame == _END:
                try:
                    await websocket.close(code=session.close_code, reason=session.close_reason or "")
                except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                    log.debug("wsapi.close_failed error=%r", exc)
                return
            try:
                await websocket.send_text(frame.decode())
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                log.debug("wsapi.send_failed error=%r", exc)
                return
