"""Which user-data flavour to run, and one entry point for both.

Why "ws-api" is the default everywhere: Binance retired the listenKey stream for
Spot on 2026-02-20 (``POST /api/v3/userDataStream`` no longer works there), so a
daemon pointed at ``binance`` or ``binance-testnet`` must use the WebSocket API.
The simulator serves both; it defaults to the WebSocket API too, so the default
path tested on a laptop is the one that runs against the exchange.  The seed's
listenKey flavour stays available (``[venue] user_stream = "listenkey"``) for the
simulator and for exchanges that still speak it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from daemon.errors import ConfigError
from daemon.venues.binance.streams import Backoff
from daemon.venues.binance.userdata import OnConnected, UserStreamCounters, run_user_stream
from daemon.venues.binance.userdata_wsapi import run_ws_api_user_stream

if TYPE_CHECKING:
    from daemon.venues.binance.rest import BinanceRest

LISTEN_KEY = "listenkey"
WS_API = "ws-api"
FLAVOURS = (LISTEN_KEY, WS_API)
_VENUE_KINDS = ("sim", "binance", "binance-testnet")


def user_stream_flavour(kind: str, user_stream: str = "auto") -> str:
    """``[venue] kind`` and ``user_stream`` ("auto" | "listenkey" | "ws-api") -> a flavour."""
    if kind not in _VENUE_KINDS:
        raise ConfigError(f"unknown venue kind {kind!r}", path="venue.kind")
    if user_stream in FLAVOURS:
        return user_stream
    if user_stream != "auto":
        raise ConfigError(f"must be one of auto, {', '.join(FLAVOURS)}", path="venue.user_stream")
    return WS_API  # binance, binance-testnet and sim alike (see the module docstring)


async def run_account_stream(flavour: str, rest: BinanceRest, *, stream_url: str, ws_api_url: str,
                             send_channel: trio.MemorySendChannel, on_connected: OnConnected,
                             keepalive_s: float = 1800.0, heartbeat_s: float | None = 30.0,
                             backoff: Backoff | None = None, handover_grace_s: float = 1.0,
                             task_status: trio.TaskStatus[UserStreamCounters]
                             = trio.TASK_STATUS_IGNORED) -> None:
    """Run the user-data stream of ``flavour``; ``task_status.started(counters)`` once live.

    Both flavours send ``(event, raw_event_bytes)`` into ``send_channel`` and await
    ``on_connected()`` after every (re)connection before forwarding its events.
    """
    if flavour == LISTEN_KEY:
        await run_user_stream(rest, stream_url, send_channel, on_connected,
                              keepalive_s=keepalive_s, heartbeat_s=heartbeat_s, backoff=backoff,
                              task_status=task_status)
    elif flavour == WS_API:
        await run_ws_api_user_stream(rest, ws_api_url, send_channel, on_connected,
                                     heartbeat_s=heartbeat_s, backoff=backoff,
                                     handover_grace_s=handover_grace_s, task_status=task_status)
    else:
        raise ConfigError(f"unknown user-data flavour {flavour!r}", path="venue.user_stream")
