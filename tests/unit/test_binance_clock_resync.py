"""run_clock_resync: periodic server-time offset measurement, failures retried sooner."""

from __future__ import annotations

import pytest
import trio

from daemon.errors import TransportError
from daemon.venues.binance.clock import run_clock_resync


async def test_resyncs_every_interval_and_retries_failures_sooner(autojump_clock) -> None:
    calls: list[float] = []

    async def sync() -> int:
        calls.append(trio.current_time())
        if len(calls) == 2:
            raise TransportError("exchange unreachable")
        return 12

    async with trio.open_nursery() as nursery:
        await nursery.start(lambda task_status: run_clock_resync(
            sync, 600, retry_s=30, task_status=task_status))
        await trio.sleep(1900)
        nursery.cancel_scope.cancel()
    assert calls == [600, 1200, 1230, 1830]


async def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        await run_clock_resync(lambda: None, 0)  # type: ignore[arg-type,return-value]
