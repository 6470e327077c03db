"""Fault injection: the failures a real exchange inflicts, on demand, for tests.

Why a state object read by the request path (instead of faults scattered in the
endpoints): each fault is a few lines of state here and one check where requests
and frames pass (``sim.gate`` for HTTP, ``sim.ws_tap`` for websockets, the depth
streams for ``take_depth_gap``), so a fault can never leave an endpoint half
changed, and the exchange core stays fault-free.

Every control is synchronous and returns at once; the effect happens on the next
matching request or frame.  Durations (``seconds``, ``grace_s``) are real
seconds, not scaled by ``time_factor``: they are the test's own clock.

The controls (also ``POST /_sim/faults/<name>`` with the keyword arguments as a
JSON object when ``SimConfig.admin`` is on; ``GET /_sim/faults`` shows the state):

=============================  ==========================================================
``drop_connections(kind)``     close websockets abruptly (1011): "market", "user", "all"
``stall_streams(seconds, kind)``  hold every outgoing frame (queued, sent afterwards)
``delay_responses(path_prefix, seconds, count=None)``  answer matching HTTP requests late
``fail_next_orders(n, executed=True, status=500)``  500 -1000 / 503 -1001 on placements
``unknown_status_next_orders(n, executed=True)``  -1007 (HTTP 408), status unknown
``rate_limit_storm(seconds)``  every /api and /sapi request: 429 -1003 with Retry-After
``clock_skew(ms)``             server time = true time + ms (``/api/v3/time``, timestamp checks)
``depth_gap(symbol)``          the next depth event of ``symbol`` skips update ids
``duplicate_user_events(n)``   the next n user-data frames are sent twice
``reorder_user_events(n)``     the next n user-data frames swap places with their successor
``expire_listen_keys()``       every listenKey expires now (``listenKeyExpired``, then close)
``terminate_user_streams()``   every WebSocket API subscription ends (``eventStreamTerminated``)
``server_shutdown(kind, grace_s)``  ``serverShutdown`` now, close (1001) after ``grace_s``,
                               on the WebSocket API and on streams (today's docs)
``clear()``                    lift every fault (the clock skew included)
=============================  ==========================================================

"User" connections are listenKey streams and WebSocket API connections; "market"
connections are the other streams.  Order placements are the POST endpoints that
create orders (``sim.gate.ORDER_PLACEMENTS``).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import trio

log = logging.getLogger(__name__)

KINDS = ("market", "user", "all")


class TappedConnection(Protocol):
    """A websocket connection as the faults see it (``sim.ws_tap.Tap``)."""

    kind: str  # "market" | "user"
    ws_api: bool

    def drop(self) -> None:
        """End the connection abruptly (close code 1011, nothing more is sent)."""

    def cut(self, code: int, reason: str) -> None:
        """Close the connection the way the server does on purpose."""


class WsApiControl(Protocol):
    def server_shutdown(self, grace_s: float) -> int: ...

    def terminate_subscriptions(self) -> int: ...


class StreamControl(Protocol):
    """The market and listenKey streams (``sim.streams.StreamRouter``)."""

    def server_shutdown(self, grace_s: float, kind: str = "all") -> int: ...


class ExpiringKeys(Protocol):
    def expire_all(self, event_time_ms: int) -> list[str]: ...


class HasClock(Protocol):
    clock: Callable[[], int]

    def now_ms(self) -> int: ...


@dataclass(frozen=True)
class OrderFault:
    """What the next order placement suffers; ``executed``: the engine saw it first."""

    code: int
    msg: str
    status: int
    executed: bool

    def payload(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


_SERVER_ERRORS = {
    500: (-1000, "An unknown error occurred while processing the request."),
    503: (-1001, "Internal error; unable to process your request. Please try again."),
}
UNKNOWN_STATUS = (-1007, "Timeout waiting for response from backend server. "
                         "Send status unknown; execution status unknown.")
UNKNOWN_STATUS_HTTP = 408


@dataclass
class ResponseDelay:
    path_prefix: str
    seconds: float
    remaining: int | None  # None: until cleared


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def _count(name: str, n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    return n


def _duration(name: str, seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0, got {seconds!r}")
    return float(seconds)


class Faults:
    """The fault state of one simulator; see the module docstring for the controls.

    It installs itself as the exchange's clock (the exchange's own clock plus
    ``skew_ms``), so that a skew moves every server timestamp at once.
    """

    def __init__(self, exchange: HasClock, listen_keys: ExpiringKeys, *,
                 clock: Callable[[], float] = trio.current_time) -> None:
        self._exchange = exchange
        self._listen_keys = listen_keys
        self._clock = clock
        self.ws_api: WsApiControl | None = None
        self.streams: StreamControl | None = None  # set by sim.app
        self.connections: set[TappedConnection] = set()  # registered by sim.ws_tap
        self.effects: Counter[str] = Counter()  # what the faults did, for assertions
        self.skew_ms = 0
        self._true_clock = exchange.clock
        exchange.clock = self._skewed_ms
        self._reset_state()

    def _reset_state(self) -> None:
        self._stalled_until = dict.fromkeys(("market", "user"), 0.0)
        self._delays: list[ResponseDelay] = []
        self._order_faults: deque[OrderFault] = deque()
        self._storm_until = 0.0
        self._depth_gaps: set[str] = set()
        self._duplicates = 0
        self._reorders = 0

    def _skewed_ms(self) -> int:
        return self._true_clock() + self.skew_ms

    # ---------------------------------------------------------------- controls

    def drop_connections(self, kind: str = "all") -> int:
        chosen = self._chosen(_kind(kind))
        for connection in chosen:
            connection.drop()
        self._injected("drop_connections", kind=kind, connections=len(chosen))
        return len(chosen)

    def stall_streams(self, seconds: float, kind: str = "all") -> None:
        until = self._clock() + _duration("seconds", seconds)
        for name in (("market", "user") if _kind(kind) == "all" else (kind,)):
            self._stalled_until[name] = max(self._stalled_until[name], until)
        self._injected("stall_streams", kind=kind, seconds=seconds)

    def delay_responses(self, path_prefix: str, seconds: float, count: int | None = None) -> None:
        if not isinstance(path_prefix, str) or not path_prefix.startswith("/"):
            raise ValueError(f"path_prefix must start with '/', got {path_prefix!r}")
        delay = ResponseDelay(path_prefix, _duration("seconds", seconds),
                              None if count is None else _count("count", count))
        self._delays.append(delay)
        self._injected("delay_responses", path_prefix=path_prefix, seconds=seconds, count=count)

    def fail_next_orders(self, n: int, executed: bool = True, status: int = 500) -> None:
        if status not in _SERVER_ERRORS:
            raise ValueError(f"status must be one of {sorted(_SERVER_ERRORS)}, got {status!r}")
        code, msg = _SERVER_ERRORS[status]
        self._order_faults.extend([OrderFault(code, msg, status, bool(executed))] * _count("n", n))
        self._injected("fail_next_orders", n=n, executed=executed, status=status)

    def unknown_status_next_orders(self, n: int, executed: bool = True) -> None:
        code, msg = UNKNOWN_STATUS
        fault = OrderFault(code, msg, UNKNOWN_STATUS_HTTP, bool(executed))
        self._order_faults.extend([fault] * _count("n", n))
        self._injected("unknown_status_next_orders", n=n, executed=executed)

    def rate_limit_storm(self, seconds: float) -> None:
        self._storm_until = max(self._storm_until, self._clock() + _duration("seconds", seconds))
        self._injected("rate_limit_storm", seconds=seconds)

    def clock_skew(self, ms: int) -> None:
        if not isinstance(ms, int) or isinstance(ms, bool):
            raise ValueError(f"ms must be an integer, got {ms!r}")
        self.skew_ms = ms
        self._injected("clock_skew", ms=ms)

    def depth_gap(self, symbol: str) -> None:
        if not isinstance(symbol, str) or not symbol:
            raise ValueError(f"symbol must be a symbol name, got {symbol!r}")
        self._depth_gaps.add(symbol.upper())
        self._injected("depth_gap", symbol=symbol)

    def duplicate_user_events(self, n: int) -> None:
        self._duplicates += _count("n", n)
        self._injected("duplicate_user_events", n=n)

    def reorder_user_events(self, n: int) -> None:
        self._reorders += _count("n", n)
        self._injected("reorder_user_events", n=n)

    def expire_listen_keys(self) -> int:
        expired = self._listen_keys.expire_all(self._exchange.now_ms())
        self._injected("expire_listen_keys", keys=len(expired))
        return len(expired)

    def terminate_user_streams(self) -> int:
        ended = self.ws_api.terminate_subscriptions() if self.ws_api is not None else 0
        self._injected("terminate_user_streams", subscriptions=ended)
        return ended

    def server_shutdown(self, kind: str = "all", grace_s: float = 1.0) -> int:
        """``serverShutdown`` now, close (1001) after ``grace_s``: WebSocket API and streams."""
        _kind(kind)
        grace = _duration("grace_s", grace_s)
        affected = 0
        if kind in ("user", "all") and self.ws_api is not None:
            affected += self.ws_api.server_shutdown(grace)
        if self.streams is not None:
            affected += self.streams.server_shutdown(grace, kind)
        self._injected("server_shutdown", kind=kind, grace_s=grace_s, connections=affected)
        return affected

    def clear(self) -> None:
        self._reset_state()
        self.skew_ms = 0
        log.info("fault.cleared")

    def status(self) -> dict[str, object]:
        """The faults in force, JSON-ready (``GET /_sim/faults``)."""
        now = self._clock()
        return {
            "stalled_s": {kind: round(max(0.0, until - now), 3)
                          for kind, until in self._stalled_until.items()},
            "delays": [{"path_prefix": d.path_prefix, "seconds": d.seconds, "remaining": d.remaining}
                       for d in self._delays],
            "order_faults": [{"code": f.code, "status": f.status, "executed": f.executed}
                             for f in self._order_faults],
            "storm_s": round(self.storm_remaining_s(), 3),
            "clock_skew_ms": self.skew_ms,
            "depth_gaps": sorted(self._depth_gaps),
            "duplicate_user_events": self._duplicates,
            "reorder_user_events": self._reorders,
            "connections": {kind: len(self._chosen(kind)) for kind in KINDS},
            "effects": dict(self.effects),
        }

    # ------------------------------------------------------- read by the paths

    async def stream_gate(self, kind: str) -> None:
        """Wait while the streams of ``kind`` are stalled (a frame about to be sent)."""
        while (until := self._stalled_until[kind]) > self._clock():
            await trio.sleep_until(until)

    def take_order_fault(self) -> OrderFault | None:
        if not self._order_faults:
            return None
        self.effects["order_faults"] += 1
        return self._order_faults.popleft()

    def take_response_delay(self, path: str) -> float:
        """Seconds to hold the answer to ``path`` (the longest matching delay)."""
        longest = 0.0
        for delay in list(self._delays):
            if path.startswith(delay.path_prefix):
                longest = max(longest, delay.seconds)
                if delay.remaining is not None:
                    delay.remaining -= 1
                    if delay.remaining <= 0:
                        self._delays.remove(delay)
        if longest:
            self.effects["delayed_responses"] += 1
        return longest

    def storm_remaining_s(self) -> float:
        return max(0.0, self._storm_until - self._clock())

    def take_depth_gap(self, symbol: str) -> bool:
        """True once after ``depth_gap(symbol)``: the depth stream skips update ids now."""
        if symbol.upper() in self._depth_gaps:
            self._depth_gaps.discard(symbol.upper())
            self.effects["depth_gaps"] += 1
            return True
        return False

    def take_duplicate(self) -> bool:
        if self._duplicates:
            self._duplicates -= 1
            self.effects["duplicated_user_events"] += 1
            return True
        return False

    def take_reorder(self) -> bool:
        if self._reorders:
            self._reorders -= 1
            self.effects["reordered_user_events"] += 1
            return True
        return False

    @property
    def user_frames_pending(self) -> bool:
        """Is any duplicate or reorder waiting (only then are frames inspected)?"""
        return bool(self._duplicates or self._reorders)

    # ---------------------------------------------------------------- internals

    def _chosen(self, kind: str) -> list[TappedConnection]:
        return [c for c in self.connections if kind == "all" or c.kind == kind]

    def _injected(self, name: str, **params: object) -> None:
        detail = " ".join(f"{key}={value}" for key, value in params.items())
        log.info("fault.injected name=%s %s", name, detail)
