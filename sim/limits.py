"""Request and order rate limits: weight per IP, orders per account, 429 then the 418 ban.

Why fixed windows: Binance counts every limit in intervals aligned to the clock
("a 1 MINUTE interval starts every minute ... once the next minute starts the
count resets"), not in a sliding window; a client's rate governor must cope with
exactly that (a burst at the end of one window and the start of the next).

Why the windows scale with ``time_factor``: the simulator's slow clocks run fast
so that tests finish in seconds; with ``time_factor=60`` the 1-minute weight
window lasts one real second and a 2-minute ban two real seconds.  Set
``LimitsConfig.scale_windows=False`` to keep the limits in real time while the
other clocks (listenKey expiry) run fast.  ``Retry-After`` is always in *real*
seconds: it tells a client how long to wait on its own clock.

Who is limited: REQUEST_WEIGHT and RAW_REQUESTS per IP, as the seed says ("based
on the IPs, not the API keys"); ORDERS per account.  Every test client on
loopback shares 127.0.0.1, so a client may send the header ``X-SIM-CLIENT: name``
to be counted as a separate "IP" (``127.0.0.1|name``); nothing else reads it.

Escalation (the seed's "LIMITS" section): a request that takes a weight or raw
count over its limit is answered 429 with ``Retry-After`` (the seconds until the
window resets).  A client that keeps sending inside that back-off gets 429 again,
and its ``ban_after_ignored``-th such request earns an IP ban: 418 with
``Retry-After`` until the ban ends.  Bans grow for repeat offenders along
``ban_ladder_s`` (2 minutes up to 3 days, the documented range).  The order count
limit answers 429 with -1015 and no ``Retry-After`` (the seed) and never bans.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

log = logging.getLogger(__name__)

CLIENT_HEADER = "x-sim-client"
_INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
DEFAULT_BAN_LADDER_S: tuple[int, ...] = (
    120, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400,
)


@dataclass(frozen=True)
class RateLimit:
    """One entry of exchangeInfo ``rateLimits``."""

    kind: str  # REQUEST_WEIGHT | RAW_REQUESTS | ORDERS
    interval: str  # SECOND | MINUTE | HOUR | DAY
    interval_num: int
    limit: int

    @property
    def seconds(self) -> int:
        return _INTERVAL_SECONDS[self.interval] * self.interval_num

    @property
    def suffix(self) -> str:
        """The header suffix: ``1M``, ``10S``, ``1D`` (intervalNum + intervalLetter)."""
        return f"{self.interval_num}{self.interval[0]}"

    def describe(self) -> dict[str, object]:
        return {"rateLimitType": self.kind, "interval": self.interval,
                "intervalNum": self.interval_num, "limit": self.limit}

    def status(self, count: int) -> dict[str, object]:
        """The WebSocket API's ``rateLimits`` entry: the description plus the current count."""
        return {**self.describe(), "count": count}


@dataclass(frozen=True)
class LimitsConfig:
    """The simulated exchange's rate limits (defaults: the seed's exchangeInfo)."""

    enabled: bool = True  # False: still counted and reported, never refused
    request_weight_per_minute: int = 1200
    raw_requests_per_5_minutes: int = 6100
    orders_per_10_seconds: int = 50
    orders_per_day: int = 160000
    sapi_ip_weight_per_minute: int = 12000  # per endpoint (the seed's /sapi IP limits)
    sapi_uid_weight_per_minute: int = 180000  # per endpoint and account (/sapi UID limits)
    ban_after_ignored: int = 3
    ban_ladder_s: tuple[int, ...] = DEFAULT_BAN_LADDER_S
    scale_windows: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "ban_ladder_s", tuple(self.ban_ladder_s))  # TOML gives a list
        for name in ("request_weight_per_minute", "raw_requests_per_5_minutes",
                     "orders_per_10_seconds", "orders_per_day", "sapi_ip_weight_per_minute",
                     "sapi_uid_weight_per_minute", "ban_after_ignored"):
            if getattr(self, name) < 1:
                raise ValueError(f"sim limits.{name} must be >= 1")
        if not self.ban_ladder_s or any(step <= 0 for step in self.ban_ladder_s):
            raise ValueError("sim limits.ban_ladder_s must be positive durations")

    def rate_limits(self) -> tuple[RateLimit, ...]:
        """In the order of the seed's exchangeInfo example."""
        return (
            RateLimit("REQUEST_WEIGHT", "MINUTE", 1, self.request_weight_per_minute),
            RateLimit("ORDERS", "SECOND", 10, self.orders_per_10_seconds),
            RateLimit("ORDERS", "DAY", 1, self.orders_per_day),
            RateLimit("RAW_REQUESTS", "MINUTE", 5, self.raw_requests_per_5_minutes),
        )


@dataclass(frozen=True)
class Verdict:
    """What the limits say about one request: go ahead (``status == 200``) or refuse."""

    status: int = 200
    code: int = 0
    msg: str = ""
    retry_after_s: int | None = None  # real seconds, for the Retry-After header
    retry_at_ms: int | None = None  # server time when a retry may succeed (WebSocket API)

    @property
    def allowed(self) -> bool:
        return self.status == 200

    def payload(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


ALLOWED = Verdict()


@dataclass
class _Offender:
    """Back-off and ban bookkeeping of one client (IP)."""

    backoff_until: float = 0.0
    ignored: int = 0
    ban_until: float = 0.0
    bans: int = 0


@dataclass
class _Windows:
    """Counts per limit in the current window of each: limit -> (window index, count)."""

    counts: dict[RateLimit, tuple[int, int]] = field(default_factory=dict)


def client_key(scope: dict) -> str:
    """The IP the request came from, refined by the ``X-SIM-CLIENT`` header when sent."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    for name, value in scope.get("headers", ()):
        if name == CLIENT_HEADER.encode():
            return f"{host}|{value.decode('latin-1')}"
    return host


class Limits:
    """Counters and verdicts; synchronous, called once per request by the request gate.

    ``clock`` is trio's clock in real seconds; ``server_time_ms`` the exchange's
    (possibly skewed) clock, used only to say until when a ban lasts.
    """

    def __init__(self, config: LimitsConfig, *, time_factor: float,
                 server_time_ms: Callable[[], int], clock: Callable[[], float] = trio.current_time,
                 ) -> None:
        self.config = config
        self.scale = time_factor if config.scale_windows else 1.0
        self._server_time_ms = server_time_ms
        self._clock = clock
        self.rate_limits = config.rate_limits()
        self.weight_limits = [lim for lim in self.rate_limits if lim.kind == "REQUEST_WEIGHT"]
        self.raw_limits = [lim for lim in self.rate_limits if lim.kind == "RAW_REQUESTS"]
        self.order_limits = [lim for lim in self.rate_limits if lim.kind == "ORDERS"]
        self._weights: dict[str, _Windows] = {}
        self._raw: dict[str, _Windows] = {}
        self._orders: dict[int, _Windows] = {}
        self._sapi: dict[tuple[str, str], _Windows] = {}
        self.sapi_limit = RateLimit("REQUEST_WEIGHT", "MINUTE", 1, config.sapi_ip_weight_per_minute)
        self.sapi_uid_limit = RateLimit("REQUEST_WEIGHT", "MINUTE", 1,
                                        config.sapi_uid_weight_per_minute)
        self._offenders: dict[str, _Offender] = {}

    # ---------------------------------------------------------------- verdicts

    def admit(self, client: str, weight: int) -> Verdict:
        """Count one ``/api`` request of ``weight`` from ``client``; may it proceed?"""
        return self._admit(client, [
            (self.weight_limits, self._weights.setdefault(client, _Windows()), weight),
            (self.raw_limits, self._raw.setdefault(client, _Windows()), 1),
        ])

    def admit_sapi(self, client: str, path: str, weight: int) -> Verdict:
        """Count one ``/sapi`` request: each endpoint has its own IP weight limit (the seed)."""
        windows = self._sapi.setdefault((client, path), _Windows())
        return self._admit(client, [([self.sapi_limit], windows, weight)])

    def admit_sapi_uid(self, account_id: int, path: str, weight: int) -> Verdict:
        """Count one ``/sapi`` request limited per account (UID); its offender key is the account."""
        windows = self._sapi.setdefault((f"uid:{account_id}", path), _Windows())
        return self._admit(f"uid:{account_id}", [([self.sapi_uid_limit], windows, weight)])

    def _admit(self, client: str, counted: list[tuple[list[RateLimit], _Windows, int]]) -> Verdict:
        now = self._clock()
        offender = self._offenders.get(client)
        if offender is not None and now < offender.ban_until:
            return self._banned(offender.ban_until, now)
        broken: tuple[RateLimit, float] | None = None
        for limits, windows, amount in counted:
            for limit in limits:
                count = self._add(windows, limit, amount, now)
                if count > limit.limit and broken is None:
                    broken = (limit, self._window_end(limit, now))
        if not self.config.enabled:  # counted (the headers stay true), never refused
            return ALLOWED
        if offender is not None and now < offender.backoff_until:
            offender.ignored += 1
            if offender.ignored >= self.config.ban_after_ignored:
                return self._ban(client, offender, now)
        if broken is None:
            return ALLOWED
        limit, window_end = broken
        offender = self._offenders.setdefault(client, _Offender())
        if now >= offender.backoff_until:
            offender.ignored = 0
        offender.backoff_until = max(offender.backoff_until, window_end)
        log.info("limits.exceeded client=%s type=%s limit=%d", client, limit.kind, limit.limit)
        return self._too_many(limit, offender.backoff_until, now)

    def admit_orders(self, account_id: int, orders: int) -> Verdict:
        """Would ``orders`` new orders break an ORDERS limit of the account?  Counts nothing."""
        if not self.config.enabled:
            return ALLOWED
        now = self._clock()
        windows = self._orders.get(account_id)
        for limit in self.order_limits:
            current = self._current(windows, limit, now) if windows else 0
            if current + orders > limit.limit:
                log.info("limits.orders_exceeded account=%d limit=%d/%s", account_id,
                         limit.limit, limit.suffix)
                return Verdict(429, -1015, f"Too many new orders; current limit is {limit.limit} "
                                           f"orders per {limit.interval_num} {limit.interval}.")
        return ALLOWED

    def record_orders(self, account_id: int, orders: int) -> None:
        """Count ``orders`` successfully placed orders of the account."""
        now = self._clock()
        windows = self._orders.setdefault(account_id, _Windows())
        for limit in self.order_limits:
            self._add(windows, limit, orders, now)

    # ----------------------------------------------------------------- reading

    def used_weight(self, client: str) -> dict[str, int]:
        """Current weight per REQUEST_WEIGHT limit, by header suffix (``{"1M": 42}``)."""
        return self._usage(self._weights.get(client), self.weight_limits)

    def raw_requests(self, client: str) -> dict[str, int]:
        return self._usage(self._raw.get(client), self.raw_limits)

    def order_count(self, account_id: int) -> dict[str, int]:
        """Current order counts per ORDERS limit, by header suffix (``{"10S": 3, "1D": 3}``)."""
        return self._usage(self._orders.get(account_id), self.order_limits)

    def ban_remaining_s(self, client: str) -> float:
        offender = self._offenders.get(client)
        return max(0.0, offender.ban_until - self._clock()) if offender else 0.0

    def weight_headers(self, client: str) -> list[tuple[bytes, bytes]]:
        """``X-MBX-USED-WEIGHT-1M`` per weight limit, and the legacy un-suffixed header."""
        usage = self.used_weight(client)
        headers = [(f"x-mbx-used-weight-{suffix.lower()}".encode(), str(count).encode())
                   for suffix, count in usage.items()]
        if "1M" in usage:
            headers.append((b"x-mbx-used-weight", str(usage["1M"]).encode()))
        return headers

    def sapi_headers(self, client: str, path: str) -> list[tuple[bytes, bytes]]:
        """``X-SAPI-USED-IP-WEIGHT-1M``: the weight this IP used on this ``/sapi`` endpoint."""
        used = self._usage(self._sapi.get((client, path)), [self.sapi_limit])
        return [(b"x-sapi-used-ip-weight-1m", str(used[self.sapi_limit.suffix]).encode())]

    def sapi_uid_headers(self, account_id: int, path: str) -> list[tuple[bytes, bytes]]:
        """``X-SAPI-USED-UID-WEIGHT-1M``: the weight this account used on this endpoint."""
        used = self._usage(self._sapi.get((f"uid:{account_id}", path)), [self.sapi_uid_limit])
        return [(b"x-sapi-used-uid-weight-1m", str(used[self.sapi_uid_limit.suffix]).encode())]

    def order_headers(self, account_id: int) -> list[tuple[bytes, bytes]]:
        return [(f"x-mbx-order-count-{suffix.lower()}".encode(), str(count).encode())
                for suffix, count in self.order_count(account_id).items()]

    def status(self, client: str, account_id: int | None = None) -> list[dict[str, object]]:
        """The WebSocket API's ``rateLimits``: orders (when an account is involved), then weight."""
        entries: list[dict[str, object]] = []
        if account_id is not None:
            orders = self.order_count(account_id)
            entries += [limit.status(orders[limit.suffix]) for limit in self.order_limits]
        weights = self.used_weight(client)
        entries += [limit.status(weights[limit.suffix]) for limit in self.weight_limits]
        return entries

    def snapshot(self) -> dict[str, object]:
        """Everything counted now, for tests and the admin endpoint."""
        return {
            "weight": {client: self.used_weight(client) for client in self._weights},
            "raw": {client: self.raw_requests(client) for client in self._raw},
            "orders": {str(account): self.order_count(account) for account in self._orders},
            "banned": {client: round(self.ban_remaining_s(client), 3)
                       for client in self._offenders if self.ban_remaining_s(client) > 0},
        }

    def reset(self) -> None:
        """Forget every count, back-off and ban (tests start clean with it)."""
        self._weights.clear()
        self._raw.clear()
        self._orders.clear()
        self._sapi.clear()
        self._offenders.clear()
        log.info("limits.reset")

    # ---------------------------------------------------------------- internals

    def _window_s(self, limit: RateLimit) -> float:
        return limit.seconds / self.scale

    def _window_end(self, limit: RateLimit, now: float) -> float:
        length = self._window_s(limit)
        return (math.floor(now / length) + 1) * length

    def _add(self, windows: _Windows, limit: RateLimit, amount: int, now: float) -> int:
        index = math.floor(now / self._window_s(limit))
        current_index, count = windows.counts.get(limit, (index, 0))
        count = count + amount if current_index == index else amount
        windows.counts[limit] = (index, count)
        return count

    def _current(self, windows: _Windows, limit: RateLimit, now: float) -> int:
        index, count = windows.counts.get(limit, (-1, 0))
        return count if index == math.floor(now / self._window_s(limit)) else 0

    def _usage(self, windows: _Windows | None, limits: list[RateLimit]) -> dict[str, int]:
        now = self._clock()
        return {limit.suffix: self._current(windows, limit, now) if windows else 0
                for limit in limits}

    def _ban(self, client: str, offender: _Offender, now: float) -> Verdict:
        ladder = self.config.ban_ladder_s
        duration = ladder[min(offender.bans, len(ladder) - 1)] / self.scale
        offender.bans += 1
        offender.ban_until = now + duration
        offender.backoff_until = 0.0
        offender.ignored = 0
        log.warning("limits.banned client=%s seconds=%.3f bans=%d", client, duration, offender.bans)
        return self._banned(offender.ban_until, now)

    def _banned(self, until: float, now: float) -> Verdict:
        retry_at = self._server_time_ms() + math.ceil((until - now) * 1000)
        return Verdict(418, -1003, f"Way too much request weight used; IP banned until {retry_at}. "
                                   "Please use the websocket for live updates to avoid bans.",
                       _seconds(until - now), retry_at)

    def _too_many(self, limit: RateLimit, until: float, now: float) -> Verdict:
        if limit.kind == "REQUEST_WEIGHT":
            msg = (f"Too much request weight used; current limit is {limit.limit} request weight "
                   f"per {limit.interval_num} {limit.interval}. Please use the websocket for live "
                   "updates to avoid polling the API.")
        else:
            msg = (f"Too many requests; current limit is {limit.limit} requests per "
                   f"{limit.interval_num} {limit.interval}. Please use the websocket for live "
                   "updates to avoid polling the API.")
        retry_at = self._server_time_ms() + math.ceil((until - now) * 1000)
        return Verdict(429, -1003, msg, _seconds(until - now), retry_at)


def _seconds(remaining: float) -> int:
    """Retry-After is whole seconds; never 0 while something remains."""
    return max(1, math.ceil(remaining))
