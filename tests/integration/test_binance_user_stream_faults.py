"""User-data stream faults, both flavours, against the simulator over loopback.

Each test places a burst of market orders while the fault strikes and checks that
nothing is lost: every executionReport the stream delivers arrives exactly once,
and every fill of the account is either delivered by the stream or recovered by
the reconciliation that runs after each (re)connection.  Where the flavour can
avoid a gap (the WebSocket API's serverShutdown handover), the test is strict:
every fill must have come over the stream.
"""

from __future__ import annotations

import pytest
import trio

from sim import SimConfig
from tests.integration.binance_fault_harness import place_burst, venue, wait_until_accounted

BURST = 30


def config(**kw) -> SimConfig:
    kw.setdefault("seed", 21)
    return SimConfig(**kw)


def assert_nothing_lost(v, placed: list[str], final: set[int], *, strict: bool,
                        recurring: bool = False) -> None:
    ledger = v.ledger
    assert len(final) >= len(placed)                       # every market order traded
    assert ledger.duplicates() == {}, "an executionReport arrived twice"
    if strict:
        assert final <= ledger.stream_trades
        assert set(placed) <= ledger.filled_client_ids()
    else:
        assert final <= ledger.stream_trades | ledger.recovered_trades
    # events still flow after the fault: the last order's fill came over the stream (a
    # recurring fault may strike again at the end: then most of the second half did)
    if recurring:
        later = [cid for cid in placed[len(placed) // 2:] if cid in ledger.filled_client_ids()]
        assert len(later) >= len(placed) // 4
    else:
        assert placed[-1] in ledger.filled_client_ids()


async def test_listen_key_expiry_recreates_the_key_and_events_still_arrive() -> None:
    # time_factor 3600: a listenKey lives one real second; no keepalive, so it expires.
    async with venue(config(time_factor=3600), flavour="listenkey", keepalive_s=1e6) as v:
        placed = await place_burst(v.rest, BURST, prefix="exp", pace_s=0.1)
        final = await wait_until_accounted(v, placed, strict=False)
        assert_nothing_lost(v, placed, final, strict=False, recurring=True)
        assert v.counters.subscriptions >= 2               # at least one key expired and was replaced
        assert v.counters.reconnects >= 1
        assert v.ledger.reconciles == v.counters.reconnects + 1
        assert "ListenKeyExpired" in (v.counters.last_error or "")


async def test_listen_key_keepalive_prevents_expiry() -> None:
    # one real second of validity; a keepalive every 0.25 s keeps the same key for 2.5 s
    async with venue(config(time_factor=3600), flavour="listenkey", keepalive_s=0.25) as v:
        placed = await place_burst(v.rest, 10, prefix="keep", pace_s=0.25)
        final = await wait_until_accounted(v, placed, strict=True)
        assert_nothing_lost(v, placed, final, strict=True)
        assert v.counters.keepalives >= 5
        assert (v.counters.subscriptions, v.counters.reconnects) == (1, 0)


async def test_listen_key_expiry_injected_mid_burst() -> None:
    async with venue(config(), flavour="listenkey") as v:
        placed = await place_burst(v.rest, BURST, prefix="lk", pace_s=0.03, inject_at=BURST // 2,
                                   inject=v.handle.faults.expire_listen_keys)
        final = await wait_until_accounted(v, placed, strict=False)
        assert_nothing_lost(v, placed, final, strict=False)
        assert v.counters.subscriptions == 2 and v.counters.reconnects == 1
        assert v.ledger.reconciles == 2


async def test_event_stream_terminated_resubscribes_and_events_still_arrive() -> None:
    async with venue(config()) as v:
        placed = await place_burst(v.rest, BURST, prefix="term", pace_s=0.03,
                                   inject_at=BURST // 2,
                                   inject=v.handle.faults.terminate_user_streams)
        final = await wait_until_accounted(v, placed, strict=False)
        assert_nothing_lost(v, placed, final, strict=False)
        counters = v.counters
        assert (counters.terminations, counters.resubscribes, counters.reconnects) == (1, 1, 0)
        assert counters.subscriptions == 2 and v.ledger.reconciles == 2


async def test_server_shutdown_hands_over_without_losing_an_event() -> None:
    async with venue(config()) as v:
        placed = await place_burst(
            v.rest, BURST, prefix="shut", pace_s=0.03, inject_at=BURST // 3,
            inject=lambda: v.handle.faults.server_shutdown("user", grace_s=0.5))
        final = await wait_until_accounted(v, placed, strict=True)
        assert_nothing_lost(v, placed, final, strict=True)
        counters = v.counters
        assert (counters.handovers, counters.reconnects, counters.subscriptions) == (1, 0, 2)
        assert v.ledger.reconciles == 2
        assert v.handle.faults.effects["drop_connections"] == 0


@pytest.mark.parametrize("flavour", ["listenkey", "ws-api"])
async def test_user_connection_dropped_mid_burst_reconnects_and_reconciles(flavour: str) -> None:
    async with venue(config(), flavour=flavour) as v:
        drops: list[int] = []
        placed = await place_burst(
            v.rest, BURST, prefix=f"drop-{flavour}", pace_s=0.03, inject_at=BURST // 2,
            inject=lambda: drops.append(v.handle.faults.drop_connections("user")))
        final = await wait_until_accounted(v, placed, strict=False)
        assert_nothing_lost(v, placed, final, strict=False)
        assert drops == [1]
        assert v.counters.reconnects == 1
        assert v.ledger.reconciles == v.counters.reconnects + 1
        with trio.fail_after(5):
            while not v.counters.connected:
                await trio.sleep(0.05)
