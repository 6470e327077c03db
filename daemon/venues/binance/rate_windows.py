"""The rate governor's bookkeeping: the exchange's limits, usage per limit, the queue.

Split from ``ratelimit.py`` so that the policy (when to wait, pause, refuse) reads
apart from the arithmetic.  See ``ratelimit.py`` for why usage is a sliding window
plus the server's last word.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import trio

from daemon.errors import ConfigError

log = logging.getLogger(__name__)

INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
BUCKETS_PER_WINDOW = 60


@dataclass(frozen=True)
class LimitRule:
    """One entry of exchangeInfo ``rateLimits``."""

    kind: str  # REQUEST_WEIGHT | RAW_REQUESTS | ORDERS
    interval: str  # SECOND | MINUTE | HOUR | DAY
    interval_num: int
    limit: int

    def __post_init__(self) -> None:
        if self.kind not in ("REQUEST_WEIGHT", "RAW_REQUESTS", "ORDERS"):
            raise ConfigError(f"unknown rateLimitType {self.kind!r}")
        if self.interval not in INTERVAL_SECONDS or self.interval_num < 1 or self.limit < 1:
            raise ConfigError(f"bad rate limit {self.interval_num} {self.interval} / {self.limit}")

    @property
    def seconds(self) -> int:
        return INTERVAL_SECONDS[self.interval] * self.interval_num

    @property
    def suffix(self) -> str:
        """The header suffix: ``1M``, ``10S``, ``1D``."""
        return f"{self.interval_num}{self.interval[0]}"

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.suffix}"


#: The limits Binance publishes in exchangeInfo (used until exchangeInfo is read).
DEFAULT_RULES: tuple[LimitRule, ...] = (
    LimitRule("REQUEST_WEIGHT", "MINUTE", 1, 1200),
    LimitRule("ORDERS", "SECOND", 10, 50),
    LimitRule("ORDERS", "DAY", 1, 160000),
    LimitRule("RAW_REQUESTS", "MINUTE", 5, 6100),
)


def rules_from_exchange_info(rate_limits: Iterable[object]) -> tuple[LimitRule, ...]:
    """``ExchangeInfo.rate_limits`` (models.RateLimit) -> ``LimitRule``s; unknown types skipped."""
    rules = []
    for entry in rate_limits:
        kind = getattr(entry, "rate_limit_type", None)
        if kind not in ("REQUEST_WEIGHT", "RAW_REQUESTS", "ORDERS"):
            log.info("ratelimit.unknown_rule type=%s", kind)
            continue
        rules.append(LimitRule(kind, entry.interval, entry.interval_num, entry.limit))  # type: ignore[attr-defined]
    return tuple(rules)


class WindowUsage:
    """Usage of one limit: our grants in a bucketed sliding window plus the server's word."""

    def __init__(self, rule: LimitRule, window_s: float, budget: int) -> None:
        self.rule = rule
        self.window_s = window_s
        self.width = window_s / BUCKETS_PER_WINDOW
        self.budget = budget
        self.granted_total = 0
        self._buckets: deque[list[float]] = deque()  # [start, amount]
        self._sliding = 0
        self._header: tuple[int, int, float, int] | None = None  # count, base, until, seq
        #: the response header that reports this limit (lower case), or None (RAW_REQUESTS)
        self.header_name = {"REQUEST_WEIGHT": "x-mbx-used-weight-",
                            "ORDERS": "x-mbx-order-count-"}.get(rule.kind)
        if self.header_name is not None:
            self.header_name += rule.suffix.lower()

    def _expiry(self, start: float) -> float:
        return start + self.window_s + self.width

    def _expire(self, now: float) -> None:
        buckets, lifetime = self._buckets, self.window_s + self.width
        while buckets and buckets[0][0] + lifetime <= now:
            self._sliding -= int(buckets.popleft()[1])

    def used(self, now: float) -> int:
        self._expire(now)
        used = self._sliding
        if self._header is not None:
            count, base, until, _ = self._header
            if now < until:
                used = max(used, count + self.granted_total - base)
            else:
                self._header = None
        return used

    def _used_at(self, t: float) -> int:
        sliding = sum(int(amount) for start, amount in self._buckets if self._expiry(start) > t)
        if self._header is not None and t < self._header[2]:
            count, base, _, _ = self._header
            return max(sliding, count + self.granted_total - base)
        return sliding

    def ready_at(self, now: float, amount: int, reserve: int = 0) -> float:
        """The earliest time at which ``amount`` more fits the budget minus ``reserve``."""
        # a lone request above the margin fits an empty window
        budget = max(self.budget - reserve, amount)
        if amount == 0 or self.used(now) + amount <= budget:
            return now
        candidates = {self._expiry(start) for start, _ in self._buckets}
        if self._header is not None:
            candidates.add(self._header[2])
        for t in sorted(c for c in candidates if c > now):
            if self._used_at(t) + amount <= budget:
                return t
        return now + self.window_s  # unreachable: every contribution expires by then

    def add(self, now: float, amount: int) -> None:
        if amount == 0:
            return
        self._expire(now)
        start = math.floor(now / self.width) * self.width
        if self._buckets and self._buckets[-1][0] == start:
            self._buckets[-1][1] += amount
        else:
            self._buckets.append([start, amount])
        self._sliding += amount
        self.granted_total += amount

    def observe(self, count: int, base: int, until: float, seq: int, now: float) -> None:
        """Adopt the server's count unless we already hold a newer request's view."""
        if self._header is not None and seq < self._header[3] and now < self._header[2]:
            return
        self._header = (count, base, until, seq)


class Turnstile:
    """One holder at a time; waiters enter by priority (0 first), then first come first served.

    Why not ``trio.Lock``: order placements and cancels must not queue behind a
    backlog of reads waiting for the weight window (a strategy's cancel is worth
    more than a depth snapshot), yet within one priority the order of arrival is
    kept, so a heavy read is not starved by light ones.  A holder that is only
    waiting for room checks ``outranked()`` and steps back (re-entering with its
    old place, ``seq``) when a more urgent caller arrives.
    """

    def __init__(self) -> None:
        self._busy = False
        self._waiters: list[tuple[int, int, trio.Event]] = []
        self._seq = itertools.count()

    async def enter(self, priority: int, deadline: float, seq: int | None = None) -> int | None:
        """Wait for the turn; return the caller's place (``seq``), or None if ``deadline``
        passes first (then no turn is held).

        An uncontended turn is taken without a checkpoint (the hot path of a quiet
        governor costs no scheduling round).
        """
        place = next(self._seq) if seq is None else seq
        if not self._busy and not self._waiters:
            self._busy = True
            return place
        entry = (priority, place, trio.Event())
        heapq.heappush(self._waiters, entry)
        try:
            with trio.move_on_at(deadline):
                await entry[2].wait()
        except BaseException:
            self._abandon(entry)
            raise
        if entry[2].is_set():
            return place
        self._abandon(entry)
        return None

    def outranked(self, priority: int) -> bool:
        """Is a more urgent caller waiting than a holder of ``priority``?"""
        return bool(self._waiters) and self._waiters[0][0] < priority

    def _abandon(self, entry: tuple[int, int, trio.Event]) -> None:
        if entry[2].is_set():
            self.leave()  # the turn was handed to us as we gave up: pass it on
            return
        self._waiters.remove(entry)
        heapq.heapify(self._waiters)

    def leave(self) -> None:
        """End the turn: hand it to the next waiter, if any."""
        if self._waiters:
            heapq.heappop(self._waiters)[2].set()
        else:
            self._busy = False
