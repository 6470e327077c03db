"""The market clock: exchange time sped up by ``time_factor`` for the slow clocks.

Why a second clock: server time (``/api/v3/time``, trade times) must stay wall
time, since signed requests are checked against it; but a test cannot wait a
minute for a ``1m`` kline to close, or a day for the 24-hour ticker window to
roll.  Kline and ticker times therefore run on ``origin + (wall - origin) *
time_factor``: identical to wall time at the default factor 1, and starting at
the same instant whatever the factor.
"""

from __future__ import annotations


class MarketClock:
    def __init__(self, time_factor: float, origin_ms: int) -> None:
        if time_factor <= 0:
            raise ValueError(f"time_factor must be > 0, got {time_factor}")
        self.time_factor = time_factor
        self.origin_ms = origin_ms

    def at(self, wall_ms: int) -> int:
        """Market time (ms) of a wall-clock instant (ms)."""
        if self.time_factor == 1:
            return wall_ms
        return self.origin_ms + int((wall_ms - self.origin_ms) * self.time_factor)

    def real_seconds(self, market_ms: float) -> float:
        """How many real seconds a market duration lasts."""
        return market_ms / 1000 / self.time_factor
