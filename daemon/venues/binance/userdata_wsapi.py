"""Today's user-data stream: ``userDataStream.subscribe.signature`` on the WebSocket API.

Binance retired the listenKey stream for Spot on 2026-02-20; user data now comes
over ``/ws-api/v3`` after a signed subscribe request, each event wrapped as
``{"subscriptionId": N, "event": {...}}``.  ``run_ws_api_user_stream`` keeps that
subscription alive for the daemon's lifetime and hands ``(event, raw_event_bytes)``
to the caller's channel, exactly like the listenKey flavour (``userdata.py``):

* after every (re)connection *and* every resubscription it awaits ``on_connected()``
  (the daemon's reconciliation over REST) before forwarding anything of it; events
  arriving meanwhile wait in the session's buffer (its reader keeps reading, so
  pings are still answered);
* ``eventStreamTerminated``: the subscription ended but the socket lives, so it
  resubscribes on the same connection, then reconciles (events between the end
  and the new subscription exist only in REST);
* ``serverShutdown``: the server will close this connection soon.  Make before
  break: open a second connection and subscribe there while the first still
  delivers, reconcile, forward what the old one still brings until it closes, until
  it repeats an event the new one already has (from there on, both carry the same
  events), or ``handover_grace_s``; then switch.  Events of the overlap are
  delivered once: every event passes ``RecentKeys`` (type, event time, order id,
  execution type/status, trade id);
* a lost connection, a refused subscribe that may succeed later, or a failed
  reconcile: reconnect after a jittered backoff.  Bad credentials propagate.

The subscribe request is signed with the shared ``ServerClock`` of ``BinanceRest``
(one -1021 -> one resync and one retry) and its weight (2, plus 2 for the
connection) is reserved in the shared rate governor before it is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
import trio

from daemon.errors import ConfigError, ExchangeError, InvalidTimestamp, TransportError
from daemon.venues.binance.request_weights import WS_API_SUBSCRIBE_WEIGHT, RequestCost
from daemon.venues.binance.streams import CONNECTION_ERRORS, Backoff, ConsumerGone, send_or_stop
from daemon.venues.binance.userdata import (
    KNOWN_EVENT_TYPES,
    OnConnected,
    RecentKeys,
    UserStreamCounters,
    event_key,
    peek_event_type,
)
from daemon.venues.binance.wsapi_session import (
    SessionEvent,
    SessionItem,
    ShutdownNotice,
    Terminated,
    WsApiSession,
    signed_params,
)

if TYPE_CHECKING:
    from daemon.venues.binance.rest import BinanceRest

log = logging.getLogger(__name__)

SUBSCRIBE_METHOD = "userDataStream.subscribe.signature"
CONNECT_WEIGHT = 2  # "Connecting to WebSocket API costs 2 weight"


@dataclass
class WsApiStreamCounters(UserStreamCounters):
    """``UserStreamCounters`` plus the WebSocket API's own events."""

    resubscribes: int = 0
    handovers: int = 0
    terminations: int = 0


class _SubscriptionResult(msgspec.Struct):
    subscriptionId: int


_subscription_decoder = msgspec.json.Decoder(_SubscriptionResult)


class _Outcome:
    TERMINATED = "terminated"
    SHUTDOWN = "shutdown"


class WsApiUserStream:
    """The runner's state; use ``run_ws_api_user_stream``."""

    def __init__(self, rest: BinanceRest, ws_api_url: str, send_channel: trio.MemorySendChannel,
                 on_connected: OnConnected, *, counters: WsApiStreamCounters,
                 backoff: Backoff, heartbeat_s: float | None, buffer_size: int,
                 handover_grace_s: float, request_timeout_s: float) -> None:
        credentials = rest.credentials
        if credentials is None:
            raise ConfigError("the WebSocket API user-data stream needs API credentials")
        self._credentials = credentials
        self._rest = rest
        self._url = ws_api_url
        self._send = send_channel
        self._on_connected = on_connected
        self.counters = counters
        self._backoff = backoff
        self._heartbeat_s = heartbeat_s
        self._buffer_size = buffer_size
        self._handover_grace_s = handover_grace_s
        self._request_timeout_s = request_timeout_s
        self._recent = RecentKeys()
        self._sessions = 0
        self._started = False

    async def run(self, task_status: trio.TaskStatus[WsApiStreamCounters]) -> None:
        """Serve until cancelled; a fatal error leaves as itself (not in an exception group)."""
        fatal: Exception | None = None
        async with trio.open_nursery() as nursery:  # the sessions' reader tasks live here
            try:
                await self._loop(nursery, task_status)
            except Exception as exc:
                fatal = exc
            nursery.cancel_scope.cancel()
        if fatal is not None:
            raise fatal

    async def _loop(self, nursery: trio.Nursery,
                    task_status: trio.TaskStatus[WsApiStreamCounters]) -> None:
        session: WsApiSession | None = None
        while True:
            try:
                if session is None:
                    session = await self._open(nursery)
                    await self._reconcile(task_status, "reconnected")
                outcome = await self._forward_until_change(session)
                if outcome == _Outcome.TERMINATED:
                    await self._resubscribe(session, task_status)
                else:
                    session = await self._handover(nursery, session, task_status)
                continue
            except ConsumerGone:
                log.info("userdata.stopped reason=consumer_closed")
                return
            except (*CONNECTION_ERRORS, TransportError) as exc:
                self.counters.last_error = f"{type(exc).__name__}: {exc}"
            except ExchangeError as exc:
                if not exc.retryable:
                    raise
                self.counters.last_error = f"{type(exc).__name__}: {exc}"
            if session is not None:
                session.stop()
                session = None
            self.counters.connected = False
            delay = self._backoff.next_delay()
            log.warning("userdata.disconnected flavour=ws-api error=%s retry_in_s=%.2f",
                        self.counters.last_error, delay)
            await trio.sleep(delay)

    # -------------------------------------------------------------- connecting

    async def _open(self, nursery: trio.Nursery) -> WsApiSession:
        """Connect and subscribe; the session's reader runs in ``nursery``."""
        governor = self._rest.governor
        await governor.acquire(RequestCost(weight=CONNECT_WEIGHT), what="ws-api connect")
        self._sessions += 1
        session = WsApiSession(self._url, name=f"ws-api#{self._sessions}",
                               buffer_size=self._buffer_size,
                               request_timeout_s=self._request_timeout_s,
                               heartbeat_s=self._heartbeat_s, governor=governor)
        await nursery.start(session.run)
        try:
            await self._subscribe(session)
        except BaseException:
            session.stop()
            raise
        self.counters.connected = True
        return session

    async def _subscribe(self, session: WsApiSession) -> None:
        """Signed subscribe; a -1021 resyncs the shared clock and retries once."""
        for attempt in (1, 2):
            await self._rest.governor.acquire(RequestCost(weight=WS_API_SUBSCRIBE_WEIGHT),
                                              what=f"ws-api {SUBSCRIBE_METHOD}")
            params = signed_params(self._credentials, {}, timestamp_ms=self._rest.clock.now_ms(),
                                   recv_window_ms=self._rest.recv_window_ms)
            try:
                result = await session.request(SUBSCRIBE_METHOD, params)
            except InvalidTimestamp:
                self._rest.stats.timestamp_rejections += 1
                if attempt == 2:
                    raise
                log.warning("userdata.subscribe_timestamp_rejected offset_ms=%d action=resync",
                            self._rest.clock.offset_ms)
                await self._rest.sync_clock()
                self._rest.stats.clock_resyncs += 1
                continue
            session.subscription_id = _subscription_decoder.decode(result).subscriptionId
            self.counters.subscriptions += 1
            log.info("userdata.subscribed flavour=ws-api session=%s subscription=%d",
                     session.name, session.subscription_id)
            return

    async def _reconcile(self, task_status: trio.TaskStatus[WsApiStreamCounters],
                         what: str) -> None:
        """``on_connected()`` while the session buffers; then events may flow."""
        await self._on_connected()
        self._backoff.reset()
        if not self._started:
            self._started = True
            log.info("userdata.connected flavour=ws-api")
            task_status.started(self.counters)
            return
        if what == "reconnected":
            self.counters.reconnects += 1
        log.info("userdata.%s flavour=ws-api reconnects=%d resubscribes=%d handovers=%d",
                 what, self.counters.reconnects, self.counters.resubscribes,
                 self.counters.handovers)

    async def _resubscribe(self, session: WsApiSession,
                           task_status: trio.TaskStatus[WsApiStreamCounters]) -> None:
        self.counters.resubscribes += 1
        log.warning("userdata.resubscribing flavour=ws-api session=%s reason=eventStreamTerminated",
                    session.name)
        await self._subscribe(session)
        await self._reconcile(task_status, "resubscribed")

    async def _handover(self, nursery: trio.Nursery, old: WsApiSession,
                        task_status: trio.TaskStatus[WsApiStreamCounters]) -> WsApiSession:
        """Make before break (module docstring); fall back to the old connection if needed."""
        self.counters.handovers += 1
        log.warning("userdata.handover_started flavour=ws-api old=%s", old.name)
        try:
            new = await self._open(nursery)
        except (*CONNECTION_ERRORS, TransportError, ExchangeError) as exc:
            if isinstance(exc, ExchangeError) and not exc.retryable:
                raise
            log.warning("userdata.handover_failed error=%s action=drain_old_then_reconnect", exc)
            return old  # it will close; the normal reconnect path takes over then
        try:
            await self._reconcile(task_status, "handed_over")
            drained = await self._drain_old(old, new)
        except BaseException:
            new.stop()
            raise
        old.stop()
        log.info("userdata.handover_done old=%s new=%s drained=%d", old.name, new.name, drained)
        return new

    async def _drain_old(self, old: WsApiSession, new: WsApiSession) -> int:
        """Forward the old connection's events up to the overlap with the new one."""
        drained = 0
        deadline = trio.current_time() + self._handover_grace_s
        while True:
            with trio.move_on_at(deadline) as waiting:
                try:
                    item = await old.items.receive()
                except trio.EndOfChannel:
                    return drained
            if waiting.cancelled_caught:
                return drained + await self._drain_buffered(old)
            if isinstance(item, SessionEvent):
                drained += 1
                await self._deliver(item)
                if item.event is not None and new.has_seen(item.event):
                    return drained  # from here on the new connection has everything

    async def _drain_buffered(self, old: WsApiSession) -> int:
        """Grace is over: forward what the old connection already received, wait no more."""
        drained = 0
        while True:
            try:
                item = old.items.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return drained
            if isinstance(item, SessionEvent):
                drained += 1
                await self._deliver(item)

    # --------------------------------------------------------------- forwarding

    async def _forward_until_change(self, session: WsApiSession) -> str:
        """Forward events until the subscription ends or the server announces shutdown."""
        async for item in session.items:
            outcome = await self._handle(item, session)
            if outcome is not None:
                return outcome
        raise session.failure or TransportError(f"{session.name} ended")

    async def _handle(self, item: SessionItem, session: WsApiSession) -> str | None:
        if isinstance(item, SessionEvent):
            await self._deliver(item)
            return None
        if isinstance(item, Terminated):
            if not item.ours:
                log.info("userdata.stale_termination subscription=%s", item.subscription_id)
                return None
            self.counters.terminations += 1
            return _Outcome.TERMINATED
        assert isinstance(item, ShutdownNotice)
        return _Outcome.SHUTDOWN

    async def _deliver(self, item: SessionEvent) -> None:
        self.counters.messages += 1
        event = item.event
        if event is None:
            event_type = peek_event_type(item.raw)
            if event_type is not None and event_type not in KNOWN_EVENT_TYPES:
                self.counters.unknown_events += 1
                log.info("userdata.unknown_event type=%s count=%d", event_type,
                         self.counters.unknown_events)
            else:
                self.counters.decode_errors += 1
                log.warning("userdata.decode_error count=%d frame=%.200r",
                            self.counters.decode_errors, item.raw)
            return
        if not self._recent.add(event_key(event)):
            self.counters.duplicates += 1
            log.info("userdata.duplicate type=%s count=%d", type(event).__name__,
                     self.counters.duplicates)
            return
        await send_or_stop(self._send, (event, item.raw))


async def run_ws_api_user_stream(
        rest: BinanceRest, ws_api_url: str, send_channel: trio.MemorySendChannel,
        on_connected: OnConnected, *, heartbeat_s: float | None = 30.0,
        counters: WsApiStreamCounters | None = None, backoff: Backoff | None = None,
        buffer_size: int = 10_000, handover_grace_s: float = 1.0,
        request_timeout_s: float = 10.0,
        task_status: trio.TaskStatus[WsApiStreamCounters] = trio.TASK_STATUS_IGNORED) -> None:
    """The WebSocket-API user-data stream: sends ``(event, raw_bytes)`` until cancelled.

    ``task_status.started(counters)`` fires once the first subscription is up and
    the first ``on_connected()`` has returned.
    """
    stream = WsApiUserStream(
        rest, ws_api_url, send_channel, on_connected,
        counters=counters if counters is not None else WsApiStreamCounters(),
        backoff=backoff if backoff is not None else Backoff(), heartbeat_s=heartbeat_s,
        buffer_size=buffer_size, handover_grace_s=handover_grace_s,
        request_timeout_s=request_timeout_s)
    await stream.run(task_status)

