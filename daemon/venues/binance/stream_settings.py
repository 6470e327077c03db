"""Knobs and health figures of the market streams, and the reconnect backoff.

Why the defaults are what they are (Binance, today's docs):

* 1024 streams per connection and 5 incoming messages per second per connection,
  pings and pongs included: control requests are paced at 4 per second;
* a connection is cut at 24 hours: we rotate at 23 h 50 min, in *exchange* time
  (``time_factor`` > 1 compresses it for the simulator);
* a stream's expected pace differs by kind: tickers, klines and partial books are
  pushed every 1-2 s whatever happens, diff depth and book tickers whenever the
  book moves, trades only when someone trades.  The stall timeouts are generous
  for the last ones: a quiet symbol must not cost a reconnect a minute.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from daemon.venues.binance.transport import TRANSPORT_NAMES, TRIO_WEBSOCKET

#: Binance allows at most 1024 streams on one connection.
MAX_STREAMS_PER_CONNECTION = 1024

#: Seconds of silence after which a subscribed stream counts as stalled, per kind
#: (``stream_ledger.stream_kind``).  A kind absent here has no watchdog.
DEFAULT_STALL_TIMEOUTS_S: Mapping[str, float] = MappingProxyType({
    "trade": 300.0,
    "aggTrade": 300.0,
    "bookTicker": 120.0,
    "depth": 60.0,
    "partialDepth": 30.0,
    "kline": 30.0,
    "miniTicker": 30.0,
    "ticker": 30.0,
})


@dataclass(frozen=True)
class StreamSettings:
    """Everything ``MarketStreams`` can be tuned with (config: ``[venue]``/``[streams]``)."""

    transport: str = TRIO_WEBSOCKET
    max_streams_per_connection: int = MAX_STREAMS_PER_CONNECTION
    control_messages_per_s: int = 4
    connection_lifetime_s: float = 23 * 3600 + 50 * 60  # exchange seconds
    time_factor: float = 1.0  # exchange seconds per real second (the simulator's)
    stall_timeouts_s: Mapping[str, float] = field(default_factory=lambda: DEFAULT_STALL_TIMEOUTS_S)
    backoff_initial_s: float = 0.5
    backoff_cap_s: float = 30.0
    buffer_frames: int = 10_000  # frames between the socket reader and the decoder
    message_queue: int = 1024  # the library's own queue (its reader answers pings)
    live_grace_s: float = 5.0  # a new connection silent this long still counts as live
    drain_timeout_s: float = 5.0  # the old connection's drain marker in a hand-over
    control_timeout_s: float = 10.0  # reply to SUBSCRIBE / UNSUBSCRIBE
    connect_timeout_s: float = 10.0
    backfill_max_events: int = 5000  # per stream and hand-over
    backfill_timeout_s: float = 15.0
    url_max_chars: int = 4000  # beyond this, streams are added with SUBSCRIBE
    subscribe_batch: int = 100  # stream names per SUBSCRIBE / UNSUBSCRIBE

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORT_NAMES:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORT_NAMES)}")
        if not 1 <= self.max_streams_per_connection <= MAX_STREAMS_PER_CONNECTION:
            raise ValueError(f"max_streams_per_connection must be 1..{MAX_STREAMS_PER_CONNECTION}")
        if not 1 <= self.control_messages_per_s <= 5:
            raise ValueError("control_messages_per_s must be 1..5 (Binance: 5 incoming per second)")
        for name in ("connection_lifetime_s", "time_factor", "backoff_initial_s", "backoff_cap_s",
                     "live_grace_s", "drain_timeout_s", "control_timeout_s", "connect_timeout_s",
                     "backfill_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("buffer_frames", "message_queue", "backfill_max_events", "subscribe_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        for kind, seconds in self.stall_timeouts_s.items():
            if not seconds > 0:
                raise ValueError(f"stall timeout of {kind!r} must be > 0")

    @property
    def lifetime_real_s(self) -> float:
        """How long (real seconds) a connection lives before it is rotated."""
        return self.connection_lifetime_s / self.time_factor

    def stall_timeout(self, kind: str) -> float | None:
        return self.stall_timeouts_s.get(kind)

    @property
    def check_interval_s(self) -> float:
        """How often the watchdog looks: a quarter of the shortest stall timeout, 50 ms..1 s."""
        shortest = min(self.stall_timeouts_s.values(), default=4.0)
        return min(1.0, max(0.05, shortest / 4))


class Backoff:
    """Exponential backoff with "equal jitter": half the delay fixed, half random.

    The fixed half guarantees a real pause (no reconnect storms against a server
    that is down, and Binance allows 300 connection attempts per 5 minutes per IP);
    the random half spreads clients apart.
    """

    def __init__(self, initial_s: float = 0.5, cap_s: float = 30.0,
                 rng: Callable[[], float] = random.random) -> None:
        self.initial_s = initial_s
        self.cap_s = cap_s
        self._rng = rng
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.initial_s * (2 ** self.attempt))
        self.attempt += 1
        return ceiling / 2 + self._rng() * ceiling / 2

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class StreamCounters:
    """Health figures of one stream task, readable by the caller at any time."""

    messages: int = 0
    decode_errors: int = 0
    reconnects: int = 0
    connected: bool = False
    last_error: str | None = None


@dataclass
class MarketStreamCounters(StreamCounters):
    """``StreamCounters`` plus what the market streams do to stay exactly-once.

    ``reconnects`` counts every replacement connection (planned rotations too);
    ``rotations`` says why, by reason (lifetime, shutdown, stall, lossy, control).
    """

    events: int = 0  # delivered to the consumer
    duplicates: int = 0  # refused by the ledger
    unwanted: int = 0  # events of streams no longer subscribed
    overflows: int = 0  # frames dropped because the consumer was far behind
    unknown_frames: int = 0
    tap_errors: int = 0  # exceptions raised by ``on_event`` (logged with their traceback)
    control_sent: int = 0
    refused: int = 0  # stream names the server refused
    stalls: int = 0
    backfilled: int = 0  # events recovered over REST
    gaps_unrecovered: int = 0  # holes REST could not (or was not allowed to) fill
    links_open: int = 0
    rotations: Counter[str] = field(default_factory=Counter)
