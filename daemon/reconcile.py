"""Reconciliation: start-up == crash recovery == post-reconnect resync.

Why one procedure for all three: after a crash, after a dropped user-data
connection and at a plain start the question is the same (what happened on
the exchange that the store has not seen?) and so is the only trustworthy
answer (the exchange's REST views).  ``Reconciler.on_connected`` is the user
stream's callback: it runs after every (re)connect, before any event of the new
connection is forwarded (``daemon.venues.binance.userdata`` buffers them).

One run, in order:

1. close the dispatch gate (``daemon.dispatch_gate``): strategies hear nothing
   until the store is level with the exchange;
2. resolve the write-ahead intents left ``pending`` by a crash or ``unknown`` by
   a lost answer, by client id, never by resending (``daemon.reconcile_intents``);
3. the account snapshot (balances, authoritative at its update time) and the
   open orders; every order the store believes open but the exchange does not
   list is fetched by id (it filled, expired or was cancelled meanwhile);
4. fills: ``myTrades`` from the newest stored trade id of every symbol with
   activity, then by order id for orders whose stored fills fall short
   (``daemon.reconcile_fills``);
5. the changes go to their strategies through the gate (``on_order_update``,
   then ``on_fill``), and the gate opens: held stream events follow, and the
   store's idempotence has already turned the ones the snapshot covered into
   no-ops, so each fill reaches its strategy exactly once.

Everything written here is marked ``source="reconcile"``.  A failure leaves the
gate closed and propagates: the user stream reconnects and this runs again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from daemon.crash_points import crash_point
from daemon.dispatch_gate import DispatchGate
from daemon.errors import ExchangeError, TransportError, UnknownOrder
from daemon.reconcile_fills import PAGE_LIMIT, FillChanges, catch_up_symbol, repair_orders
from daemon.reconcile_intents import UNKNOWN, resolve_intents, unresolved

log = logging.getLogger(__name__)

#: How far before the previous successful run the per-order fill check looks again.
REPAIR_MARGIN_MS = 10 * 60 * 1000
#: An ``unknown`` intent this old is past any resolution the gateway still runs for it.
UNKNOWN_MIN_AGE_S = 30.0


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class ReconcileReport:
    """What one run did (logged as ``reconcile.done``; tests and the bench read it)."""

    run: int
    intents_found: int
    intents_missing: int
    intents_mismatched: int
    orders_updated: int
    fills_recovered: int
    balances_changed: bool
    open_orders: int
    symbols: int
    duration_s: float


class Reconciler:
    """Brings the store level with the exchange; see the module docstring.

    ``rest``: ``BinanceRest`` (account, open_orders, get_order, my_trades).
    ``gate``: the ``DispatchGate`` the router publishes through.  ``settle_s``:
    how long an intent must be old before "no such order" is believed.
    """

    def __init__(self, rest: Any, store: Any, gate: DispatchGate, *, settle_s: float = 1.0,
                 page_limit: int = PAGE_LIMIT, clock_ms: Callable[[], int] = wall_ms) -> None:
        self._rest = rest
        self._store = store
        self._gate = gate
        self._settle_s = settle_s
        self._page_limit = page_limit
        self._clock_ms = clock_ms
        # Intents created from now on belong to this process's gateway while pending.
        self._process_started_ms = clock_ms()
        self._last_success_ms: int | None = None
        self._lock = trio.Lock()
        self.runs = 0
        self.last_report: ReconcileReport | None = None

    async def on_connected(self) -> None:
        """The user stream's callback: hold strategies, reconcile, release them."""
        self._gate.close()
        await self.reconcile()
        self._gate.open()

    async def reconcile(self) -> ReconcileReport:
        """One full run (serialized: a second caller waits for the first)."""
        async with self._lock:
            self.runs += 1
            started_ms = self._clock_ms()
            started = time.perf_counter()
            log.info("reconcile.start run=%d", self.runs)
            report = await self._run(started_ms, started)
            self._last_success_ms = started_ms
            self.last_report = report
            log.info("reconcile.done run=%d intents_found=%d intents_missing=%d "
                     "orders_updated=%d fills_recovered=%d balances_changed=%s open_orders=%d "
                     "symbols=%d duration_ms=%.0f", report.run, report.intents_found,
                     report.intents_missing, report.orders_updated, report.fills_recovered,
                     report.balances_changed, report.open_orders, report.symbols,
                     report.duration_s * 1000)
            return report

    async def _run(self, started_ms: int, started: float) -> ReconcileReport:
        store = self._store
        intents = unresolved(store, created_before_ms=self._process_started_ms)
        resolved = await resolve_intents(self._rest, store, intents, settle_s=self._settle_s,
                                         clock_ms=self._clock_ms)
        orders = list(resolved.orders)

        account = await self._rest.account()
        balances_changed = store.replace_balances(account.balances, account.update_time,
                                                  source="reconcile")
        open_orders = await self._rest.open_orders()
        orders += self._merge_orders(open_orders)
        orders += await self._refresh_vanished({(o.symbol, o.order_id) for o in open_orders})
        crash_point("reconcile.after_snapshot")

        fills = FillChanges(fills=list(resolved.fills))
        symbols = store.active_symbols()
        for symbol in symbols:
            await catch_up_symbol(self._rest, store, symbol, fills, page_limit=self._page_limit)
        since = None if self._last_success_ms is None else self._last_success_ms - REPAIR_MARGIN_MS
        await repair_orders(self._rest, store, fills, since_ms=since)
        orders += fills.orders

        self._publish(orders, fills.fills)
        return ReconcileReport(
            run=self.runs, intents_found=len(resolved.orders), intents_missing=len(resolved.missing),
            intents_mismatched=len(resolved.mismatched), orders_updated=len(orders),
            fills_recovered=len(fills.fills), balances_changed=balances_changed,
            open_orders=len(open_orders), symbols=len(symbols),
            duration_s=time.perf_counter() - started)

    async def watch_intents(self, interval_s: float = 15.0, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Resolve intents the gateway had to leave ``unknown``, without waiting for a reconnect.

        The gateway asks a few times right after a lost answer; when those queries
        fail too (the exchange's REST is down) the intent stays ``unknown``.  This
        task asks again every ``interval_s``, so the owning strategy learns what
        became of its order as soon as the exchange answers.
        """
        task_status.started()
        while True:
            await trio.sleep(interval_s)
            try:
                await self.resolve_unknown()
            except (TransportError, ExchangeError) as exc:
                log.warning("reconcile.intent_watch_failed error=%s", exc)

    async def resolve_unknown(self, min_age_s: float = UNKNOWN_MIN_AGE_S) -> int:
        """Resolve ``unknown`` intents older than ``min_age_s``; returns how many were asked about."""
        async with self._lock:
            now = self._clock_ms()
            intents = [i for i in self._store.intents(states=(UNKNOWN,))
                       if now - i.updated_at >= min_age_s * 1000]
            if not intents:
                return 0
            resolved = await resolve_intents(self._rest, self._store, intents,
                                             settle_s=self._settle_s, clock_ms=self._clock_ms)
            self._publish(resolved.orders, resolved.fills)
            log.info("reconcile.intents_watched asked=%d found=%d missing=%d", len(intents),
                     len(resolved.orders), len(resolved.missing))
            return len(intents)

    def _merge_orders(self, rest_orders) -> list[Any]:
        """Merge REST views of orders; returns the rows they moved."""
        changed = []
        for order in rest_orders:
            before = self._store.order(order.symbol, order.order_id)
            record = self._store.upsert_rest_order(order, source="reconcile")
            if record != before:
                changed.append(record)
        return changed

    async def _refresh_vanished(self, listed: set[tuple[str, int]]) -> list[Any]:
        """Orders the store believes open but the exchange no longer lists: fetch each."""
        fetched = []
        for stale in self._store.orders(open_only=True):
            if (stale.symbol, stale.order_id) in listed:
                continue
            try:
                fetched.append(await self._rest.get_order(stale.symbol, order_id=stale.order_id))
            except UnknownOrder:
                log.warning("reconcile.order_unknown_to_exchange symbol=%s order_id=%d "
                            "client_order_id=%s", stale.symbol, stale.order_id,
                            stale.client_order_id)
        return self._merge_orders(fetched)

    def _publish(self, orders: list[Any], fills: list[Any]) -> None:
        """Tell the owning strategies, through the (closed) gate: order updates, then fills."""
        latest: dict[tuple[str, int], Any] = {}
        for order in orders:
            latest[(order.symbol, order.order_id)] = order
        for order in latest.values():
            if order.strategy is not None:
                self._gate.publish_to(f"strategy:{order.strategy}", "on_order_update", order=order)
        for fill in sorted(fills, key=lambda f: (f.trade_time, f.symbol, f.trade_id)):
            if fill.strategy is not None:
                self._gate.publish_to(f"strategy:{fill.strategy}", "on_fill", fill=fill)
