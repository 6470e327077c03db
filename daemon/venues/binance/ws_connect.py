"""A trio-websocket client connection whose TCP stream we own, and therefore always close.

Why not ``trio_websocket.open_websocket_url``: in trio-websocket 0.12 a rejected
handshake, or a close started by the server, leaves the client socket open
(``aclose`` returns early once a close reason is set), and a daemon that
reconnects for weeks must not leak a socket per reconnect.  This module is the
trio-websocket half of the transport seam (``daemon.venues.binance.transport``);
the listenKey user stream uses it directly.
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from trio_websocket import WebSocketConnection, wrap_client_stream

from daemon.errors import TransportError

DEFAULT_QUEUE_SIZE = 1024
#: trio-websocket refuses bigger messages (default 1 MiB); ``!ticker@arr`` with every
#: symbol of the exchange is larger than that.
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@asynccontextmanager
async def open_stream_connection(url: str, *, message_queue_size: int = DEFAULT_QUEUE_SIZE,
                                 connect_timeout_s: float = 10.0, close_timeout_s: float = 2.0,
                                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                                 ) -> AsyncIterator[WebSocketConnection]:
    """Connect to ``url`` (ws:// or wss://) and yield the websocket.

    Errors leave as the single exception that caused them (``ConnectionRejected``,
    ``ConnectionClosed``, ``OSError``, ``TransportError`` for timeouts, the caller's
    own), not wrapped in an exception group.
    """
    host, port, resource, secure = split_ws_url(url)
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
                                                  message_queue_size=message_queue_size,
                                                  max_message_size=max_message_bytes)
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
                if not only_cancelled(body_error):
                    with trio.move_on_after(close_timeout_s) as closing:
                        closing.shield = True
                        await ws.aclose()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise_single(group, body_error)
    finally:
        await trio.aclose_forcefully(stream)


def split_ws_url(url: str) -> tuple[str, int, str, bool]:
    """(host, port, resource with query, secure) of a ws:// or wss:// URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a ws:// or wss:// URL: {url}")
    secure = parts.scheme == "wss"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or (443 if secure else 80), resource, secure


def raise_single(group: BaseExceptionGroup, body_error: BaseException | None) -> None:
    """Re-raise the one meaningful exception of a connection's nursery.

    The caller's own exception wins (it is why the body ended); otherwise the only
    non-Cancelled one (the reader task's).  A group of nothing but ``Cancelled`` is
    re-raised untouched so that cancellation keeps propagating.
    """
    found = leaves(group)
    meaningful = [exc for exc in found if not isinstance(exc, trio.Cancelled)]
    chosen = None
    if body_error is not None and body_error in found:
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


def only_cancelled(exc: BaseException | None) -> bool:
    """True for ``Cancelled``, or a group holding nothing else (a nursery being cancelled)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(isinstance(leaf, trio.Cancelled) for leaf in leaves(exc))
    return isinstance(exc, trio.Cancelled)


def leaves(group: BaseExceptionGroup) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found
