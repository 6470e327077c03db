"""The websocket transport seam: the market-stream code talks to this, not to a library.

Why a seam: the two trio websocket clients differ in speed (measured here: about
30 µs of CPU per small message for trio-websocket, 11 µs for ``websockets.trio``)
and in their failure modes (trio-websocket 0.12 leaks the client socket when the
server closes; see ``ws_connect``).  The stream code needs only three things of a
connection, so either library fits behind them and both face the same tests:

* ``receive()`` the next message (``str`` or ``bytes``), or raise ``TransportError``
  once the connection is over (closed by either side, reset, refused);
* ``send(text)`` one text message (control requests), or raise ``TransportError``;
* ``close()``: a polite close frame, bounded in time, idempotent, callable from any
  task (the task blocked in ``receive()`` then gets its ``TransportError``).

Ping/pong is the library's business: both answer the server's pings from their
own reader task, and both stop doing so while their message queue is full, which
is why the caller must keep draining ``receive()`` (``stream_link`` reads into a
bounded channel of its own) and why the queue is sized here.

``transport.connect(url)`` is an async context manager: a trio connection needs
a nursery for its reader task, and leaving the block always releases the socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection

from daemon.errors import ConfigError, TransportError
from daemon.venues.binance.ws_connect import DEFAULT_MAX_MESSAGE_BYTES, open_stream_connection

TRIO_WEBSOCKET = "trio-websocket"
WEBSOCKETS = "websockets"
TRANSPORT_NAMES = (TRIO_WEBSOCKET, WEBSOCKETS)


class WsConnection(Protocol):
    """One open websocket (see the module docstring for the contract)."""

    async def receive(self) -> str | bytes: ...

    async def send(self, text: str) -> None: ...

    async def close(self) -> None: ...


class WsTransport(Protocol):
    name: str

    def connect(self, url: str) -> AbstractAsyncContextManager[WsConnection]: ...


@dataclass(frozen=True)
class TransportOptions:
    """Knobs both libraries share.

    ``message_queue`` is the library's own queue of received messages: its reader
    (which also answers pings) stops once the queue is full, so it must absorb a
    burst while our reader task is briefly not scheduled.
    """

    message_queue: int = 1024
    connect_timeout_s: float = 10.0
    close_timeout_s: float = 2.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES


class _TrioWebsocketConnection:
    def __init__(self, ws: WebSocketConnection, close_timeout_s: float) -> None:
        self._ws = ws
        self._close_timeout_s = close_timeout_s

    async def receive(self) -> str | bytes:
        try:
            return await self._ws.get_message()
        except ConnectionClosed as exc:
            raise TransportError(f"websocket closed: {_reason(exc.reason)}") from exc
        except (OSError, trio.BrokenResourceError) as exc:
            raise TransportError(f"websocket read failed: {exc!r}") from exc

    async def send(self, text: str) -> None:
        try:
            await self._ws.send_message(text)
        except ConnectionClosed as exc:
            raise TransportError(f"websocket closed: {_reason(exc.reason)}") from exc
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TransportError(f"websocket write failed: {exc!r}") from exc

    async def close(self) -> None:
        with trio.move_on_after(self._close_timeout_s):
            await self._ws.aclose()


def _reason(reason: object) -> str:
    if reason is None:
        return "no close frame"
    code = getattr(reason, "code", None)
    text = getattr(reason, "reason", None)
    return f"code={code} reason={text or '-'}"


class TrioWebsocketTransport:
    """trio-websocket through ``ws_connect.open_stream_connection`` (socket-owning)."""

    name = TRIO_WEBSOCKET

    def __init__(self, options: TransportOptions | None = None) -> None:
        self.options = options or TransportOptions()

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[WsConnection]:
        options = self.options
        try:
            async with open_stream_connection(
                    url, message_queue_size=options.message_queue,
                    connect_timeout_s=options.connect_timeout_s,
                    close_timeout_s=options.close_timeout_s,
                    max_message_bytes=options.max_message_bytes) as ws:
                yield _TrioWebsocketConnection(ws, options.close_timeout_s)
        except (HandshakeError, ConnectionClosed, OSError, trio.BrokenResourceError) as exc:
            # Failures of the connection itself (refused, rejected handshake, the
            # library's reader task failing) all mean "reconnect": one type says so.
            raise TransportError(f"{TRIO_WEBSOCKET} {url_for_log(url)}: {exc!r}") from exc


def url_for_log(url: str) -> str:
    """A URL shortened for logs: a combined-stream query can hold 1024 names."""
    return url if len(url) <= 120 else f"{url[:100]}...({len(url)} chars)"


def make_transport(name: str, options: TransportOptions | None = None) -> WsTransport:
    """The transport called ``name`` (``[venue] ws_transport``)."""
    factories: dict[str, Callable[[TransportOptions | None], WsTransport]] = {
        TRIO_WEBSOCKET: TrioWebsocketTransport,
        WEBSOCKETS: _websockets_transport,
    }
    factory = factories.get(name)
    if factory is None:
        raise ConfigError(f"unknown websocket transport {name!r}; one of {', '.join(TRANSPORT_NAMES)}",
                          path="venue.ws_transport")
    return factory(options)


def _websockets_transport(options: TransportOptions | None) -> WsTransport:
    from daemon.venues.binance.transport_websockets import WebsocketsTransport

    return WebsocketsTransport(options)
