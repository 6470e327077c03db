"""Orders the daemon did not place, seen on the stream: fetch them instead of ignoring them.

Why: an executionReport for an order with no intent (placed on the web UI, by
another program on the same account, or by an older install) still changes the
account.  The event alone is one moment of that order; its REST view
(``GET /api/v3/order``) and, when it traded, its fills (``myTrades?orderId=``)
make the store's picture complete, so balances, open orders and fills keep
matching the exchange.  The router applies the event first (store first, as
always) and then asks this fetcher, which works in its own task so the event
path never waits for REST.

Each order is fetched once per process; a failed fetch is retried after
``retry_delays`` and then left to the next reconciliation, which lists open
orders and catches up fills anyway.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import trio

from daemon.errors import ExchangeError, TransportError, UnknownOrder
from daemon.reconcile_fills import order_trades

log = logging.getLogger("daemon.reconcile")


class UnknownOrderFetcher:
    """``request(symbol, order_id)`` from the router; ``run`` (in a nursery) fetches."""

    def __init__(self, rest: Any, store: Any, *, retry_delays: Sequence[float] = (0.5, 2.0)) -> None:
        self._rest = rest
        self._store = store
        self._delays = tuple(retry_delays)
        self._seen: set[tuple[str, int]] = set()
        self._send, self._receive = trio.open_memory_channel[tuple[str, int]](math.inf)
        self.fetched = 0
        self.failed = 0

    def request(self, symbol: str, order_id: int) -> bool:
        """Queue a fetch of an order nobody here placed; False when already queued or done."""
        key = (symbol, int(order_id))
        if key in self._seen:
            return False
        self._seen.add(key)
        self._send.send_nowait(key)
        log.info("order.unknown_queued symbol=%s order_id=%d", symbol, key[1])
        return True

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with self._receive:
            async for symbol, order_id in self._receive:
                await self._fetch_with_retries(symbol, order_id)

    async def _fetch_with_retries(self, symbol: str, order_id: int) -> None:
        for delay in (0.0, *self._delays):
            if delay:
                await trio.sleep(delay)
            try:
                await self.fetch(symbol, order_id)
                return
            except UnknownOrder:
                log.warning("order.unknown_gone symbol=%s order_id=%d", symbol, order_id)
                return
            except (TransportError, ExchangeError) as exc:
                log.warning("order.unknown_fetch_failed symbol=%s order_id=%d error=%s",
                            symbol, order_id, exc)
        self.failed += 1
        log.warning("order.unknown_left_to_reconcile symbol=%s order_id=%d", symbol, order_id)

    async def fetch(self, symbol: str, order_id: int) -> None:
        """Store the order's REST view and, if it traded, any of its fills not stored yet."""
        order = await self._rest.get_order(symbol, order_id=order_id)
        record = self._store.upsert_rest_order(order, source="reconcile")
        recovered = 0
        if record.executed_qty > 0:
            counted = sum((f.quantity for f in self._store.fills_of_order(symbol, order_id)),
                          Decimal(0))
            if counted < record.executed_qty:
                trades = await order_trades(self._rest, symbol, order_id)
                recovered = len(self._store.record_rest_fills(trades, source="reconcile"))
        self.fetched += 1
        log.info("order.unknown_fetched symbol=%s order_id=%d client_order_id=%s status=%s "
                 "fills_recovered=%d", symbol, order_id, order.client_order_id, order.status,
                 recovered)
