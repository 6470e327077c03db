"""The limits a stream connection lives under (today's "WebSocket Limits" and keepalive).

* the server pings every ``ping_interval_s`` (20 s) and closes a connection whose
  pong has not come back within ``pong_timeout_s`` (a minute);
* at most ``max_incoming_per_s`` messages per second from the client (5): text
  and binary frames, PINGs and PONGs all count; one more closes the connection;
* at most ``max_streams`` streams per connection (1024);
* a connection lives ``lifetime_s`` (24 hours, divided by ``time_factor``: it is
  one of the exchange's slow clocks), then the server closes it.

The keepalive and the message limit stay in real seconds whatever the time
factor: they are about the client's own timers and network, not the market.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import trio

DAY_S = 86_400.0
# Close codes: 1008 (policy violation) for a broken rule, 1001 (going away) when
# the server ends a connection on its own schedule.
POLICY_VIOLATION = 1008
GOING_AWAY = 1001


@dataclass(frozen=True)
class StreamLimits:
    ping_interval_s: float | None = 20.0
    pong_timeout_s: float = 60.0
    max_incoming_per_s: int = 5
    max_streams: int = 1024
    lifetime_s: float | None = DAY_S

    def __post_init__(self) -> None:
        if self.ping_interval_s is not None and self.ping_interval_s <= 0:
            raise ValueError("stream ping interval must be > 0 (or None: no pings)")
        if self.pong_timeout_s <= 0:
            raise ValueError("stream pong timeout must be > 0")
        if self.max_incoming_per_s < 1 or self.max_streams < 1:
            raise ValueError("stream message and stream limits must be >= 1")
        if self.lifetime_s is not None and self.lifetime_s <= 0:
            raise ValueError("stream lifetime must be > 0 (or None: unlimited)")

    @property
    def watch_interval_s(self) -> float:
        """How often a connection checks its pong deadline (1/10 of the timeout, <= 1 s)."""
        return min(1.0, self.pong_timeout_s / 10)


class IncomingRate:
    """Counts a client's messages over the last second (a sliding window)."""

    def __init__(self, limit: int, clock: Callable[[], float] = trio.current_time) -> None:
        self.limit = limit
        self.clock = clock
        self._times: deque[float] = deque()

    def allow(self) -> bool:
        """Count one message; False when it is one too many for the past second."""
        now = self.clock()
        times = self._times
        while times and times[0] <= now - 1.0:
            times.popleft()
        times.append(now)
        return len(times) <= self.limit
