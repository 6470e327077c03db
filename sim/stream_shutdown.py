"""A market-stream server going away the way today's Binance announces it, awaited.

Today's docs say a ``serverShutdown`` event comes first ("Please establish a new
connection as soon as possible") and the disconnection follows.  A client that
acts on the notice can hand its streams over to a new connection before the old
one closes.  The one implementation is ``StreamRouter.server_shutdown`` (also
behind the ``server_shutdown`` fault of ``sim.faults``); this is its awaitable
form for tests that want to continue once the grace period is over.
"""

from __future__ import annotations

import logging

import trio

from sim.streams import StreamRouter

log = logging.getLogger(__name__)


async def announce_market_shutdown(router: StreamRouter, grace_s: float = 1.0) -> int:
    """``serverShutdown`` to the market connections open now; return after ``grace_s``,
    when they close (1001).  Returns how many connections were told.

    Connections opened during the grace period stand in for the replacement
    servers and are left alone.
    """
    if grace_s < 0:
        raise ValueError(f"grace_s must be >= 0, got {grace_s!r}")
    told = router.server_shutdown(grace_s, kind="market")
    log.info("fault.injected name=market_server_shutdown connections=%d grace_s=%s",
             told, grace_s)
    await trio.sleep(grace_s)
    return told
