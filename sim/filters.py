"""Symbol filter checks, written from the seed's "Filters" section.

Why the simulator has its own: it stands in for the exchange, so its rules must
come from the specification and not from the daemon's ``daemon/filters.py``;
only then does a test of one against the other find mistakes in either.

Each check raises ``errors.filter_failure(<FILTER>)`` (code -1013, message
"Filter failure: PRICE_FILTER" ...), the way the exchange answers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from sim import errors
from sim.numbers import down8, is_multiple
from sim.symbols import SymbolSpec


@dataclass(frozen=True)
class OrderShape:
    """What the filters look at in a new order (parsed and typed already)."""

    order_type: str  # LIMIT, LIMIT_MAKER, MARKET
    price: Decimal | None
    quantity: Decimal | None
    quote_order_qty: Decimal | None


def check_new_order(
    spec: SymbolSpec, order: OrderShape, avg_price: Decimal, open_orders_on_symbol: int
) -> None:
    """Every enforced filter, in exchangeInfo order; the first failure is raised."""
    if order.price is not None:
        check_price_filter(spec, order.price)
        check_percent_price(spec, order.price, avg_price)
    if order.quantity is not None:
        check_lot_size(spec, order.quantity)
    check_min_notional(spec, order, avg_price)
    if order.order_type == "MARKET" and order.quantity is not None:
        check_market_lot_size(spec, order.quantity)
    if open_orders_on_symbol >= spec.max_num_orders:
        raise errors.filter_failure("MAX_NUM_ORDERS")


def check_price_filter(spec: SymbolSpec, price: Decimal) -> None:
    """price >= minPrice, price <= maxPrice, (price - minPrice) % tickSize == 0 (zero disables)."""
    if spec.min_price and price < spec.min_price:
        raise errors.filter_failure("PRICE_FILTER")
    if spec.max_price and price > spec.max_price:
        raise errors.filter_failure("PRICE_FILTER")
    if not is_multiple(price, spec.min_price, spec.tick_size):
        raise errors.filter_failure("PRICE_FILTER")


def check_percent_price(spec: SymbolSpec, price: Decimal, avg_price: Decimal) -> None:
    """avg * multiplierDown <= price <= avg * multiplierUp."""
    if price > avg_price * spec.multiplier_up or price < avg_price * spec.multiplier_down:
        raise errors.filter_failure("PERCENT_PRICE")


def check_lot_size(spec: SymbolSpec, quantity: Decimal) -> None:
    """minQty <= quantity <= maxQty and (quantity - minQty) % stepSize == 0."""
    if quantity < spec.min_qty or quantity > spec.max_qty:
        raise errors.filter_failure("LOT_SIZE")
    if not is_multiple(quantity, spec.min_qty, spec.step_size):
        raise errors.filter_failure("LOT_SIZE")


def check_market_lot_size(spec: SymbolSpec, quantity: Decimal) -> None:
    """MARKET quantity within the market maxQty (minQty and stepSize are 0: disabled)."""
    if quantity > spec.market_max_qty:
        raise errors.filter_failure("MARKET_LOT_SIZE")


def check_min_notional(spec: SymbolSpec, order: OrderShape, avg_price: Decimal) -> None:
    """price * quantity >= minNotional; MARKET orders use the average price (applyToMarket)."""
    if order.order_type == "MARKET":
        if order.quote_order_qty is not None:
            notional = order.quote_order_qty
        else:
            assert order.quantity is not None
            notional = avg_price * order.quantity
    else:
        assert order.price is not None and order.quantity is not None
        notional = order.price * order.quantity
    if notional < spec.min_notional:
        raise errors.filter_failure("MIN_NOTIONAL")


class AveragePrice:
    """Volume-weighted price of the trades of the last ``minutes`` (the seed's avgPriceMins).

    Falls back to the last trade price when the window is empty, and to the
    ``initial`` price before any trade; ``minutes=0`` means the last price.
    """

    def __init__(self, minutes: int, initial: Decimal) -> None:
        self._window_ms = minutes * 60_000
        self._trades: deque[tuple[int, Decimal, Decimal]] = deque()
        self._notional = Decimal(0)
        self._volume = Decimal(0)
        self.last_price = initial

    def add(self, time_ms: int, price: Decimal, quantity: Decimal) -> None:
        self.last_price = price
        if self._window_ms == 0:
            return
        self._trades.append((time_ms, price, quantity))
        self._notional += price * quantity
        self._volume += quantity

    def value(self, now_ms: int) -> Decimal:
        horizon = now_ms - self._window_ms
        while self._trades and self._trades[0][0] < horizon:
            _, price, quantity = self._trades.popleft()
            self._notional -= price * quantity
            self._volume -= quantity
        if not self._trades or self._volume <= 0:
            return self.last_price
        return down8(self._notional / self._volume)
