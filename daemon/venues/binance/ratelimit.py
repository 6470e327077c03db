"""One rate governor for every REST caller: reserve before sending, never earn a ban.

Why reserve *before* sending: the exchange's ``X-MBX-USED-WEIGHT-1M`` header
reports a request after it was counted, so a client steered by headers alone
learns it crossed the limit one request late (ten requests late with ten in
flight).  Each request therefore declares its cost (``request_weights.py``);
``acquire`` waits until every limit has room for it, or refuses at once with
``RateLimited`` when the wait would pass the caller's deadline, and only then
lets the request go.  The gateway, reconciliation, book snapshots and automation
share one ``BinanceRest`` and therefore this one governor.

How usage is estimated, per limit of exchangeInfo ``rateLimits`` (REQUEST_WEIGHT
per minute, RAW_REQUESTS per 5 minutes, ORDERS per 10 s and per day):

* our own grants in a *sliding* window of the limit's length.  The exchange counts
  in fixed windows aligned to its clock; any fixed window of length L lies inside
  the last L seconds, so the sliding sum is never below the server's count and we
  need not know where its windows start (the simulator's scaled windows start
  anywhere).  Grants sit in 60 buckets per window; a bucket leaves one bucket
  width late, which errs on the safe side;
* the server's own word: the newest ``X-MBX-USED-WEIGHT-*`` / ``X-MBX-ORDER-COUNT-*``
  value plus everything we granted after the request that carried it.  It covers
  what our grants cannot see (another process on the same IP, weights the
  exchange raised since the seed).  It holds until the server's window ends
  (``window_clock`` aligned to the server's windows) or, if unknown, one window
  length after it was read;
* the larger of the two, against ``limit * (1 - safety_margin)``.

When the exchange still says no: a 429 pauses *every* caller for ``Retry-After``
seconds (continuing to send inside it is what earns the 418), a 429 for the order
count (-1015) pauses order placement only, and a 418 stops all REST until the ban
ends and is saved through the ``BanStore`` so a restart does not walk into it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import trio

from daemon.errors import ConfigError, IpBanned, RateLimited
from daemon.venues.binance.ban_store import BanStore
from daemon.venues.binance.rate_windows import (
    DEFAULT_RULES,
    LimitRule,
    Turnstile,
    WindowUsage,
    rules_from_exchange_info,
)
from daemon.venues.binance.request_weights import RequestCost

log = logging.getLogger(__name__)

#: ``code`` of a refusal made here, before anything was sent (no exchange code exists).
LOCAL_REFUSAL_CODE = 0
_USE_DEFAULT = object()
URGENT, NORMAL = 0, 1  # Turnstile priorities: order placements and cancels go first

__all__ = ["DEFAULT_RULES", "GovernorStats", "LimitRule", "RateGovernor", "Ticket",
           "rules_from_exchange_info"]


@dataclass(frozen=True)
class Ticket:
    """A granted reservation; hand it back with the response's headers to ``observe``."""

    granted_at: float
    seq: int  # grant order: a later grant's response describes a later server state
    cost: RequestCost
    totals: Mapping[str, int]  # per rule: everything granted up to and including this one


@dataclass
class GovernorStats:
    """Figures for the logs and the status command."""

    granted: int = 0
    throttled: int = 0
    waited_s: float = 0.0
    refused: int = 0
    pauses_429: int = 0
    bans_418: int = 0
    peak_fraction: dict[str, float] = field(default_factory=dict)


class RateGovernor:
    """See the module docstring.  ``clock`` is trio's clock; ``wall`` the epoch clock.

    ``time_factor`` shrinks the windows for a simulator whose limits run fast;
    ``window_clock`` (seconds, in the server's time base) aligns the expiry of the
    server's counts to its fixed windows; ``max_wait_s`` is the default deadline.
    """

    def __init__(self, rules: Iterable[LimitRule] = DEFAULT_RULES, *,
                 safety_margin: float = 0.10, urgent_reserve: float = 0.05,
                 time_factor: float = 1.0,
                 ban_store: BanStore | None = None, max_wait_s: float | None = 30.0,
                 window_clock: Callable[[], float] | None = None,
                 clock: Callable[[], float] = trio.current_time,
                 wall: Callable[[], float] = time.time) -> None:
        if not 0 <= safety_margin < 1:
            raise ConfigError(f"safety margin must be within [0, 1), got {safety_margin}")
        if not 0 <= urgent_reserve < 1 - safety_margin:
            raise ConfigError(f"urgent reserve must be within [0, {1 - safety_margin:g}), "
                              f"got {urgent_reserve}")
        if time_factor <= 0:
            raise ConfigError(f"time factor must be > 0, got {time_factor}")
        self.safety_margin = safety_margin
        #: share of the IP limits (weight, raw requests) only order calls may use, so a
        #: cancel finds room even while reads keep the window full
        self.urgent_reserve = urgent_reserve
        self.time_factor = time_factor
        self.max_wait_s = max_wait_s
        self.stats = GovernorStats()
        self._ban_store = ban_store
        self._window_clock = window_clock
        self._clock = clock
        self._wall = wall
        self._usages: dict[str, WindowUsage] = {}
        self._turnstile = Turnstile()        # every request, for the IP limits
        self._order_turnstile = Turnstile()  # order placements first queue here (ORDERS limits)
        self._changed = trio.Event()
        self._paused_until = -math.inf
        self._orders_paused_until = -math.inf
        self._banned_until = -math.inf
        self._remembered_ban = ban_store.load() if ban_store is not None else None
        self.configure(rules)

    # ------------------------------------------------------------ configuration

    def configure(self, rules: Iterable[LimitRule]) -> None:
        """Adopt exchangeInfo's limits; usage of a limit that stays is kept."""
        usages = {}
        for rule in rules:
            window_s = rule.seconds / self.time_factor
            budget = max(1, math.floor(rule.limit * (1 - self.safety_margin)))
            old = self._usages.get(rule.name)
            if old is not None and old.window_s == window_s:
                old.rule, old.budget = rule, budget
                usages[rule.name] = old
            else:
                usages[rule.name] = WindowUsage(rule, window_s, budget)
        if not any(u.rule.kind == "REQUEST_WEIGHT" for u in usages.values()):
            raise ConfigError("rate limits without a REQUEST_WEIGHT limit")
        self._usages = usages
        log.info("ratelimit.configured %s margin=%.2f",
                 " ".join(f"{u.rule.name}={u.budget}/{u.rule.limit}" for u in usages.values()),
                 self.safety_margin)

    @property
    def rules(self) -> tuple[LimitRule, ...]:
        return tuple(u.rule for u in self._usages.values())

    # ----------------------------------------------------------------- acquiring

    async def acquire(self, cost: RequestCost, *, max_wait_s: float | None | object = _USE_DEFAULT,
                      what: str = "request", urgent: bool = False) -> Ticket:
        """Wait for room for ``cost`` and reserve it; raise ``RateLimited`` past the deadline.

        Callers queue first-come first-served, so a heavy request is not starved by
        a stream of light ones; ``urgent`` callers (order placements, cancels) queue
        ahead of the others.  Orders first queue among themselves for the ORDERS
        limits, then for the IP limits: an order waiting for the 10-second order
        window must not hold up reads that need no order count.
        ``max_wait_s=None`` waits as long as it takes.
        """
        self._check_fits(cost, what)
        wait = self.max_wait_s if max_wait_s is _USE_DEFAULT else max_wait_s
        start = self._clock()
        deadline = math.inf if wait is None else start + float(wait)  # type: ignore[arg-type]
        priority = URGENT if urgent or cost.orders else NORMAL
        if cost.orders:
            await self._enter(self._order_turnstile, priority, deadline, what, start)
            try:
                await self._wait_until_ready(cost, deadline, what, start, orders_only=True)
                return await self._turn(cost, priority, deadline, what, start)
            finally:
                self._order_turnstile.leave()
        return await self._turn(cost, priority, deadline, what, start)

    async def _turn(self, cost: RequestCost, priority: int, deadline: float, what: str,
                    start: float) -> Ticket:
        turnstile = self._turnstile
        place = await self._enter(turnstile, priority, deadline, what, start)
        while True:
            try:
                ready = await self._wait_until_ready(
                    cost, deadline, what, start, orders_only=False, urgent=priority == URGENT,
                    outranked=lambda: turnstile.outranked(priority))
                if ready:
                    return self._grant(self._clock(), cost)
            finally:
                turnstile.leave()
            # stepped back for a more urgent caller; queue again at the old place
            place = await self._enter(turnstile, priority, deadline, what, start, place)

    async def _enter(self, turnstile: Turnstile, priority: int, deadline: float, what: str,
                     start: float, place: int | None = None) -> int:
        """Take a place in the queue, or refuse once the deadline passes."""
        if priority == URGENT:
            self._wake()  # a holder parked on a window re-checks whether to step back
        got = await turnstile.enter(priority, deadline, place)
        if got is not None:
            return got
        self.stats.refused += 1
        log.warning("rest.refused what=%s reason=queue wait_s=%.2f", what, self._clock() - start)
        raise RateLimited(LOCAL_REFUSAL_CODE, f"rate governor: {what} still queued after "
                          f"{deadline - start:g} s behind other requests; not sent",
                          retry_after=None)

    async def _wait_until_ready(self, cost: RequestCost, deadline: float, what: str,
                                start: float, *, orders_only: bool, urgent: bool = True,
                                outranked: Callable[[], bool] | None = None) -> bool:
        """True once ``cost`` fits; False if ``outranked()`` says to step back first."""
        throttled = False
        while True:
            now = self._clock()
            ready, reason = self._ready_at(now, cost, orders_only=orders_only, urgent=urgent)
            if ready <= now:
                if throttled:
                    self.stats.waited_s += now - start
                return True
            if ready > deadline:
                self.stats.refused += 1
                log.warning("rest.refused what=%s %s wait_s=%.2f max_wait_s=%.2f",
                            what, reason, ready - now, deadline - start)
                cls = IpBanned if reason.startswith("ip_banned") else RateLimited
                raise cls(LOCAL_REFUSAL_CODE, f"rate governor: {what} would wait {ready - now:.1f} s "
                          f"({reason}), longer than its {deadline - start:g} s deadline; not sent",
                          retry_after=ready - now)
            if outranked is not None and outranked():
                return False
            if not throttled:
                throttled = True
                self.stats.throttled += 1
                log.info("rest.throttled what=%s %s wait_s=%.2f", what, reason, ready - now)
            changed = self._changed
            with trio.move_on_at(ready):
                await changed.wait()  # new headers, a pause or an urgent caller may change things

    def _check_fits(self, cost: RequestCost, what: str) -> None:
        for usage in self._usages.values():
            amount = self._amount(usage.rule, cost)
            if amount > usage.rule.limit:
                raise RateLimited(LOCAL_REFUSAL_CODE, f"rate governor: {what} costs {amount} "
                                  f"against {usage.rule.name} whose limit is {usage.rule.limit}; "
                                  "it can never be sent", retry_after=None)

    @staticmethod
    def _amount(rule: LimitRule, cost: RequestCost) -> int:
        if rule.kind == "REQUEST_WEIGHT":
            return cost.weight
        if rule.kind == "RAW_REQUESTS":
            return cost.raw
        return cost.orders

    def _ready_at(self, now: float, cost: RequestCost, *, orders_only: bool = False,
                  urgent: bool = True) -> tuple[float, str]:
        self._adopt_remembered_ban(now)
        if self._banned_until > now:
            return self._banned_until, "ip_banned=418"
        if self._paused_until > now:
            return self._paused_until, "paused=429"
        if cost.orders and self._orders_paused_until > now:
            return self._orders_paused_until, "orders_paused=429"
        latest, reason = now, ""
        for usage in self._usages.values():
            if orders_only and usage.rule.kind != "ORDERS":
                continue
            amount = self._amount(usage.rule, cost)
            reserve = 0
            if not urgent and usage.rule.kind != "ORDERS":
                reserve = math.floor(usage.rule.limit * self.urgent_reserve)
            ready = usage.ready_at(now, amount, reserve)
            if ready > latest:
                latest = ready
                reason = (f"limit={usage.rule.name} used={usage.used(now)} "
                          f"budget={usage.budget - reserve} need={amount}")
        return latest, reason

    def _grant(self, now: float, cost: RequestCost) -> Ticket:
        totals = {}
        peaks = self.stats.peak_fraction
        for name, usage in self._usages.items():
            amount = self._amount(usage.rule, cost)
            if amount:
                usage.add(now, amount)
                fraction = usage.used(now) / usage.rule.limit
                if fraction > peaks.get(name, 0.0):
                    peaks[name] = fraction
            totals[name] = usage.granted_total
        self.stats.granted += 1
        return Ticket(now, self.stats.granted, cost, totals)

    # --------------------------------------------------------------- feedback

    def observe(self, ticket: Ticket | None, headers: Mapping[str, str]) -> None:
        """Feed a response's ``X-MBX-USED-WEIGHT-*`` and ``X-MBX-ORDER-COUNT-*`` headers.

        ``headers`` is ``httpx.Headers`` (case-insensitive) or a plain mapping.
        """
        now = self._clock()
        get = headers.get if hasattr(headers, "get_list") else \
            {name.lower(): value for name, value in headers.items()}.get
        seen = False
        for usage in self._usages.values():
            if usage.header_name is None:
                continue
            value = get(usage.header_name)
            if value is None:
                continue
            try:
                count = int(value)
            except ValueError:
                continue
            base = ticket.totals.get(usage.rule.name, 0) if ticket else usage.granted_total
            seq = ticket.seq if ticket else self.stats.granted
            usage.observe(count, base, self._window_end(usage, now), seq, now)
            seen = True
        if seen:
            self._wake()

    def _window_end(self, usage: WindowUsage, now: float) -> float:
        if self._window_clock is None:
            return now + usage.window_s
        server_s = self._window_clock()
        boundary = (math.floor(server_s / usage.window_s) + 1) * usage.window_s
        return now + (boundary - server_s)

    def on_rejected(self, error: RateLimited) -> None:
        """The exchange answered 429 or 418: pause everyone (or just orders) accordingly."""
        now = self._clock()
        if isinstance(error, IpBanned):
            seconds = error.retry_after if error.retry_after is not None else 120.0 / self.time_factor
            self._banned_until = max(self._banned_until, now + seconds)
            self.stats.bans_418 += 1
            until_epoch = self._wall() + seconds
            log.error("rest.ip_banned retry_after_s=%.1f until_epoch_s=%.0f", seconds, until_epoch)
            if self._ban_store is not None:
                try:
                    self._ban_store.save(until_epoch)
                except OSError as exc:
                    log.error("ratelimit.ban_store_failed error=%s", exc)
        elif error.code == -1015:
            seconds = error.retry_after if error.retry_after is not None else self._order_window()
            self._orders_paused_until = max(self._orders_paused_until, now + seconds)
            self.stats.pauses_429 += 1
            log.warning("rest.orders_paused code=-1015 wait_s=%.1f", seconds)
        else:
            seconds = error.retry_after if error.retry_after is not None else self._weight_window()
            self._paused_until = max(self._paused_until, now + seconds)
            self.stats.pauses_429 += 1
            log.warning("rest.paused status=429 code=%d retry_after_s=%.1f", error.code, seconds)
        self._wake()

    def _order_window(self) -> float:
        windows = [u.window_s for u in self._usages.values() if u.rule.kind == "ORDERS"]
        return min(windows) if windows else 10.0 / self.time_factor

    def _weight_window(self) -> float:
        return min(u.window_s for u in self._usages.values() if u.rule.kind == "REQUEST_WEIGHT")

    def _adopt_remembered_ban(self, now: float) -> None:
        if self._remembered_ban is None:
            return
        remaining = self._remembered_ban - self._wall()
        self._remembered_ban = None
        if remaining > 0:
            self._banned_until = max(self._banned_until, now + remaining)
            log.warning("rest.ban_remembered remaining_s=%.1f", remaining)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    # ----------------------------------------------------------------- reading

    def banned_for(self) -> float:
        now = self._clock()
        self._adopt_remembered_ban(now)
        return max(0.0, self._banned_until - now)

    def snapshot(self) -> dict[str, object]:
        """Usage per limit and the pauses in force (for logs, status, tests)."""
        now = self._clock()
        return {
            "limits": {name: {"used": u.used(now), "budget": u.budget, "limit": u.rule.limit}
                       for name, u in self._usages.items()},
            "paused_s": round(max(0.0, self._paused_until - now), 3),
            "orders_paused_s": round(max(0.0, self._orders_paused_until - now), 3),
            "banned_s": round(self.banned_for(), 3),
        }
