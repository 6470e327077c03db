"""The simulator process of the crash test: ``python crash_sim_main.py SEED``.

Why not plain ``tradingd sim``: the crash test restarts the daemon two dozen
times in a minute or two, and every start costs REST weight (exchangeInfo,
account, openOrders, myTrades) and orders; the exchange's real limits (1,200
weight a minute, 50 orders in 10 s) would ban the test's IP.  This entry runs
the same simulator with the admin API on, a fast market, limits raised out of
the way and their windows shortened (time factor 60), and prints its REST URL
on the first line of stdout.  SIGTERM or
SIGINT stops it.
"""

from __future__ import annotations

import signal
import sys

import trio

from sim import SimConfig, run_simulator
from sim.limits import LimitsConfig


def crash_sim_config(seed: int) -> SimConfig:
    return SimConfig(
        # time_factor 60: the limits' windows (scaled) last a second, so the used-weight
        # headers every client sees stay small; the daemon's own governor trusts them.
        seed=seed, admin=True, time_factor=60.0, participant_interval_ms=20, volatility_bps=2.0,
        balances={"USDT": "100000", "BTC": "5", "BNB": "10"},
        limits=LimitsConfig(request_weight_per_minute=10_000_000,
                            raw_requests_per_5_minutes=10_000_000,
                            orders_per_10_seconds=100_000, orders_per_day=10_000_000),
    )


async def serve(seed: int) -> None:
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(run_simulator, crash_sim_config(seed))
        sys.stdout.write(f"{handle.rest_url}\n")
        sys.stdout.flush()
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                handle.shutdown()
                break


if __name__ == "__main__":
    trio.run(serve, int(sys.argv[1]) if len(sys.argv) > 1 else 7)
