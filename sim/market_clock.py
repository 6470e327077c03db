"""The market clock: exchange time sped up by ``time_factor`` for the slow clocks.

Why a second clock: server time (``/api/v3/time``, trade times) must stay wall
time, since signed requests are checked against it; but a test cannot wait a
minute for a ``1m`` kline to close, or a day for the 24-hour ticker window to
roll.  Kline and ticker times therefore run on ``origin + (wall - origin) *
time_factor``: identical to wall time at the default factor 1, and starting at
the same instant whatever the factor.

One clock for every view of klines and 24-hour statistics: DESIGN.md's "Time in
tests" puts kline intervals among the exchange's slow clocks that ``time_factor``
speeds up, so a kline is a span of *market* time wherever it is shown.  The
``Exchange`` owns the one ``MarketClock`` (``exchange.market_clock``, origin =
its creation); the streams (``sim.market_feed``) and REST ``klines`` /
``ticker/24hr`` (``sim.market_data``) all read it.  Trades keep their wall time
(``T``, server time); a view maps it with ``at`` and finds the trades of a
market span with ``wall_at``, so a closed kline from the stream equals the REST
kline of the same open time at any factor.
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

    def wall_at(self, market_ms: int) -> int:
        """The first wall instant (ms) whose market time is at or after ``market_ms``.

        The trades of a market span ``[a, b)`` are those with wall time in
        ``[wall_at(a), wall_at(b))``: the inverse of ``at``, exact despite its
        rounding (``at`` is monotonic; the estimate is corrected by a step or two).
        """
        if self.time_factor == 1:
            return market_ms
        wall = self.origin_ms + int((market_ms - self.origin_ms) / self.time_factor)
        while self.at(wall) >= market_ms:
            wall -= 1
        while self.at(wall) < market_ms:
            wall += 1
        return wall

    def real_seconds(self, market_ms: float) -> float:
        """How many real seconds a market duration lasts."""
        return market_ms / 1000 / self.time_factor
