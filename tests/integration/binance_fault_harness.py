"""Shared pieces of the Binance fault tests: the real venue code against the real simulator.

``venue(...)`` starts the simulator on 127.0.0.1, a ``BinanceRest`` with its rate
governor, and the user-data stream of the chosen flavour feeding a ``Ledger``.
The ledger is what "nothing is lost" is checked against: every executionReport
the stream delivered (each must come exactly once), plus the fills a
reconciliation recovered over REST (``on_connected``, called after every
(re)connection, like the daemon's), compared at the end with the exchange's own
list of the account's trades.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from daemon.credentials import Credentials
from daemon.venues.binance.models import ExecutionReport
from daemon.venues.binance.ratelimit import RateGovernor
from daemon.venues.binance.rest import BinanceRest
from daemon.venues.binance.streams import Backoff
from daemon.venues.binance.user_stream import run_account_stream
from daemon.venues.binance.userdata import UserStreamCounters, event_key
from sim import SimConfig, SimHandle, run_simulator

log = logging.getLogger(__name__)

SYMBOL = "BTCUSDT"


@dataclass
class Ledger:
    """What reached the daemon: stream events (counted by key) and recovered fills."""

    rest: BinanceRest
    keys: Counter = field(default_factory=Counter)
    reports: list[ExecutionReport] = field(default_factory=list)
    stream_trades: set[int] = field(default_factory=set)
    recovered_trades: set[int] = field(default_factory=set)
    reconciles: int = 0
    events: int = 0

    async def on_connected(self) -> None:
        """The reconciliation hook: what the stream may have missed, from REST."""
        self.reconciles += 1
        trades = await self.rest.my_trades(SYMBOL, limit=1000)
        self.recovered_trades |= {trade.id for trade in trades}

    async def consume(self, receive: trio.MemoryReceiveChannel) -> None:
        async for event, _raw in receive:
            self.events += 1
            if isinstance(event, ExecutionReport):
                self.keys[event_key(event)] += 1
                self.reports.append(event)
                if event.trade_id >= 0:
                    self.stream_trades.add(event.trade_id)

    def filled_client_ids(self) -> set[str]:
        return {r.client_order_id for r in self.reports if r.status == "FILLED"}

    def duplicates(self) -> dict:
        return {key: count for key, count in self.keys.items() if count != 1}


@dataclass
class Venue:
    handle: SimHandle
    rest: BinanceRest
    ledger: Ledger
    counters: UserStreamCounters


@asynccontextmanager
async def venue(config: SimConfig, *, flavour: str = "ws-api",
                governor: RateGovernor | None = None, recv_window_ms: int = 5000,
                keepalive_s: float = 1800.0, handover_grace_s: float = 1.0,
                ) -> AsyncIterator[Venue]:
    async with trio.open_nursery() as sim_nursery:
        handle: SimHandle = await sim_nursery.start(run_simulator, config)
        rest = BinanceRest(handle.rest_url, Credentials(handle.api_key, handle.api_secret),
                           recv_window_ms=recv_window_ms,
                           governor=governor or RateGovernor(time_factor=config.time_factor))
        try:
            async with trio.open_nursery() as nursery:
                yield await _start_stream(nursery, handle, rest, flavour=flavour,
                                          keepalive_s=keepalive_s,
                                          handover_grace_s=handover_grace_s)
                nursery.cancel_scope.cancel()   # the stream's shielded close still uses rest
        finally:
            with trio.CancelScope(shield=True):
                await rest.aclose()
            sim_nursery.cancel_scope.cancel()


async def _start_stream(nursery: trio.Nursery, handle: SimHandle, rest: BinanceRest, *,
                        flavour: str, keepalive_s: float, handover_grace_s: float) -> Venue:
    await rest.sync_clock()
    await rest.exchange_info()            # the governor adopts the sim's limits
    ledger = Ledger(rest)
    send, receive = trio.open_memory_channel(10_000)
    nursery.start_soon(ledger.consume, receive)
    counters = await nursery.start(lambda task_status: run_account_stream(
        flavour, rest, stream_url=handle.stream_url, ws_api_url=handle.ws_api_url,
        send_channel=send, on_connected=ledger.on_connected, keepalive_s=keepalive_s,
        backoff=Backoff(0.05, 0.5), handover_grace_s=handover_grace_s,
        task_status=task_status))
    return Venue(handle, rest, ledger, counters)


async def place_burst(rest: BinanceRest, count: int, *, prefix: str, pace_s: float = 0.0,
                      inject_at: int | None = None, inject: Callable[[], object] | None = None,
                      ) -> list[str]:
    """``count`` small market orders (alternating sides); ``inject()`` before order ``inject_at``."""
    placed = []
    for index in range(count):
        if inject is not None and index == inject_at:
            inject()
        client_id = f"{prefix}-{index}"
        await rest.new_order({"symbol": SYMBOL, "side": "BUY" if index % 2 == 0 else "SELL",
                              "type": "MARKET", "quantity": "0.001",
                              "newClientOrderId": client_id})
        placed.append(client_id)
        if pace_s:
            await trio.sleep(pace_s)
    return placed


async def wait_until_accounted(v: Venue, placed: list[str], *, strict: bool,
                               timeout_s: float = 15.0) -> set[int]:
    """Wait until every fill of the account is in the ledger; return the exchange's trade ids.

    ``strict``: every fill must have come over the stream (no reconciliation needed).
    """
    final = {trade.id for trade in await v.rest.my_trades(SYMBOL, limit=1000)}
    with trio.fail_after(timeout_s):
        while True:
            known = v.ledger.stream_trades if strict else v.ledger.stream_trades | v.ledger.recovered_trades
            if final <= known and (not strict or set(placed) <= v.ledger.filled_client_ids()):
                break
            await trio.sleep(0.05)
    await trio.sleep(0.3)                      # a late duplicate would show up now
    return final
