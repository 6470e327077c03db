"""The order book of one symbol and price-time priority matching.

Why matching is split into ``plan`` and ``OrderBook.fill``: the exchange must
know what an order *would* trade before it commits anything (FOK needs the
whole quantity available, a MARKET buy must be paid for in full before it
executes), and since everything runs in one trio thread between two awaits,
a plan made now is still exact when it is applied right after.

This module knows nothing of accounts or balances: a resting order may belong
to a user or to a synthetic participant (``owner is None``); settlement is the
exchange's job (``sim.exchange``).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sim.numbers import ZERO, down8, floor_to_step

if TYPE_CHECKING:
    from sim.accounts import Account

OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})


@dataclass(eq=False)
class Order:
    """One order, resting or not.  ``reserved`` is the part of the owner's lock still held."""

    symbol: str
    order_id: int
    client_order_id: str
    side: str  # BUY | SELL
    order_type: str  # LIMIT | LIMIT_MAKER | MARKET
    time_in_force: str  # GTC | IOC | FOK (MARKET orders report GTC, as Binance does)
    price: Decimal  # ZERO for MARKET
    orig_qty: Decimal
    quote_order_qty: Decimal = ZERO
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    status: str = "NEW"
    time: int = 0
    update_time: int = 0
    owner: Account | None = None
    reserved: Decimal = ZERO
    on_book: bool = False

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Match:
    """One planned execution: ``qty`` of ``maker`` at the maker's price."""

    maker: Order
    price: Decimal
    qty: Decimal

    @property
    def quote_qty(self) -> Decimal:
        """Quote amount of this execution, truncated to 1e-8 (what buyer pays, seller gets)."""
        return down8(self.price * self.qty)


class _Side:
    """Price levels of one side: FIFO queues keyed by price, prices kept sorted ascending."""

    def __init__(self, descending: bool) -> None:
        self.descending = descending
        self.prices: list[Decimal] = []
        self.levels: dict[Decimal, deque[Order]] = {}

    def best_first(self) -> Iterator[Decimal]:
        return reversed(self.prices) if self.descending else iter(self.prices)

    def add(self, order: Order) -> None:
        queue = self.levels.get(order.price)
        if queue is None:
            queue = self.levels[order.price] = deque()
            bisect.insort(self.prices, order.price)
        queue.append(order)

    def remove(self, order: Order) -> None:
        queue = self.levels[order.price]
        queue.remove(order)
        if not queue:
            del self.levels[order.price]
            self.prices.pop(bisect.bisect_left(self.prices, order.price))

    def level_qty(self, price: Decimal) -> Decimal:
        return sum((order.remaining for order in self.levels[price]), ZERO)


class OrderBook:
    """Resting orders of one symbol.  ``update_id`` counts every change, like Binance's."""

    def __init__(self, symbol: str, update_id: int = 0) -> None:
        self.symbol = symbol
        self.bids = _Side(descending=True)
        self.asks = _Side(descending=False)
        self.update_id = update_id

    def _side(self, side: str) -> _Side:
        return self.bids if side == "BUY" else self.asks

    def _opposite(self, side: str) -> _Side:
        return self.asks if side == "BUY" else self.bids

    # -------------------------------------------------------------- mutations

    def add(self, order: Order) -> None:
        self._side(order.side).add(order)
        order.on_book = True
        self.update_id += 1

    def remove(self, order: Order) -> None:
        if not order.on_book:
            return
        self._side(order.side).remove(order)
        order.on_book = False
        self.update_id += 1

    def fill(self, match: Match) -> None:
        """Apply one planned execution to the maker; a fully filled maker leaves the book."""
        maker = match.maker
        maker.executed_qty += match.qty
        maker.cum_quote += match.quote_qty
        maker.status = "FILLED" if maker.remaining == 0 else "PARTIALLY_FILLED"
        if maker.remaining == 0:
            self.remove(maker)
        else:
            self.update_id += 1

    # ---------------------------------------------------------------- queries

    def best(self, side: str) -> tuple[Decimal, Decimal] | None:
        """(price, total qty) of the best level of ``side`` (BUY = bids), or None."""
        book_side = self._side(side)
        for price in book_side.best_first():
            return price, book_side.level_qty(price)
        return None

    def levels(self, side: str, limit: int) -> list[tuple[Decimal, Decimal]]:
        book_side = self._side(side)
        out: list[tuple[Decimal, Decimal]] = []
        for price in book_side.best_first():
            if len(out) >= limit:
                break
            out.append((price, book_side.level_qty(price)))
        return out

    def makers_for(self, taker_side: str) -> Iterator[Order]:
        """Resting orders a ``taker_side`` order meets, in price-time priority."""
        book_side = self._opposite(taker_side)
        for price in list(book_side.best_first()):
            yield from list(book_side.levels.get(price, ()))

    def would_cross(self, side: str, price: Decimal) -> bool:
        best = self.best("SELL" if side == "BUY" else "BUY")
        if best is None:
            return False
        return price >= best[0] if side == "BUY" else price <= best[0]

    def resting(self) -> Iterator[Order]:
        for book_side in (self.bids, self.asks):
            for queue in book_side.levels.values():
                yield from queue

    # --------------------------------------------------------------- planning

    def plan(
        self,
        taker_side: str,
        *,
        limit_price: Decimal | None,
        quantity: Decimal | None,
        quote_budget: Decimal | None = None,
        step: Decimal = ZERO,
    ) -> list[Match]:
        """The executions an incoming order would make, without changing anything.

        Exactly one of ``quantity`` (base asset) and ``quote_budget`` (quote asset,
        MARKET ``quoteOrderQty``) is given.  With a budget, each level takes the
        largest multiple of ``step`` that the remaining budget pays for.
        """
        matches: list[Match] = []
        left_qty = quantity
        left_quote = quote_budget
        for maker in self.makers_for(taker_side):
            price = maker.price
            if limit_price is not None:
                if taker_side == "BUY" and price > limit_price:
                    break
                if taker_side == "SELL" and price < limit_price:
                    break
            if left_qty is not None:
                qty = min(maker.remaining, left_qty)
            else:
                assert left_quote is not None
                qty = min(maker.remaining, floor_to_step(left_quote / price, step))
            if qty <= 0:
                break
            match = Match(maker, price, qty)
            matches.append(match)
            if left_qty is not None:
                left_qty -= qty
                if left_qty == 0:
                    break
            else:
                assert left_quote is not None
                left_quote -= match.quote_qty
        return matches
