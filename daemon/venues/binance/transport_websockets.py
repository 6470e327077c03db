"""The ``websockets`` package's trio client behind the transport seam.

Why offer it: measured here, ``websockets.trio`` spends about a third of
trio-websocket's CPU per message, and it closes its TCP stream itself whenever
the connection ends (no socket-owning wrapper needed).  Its defaults do not
suit a market feed, so they are set explicitly:

* ``ping_interval=None``: the server pings us (every 20 s today) and the library
  answers; our own pings would count against Binance's 5 incoming messages per
  second per connection, and silence is caught by the stream watchdogs instead;
* ``max_queue``: the library pauses reading (and so stops answering pings) once
  this many messages wait; it is the same ``message_queue`` trio-websocket gets;
* ``max_size``: ``!ticker@arr`` exceeds the 1 MiB default.

Messages come back as ``bytes`` (``recv(decode=False)``): msgspec decodes bytes
directly, and skipping the UTF-8 decode is free speed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.trio.client import ClientConnection, connect

from daemon.errors import TransportError
from daemon.venues.binance.transport import WEBSOCKETS, TransportOptions, WsConnection, url_for_log

#: What opening a connection may raise besides ``ConnectionClosed``.
_OPEN_ERRORS = (InvalidHandshake, InvalidURI, OSError, TimeoutError, trio.BrokenResourceError)


class _WebsocketsConnection:
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    async def receive(self) -> str | bytes:
        try:
            return await self._ws.recv(decode=False)
        except ConnectionClosed as exc:
            raise TransportError(f"websocket closed: {_reason(exc)}") from exc

    async def send(self, text: str) -> None:
        try:
            await self._ws.send(text)
        except ConnectionClosed as exc:
            raise TransportError(f"websocket closed: {_reason(exc)}") from exc

    async def close(self) -> None:
        # Bounded by the connection's close_timeout; closes the TCP stream itself.
        await self._ws.aclose()


def _reason(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    if frame is None:
        return "no close frame"
    return f"code={frame.code} reason={frame.reason or '-'}"


class WebsocketsTransport:
    name = WEBSOCKETS

    def __init__(self, options: TransportOptions | None = None) -> None:
        self.options = options or TransportOptions()

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[WsConnection]:
        options = self.options
        client = connect(url, open_timeout=options.connect_timeout_s, ping_interval=None,
                         close_timeout=options.close_timeout_s, max_queue=options.message_queue,
                         max_size=options.max_message_bytes)
        try:
            ws = await client.__aenter__()
        except (ConnectionClosed, *_OPEN_ERRORS) as exc:
            raise TransportError(f"{WEBSOCKETS} {url_for_log(url)}: {exc!r}") from exc
        try:
            yield _WebsocketsConnection(ws)
        except BaseException as exc:
            await _exit(client, exc)
            raise
        else:
            await _exit(client, None)


async def _exit(client: connect, error: BaseException | None) -> None:
    """Leave the library's context (close handshake, then its nursery) as the body did."""
    try:
        if error is None:
            await client.__aexit__(None, None, None)
        else:
            await client.__aexit__(type(error), error, error.__traceback__)
    except ConnectionClosed as exc:
        if error is None:
            raise TransportError(f"websocket closed: {_reason(exc)}") from exc
