"""Kill the daemon with SIGKILL at two dozen points; after every restart its state equals the exchange.

The simulator (``crash_sim_main.py``) and the daemon (``tradingd run`` with the
burst strategy of ``crash_burst_strategy.py``) are separate processes.  Each
cycle starts the daemon with ``TRADINGD_CRASH_AT=<point>:<n>`` while the market
is paused, waits for start-up reconciliation, compares the database with the
exchange (orders, fills, balances, intents: identical; no client order id
placed twice; no order without an intent), then arms a fault if the cycle has
one, resumes the market and waits for the planned death.  A point that does not
come within ``CYCLE_TIMEOUT_S`` gets an outside SIGKILL instead (counted apart).
Kill points in the start-up path (``reconcile.*``, early store commits) fire
before ``daemon.ready``; the next cycle's start-up is then the one checked.
"""

from __future__ import annotations

import pytest
import trio
from crash_harness import (
    DaemonRun,
    database_view,
    differences,
    exchange_view,
    kill,
    start_daemon,
    start_sim,
    wait_ready_or_dead,
    write_config,
)

CYCLE_TIMEOUT_S = 8.0
READY_TIMEOUT_S = 30.0
VERIFY_TIMEOUT_S = 10.0

#: (crash point, fault armed when the market resumes: (name, params, delay_s) or None)
CYCLES = [
    ("order.before_send:2", None),
    ("reconcile.after_intent:1", None),            # start-up resolving the intent just left pending
    ("order.after_send:1", None),
    ("order.after_send:4", None),
    ("order.after_ack:3", None),
    ("event.before_apply:9", None),
    # Catch-up of lost fills: at start-up if the last kill lost some, else after the drop.
    ("reconcile.after_fill_page:1", ("drop_connections", {"kind": "user"}, 1.0)),
    ("event.after_apply:14", None),
    ("order.outcome_unknown:1", ("fail_next_orders", {"n": 1, "executed": True}, 0)),
    ("order.outcome_unknown:1", ("fail_next_orders", {"n": 1, "executed": False}, 0)),
    ("order.outcome_unknown:1", ("unknown_status_next_orders", {"n": 1, "executed": True}, 0)),
    ("order.after_ack:6", ("unknown_status_next_orders", {"n": 2, "executed": False}, 0)),
    ("event.after_apply:20", ("duplicate_user_events", {"n": 40}, 0)),
    ("event.before_apply:25", ("reorder_user_events", {"n": 40}, 0)),
    ("reconcile.after_snapshot:2", ("drop_connections", {"kind": "user"}, 1.0)),  # after reconnect
    ("store.before_commit:40", None),
    ("order.before_send:6", ("fail_next_orders", {"n": 2, "executed": True, "status": 503}, 0)),
    ("reconcile.after_snapshot:1", None),          # dies inside start-up reconciliation
    ("order.after_send:7", ("reorder_user_events", {"n": 20}, 0)),
    ("event.after_apply:33", None),
    ("store.before_commit:90", ("duplicate_user_events", {"n": 20}, 0)),
    ("order.after_ack:9", ("drop_connections", {"kind": "user"}, 0.7)),
    ("event.before_apply:4", None),
    ("order.after_send:10", ("fail_next_orders", {"n": 1, "executed": True}, 0.5)),
]


async def _verify(sim, database) -> list[str]:
    """Poll until the database equals the exchange (or time out); the last differences."""
    diffs: list[str] = ["not compared"]
    with trio.move_on_after(VERIFY_TIMEOUT_S):
        while True:
            diffs = differences(database_view(database), await exchange_view(sim))
            if not diffs:
                return []
            await trio.sleep(0.2)
    return diffs


async def _arm(sim, fault) -> None:
    if fault is None:
        return
    name, params, delay = fault
    if delay:
        await trio.sleep(delay)
    await sim.fault(name, **params)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_sigkill_at_every_point_then_state_equals_the_exchange(tmp_path):
    sim = await start_sim(seed=13, log_path=tmp_path / "sim.log")
    config, database = tmp_path / "tradingd.toml", tmp_path / "state.sqlite"
    write_config(config, database, sim.rest_url)
    runs: list[DaemonRun] = []
    verified = planned = outside = 0
    try:
        await sim.post("/_sim/market/pause")
        for index, (point, fault) in enumerate([*CYCLES, (None, None)]):
            run = await start_daemon(config, tmp_path / f"daemon-{index:02d}.log", sim, point)
            runs.append(run)
            if await wait_ready_or_dead(run, READY_TIMEOUT_S):
                diffs = await _verify(sim, database)
                assert not diffs, (f"after restart {index} (previous kill: "
                                   f"{CYCLES[index - 1][0] if index else '-'}):\n"
                                   + "\n".join(diffs[:30]) + f"\nlog: {run.log_path}")
                verified += 1
                if point is None:
                    break
                await sim.post("/_sim/market/resume")
                with trio.move_on_after(CYCLE_TIMEOUT_S):
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(_arm, sim, fault)
                        await run.process.wait()
                        nursery.cancel_scope.cancel()
            await kill(run)
            await sim.post("/_sim/market/pause")
            await sim.fault("clear")
            if run.planned_kill:
                planned += 1
            elif point is not None:
                outside += 1
        exchange = await exchange_view(sim)
    finally:
        for run in runs:
            await kill(run)
        sim.process.terminate()
        await sim.process.wait()
        await sim.aclose()

    summary = (f"cycles={len(CYCLES)} planned_kills={planned} outside_kills={outside} "
               f"verified_restarts={verified} orders={len(exchange['orders'])} "
               f"fills={len(exchange['fills'])}")
    print(f"crash_test {summary}")
    assert planned >= 20, summary
    assert verified >= len(CYCLES) - 4, summary  # start-up kill points skip their own check
    assert len(exchange["fills"]) > 50 and len(exchange["orders"]) > 50, summary
