"""RateGovernor: reserve before sending, header feedback, 429 pauses, 418 bans that survive a restart.

Runs on trio's autojump clock: waits of a minute cost no real time.
"""

from __future__ import annotations

import math
import random

import pytest
import trio

from daemon.errors import ConfigError, IpBanned, RateLimited
from daemon.venues.binance.ban_store import FileBanStore, MemoryBanStore, SettingsBanStore
from daemon.venues.binance.models import RateLimit
from daemon.venues.binance.ratelimit import (
    DEFAULT_RULES,
    LimitRule,
    RateGovernor,
    rules_from_exchange_info,
)
from daemon.venues.binance.request_weights import RequestCost, request_cost

W = RequestCost(weight=10)
ORDER = RequestCost(weight=1, orders=1)
WEIGHT_ONLY = (LimitRule("REQUEST_WEIGHT", "MINUTE", 1, 100),)


def governor(rules=WEIGHT_ONLY, **kw) -> RateGovernor:
    kw.setdefault("safety_margin", 0.10)
    kw.setdefault("max_wait_s", None)
    kw.setdefault("urgent_reserve", 0.0)
    return RateGovernor(rules, **kw)


def test_declared_weights_follow_the_seed() -> None:
    assert request_cost("GET", "/api/v3/depth", {"symbol": "X", "limit": 100}).weight == 1
    assert request_cost("GET", "/api/v3/depth", {"symbol": "X", "limit": 500}).weight == 5
    assert request_cost("GET", "/api/v3/depth", {"symbol": "X", "limit": 1000}).weight == 10
    assert request_cost("GET", "/api/v3/depth", {"symbol": "X", "limit": 5000}).weight == 50
    assert request_cost("GET", "/api/v3/depth", {"symbol": "X", "limit": "junk"}).weight == 50
    assert request_cost("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}).weight == 3
    assert request_cost("GET", "/api/v3/openOrders", {"symbol": None}).weight == 40
    assert request_cost("GET", "/api/v3/account").weight == 10
    assert request_cost("POST", "/api/v3/order") == RequestCost(weight=1, orders=1)
    assert request_cost("POST", "/api/v3/order/oco").orders == 2
    assert request_cost("GET", "/api/v3/somethingNew").weight == 1


async def test_grants_up_to_the_budget_then_waits_for_the_window_to_slide(autojump_clock) -> None:
    gov = governor()
    start = trio.current_time()
    for _ in range(9):                       # 90 of a 90 budget (100 minus 10 %)
        await gov.acquire(W)
    assert trio.current_time() == start
    await gov.acquire(W)                     # the tenth must wait for the first grants to leave
    waited = trio.current_time() - start
    assert 60 <= waited <= 62
    assert gov.stats.throttled == 1 and gov.stats.granted == 10
    assert gov.snapshot()["limits"]["REQUEST_WEIGHT/1M"]["used"] == 10


async def test_refuses_at_once_when_the_wait_would_pass_the_deadline(autojump_clock) -> None:
    gov = governor()
    for _ in range(9):
        await gov.acquire(W)
    start = trio.current_time()
    with pytest.raises(RateLimited) as caught:
        await gov.acquire(W, max_wait_s=5, what="GET /api/v3/account")
    assert trio.current_time() == start       # refused without waiting
    exc = caught.value
    assert exc.http_status is None and 55 <= exc.retry_after <= 62
    assert "REQUEST_WEIGHT/1M" in str(exc) and "GET /api/v3/account" in str(exc)
    assert "not sent" in str(exc)
    assert gov.stats.refused == 1 and gov.snapshot()["limits"]["REQUEST_WEIGHT/1M"]["used"] == 90


async def test_a_cost_above_the_limit_can_never_be_sent() -> None:
    with pytest.raises(RateLimited, match="can never be sent"):
        await governor().acquire(RequestCost(weight=101))


async def test_a_lone_request_above_the_margin_fits_an_empty_window(autojump_clock) -> None:
    gov = governor()
    await gov.acquire(RequestCost(weight=95))           # budget 90, limit 100
    start = trio.current_time()
    await gov.acquire(RequestCost(weight=95))
    assert trio.current_time() - start >= 60


async def test_server_header_above_our_estimate_makes_callers_wait(autojump_clock) -> None:
    gov = governor()
    ticket = await gov.acquire(W)
    gov.observe(ticket, {"X-MBX-USED-WEIGHT-1M": "85"})   # someone else uses this IP too
    assert gov.snapshot()["limits"]["REQUEST_WEIGHT/1M"]["used"] == 85
    with pytest.raises(RateLimited):
        await gov.acquire(W, max_wait_s=1)
    # grants after the observed request add on top of the server's count
    await gov.acquire(RequestCost(weight=5))
    assert gov.snapshot()["limits"]["REQUEST_WEIGHT/1M"]["used"] == 90


async def test_a_newer_lower_header_means_the_server_window_reset(autojump_clock) -> None:
    gov = governor()
    first = await gov.acquire(W)
    in_flight = await gov.acquire(RequestCost(weight=1))
    gov.observe(first, {"x-mbx-used-weight-1m": "88"})
    woke: list[float] = []

    async def waiter() -> None:
        await gov.acquire(W)
        woke.append(trio.current_time())

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.sleep(1)
        assert gov.stats.throttled == 1 and not woke
        # the answer to the later request: the server's window has restarted
        gov.observe(in_flight, {"x-mbx-used-weight-1m": "1"})
    assert woke == [start + 1]
    assert gov.snapshot()["limits"]["REQUEST_WEIGHT/1M"]["used"] == 21   # our own sliding sum


async def test_an_older_response_does_not_override_a_newer_view(autojump_clock) -> None:
    gov = governor()
    old = await gov.acquire(W)
    new = await gov.acquire(W)
    gov.observe(new, {"X-MBX-USED-WEIGHT-1M": "70"})
    gov.observe(old, {"X-MBX-USED-WEIGHT-1M": "5"})      # arrived late, says less
    assert gov.snapshot()["limits"]["REQUEST_WEIGHT/1M"]["used"] == 70


async def test_header_view_ends_with_the_aligned_server_window(autojump_clock) -> None:
    server = {"s": 1020.0 + 50}                          # 10 s before its minute ends
    gov = governor(window_clock=lambda: server["s"])
    ticket = await gov.acquire(W)
    gov.observe(ticket, {"X-MBX-USED-WEIGHT-1M": "89"})
    start = trio.current_time()
    await gov.acquire(RequestCost(weight=5))             # 89 + 5 > 90: wait for the boundary
    assert 9.9 <= trio.current_time() - start <= 10.1


async def test_429_pauses_every_caller_for_retry_after(autojump_clock) -> None:
    gov = governor()
    gov.on_rejected(RateLimited(-1003, "Too much request weight used", http_status=429,
                                retry_after=7))
    start = trio.current_time()
    done: list[float] = []

    async def caller() -> None:
        await gov.acquire(RequestCost(weight=1))
        done.append(trio.current_time() - start)

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(caller)
    assert done == [7, 7, 7]
    assert gov.stats.pauses_429 == 1


async def test_order_count_429_pauses_orders_only(autojump_clock) -> None:
    gov = governor(DEFAULT_RULES)
    gov.on_rejected(RateLimited(-1015, "Too many new orders", http_status=429))
    start = trio.current_time()
    await gov.acquire(RequestCost(weight=2))             # reads go on
    assert trio.current_time() == start
    await gov.acquire(ORDER)                              # orders wait for the 10 s window
    assert trio.current_time() - start == 10


async def test_418_stops_everything_and_is_remembered_across_a_restart(autojump_clock) -> None:
    wall = {"t": 1_700_000_000.0}
    store = MemoryBanStore()
    gov = governor(ban_store=store, wall=lambda: wall["t"])
    gov.on_rejected(IpBanned(-1003, "Way too much request weight used; IP banned until X.",
                             http_status=418, retry_after=120))
    assert store.until_epoch_s == 1_700_000_120.0 and store.saves == 1
    with pytest.raises(IpBanned, match="ip_banned"):
        await gov.acquire(RequestCost(weight=1), max_wait_s=30)

    wall["t"] += 30                                        # the daemon restarts 30 s later
    restarted = governor(ban_store=store, wall=lambda: wall["t"])
    assert 89 <= restarted.banned_for() <= 90
    with pytest.raises(IpBanned) as caught:
        await restarted.acquire(RequestCost(weight=1), max_wait_s=10)
    assert 89 <= caught.value.retry_after <= 90
    start = trio.current_time()
    await restarted.acquire(RequestCost(weight=1), max_wait_s=None)   # waits out the ban
    assert 89 <= trio.current_time() - start <= 90


async def test_a_ban_that_ended_before_the_restart_is_ignored(autojump_clock) -> None:
    gov = governor(ban_store=MemoryBanStore(1_000.0), wall=lambda: 2_000.0)
    start = trio.current_time()
    await gov.acquire(RequestCost(weight=1), max_wait_s=0)
    assert trio.current_time() == start and gov.banned_for() == 0


def test_ban_stores(tmp_path) -> None:
    path = tmp_path / "state" / "ban"
    file_store = FileBanStore(path)
    assert file_store.load() is None
    file_store.save(1_700_000_120.5)
    assert FileBanStore(path).load() == 1_700_000_120.5
    path.write_text("garbage")
    assert file_store.load() is None

    class Settings:
        def __init__(self) -> None:
            self.values: dict[str, str] = {}

        def get_setting(self, key: str, default: str | None = None) -> str | None:
            return self.values.get(key, default)

        def set_setting(self, key: str, value: str) -> bool:
            self.values[key] = value
            return True

    settings = Settings()
    store = SettingsBanStore(settings)
    assert store.load() is None
    store.save(42.25)
    assert settings.values == {"binance.ip_ban_until_epoch_s": "42.250"} and store.load() == 42.25


async def test_callers_queue_first_come_first_served(autojump_clock) -> None:
    gov = governor()
    for _ in range(8):
        await gov.acquire(W)                              # 80 of 90 used
    order: list[str] = []

    async def caller(name: str, cost: RequestCost) -> None:
        await gov.acquire(cost, max_wait_s=None)
        order.append(name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(caller, "heavy", RequestCost(weight=40))
        await trio.sleep(0.1)
        for index in range(3):
            nursery.start_soon(caller, f"light{index}", RequestCost(weight=1))
            await trio.sleep(0.1)
    assert order == ["heavy", "light0", "light1", "light2"]


async def test_concurrent_callers_never_exceed_the_budget_in_any_window(autojump_clock) -> None:
    rules = (LimitRule("REQUEST_WEIGHT", "MINUTE", 1, 200), LimitRule("ORDERS", "SECOND", 10, 20))
    gov = RateGovernor(rules, safety_margin=0.1, max_wait_s=None)
    grants: list[tuple[float, RequestCost]] = []
    rng = random.Random(5)

    async def caller() -> None:
        for _ in range(30):
            cost = rng.choice([RequestCost(weight=1, orders=1), RequestCost(weight=10),
                               RequestCost(weight=3)])
            await gov.acquire(cost)
            grants.append((trio.current_time(), cost))
            await trio.sleep(rng.random())

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(caller)
    assert len(grants) == 240
    times = sorted({t for t, _ in grants})
    for t0 in times:                                       # every window that starts at a grant
        weight = sum(c.weight for t, c in grants if t0 <= t < t0 + 60)
        orders = sum(c.orders for t, c in grants if t0 <= t < t0 + 10)
        assert weight <= 180 and orders <= 18


async def test_time_factor_shrinks_the_windows(autojump_clock) -> None:
    gov = governor(time_factor=60.0)                       # one minute lasts one second
    for _ in range(9):
        await gov.acquire(W)
    start = trio.current_time()
    await gov.acquire(W)
    assert 1.0 <= trio.current_time() - start <= 1.05


async def test_rules_from_exchange_info_and_configuration() -> None:
    limits = [RateLimit(rate_limit_type="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=6000),
              RateLimit(rate_limit_type="ORDERS", interval="SECOND", interval_num=10, limit=100),
              RateLimit(rate_limit_type="CONNECTIONS", interval="MINUTE", interval_num=5, limit=300)]
    rules = rules_from_exchange_info(limits)
    assert [r.name for r in rules] == ["REQUEST_WEIGHT/1M", "ORDERS/10S"]
    gov = RateGovernor(DEFAULT_RULES, safety_margin=0.2)
    gov.configure(rules)
    snapshot = gov.snapshot()["limits"]
    assert snapshot == {"REQUEST_WEIGHT/1M": {"used": 0, "budget": 4800, "limit": 6000},
                        "ORDERS/10S": {"used": 0, "budget": 80, "limit": 100}}
    with pytest.raises(ConfigError):
        gov.configure([LimitRule("ORDERS", "SECOND", 10, 5)])
    with pytest.raises(ConfigError):
        RateGovernor(safety_margin=1.0)
    with pytest.raises(ConfigError):
        LimitRule("REQUEST_WEIGHT", "WEEK", 1, 5)
    assert math.isclose(RateGovernor(time_factor=2).rules[0].seconds, 60)


async def test_an_order_waiting_for_the_order_window_does_not_hold_up_reads(autojump_clock) -> None:
    rules = (LimitRule("REQUEST_WEIGHT", "MINUTE", 1, 1000), LimitRule("ORDERS", "SECOND", 10, 2))
    gov = RateGovernor(rules, safety_margin=0, max_wait_s=None)
    await gov.acquire(ORDER)
    await gov.acquire(ORDER)                              # the order window is full
    finished: dict[str, float] = {}

    async def call(name: str, cost: RequestCost) -> None:
        await gov.acquire(cost)
        finished[name] = trio.current_time()

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(call, "order", ORDER)
        await trio.sleep(0.1)
        nursery.start_soon(call, "read", RequestCost(weight=10))
    assert finished["read"] - start == 0.1                # not queued behind the order
    assert 10 <= finished["order"] - start <= 10.5


async def test_order_calls_queue_ahead_of_reads_waiting_for_weight(autojump_clock) -> None:
    gov = governor()
    for _ in range(9):
        await gov.acquire(W)                              # weight budget used up
    finished: list[str] = []

    async def call(name: str, cost: RequestCost, urgent: bool = False) -> None:
        await gov.acquire(cost, urgent=urgent)
        finished.append(name)

    async with trio.open_nursery() as nursery:
        for index in range(3):
            nursery.start_soon(call, f"read{index}", RequestCost(weight=30))
            await trio.sleep(0.01)
        nursery.start_soon(call, "cancel", RequestCost(weight=1), True)
        await trio.sleep(0.01)
        nursery.start_soon(call, "order", ORDER)
    # read0 held the turn but was only waiting for room: it steps back, keeping its place
    assert finished == ["cancel", "order", "read0", "read1", "read2"]


async def test_turnstile_gives_up_cleanly_on_deadline_and_cancel(autojump_clock) -> None:
    from daemon.venues.binance.rate_windows import Turnstile

    turnstile = Turnstile()
    assert await turnstile.enter(1, math.inf) == 0
    assert await turnstile.enter(1, trio.current_time() + 1) is None  # deadline passes
    with trio.move_on_after(1):
        await turnstile.enter(0, math.inf)                           # cancelled while waiting
    assert not turnstile.outranked(1)                                # nobody left waiting
    turnstile.leave()
    assert await turnstile.enter(1, trio.current_time()) is not None
    turnstile.leave()


async def test_reads_leave_an_urgent_reserve_that_order_calls_may_use(autojump_clock) -> None:
    gov = governor(urgent_reserve=0.2)                    # reads: 70 of 100, orders: 90
    for _ in range(7):
        await gov.acquire(W)
    with pytest.raises(RateLimited, match="budget=70"):
        await gov.acquire(RequestCost(weight=1), max_wait_s=1)
    start = trio.current_time()
    await gov.acquire(RequestCost(weight=15), urgent=True)    # a cancel still goes at once
    await gov.acquire(RequestCost(weight=5, orders=1))        # and an order
    assert trio.current_time() == start
    assert gov.snapshot()["limits"]["REQUEST_WEIGHT/1M"]["used"] == 90
    with pytest.raises(ConfigError):
        RateGovernor(safety_margin=0.5, urgent_reserve=0.5)
