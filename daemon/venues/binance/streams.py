"""Market data over one combined-stream websocket, kept alive for the daemon's lifetime.

``run_market_streams`` connects to ``/stream?streams=a/b/c``, decodes every frame
into the typed events of ``models.py`` and sends them into the caller's channel.
A stream that stops is worse than one that fails loudly, so:

* any connection failure (refused, reset, closed by the server, the 24-hour cut)
  leads to a reconnect after a jittered exponential backoff capped at ~30 s: the
  jitter keeps many daemons (or many streams) from reconnecting in lockstep;
* a silence watchdog reconnects when no frame arrived for ``silence_timeout_s``
  (trio-websocket has no read timeout, and a half-open TCP connection is silent);
* a malformed frame is logged and counted, never fatal: one bad payload must not
  cut the feed for every strategy;
* trio-websocket answers the server's pings only while its reader task can put
  messages into its queue; the queue holds one message by default, so a slow
  consumer would stop our pongs and get us disconnected.  We give it a deep queue.

The caller owns ``send_channel`` (it may be shared); it is never closed here.
When its receiving side is gone, the stream task ends quietly.
"""

from __future__ import annotations

import logging
import random
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio
from trio_websocket import (
    ConnectionClosed,
    HandshakeError,
    WebSocketConnection,
    wrap_client_stream,
)

from daemon.errors import DecodeError, StreamStalled, TransportError
from daemon.venues.binance.models import decode_combined

log = logging.getLogger(__name__)

#: Binance allows at most 1024 streams on one connection.
MAX_STREAMS_PER_CONNECTION = 1024
DEFAULT_QUEUE_SIZE = 1024

#: What a dropped or refused websocket connection may raise; each means "reconnect".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    HandshakeError, ConnectionClosed, OSError, trio.BrokenResourceError, TransportError,
)


@dataclass
class StreamCounters:
    """Health figures of one stream task, readable by the caller at any time."""

    messages: int = 0
    decode_errors: int = 0
    reconnects: int = 0
    connected: bool = False
    last_error: str | None = None


class Backoff:
    """Exponential backoff with "equal jitter": half the delay fixed, half random.

    The fixed half guarantees a real pause (no reconnect storms against a server
    that is down); the random half spreads clients apart.
    """

    def __init__(self, initial_s: float = 0.5, cap_s: float = 30.0,
                 rng: Callable[[], float] = random.random) -> None:
        self.initial_s = initial_s
        self.cap_s = cap_s
        self._rng = rng
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.initial_s * (2 ** self.attempt))
        self.attempt += 1
        return ceiling / 2 + self._rng() * ceiling / 2

    def reset(self) -> None:
        self.attempt = 0


class ConsumerGone(Exception):
    """The receiving side of the caller's channel was closed: stop streaming."""


def combined_stream_url(stream_url: str, streams: list[str]) -> str:
    if not streams:
        raise ValueError("at least one stream name is required")
    if len(streams) > MAX_STREAMS_PER_CONNECTION:
        raise ValueError(f"{len(streams)} streams exceed {MAX_STREAMS_PER_CONNECTION} per connection")
    return f"{stream_url.rstrip('/')}/stream?streams={'/'.join(streams)}"


@asynccontextmanager
async def open_stream_connection(url: str, *, message_queue_size: int = DEFAULT_QUEUE_SIZE,
                                 connect_timeout_s: float = 10.0, close_timeout_s: float = 2.0,
                                 ) -> AsyncIterator[WebSocketConnection]:
    """A client websocket whose TCP stream we own, and therefore always close.

    Why not ``trio_websocket.open_websocket_url``: in trio-websocket 0.12 a rejected
    handshake, or a close started by the server, leaves the client socket open
    (``aclose`` returns early once a close reason is set), and a daemon that
    reconnects for weeks must not leak a socket per reconnect.  Errors leave as the
    single exception that caused them (``ConnectionRejected``, ``ConnectionClosed``,
    ``OSError``, the caller's own), not wrapped in an exception group.
    """
    host, port, resource, secure = _split_ws_url(url)
    try:
        with trio.fail_after(connect_timeout_s):
            if secure:
                stream = await trio.open_ssl_over_tcp_stream(
                    host, port, ssl_context=ssl.create_default_context(), https_compatible=True)
            else:
                stream = await trio.open_tcp_stream(host, port)
    except trio.TooSlowError as exc:
        raise TransportError(f"connect to {host}:{port} timed out") from exc
    host_header = host if port in (80, 443) else f"{host}:{port}"
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            try:
                with trio.fail_after(connect_timeout_s):
                    ws = await wrap_client_stream(nursery, stream, host_header, resource,
                                                  message_queue_size=message_queue_size)
            except trio.TooSlowError as exc:
                raise TransportError(f"websocket handshake with {host}:{port} timed out") from exc
            try:
                yield ws
            except BaseException as exc:
                body_error = exc
                raise
            finally:
                # A polite close frame, except when cancelled: shutdown must not wait
                # on a peer; the TCP stream is closed below either way.
                if not _only_cancelled(body_error):
                    with trio.move_on_after(close_timeout_s) as closing:
                        closing.shield = True
                        await ws.aclose()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        _raise_single(group, body_error)
    finally:
        await trio.aclose_forcefully(stream)


def _split_ws_url(url: str) -> tuple[str, int, str, bool]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a ws:// or wss:// URL: {url}")
    secure = parts.scheme == "wss"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or (443 if secure else 80), resource, secure


def _raise_single(group: BaseExceptionGroup, body_error: BaseException | None) -> None:
    """Re-raise the one meaningful exception of a connection's nursery.

    The caller's own exception wins (it is why the body ended); otherwise the only
    non-Cancelled one (the reader task's).  A group of nothing but ``Cancelled`` is
    re-raised untouched so that cancellation keeps propagating.
    """
    leaves = _leaves(group)
    meaningful = [exc for exc in leaves if not isinstance(exc, trio.Cancelled)]
    chosen = None
    if body_error is not None and body_error in leaves:
        chosen = body_error
    elif len(meaningful) == 1:
        chosen = meaningful[0]
    if chosen is None:
        raise group
    context = chosen.__context__
    try:
        raise chosen
    finally:
        chosen.__context__ = context


def _only_cancelled(exc: BaseException | None) -> bool:
    """True for ``Cancelled``, or a group holding nothing else (a nursery being cancelled)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(isinstance(leaf, trio.Cancelled) for leaf in _leaves(exc))
    return isinstance(exc, trio.Cancelled)


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


async def send_or_stop(send_channel: trio.MemorySendChannel, item: object) -> None:
    """Send ``item``; translate a closed consumer into ``ConsumerGone``."""
    try:
        await send_channel.send(item)
    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
        raise ConsumerGone from exc


async def run_market_streams(stream_url: str, streams: list[str],
                             send_channel: trio.MemorySendChannel, *,
                             silence_timeout_s: float = 60.0,
                             counters: StreamCounters | None = None,
                             backoff: Backoff | None = None,
                             message_queue_size: int = DEFAULT_QUEUE_SIZE,
                             task_status: trio.TaskStatus[StreamCounters] = trio.TASK_STATUS_IGNORED,
                             ) -> None:
    """Stream ``streams`` into ``send_channel`` until cancelled (or the consumer leaves).

    ``task_status.started(counters)`` fires after the first successful connect, so
    ``counters = await nursery.start(run_market_streams, ...)`` both waits for the
    feed and hands back its health figures.
    """
    url = combined_stream_url(stream_url, streams)
    counters = counters if counters is not None else StreamCounters()
    backoff = backoff if backoff is not None else Backoff()
    started = False
    while True:
        try:
            async with open_stream_connection(url, message_queue_size=message_queue_size) as ws:
                counters.connected = True
                if started:
                    counters.reconnects += 1
                    log.info("stream.reconnected streams=%d reconnects=%d",
                             len(streams), counters.reconnects)
                else:
                    log.info("stream.connected streams=%d", len(streams))
                    started = True
                    task_status.started(counters)
                backoff.reset()
                await _pump(ws, send_channel, counters, silence_timeout_s)
        except ConsumerGone:
            log.info("stream.stopped reason=consumer_closed")
            return
        except CONNECTION_ERRORS as exc:
            counters.last_error = f"{type(exc).__name__}: {exc}"
        finally:
            counters.connected = False
        delay = backoff.next_delay()
        log.warning("stream.disconnected error=%s retry_in_s=%.2f", counters.last_error, delay)
        await trio.sleep(delay)


async def _pump(ws: WebSocketConnection, send_channel: trio.MemorySendChannel, counters: StreamCounters,
                silence_timeout_s: float) -> None:
    """Read, decode and forward frames until the connection fails or goes silent."""
    while True:
        with trio.move_on_after(silence_timeout_s) as watchdog:
            raw = await ws.get_message()
        if watchdog.cancelled_caught:
            raise StreamStalled(f"no market data for {silence_timeout_s:g} s")
        counters.messages += 1
        try:
            _, event = decode_combined(raw)
        except DecodeError as exc:
            counters.decode_errors += 1
            log.warning("stream.decode_error count=%d error=%s frame=%.200r",
                        counters.decode_errors, exc, raw)
            continue
        await send_or_stop(send_channel, event)
