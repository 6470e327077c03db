"""A market-stream server going away the way today's Binance announces it.

Why a module of its own: ``sim.faults.server_shutdown`` closes market streams at
once (1001), as the 24-hour cut does, while today's docs say a ``serverShutdown``
event comes first ("Please establish a new connection as soon as possible") and
the disconnection follows.  A client that acts on the notice can hand its streams
over to a new connection before the old one closes; this is the fault that tests
it: notice to every market connection now, close after ``grace_s`` real seconds.
"""

from __future__ import annotations

import logging
import time

import trio

from sim.stream_limits import GOING_AWAY
from sim.streams import StreamRouter

log = logging.getLogger(__name__)


async def announce_market_shutdown(router: StreamRouter, grace_s: float = 1.0) -> int:
    """``serverShutdown`` to the market connections open now; close them after ``grace_s``.

    Returns how many connections were told.  Connections opened during the grace
    period stand in for the replacement servers and are left alone.
    """
    if grace_s < 0:
        raise ValueError(f"grace_s must be >= 0, got {grace_s!r}")
    targets = [c for c in router.connections if not c.lossless]
    now_ms = time.time_ns() // 1_000_000
    for connection in targets:
        connection.notify_shutdown(now_ms)
    log.info("fault.injected name=market_server_shutdown connections=%d grace_s=%s",
             len(targets), grace_s)
    await trio.sleep(grace_s)
    for connection in targets:
        connection.finish("server shutdown", code=GOING_AWAY)
    return len(targets)
