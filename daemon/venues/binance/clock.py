"""Server-time offset, so signed timestamps land inside the exchange's recvWindow.

Binance rejects a signed request (-1021) whose ``timestamp`` is more than 1000 ms
ahead of its clock or older than ``recvWindow``.  A host clock a second or two off
(common on VMs) would make every order fail, so we measure the offset and sign
with ``local time + offset``.

Why the midpoint: the server stamped ``serverTime`` somewhere between our send
and our receive.  Assuming symmetric network legs, it was stamped at the midpoint
of the round trip, so ``offset = serverTime - (sent + received) / 2`` with an error
of at most half the RTT.  Of several samples, the one with the smallest RTT has the
tightest bound, which is why ``ServerClock.best_of`` keeps that one.

Why resync periodically (``run_clock_resync``, default every 10 minutes): host
clocks drift (NTP steps, a VM resumed from suspend), and waiting for the first
-1021 to notice means one refused order per drift.  The -1021 path in ``rest.py``
stays as the safety net for jumps between two periodic syncs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from daemon.errors import TradingdError

log = logging.getLogger(__name__)


def wall_ms() -> int:
    """Local wall-clock time in integer milliseconds (the exchange's unit)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class OffsetSample:
    """One ``GET /api/v3/time`` round trip."""

    sent_ms: int
    server_ms: int
    received_ms: int

    @property
    def rtt_ms(self) -> int:
        return self.received_ms - self.sent_ms

    @property
    def offset_ms(self) -> int:
        """Server minus local at the round trip's midpoint (rounded to whole ms)."""
        return round(self.server_ms - (self.sent_ms + self.received_ms) / 2)


class ServerClock:
    """Holds the measured offset and turns local time into exchange time.

    ``now_ms()`` is what signed requests use as ``timestamp``.  Before the first
    measurement the offset is zero (trust the host clock).
    """

    def __init__(self, wall: Callable[[], int] = wall_ms) -> None:
        self._wall = wall
        self.offset_ms: int = 0
        self.rtt_ms: int | None = None
        self.synced_at_ms: int | None = None

    def local_ms(self) -> int:
        return self._wall()

    def now_ms(self) -> int:
        """Best estimate of the exchange's current time in milliseconds."""
        return self._wall() + self.offset_ms

    def apply(self, sample: OffsetSample) -> None:
        """Adopt ``sample`` as the current offset."""
        previous = self.offset_ms
        self.offset_ms = sample.offset_ms
        self.rtt_ms = sample.rtt_ms
        self.synced_at_ms = sample.received_ms
        log.info("clock.synced offset_ms=%d rtt_ms=%d change_ms=%d",
                 self.offset_ms, sample.rtt_ms, self.offset_ms - previous)

    @staticmethod
    def best_of(samples: list[OffsetSample]) -> OffsetSample:
        """The sample with the smallest round trip (the tightest error bound)."""
        if not samples:
            raise ValueError("no clock samples")
        return min(samples, key=lambda s: s.rtt_ms)


async def run_clock_resync(sync: Callable[[], Awaitable[int]], interval_s: float = 600.0, *,
                           retry_s: float = 30.0,
                           task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Call ``sync`` (e.g. ``BinanceRest.sync_clock``) every ``interval_s`` until cancelled.

    A failed sync (network, rate governor refusal, exchange error) is logged and
    retried after ``retry_s`` (at most ``interval_s``): the old offset stays in
    use meanwhile, which is still the best estimate there is.
    """
    if interval_s <= 0:
        raise ValueError(f"clock resync interval must be > 0, got {interval_s}")
    task_status.started()
    delay = interval_s
    while True:
        await trio.sleep(delay)
        try:
            offset = await sync()
        except TradingdError as exc:
            delay = min(retry_s, interval_s)
            log.warning("clock.resync_failed error=%s retry_in_s=%.0f", exc, delay)
            continue
        delay = interval_s
        log.debug("clock.resynced offset_ms=%d next_in_s=%.0f", offset, delay)
