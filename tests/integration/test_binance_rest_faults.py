"""REST faults against the simulator over loopback: a 429 storm under tight limits, clock skew.

The rate-limit test runs the simulator with ``time_factor=60`` (a one-minute
weight window lasts one real second) and limits small enough that the burst
needs throttling; the daemon's governor runs on the same scale.  A naive client
in the same conditions earns a 418, which shows the scenario is a real one.
"""

from __future__ import annotations

import logging

import httpx
import pytest
import trio

from daemon.errors import OutcomeUnknown, UnknownOrder
from daemon.venues.binance.clock import run_clock_resync
from daemon.venues.binance.ratelimit import RateGovernor
from sim import SimConfig
from sim.limits import LimitsConfig
from tests.integration.binance_fault_harness import (
    SYMBOL,
    place_burst,
    venue,
    wait_until_accounted,
)

TIME_FACTOR = 60.0


def assert_strictly_delivered(v, placed: list[str], final: set[int]) -> None:
    assert v.ledger.duplicates() == {}, "an executionReport arrived twice"
    assert len(final) >= len(placed) and final <= v.ledger.stream_trades
    assert set(placed) <= v.ledger.filled_client_ids()


def our_bans(caplog) -> list[str]:
    """The simulator's ban log lines for the daemon's own address (not the naive client's)."""
    return [r.getMessage() for r in caplog.records
            if r.name == "sim.limits" and "limits.banned" in r.getMessage()
            and "client=127.0.0.1 " in r.getMessage() + " "]


async def test_429_storm_under_tight_limits_never_earns_a_ban(caplog) -> None:
    caplog.set_level(logging.INFO, logger="sim.limits")
    limits = LimitsConfig(request_weight_per_minute=400, orders_per_10_seconds=4)
    config = SimConfig(seed=31, time_factor=TIME_FACTOR, limits=limits)
    governor = RateGovernor(time_factor=TIME_FACTOR, safety_margin=0.10, max_wait_s=30)
    async with venue(config, governor=governor) as v:
        faults, rest = v.handle.faults, v.rest
        placed: list[str] = []
        reads = 0
        done = trio.Event()

        async def orders(task: int) -> None:
            placed.extend(await place_burst(
                rest, 10, prefix=f"storm{task}", inject_at=3 if task == 0 else None,
                inject=lambda: faults.rate_limit_storm(1.0)))

        async def reader() -> None:
            nonlocal reads
            while not done.is_set():
                await rest.account()                          # weight 10
                await rest.open_orders()                      # weight 40 (no symbol)
                await rest.depth(SYMBOL, limit=1000)          # weight 10
                reads += 3

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(reader)
                async with trio.open_nursery() as burst:
                    for task in range(4):
                        burst.start_soon(orders, task)
                done.set()
        final = await wait_until_accounted(v, placed, strict=True)

        assert len(placed) == 40 and reads >= 6
        assert_strictly_delivered(v, placed, final)
        # the storm happened and was obeyed; every 429 we saw was the storm's, never the limits'
        peak = governor.stats.peak_fraction
        storm_refusals = faults.effects["storm_refused"]
        assert storm_refusals >= 1 and rest.stats.rate_limited == storm_refusals
        assert storm_refusals <= 12, "callers kept sending into the storm"
        assert governor.stats.pauses_429 >= 1 and governor.stats.throttled >= 1
        # both limits were binding: the reads filled the weight budget, the burst the order one
        assert peak["REQUEST_WEIGHT/1M"] >= 0.8 and peak["ORDERS/10S"] >= 0.75
        # and never a 418
        assert rest.stats.banned == 0 and governor.stats.bans_418 == 0
        assert v.handle.limits.ban_remaining_s("127.0.0.1") == 0
        assert our_bans(caplog) == []
        assert peak["REQUEST_WEIGHT/1M"] <= 1.0 and peak["ORDERS/10S"] <= 1.0

        # Control: a client that ignores Retry-After is banned by the same simulator.
        statuses = []
        async with httpx.AsyncClient(base_url=v.handle.rest_url,
                                     headers={"X-SIM-CLIENT": "naive"}) as naive:
            for _ in range(30):
                response = await naive.get("/api/v3/depth", params={"symbol": SYMBOL,
                                                                      "limit": 5000})
                statuses.append(response.status_code)
                if response.status_code == 418:
                    break
        assert 429 in statuses and statuses[-1] == 418
        assert our_bans(caplog) == []


async def test_clock_skew_both_ways_is_cured_by_one_resync_each() -> None:
    async with venue(SimConfig(seed=32), recv_window_ms=2000) as v:
        faults, rest, stats = v.handle.faults, v.rest, v.rest.stats
        placed: list[str] = []

        async def burst(prefix: str) -> None:
            async with trio.open_nursery() as nursery:
                for task in range(4):
                    nursery.start_soon(_extend, placed, place_burst(rest, 2, prefix=f"{prefix}{task}"))

        faults.clock_skew(3000)                       # the exchange runs 3 s ahead
        await burst("ahead")
        after_ahead = stats.timestamp_rejections
        assert 1 <= after_ahead <= 4 and stats.clock_resyncs == 1
        assert abs(rest.clock.offset_ms - 3000) < 200

        faults.clock_skew(-3000)                      # now 3 s behind
        await burst("behind")
        assert 1 <= stats.timestamp_rejections - after_ahead <= 4 and stats.clock_resyncs == 2
        assert abs(rest.clock.offset_ms + 3000) < 200

        # the user stream's own signed request (resubscribe) meets a fresh skew
        faults.clock_skew(2500)
        faults.terminate_user_streams()
        with trio.fail_after(10):
            while v.counters.resubscribes < 1 or v.ledger.reconciles < 2:
                await trio.sleep(0.05)
        rejections = stats.timestamp_rejections
        await burst("resub")
        assert stats.timestamp_rejections == rejections   # the resubscribe already resynced
        assert stats.clock_resyncs == 3 and abs(rest.clock.offset_ms - 2500) < 200

        final = await wait_until_accounted(v, placed, strict=True)
        assert len(placed) == 24
        assert_strictly_delivered(v, placed, final)


async def test_periodic_resync_catches_a_skew_before_any_request_is_refused() -> None:
    async with venue(SimConfig(seed=33), recv_window_ms=2000) as v:
        faults, rest = v.handle.faults, v.rest
        placed: list[str] = []
        async with trio.open_nursery() as nursery:
            await nursery.start(run_clock_resync, rest.sync_clock, 0.2)
            for skew in (3000, -3000):
                faults.clock_skew(skew)
                await trio.sleep(0.6)                 # at least two periodic resyncs
                assert abs(rest.clock.offset_ms - skew) < 200
                placed += await place_burst(rest, 4, prefix=f"periodic{skew}")
            nursery.cancel_scope.cancel()
        assert rest.stats.timestamp_rejections == 0
        final = await wait_until_accounted(v, placed, strict=True)
        assert_strictly_delivered(v, placed, final)


async def _extend(target: list[str], burst) -> None:
    target.extend(await burst)


async def test_5xx_and_minus_1007_on_orders_mean_outcome_unknown_never_failed() -> None:
    async with venue(SimConfig(seed=34)) as v:
        faults, rest = v.handle.faults, v.rest
        faults.fail_next_orders(1, executed=True, status=500)
        faults.unknown_status_next_orders(1, executed=True)
        faults.fail_next_orders(1, executed=False, status=503)
        outcomes = {}
        for client_id in ("five-hundred", "minus-1007", "not-executed"):
            with pytest.raises(OutcomeUnknown) as caught:
                await rest.new_order({"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                      "quantity": "0.001", "newClientOrderId": client_id})
            assert caught.value.retryable is False
            outcomes[client_id] = caught.value.code
        assert outcomes == {"five-hundred": -1000, "minus-1007": -1007, "not-executed": -1001}
        # "unknown" was right: two of them exist (and were streamed), one does not
        for client_id in ("five-hundred", "minus-1007"):
            order = await rest.get_order(SYMBOL, orig_client_order_id=client_id)
            assert order.status == "FILLED"
        with pytest.raises(UnknownOrder):
            await rest.get_order(SYMBOL, orig_client_order_id="not-executed")
        final = await wait_until_accounted(v, ["five-hundred", "minus-1007"], strict=True)
        assert_strictly_delivered(v, ["five-hundred", "minus-1007"], final)
