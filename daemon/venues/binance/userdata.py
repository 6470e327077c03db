"""The account's user-data stream (orders, fills, balances), kept alive and in sync.

``run_user_stream`` implements the seed's listenKey flavour: ``POST userDataStream``
for a key, connect ``/ws/<listenKey>``, ``PUT`` it every 30 minutes, and start over
with a fresh key when the exchange says ``listenKeyExpired``, a keepalive answers
-1125, or the connection drops.  ``DELETE`` the key at shutdown (best effort).

Why ``on_connected`` is awaited after *every* (re)connect, before any event of that
connection is forwarded: whatever happened while we were disconnected is only
visible through REST, so the daemon reconciles there.  Events that arrive during the
reconcile are read off the socket into a bounded buffer (so trio-websocket keeps
answering pings) and forwarded, in order, once ``on_connected`` returns.  The state
store applies them idempotently on top of the snapshot.

The generic loop (``run_user_data``) knows nothing of listenKeys: a flavour object
opens, keeps alive and closes the subscription.  Today's WebSocket-API flavour
(``userDataStream.subscribe.signature`` on ``/ws-api/v3``) needs more than this
loop offers (resubscribing on a live socket, a make-before-break handover on
``serverShutdown``), so it has its own runner in ``userdata_wsapi.py``; both share
the helpers below (``heartbeat``, ``event_key``, ``RecentKeys``).

Duplicates: an event seen again within the last few thousand (a server resend, or
the overlap of two connections) is counted and dropped here; the state store is
idempotent anyway, but strategies should not hear an order update twice.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, Protocol, get_args

import msgspec
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from daemon.credentials import mask
from daemon.errors import (
    DecodeError,
    ExchangeError,
    InvalidListenKey,
    TradingdError,
    TransportError,
)
from daemon.venues.binance.models import (
    EventStreamTerminated,
    ExecutionReport,
    ListenKeyExpired,
    UserEvent,
    decode_user_event,
)
from daemon.venues.binance.streams import (
    CONNECTION_ERRORS,
    Backoff,
    ConsumerGone,
    StreamCounters,
    open_stream_connection,
    send_or_stop,
)

if TYPE_CHECKING:
    from daemon.venues.binance.rest import BinanceRest

log = logging.getLogger(__name__)

OnConnected = Callable[[], Awaitable[None]]
KNOWN_EVENT_TYPES = frozenset(cls.__struct_config__.tag for cls in get_args(UserEvent))


@dataclass
class UserStreamCounters(StreamCounters):
    """``StreamCounters`` plus what only the user stream has."""

    unknown_events: int = 0
    keepalives: int = 0
    subscriptions: int = 0
    duplicates: int = 0


def event_key(event: UserEvent) -> Hashable:
    """What makes two deliveries the same event.

    executionReport: (type, event time, order id, execution type, status, trade id,
    cumulative quantity): a trade has its own trade id, every other execution its
    own execution type or status.  Other events: the whole (frozen, hashable)
    event, i.e. equal content.
    """
    if isinstance(event, ExecutionReport):
        return ("executionReport", event.event_time, event.order_id, event.execution_type,
                event.status, event.trade_id, event.cum_qty)
    return event


class RecentKeys:
    """The last ``size`` event keys, to drop an event delivered twice."""

    def __init__(self, size: int = 4096) -> None:
        self._keys: set[Hashable] = set()
        self._order: deque[Hashable] = deque()
        self.size = size

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; False if it was already there (a duplicate)."""
        if key in self._keys:
            return False
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self.size:
            self._keys.discard(self._order.popleft())
        return True


class StreamRestart(Exception):
    """The subscription ended on the exchange's side; open a new one and reconnect."""


class UserStreamFlavour(Protocol):
    """How one user-data flavour opens, keeps and ends its subscription."""

    async def open(self) -> str:
        """Prepare a subscription; return the websocket URL to connect to."""

    async def subscribe(self, ws: WebSocketConnection) -> None:
        """Run right after connecting (the WebSocket API sends its subscribe request here)."""

    async def keep_alive(self) -> None:
        """Run for the life of the connection; raise to force a reconnect."""

    def ends_subscription(self, event: UserEvent) -> bool:
        """True for a control event after which no more events will come."""

    async def close(self) -> None:
        """Best-effort release of the subscription at shutdown."""


class ListenKeyFlavour:
    """The seed's listenKey user-data stream (``/ws/<listenKey>``)."""

    def __init__(self, rest: BinanceRest, stream_url: str, keepalive_s: float = 1800.0,
                 counters: UserStreamCounters | None = None) -> None:
        self._rest = rest
        self._stream_url = stream_url.rstrip("/")
        self.keepalive_s = keepalive_s
        self._counters = counters if counters is not None else UserStreamCounters()
        self.listen_key: str | None = None

    async def open(self) -> str:
        # POST returns the account's active key (extended) or a new one.
        self.listen_key = await self._rest.create_listen_key()
        self._counters.subscriptions += 1
        log.info("userdata.listen_key key=%s", mask(self.listen_key))
        return f"{self._stream_url}/ws/{self.listen_key}"

    async def subscribe(self, ws: WebSocketConnection) -> None:
        """Nothing to send: the key in the URL is the subscription."""

    async def keep_alive(self) -> None:
        """PUT the key every ``keepalive_s``; retry sooner after a transient failure.

        A key lives 60 minutes from its last keepalive, so a keepalive that fails
        once (network, 5xx) can be retried several times before it matters.  -1125
        means the key is gone: restart with a new one.
        """
        delay = self.keepalive_s
        while True:
            await trio.sleep(delay)
            key = self.listen_key
            if key is None:
                raise StreamRestart("no listenKey to keep alive")
            try:
                await self._rest.keepalive_listen_key(key)
            except InvalidListenKey as exc:
                self.listen_key = None
                raise StreamRestart(f"keepalive refused: {exc}") from exc
            except (TransportError, ExchangeError) as exc:
                if isinstance(exc, ExchangeError) and not exc.retryable:
                    raise
                delay = min(self.keepalive_s, 60.0)
                log.warning("userdata.keepalive_failed error=%s retry_in_s=%.0f", exc, delay)
                continue
            self._counters.keepalives += 1
            delay = self.keepalive_s
            log.debug("userdata.keepalive key=%s", mask(key))

    def ends_subscription(self, event: UserEvent) -> bool:
        if isinstance(event, ListenKeyExpired):
            self.listen_key = None
            return True
        return isinstance(event, EventStreamTerminated)

    async def close(self) -> None:
        key, self.listen_key = self.listen_key, None
        if key is not None:
            await self._rest.close_listen_key(key)
            log.info("userdata.listen_key_closed key=%s", mask(key))


async def run_user_stream(rest: BinanceRest, stream_url: str,
                          send_channel: trio.MemorySendChannel, on_connected: OnConnected, *,
                          keepalive_s: float = 1800.0, heartbeat_s: float | None = 30.0,
                          counters: UserStreamCounters | None = None,
                          backoff: Backoff | None = None,
                          task_status: trio.TaskStatus[UserStreamCounters] = trio.TASK_STATUS_IGNORED,
                          ) -> None:
    """The listenKey user-data stream: sends ``(event, raw_bytes)`` until cancelled.

    ``task_status.started(counters)`` fires once the first connection is up *and*
    the first ``on_connected()`` has returned.
    """
    counters = counters if counters is not None else UserStreamCounters()
    flavour = ListenKeyFlavour(rest, stream_url, keepalive_s, counters)
    await run_user_data(flavour, send_channel, on_connected, counters=counters,
                        backoff=backoff, heartbeat_s=heartbeat_s, task_status=task_status)


async def run_user_data(flavour: UserStreamFlavour, send_channel: trio.MemorySendChannel,
                        on_connected: OnConnected, *,
                        counters: UserStreamCounters | None = None,
                        backoff: Backoff | None = None, heartbeat_s: float | None = 30.0,
                        buffer_size: int = 10_000, message_queue_size: int = 64,
                        close_timeout_s: float = 5.0,
                        task_status: trio.TaskStatus[UserStreamCounters] = trio.TASK_STATUS_IGNORED,
                        ) -> None:
    """Flavour-independent loop: connect, reconcile, forward, reconnect on failure.

    Connection trouble, a restart demanded by the exchange and retryable exchange
    errors (from the flavour or from ``on_connected``) lead to a reconnect after a
    jittered backoff; anything else (bad credentials, a state error) propagates.
    """
    counters = counters if counters is not None else UserStreamCounters()
    backoff = backoff if backoff is not None else Backoff()
    recent = RecentKeys()
    started = False

    def ready() -> None:
        nonlocal started
        backoff.reset()
        if started:
            counters.reconnects += 1
            log.info("userdata.reconnected reconnects=%d", counters.reconnects)
        else:
            started = True
            log.info("userdata.connected")
            task_status.started(counters)

    try:
        while True:
            try:
                url = await flavour.open()
                async with open_stream_connection(url, message_queue_size=message_queue_size) as ws:
                    await flavour.subscribe(ws)
                    counters.connected = True
                    await _serve_connection(ws, flavour, send_channel, on_connected, counters,
                                            ready=ready, heartbeat_s=heartbeat_s,
                                            buffer_size=buffer_size, recent=recent)
            except ConsumerGone:
                log.info("userdata.stopped reason=consumer_closed")
                return
            except (StreamRestart, *CONNECTION_ERRORS) as exc:
                counters.last_error = f"{type(exc).__name__}: {exc}"
            except ExchangeError as exc:
                if not exc.retryable:
                    raise
                counters.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                counters.connected = False
            delay = backoff.next_delay()
            log.warning("userdata.disconnected error=%s retry_in_s=%.2f", counters.last_error, delay)
            await trio.sleep(delay)
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(close_timeout_s):
            try:
                await flavour.close()
            except TradingdError as exc:
                log.warning("userdata.close_failed error=%s", exc)


class _Failure:
    """The first error of a connection's tasks (later ones are consequences)."""

    def __init__(self) -> None:
        self.exc: BaseException | None = None

    def record(self, exc: BaseException) -> None:
        if self.exc is None:
            self.exc = exc


async def _serve_connection(ws: WebSocketConnection, flavour: UserStreamFlavour,
                            send_channel: trio.MemorySendChannel, on_connected: OnConnected,
                            counters: UserStreamCounters, *, ready: Callable[[], None],
                            heartbeat_s: float | None, buffer_size: int,
                            recent: RecentKeys) -> NoReturn:
    """Run one connection to its end and raise why it ended.

    Child tasks never raise into the nursery (that would wrap errors in exception
    groups): each records its failure and closes the socket, which ends the reader;
    the forwarder then drains what was already received before the error is raised,
    so no frame that reached us is dropped.
    """
    failure = _Failure()
    buf_send, buf_recv = trio.open_memory_channel[str | bytes](buffer_size)

    async def guarded(fn: Callable[..., Awaitable[None]], *args: object) -> None:
        try:
            await fn(*args)
        except Exception as exc:
            failure.record(exc)
            with trio.move_on_after(2):
                await ws.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_read_frames, ws, buf_send, failure)
        nursery.start_soon(guarded, flavour.keep_alive)
        if heartbeat_s:
            nursery.start_soon(guarded, heartbeat, ws, heartbeat_s)
        try:
            await on_connected()
            ready()
            async with buf_recv:
                async for raw in buf_recv:
                    await _forward(raw, flavour, send_channel, counters, recent)
        except Exception as exc:
            failure.record(exc)
        nursery.cancel_scope.cancel()
    raise failure.exc or TransportError("user-data connection ended")


async def _read_frames(ws: WebSocketConnection, buf_send: trio.MemorySendChannel,
                       failure: _Failure) -> None:
    async with buf_send:
        try:
            while True:
                await buf_send.send(await ws.get_message())
        except ConnectionClosed as exc:
            failure.record(exc)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return  # the forwarder has stopped; the connection is being torn down


async def heartbeat(ws: WebSocketConnection, interval_s: float) -> None:
    """Ping the server; a pong that does not come means a half-open connection."""
    while True:
        await trio.sleep(interval_s)
        with trio.move_on_after(interval_s) as waited:
            await ws.ping()
        if waited.cancelled_caught:
            raise TransportError(f"no pong within {interval_s:g} s")


async def _forward(raw: str | bytes, flavour: UserStreamFlavour,
                   send_channel: trio.MemorySendChannel, counters: UserStreamCounters,
                   recent: RecentKeys) -> None:
    counters.messages += 1
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        event = decode_user_event(data)
    except DecodeError as exc:
        event_type = peek_event_type(data)
        if event_type is not None and event_type not in KNOWN_EVENT_TYPES:
            counters.unknown_events += 1
            log.info("userdata.unknown_event type=%s count=%d", event_type, counters.unknown_events)
        else:
            counters.decode_errors += 1
            log.warning("userdata.decode_error count=%d error=%s frame=%.200r",
                        counters.decode_errors, exc, data)
        return
    if flavour.ends_subscription(event):
        raise StreamRestart(f"exchange ended the subscription ({type(event).__name__})")
    if not recent.add(event_key(event)):
        counters.duplicates += 1
        log.info("userdata.duplicate type=%s count=%d", type(event).__name__, counters.duplicates)
        return
    await send_or_stop(send_channel, (event, data))


class _PeekInner(msgspec.Struct):
    e: str | None = None


class _Peek(msgspec.Struct):
    e: str | None = None
    event: _PeekInner | None = None


_peek_decoder = msgspec.json.Decoder(_Peek)


def peek_event_type(data: bytes) -> str | None:
    """The ``"e"`` of a frame that failed to decode (raw or WebSocket-API wrapped)."""
    try:
        peek = _peek_decoder.decode(data)
    except msgspec.DecodeError:
        return None
    if peek.event is not None:
        return peek.event.e
    return peek.e
