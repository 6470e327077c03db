"""The exchange's ORDERS rate limits, counted locally so an order over the limit is never sent.

Why count locally: an order refused with 429 still costs a request, and
repeated 429s get the IP banned (418).  exchangeInfo publishes the limits
(``rateLimits`` entries of type ``ORDERS``, e.g. 50 per 10 seconds and
160,000 per day); the exchange reports its own count in the
``X-MBX-ORDER-COUNT-10S`` / ``-1D`` headers of every order response, and
``observe`` folds those in so orders placed by other clients of the same
account are counted too.

The count is a sliding window of small buckets (``BUCKETS`` per window), and
the oldest bucket counts in full until it has left the window entirely.  That
is never below the exchange's own count, whatever its window alignment; the
price is refusing, near the limit, an order the exchange might still have
taken for a fraction of a bucket.  ``observe`` only ever raises the count
(the exchange's number may not include orders still on their way), so the
budget errs on the side of not sending.

Time is wall-clock seconds (``time.time()``): the exchange's windows are in
its time.  An OCO counts as two orders (the seed: "OCO counts as 2 orders
against the order rate limit").
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from daemon.orders import RejectCode, Rejection

__all__ = ["BUCKETS", "OrderRateBudget", "OrderWindow"]

#: Buckets per window: the resolution of the sliding count.
BUCKETS = 50

_INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
_LETTER = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}


@dataclass(slots=True)
class OrderWindow:
    """One ORDERS limit: at most ``limit`` orders in any ``seconds``-long window."""

    interval: str  # as exchangeInfo spells it: SECOND, MINUTE, HOUR, DAY
    interval_num: int
    limit: int
    seconds: float = 0.0
    _buckets: deque[tuple[int, int]] = field(default_factory=deque)  # (bucket index, orders)
    _width: float = 0.0
    _total: int = 0  # sum of the buckets' orders, kept as they come and go

    def __post_init__(self) -> None:
        self.seconds = float(_INTERVAL_SECONDS[self.interval] * self.interval_num)
        self._width = self.seconds / BUCKETS

    @property
    def label(self) -> str:
        """The header suffix the exchange uses for this window: ``10S``, ``1D``."""
        return f"{self.interval_num}{_LETTER[self.interval]}"

    def _index(self, now_s: float) -> int:
        return math.floor(now_s / self._width)

    def used(self, now_s: float) -> int:
        """Orders counted in the window ending at ``now_s`` (expired buckets dropped)."""
        oldest = self._index(now_s) - BUCKETS
        buckets = self._buckets
        while buckets and buckets[0][0] < oldest:
            self._total -= buckets.popleft()[1]
        return self._total

    def add(self, now_s: float, count: int) -> None:
        index = self._index(now_s)
        if self._buckets and self._buckets[-1][0] == index:
            self._buckets[-1] = (index, self._buckets[-1][1] + count)
        else:
            self._buckets.append((index, count))
        self._total += count

    def adopt(self, other: OrderWindow) -> None:
        """Take over ``other``'s counted orders (a window of the same length, new limit)."""
        self._buckets, self._total = other._buckets, other._total

    def retry_after(self, now_s: float, needed: int) -> float:
        """Seconds until ``needed`` more orders fit (at least one bucket's width)."""
        total = self.used(now_s)
        for index, count in self._buckets:
            total -= count
            if total + needed <= self.limit:
                return max((index + BUCKETS + 1) * self._width - now_s, 0.0)
        return self.seconds


def _field(item: object, wire: str, attr: str) -> object:
    """A rateLimits field from a decoded struct (``interval_num``) or a raw dict (``intervalNum``)."""
    return item.get(wire) if isinstance(item, dict) else getattr(item, attr, None)


class OrderRateBudget:
    """Every ORDERS window of the exchange; ``try_acquire`` before each order is sent."""

    def __init__(self, windows: Iterable[OrderWindow] = ()) -> None:
        self._windows = list(windows)

    @classmethod
    def from_rate_limits(cls, rate_limits: Iterable) -> OrderRateBudget:
        """The ``ORDERS`` entries of exchangeInfo ``rateLimits`` (structs or dicts).

        Entries of other types (REQUEST_WEIGHT, RAW_REQUESTS) are for the REST
        client's governor, not for orders; an unknown interval name is skipped
        rather than guessed.
        """
        windows = []
        for item in rate_limits:
            kind = _field(item, "rateLimitType", "rate_limit_type")
            interval = _field(item, "interval", "interval")
            if kind != "ORDERS" or interval not in _INTERVAL_SECONDS:
                continue
            windows.append(OrderWindow(str(interval), int(_field(item, "intervalNum", "interval_num")),
                                       int(_field(item, "limit", "limit"))))
        return cls(windows)

    @property
    def windows(self) -> tuple[OrderWindow, ...]:
        return tuple(self._windows)

    def update_limits(self, rate_limits: Iterable) -> None:
        """New limits from a refreshed exchangeInfo; counts carry over for windows of the same length."""
        fresh = OrderRateBudget.from_rate_limits(rate_limits)._windows
        by_length = {window.seconds: window for window in self._windows}
        for window in fresh:
            old = by_length.get(window.seconds)
            if old is not None:
                window.adopt(old)
        self._windows = fresh

    def try_acquire(self, now_s: float, count: int = 1) -> Rejection | None:
        """Count ``count`` orders sent at ``now_s``, or refuse (and count nothing) if a window is full."""
        for window in self._windows:
            used = window.used(now_s)
            if used + count > window.limit:
                wait = window.retry_after(now_s, count)
                return Rejection(
                    code=RejectCode.RATE_LIMIT,
                    reason=(f"RATE_LIMIT: {used} orders in the last {window.label} + {count} would exceed "
                            f"the exchange's ORDERS limit of {window.limit}; retry in {wait:.1f} s"),
                    detail={"limit": str(window.limit), "interval": window.label, "used": str(used),
                            "adding": str(count), "retry_after_s": f"{wait:.3f}"})
        for window in self._windows:
            window.add(now_s, count)
        return None

    def observe(self, order_count_10s: int | None, order_count_1d: int | None, now_s: float) -> None:
        """The exchange's counts from X-MBX-ORDER-COUNT-10S / -1D; raises local counts, never lowers."""
        self.observe_counts({"10S": order_count_10s, "1D": order_count_1d}, now_s)

    def observe_counts(self, counts: dict[str, int | None], now_s: float) -> None:
        """Like ``observe`` for any header suffix (``{"10S": 12, "1M": 40}``)."""
        for window in self._windows:
            reported = counts.get(window.label)
            if reported is None:
                continue
            missing = int(reported) - window.used(now_s)
            if missing > 0:
                window.add(now_s, missing)

    def used(self, now_s: float) -> dict[str, int]:
        """Orders counted per window label, for status displays."""
        return {window.label: window.used(now_s) for window in self._windows}
