"""An account's order history as the USER_DATA endpoints select it (seed rules).

Why apart from the exchange: these are read-only selections over an account's
orders and order lists, with the seed's paging rules, and no exchange step is
involved.  ``allOrders``: ``orderId`` gives orders with id >= it, else the most
recent ``limit``; ``startTime``/``endTime`` bound the creation time.
``allOrderList``: ``fromId`` (never with a time bound) or ``startTime`` give the
oldest ``limit`` from there in ascending order; otherwise the newest ``limit``,
newest first, as the seed's example shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sim import errors, render
from sim.accounts import Account
from sim.order_lists import list_query


def all_orders(account: Account, symbol: str, *, order_id: int | None, start: int | None,
               end: int | None, limit: int) -> list[dict[str, object]]:
    chosen = sorted(
        (order for (order_symbol, _), order in account.orders.items()
         if order_symbol == symbol
         and (order_id is None or order.order_id >= order_id)
         and (start is None or order.time >= start)
         and (end is None or order.time <= end)),
        key=lambda order: order.order_id,
    )
    chosen = chosen[:limit] if order_id is not None or start is not None else chosen[-limit:]
    return [render.order_query(order) for order in chosen]


def all_order_lists(account: Account, *, from_id: int | None, start: int | None,
                    end: int | None, limit: int) -> list[dict[str, object]]:
    if from_id is not None and (start is not None or end is not None):
        raise errors.bad_combination()
    chosen = [
        order_list for list_id, order_list in sorted(account.order_lists.items())
        if (from_id is None or list_id >= from_id)
        and (start is None or order_list.transaction_time >= start)
        and (end is None or order_list.transaction_time <= end)
    ]
    if from_id is not None or start is not None:
        return [list_query(order_list) for order_list in chosen[:limit]]
    return [list_query(order_list) for order_list in reversed(chosen[-limit:])]


def open_order_lists(account: Account) -> list[dict[str, object]]:
    return [list_query(order_list) for order_list in
            sorted(account.open_order_lists(), key=lambda lst: lst.order_list_id)]


_INTERVAL_MS = {"SECOND": 1_000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}


def orders_placed(account: Account, limits: Iterable[Mapping[str, Any]],
                  now_ms: int) -> list[dict[str, object]]:
    """``rateLimit/order`` from the account's own orders when no rate limiter counts them.

    Each ORDERS limit is a fixed window aligned to the clock (the seed's LIMITS
    section); an order counts in the window its creation time falls in, and an
    OCO's two legs count two, as the seed says.
    """
    answer = []
    for limit in limits:
        if limit["rateLimitType"] != "ORDERS":
            continue
        width = _INTERVAL_MS[str(limit["interval"])] * int(str(limit["intervalNum"]))
        opened = now_ms - now_ms % width
        count = sum(1 for order in account.orders.values() if opened <= order.time <= now_ms)
        answer.append({**limit, "count": count})
    return answer
