"""Contingent orders waiting for their trigger: STOP_LOSS(_LIMIT), TAKE_PROFIT(_LIMIT).

The seed's rule, against the last trade price: a STOP_LOSS BUY and a
TAKE_PROFIT SELL trigger when the price rises to their ``stopPrice`` (they must
be placed above the market), a STOP_LOSS SELL and a TAKE_PROFIT BUY when it
falls to it (placed below).  An order whose condition already holds when it
arrives is refused ("Order would trigger immediately.", see ``would_trigger``).

Trailing stops (``trailingDelta`` in basis points, today's trailing-stop FAQ):
with a ``stopPrice`` the order starts tracking once that condition is met (the
trade that meets it sets the extreme); without one it tracks from the last
price when placed.  A BUY then triggers after a rise of ``trailingDelta`` from
the lowest price seen, a SELL after a fall of it from the highest.

Why a book of its own: these orders are not on the order book (depth never
shows them) and must be looked at after every trade; ``on_trade`` returns the
ones to fire, in placement order, and forgets them.  Firing happens later, once
the order that made the trade has finished (``sim.contingent``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sim.engine import Order

_BIPS = Decimal(10_000)
# (type, side) pairs whose stop condition is "price >= stopPrice".
_RISING = frozenset({("STOP_LOSS", "BUY"), ("STOP_LOSS_LIMIT", "BUY"),
                     ("TAKE_PROFIT", "SELL"), ("TAKE_PROFIT_LIMIT", "SELL")})


def triggers_on_rise(order_type: str, side: str) -> bool:
    return (order_type, side) in _RISING


def stop_condition(order_type: str, side: str, stop_price: Decimal, price: Decimal) -> bool:
    """Does a trade at ``price`` meet the stop condition of such an order?"""
    if triggers_on_rise(order_type, side):
        return price >= stop_price
    return price <= stop_price


def would_trigger(order_type: str, side: str, stop_price: Decimal, last_price: Decimal) -> bool:
    """The seed's "Order would trigger immediately." check at placement."""
    return stop_condition(order_type, side, stop_price, last_price)


@dataclass
class _Watch:
    order: Order
    tracking: bool  # trailing: following the extreme (stop condition met, or no stop price)
    extreme: Decimal | None  # lowest (BUY) / highest (SELL) price since tracking began


class StopBook:
    """The untriggered contingent orders of one symbol, in placement order."""

    def __init__(self) -> None:
        self._watches: dict[Order, _Watch] = {}

    def __len__(self) -> int:
        return len(self._watches)

    def __contains__(self, order: Order) -> bool:
        return order in self._watches

    def add(self, order: Order, last_price: Decimal) -> None:
        trailing_from_now = order.trailing_delta > 0 and order.stop_price == 0
        self._watches[order] = _Watch(order, trailing_from_now,
                                      last_price if trailing_from_now else None)

    def remove(self, order: Order) -> None:
        self._watches.pop(order, None)

    def on_trade(self, price: Decimal) -> list[Order]:
        """The orders a trade at ``price`` triggers (removed from the book)."""
        fired = [watch.order for watch in self._watches.values() if self._fires(watch, price)]
        for order in fired:
            del self._watches[order]
        return fired

    @staticmethod
    def _fires(watch: _Watch, price: Decimal) -> bool:
        order = watch.order
        if order.trailing_delta == 0:
            return stop_condition(order.order_type, order.side, order.stop_price, price)
        if not watch.tracking:
            if not stop_condition(order.order_type, order.side, order.stop_price, price):
                return False
            watch.tracking, watch.extreme = True, price
            return False
        assert watch.extreme is not None
        delta = Decimal(order.trailing_delta) / _BIPS
        if order.side == "BUY":
            watch.extreme = min(watch.extreme, price)
            return price >= watch.extreme * (1 + delta)
        watch.extreme = max(watch.extreme, price)
        return price <= watch.extreme * (1 - delta)
