"""The order book of one symbol and price-time priority matching.

Why matching is split into ``plan`` and ``OrderBook.fill``: the exchange must
know what an order *would* trade before it commits anything (FOK needs the
whole quantity available, a MARKET buy must be paid for in full before it
executes), and since everything runs in one trio thread between two awaits,
a plan made now is still exact when it is applied right after.

This module knows nothing of accounts or balances: a resting order may belong
to a user or to a synthetic participant (``owner is None``); settlement is the
exchange's job (``sim.exchange``).

Iceberg orders (``iceberg_qty > 0``) show only ``visible`` of their quantity:
depth and matching see that part; when a fill uses it up and quantity remains,
a new part of ``iceberg_qty`` (or what is left) is shown and the order goes to
the back of its price level, losing time priority like a new order.  ``plan``
plays the same refills on a copy of each level's queue, so a plan stays exact.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Generator, Iterator
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
    order_type: str  # LIMIT | LIMIT_MAKER | MARKET | STOP_LOSS(_LIMIT) | TAKE_PROFIT(_LIMIT)
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
    stop_price: Decimal = ZERO
    iceberg_qty: Decimal = ZERO
    trailing_delta: int = 0
    order_list_id: int = -1
    # False while a stop/take-profit order waits for its trigger (isWorking).
    working: bool = True
    working_time: int = -1
    visible: Decimal = ZERO  # the shown part of an iceberg on the book

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_iceberg(self) -> bool:
        return self.iceberg_qty > 0

    @property
    def shown(self) -> Decimal:
        """What depth shows and a taker can meet now: the visible part of an iceberg."""
        return self.visible if self.is_iceberg else self.remaining


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
        return sum((order.shown for order in self.levels[price]), ZERO)

    def requeue(self, order: Order) -> None:
        """Move ``order`` to the back of its level (an iceberg showing a new part)."""
        queue = self.levels[order.price]
        queue.remove(order)
        queue.append(order)


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
        if order.is_iceberg:
            order.visible = min(order.iceberg_qty, order.remaining)
        self._side(order.side).add(order)
        order.on_book = True
        self.update_id += 1

    def redisplay(self, order: Order) -> None:
        """An iceberg that traded as a taker before resting shows a fresh part of what is left."""
        if order.on_book and order.is_iceberg:
            order.visible = min(order.iceberg_qty, order.remaining)
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
            return
        if maker.is_iceberg:
            maker.visible -= match.qty
            if maker.visible <= 0:
                maker.visible = min(maker.iceberg_qty, maker.remaining)
                self._side(maker.side).requeue(maker)
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

    def makers_for(self, taker_side: str) -> Generator[tuple[Order, Decimal], Decimal | None, None]:
        """(resting order, quantity it offers) in price-time priority, icebergs refilled.

        An iceberg appears once per shown part: after its part is used up it
        comes back at the end of its level's queue with the next part, exactly
        as ``fill`` will requeue it.  The caller stops when it has enough.
        """
        book_side = self._opposite(taker_side)
        for price in list(book_side.best_first()):
            queue = deque((order, order.shown, order.remaining)
                          for order in book_side.levels.get(price, ()))
            while queue:
                order, shown, left = queue.popleft()
                taken = yield order, shown
                if taken is not None and order.is_iceberg and taken == shown and left > taken:
                    queue.append((order, min(order.iceberg_qty, left - taken), left - taken))

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

        ``quantity`` (base asset) and/or ``quote_budget`` (quote asset: a MARKET
        ``quoteOrderQty``, or what a triggered stop BUY can pay) bound the plan.
        With a budget, each level takes the largest multiple of ``step`` that the
        remaining budget pays for.
        """
        matches: list[Match] = []
        left_qty = quantity
        left_quote = quote_budget
        makers = self.makers_for(taker_side)
        offer = next(makers, None)
        while offer is not None:
            maker, shown = offer
            price = maker.price
            if limit_price is not None:
                if taker_side == "BUY" and price > limit_price:
                    break
                if taker_side == "SELL" and price < limit_price:
                    break
            qty = shown
            if left_qty is not None:
                qty = min(qty, left_qty)
            if left_quote is not None:
                qty = min(qty, floor_to_step(left_quote / price, step))
            if qty <= 0:
                break
            match = Match(maker, price, qty)
            matches.append(match)
            if left_qty is not None:
                left_qty -= qty
                if left_qty == 0:
                    break
            if left_quote is not None:
                left_quote -= match.quote_qty
            try:
                offer = makers.send(qty)
            except StopIteration:
                break
        makers.close()
        return matches
