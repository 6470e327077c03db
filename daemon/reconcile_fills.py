"""Finding fills the store missed: the ``myTrades`` catch-up and the per-order repair.

Why two ways: the cheap one resumes each symbol's ``myTrades`` at the newest
stored trade id + 1 (``fromId``), which finds every fill that happened after the
last one we stored.  It cannot see a fill *older* than the newest stored one,
and that happens: events delivered out of order (trade 51 before 50) followed
by a crash or a disconnect leave 50 missing under a stored 51.  So every order
whose executed quantity is more than its stored fills add up to has its trades
fetched by order id (``myTrades?orderId=``).  Between them no fill can be lost,
and the store's (symbol, trade id) key makes sure none is counted twice.

A trade of an order the store has never seen (placed outside the daemon) makes
the catch-up fetch that order first (``GET /api/v3/order``), so the fill is
recorded against a known order rather than dropped or left dangling.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from daemon.crash_points import crash_point
from daemon.errors import UnknownOrder
from daemon.venues.binance.models import RestTrade

log = logging.getLogger("daemon.reconcile")

#: ``myTrades`` page size: the exchange's maximum (fewer requests per catch-up).
PAGE_LIMIT = 1000


@dataclass
class FillChanges:
    """What a catch-up changed, for the report and for the strategies."""

    fills: list[Any] = field(default_factory=list)        # FillRecord, new, in trade order
    orders: list[Any] = field(default_factory=list)       # OrderRecord fetched because unknown
    pages: int = 0
    repaired_orders: int = 0


async def order_trades(rest: Any, symbol: str, order_id: int) -> Sequence[RestTrade]:
    """``GET /api/v3/myTrades?symbol=&orderId=``: every fill of one order.

    Fetched by order id because the ``fromId`` catch-up cannot see a fill older
    than the newest stored one.  One page of the exchange's maximum (1000); the
    repair logs ``reconcile.order_trades_truncated`` when a page comes back full.
    """
    return await rest.my_trades(symbol, order_id=order_id, limit=PAGE_LIMIT)


async def fetch_unknown_orders(rest: Any, store: Any, trades: Sequence[Any],
                               changes: FillChanges) -> None:
    """Store the orders of ``trades`` the store does not know, so their fills are attributed."""
    missing = {(t.symbol, int(t.order_id)) for t in trades}
    for symbol, order_id in sorted(missing):
        if store.order(symbol, order_id) is not None:
            continue
        try:
            order = await rest.get_order(symbol, order_id=order_id)
        except UnknownOrder:
            log.warning("reconcile.trade_without_order symbol=%s order_id=%d", symbol, order_id)
            continue
        changes.orders.append(store.upsert_rest_order(order, source="reconcile"))
        log.info("reconcile.order_discovered symbol=%s order_id=%d client_order_id=%s status=%s",
                 symbol, order_id, order.client_order_id, order.status)


async def catch_up_symbol(rest: Any, store: Any, symbol: str, changes: FillChanges, *,
                          page_limit: int = PAGE_LIMIT) -> None:
    """Fetch and store every fill of ``symbol`` after the newest stored one.

    A symbol without any stored fill is left to the per-order repair: resuming
    at trade id 0 would download the account's whole history of that symbol.
    """
    last = store.last_trade_id(symbol)
    if last is None:
        return
    from_id = last + 1
    while True:
        trades = await rest.my_trades(symbol, from_id=from_id, limit=page_limit)
        changes.pages += 1
        if not trades:
            return
        await fetch_unknown_orders(rest, store, trades, changes)
        changes.fills.extend(store.record_rest_fills(trades, source="reconcile"))
        crash_point("reconcile.after_fill_page")
        highest = max(int(t.id) for t in trades)
        if len(trades) < page_limit or highest < from_id:
            return  # a short page is the last; a page that does not advance would loop
        from_id = highest + 1


async def repair_orders(rest: Any, store: Any, changes: FillChanges, *,
                        since_ms: int | None) -> None:
    """Fetch, by order id, the trades of every order whose stored fills fall short."""
    for order, counted in store.orders_missing_fills(since_ms=since_ms):
        trades = await order_trades(rest, order.symbol, order.order_id)
        new = store.record_rest_fills(trades, source="reconcile")
        changes.fills.extend(new)
        changes.repaired_orders += 1
        found = counted + sum((fill.quantity for fill in new), Decimal(0))
        level = logging.INFO if found >= order.executed_qty else logging.WARNING
        log.log(level, "reconcile.order_fills_repaired symbol=%s order_id=%d executed=%s "
                "stored_before=%s recovered=%d", order.symbol, order.order_id,
                order.executed_qty, counted, len(new))
        if len(trades) >= PAGE_LIMIT:
            log.warning("reconcile.order_trades_truncated symbol=%s order_id=%d limit=%d",
                        order.symbol, order.order_id, PAGE_LIMIT)
