"""Symbol, exchange and asset filter checks, written from the seed and today's filters.md.

Why the simulator has its own: it stands in for the exchange, so its rules must
come from the specification and not from the daemon's ``daemon/filters``;
only then does a test of one against the other find mistakes in either.

Each failure raises ``errors.filter_failure(<FILTER>)`` (code -1013, message
"Filter failure: PRICE_FILTER" ...), the way the exchange answers.  The checks
run in three passes, each in the order the symbol lists its filters: the
order's own values (``check_order_values``, once per order, so once per OCO
leg), then the open-order counts and the position (``check_account_limits``,
once per request: an OCO adds two orders and one list), then the exchange
filters and MAX_ASSET.

Readings of the text that matter:

* PRICE_FILTER applies to ``price`` and ``stopPrice``; a zero bound or tick
  disables that part; the tick rule is the seed's ``(price - minPrice) % tickSize``.
* LOT_SIZE applies to ``quantity`` and ``icebergQty``; MARKET_LOT_SIZE to MARKET
  quantities only.  A zero ``stepSize`` disables the grid (``x % 0`` means
  nothing); unlike PRICE_FILTER's, the text gives its bounds no "0 disables"
  rule, so a ``maxQty`` of 0 admits no quantity (nor NOTIONAL's ``maxNotional``
  of 0 any notional it applies to).
* MIN_NOTIONAL / NOTIONAL: ``price * quantity``; an algo order also
  ``stopPrice * quantity``, an iceberg also ``price * icebergQty``; MARKET orders
  (and STOP_LOSS / TAKE_PROFIT, which have no price) use the average price
  when the filter applies to market orders, a quote-quantity order its
  ``quoteOrderQty``.
* MAX_POSITION (BUY only): base free + locked + open BUY quantity + this order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from sim import errors
from sim.filter_specs import ExchangeFilters, LotSize
from sim.numbers import down8, is_multiple
from sim.requests import NewOrder
from sim.symbols import SymbolSpec

ZERO = Decimal(0)
# Trailing stops that trigger on a rise ("above") rather than a fall (filters.md).
_TRAILS_ABOVE = frozenset({("STOP_LOSS", "BUY"), ("STOP_LOSS_LIMIT", "BUY"),
                           ("TAKE_PROFIT", "SELL"), ("TAKE_PROFIT_LIMIT", "SELL")})


@dataclass(frozen=True)
class AccountState:
    """An account's open orders and holdings, as the count and position filters see them."""

    open_on_symbol: int = 0
    algo_on_symbol: int = 0
    iceberg_on_symbol: int = 0
    lists_on_symbol: int = 0
    open_total: int = 0
    algo_total: int = 0
    iceberg_total: int = 0
    lists_total: int = 0
    base_held: Decimal = ZERO  # free + locked of the symbol's base asset
    open_buy_qty: Decimal = ZERO  # unfilled quantity of open BUY orders on the symbol


@dataclass(frozen=True)
class NewOrders:
    """What one request adds: a plain order is 1 order; an OCO 2 orders, 1 algo, 1 list."""

    orders: int = 1
    algo: int = 0
    iceberg: int = 0
    lists: int = 0
    buy_qty: Decimal | None = None  # base quantity a BUY adds to the position (None: a SELL)


def check_new_order(spec: SymbolSpec, order: NewOrder, avg_price: Decimal,
                    state: AccountState | None = None, *,
                    exchange_filters: ExchangeFilters | None = None,
                    asset_limits: dict[str, Decimal] | None = None) -> None:
    """Every filter for one plain order (values, counts, exchange, assets)."""
    check_order_values(spec, order, avg_price)
    adds = NewOrders(
        algo=1 if order.is_algo else 0, iceberg=1 if order.is_iceberg else 0,
        buy_qty=_position_qty(order, avg_price) if order.side == "BUY" else None)
    check_account_limits(spec, state or AccountState(), adds,
                         exchange_filters=exchange_filters or ExchangeFilters())
    check_asset_limits(spec, order, avg_price, asset_limits or {})


# ------------------------------------------------------------ the order's values


def check_order_values(spec: SymbolSpec, order: NewOrder, avg_price: Decimal) -> None:
    f = spec.filters
    for raw in f.raw:
        kind = raw["filterType"]
        if kind == "PRICE_FILTER" and f.price:
            for price in (order.price, order.stop_price):
                if price is not None:
                    _price_filter(spec, price)
        elif kind == "PERCENT_PRICE" and f.percent_price and order.price is not None:
            pp = f.percent_price
            _within(order.price, avg_price * pp.multiplier_down, avg_price * pp.multiplier_up,
                    "PERCENT_PRICE")
        elif kind == "PERCENT_PRICE_BY_SIDE" and f.percent_price_by_side \
                and order.price is not None:
            by = f.percent_price_by_side
            low, high = ((by.bid_multiplier_down, by.bid_multiplier_up) if order.side == "BUY"
                         else (by.ask_multiplier_down, by.ask_multiplier_up))
            _within(order.price, avg_price * low, avg_price * high, "PERCENT_PRICE_BY_SIDE")
        elif kind == "LOT_SIZE" and f.lot_size:
            for qty in (order.quantity, order.iceberg_qty):
                if qty is not None and qty > 0:
                    _lot(f.lot_size, qty, "LOT_SIZE")
        elif kind == "MIN_NOTIONAL" and f.min_notional:
            mn = f.min_notional
            for notional, at_market in _notionals(order, avg_price):
                if (mn.apply_to_market or not at_market) and notional < mn.min_notional:
                    raise errors.filter_failure("MIN_NOTIONAL")
        elif kind == "NOTIONAL" and f.notional:
            nf = f.notional
            for notional, at_market in _notionals(order, avg_price):
                if (nf.apply_min_to_market or not at_market) and notional < nf.min_notional:
                    raise errors.filter_failure("NOTIONAL")
                if (nf.apply_max_to_market or not at_market) and notional > nf.max_notional:
                    raise errors.filter_failure("NOTIONAL")
        elif kind == "ICEBERG_PARTS" and order.is_iceberg and order.quantity is not None:
            assert order.iceberg_qty is not None
            parts = (order.quantity / order.iceberg_qty).to_integral_value(rounding=ROUND_CEILING)
            if parts > f.counts["ICEBERG_PARTS"]:
                raise errors.filter_failure("ICEBERG_PARTS")
        elif kind == "MARKET_LOT_SIZE" and f.market_lot_size and order.order_type == "MARKET" \
                and order.quantity is not None:
            _lot(f.market_lot_size, order.quantity, "MARKET_LOT_SIZE")
        elif kind == "TRAILING_DELTA" and f.trailing_delta and order.trailing_delta is not None:
            td = f.trailing_delta
            low, high = ((td.min_above, td.max_above)
                         if (order.order_type, order.side) in _TRAILS_ABOVE
                         else (td.min_below, td.max_below))
            if not low <= order.trailing_delta <= high:
                raise errors.filter_failure("TRAILING_DELTA")


def _price_filter(spec: SymbolSpec, price: Decimal) -> None:
    """price >= minPrice, price <= maxPrice, (price - minPrice) % tickSize == 0 (zero disables)."""
    if spec.min_price and price < spec.min_price:
        raise errors.filter_failure("PRICE_FILTER")
    if spec.max_price and price > spec.max_price:
        raise errors.filter_failure("PRICE_FILTER")
    if not is_multiple(price, spec.min_price, spec.tick_size):
        raise errors.filter_failure("PRICE_FILTER")


def _within(price: Decimal, low: Decimal, high: Decimal, name: str) -> None:
    if price > high or price < low:
        raise errors.filter_failure(name)


def _lot(lot: LotSize, quantity: Decimal, name: str) -> None:
    """minQty <= quantity <= maxQty and (quantity - minQty) % stepSize == 0."""
    if quantity < lot.min_qty or quantity > lot.max_qty:
        raise errors.filter_failure(name)
    if not is_multiple(quantity, lot.min_qty, lot.step_size):
        raise errors.filter_failure(name)


def _notionals(order: NewOrder, avg_price: Decimal) -> list[tuple[Decimal, bool]]:
    """(notional, is a market order's) pairs a notional filter evaluates for ``order``.

    A market order's notional is its ``quoteOrderQty`` or the average price times
    its quantity; the filters' applyToMarket flags decide whether it counts.
    """
    if order.quote_order_qty is not None:
        return [(order.quote_order_qty, True)]
    assert order.quantity is not None
    values: list[tuple[Decimal, bool]] = []
    if order.price is not None:
        values.append((order.price * order.quantity, False))
        if order.is_iceberg:
            assert order.iceberg_qty is not None
            values.append((order.price * order.iceberg_qty, False))
    if order.is_algo and order.stop_price is not None:
        values.append((order.stop_price * order.quantity, False))
    if order.trades_at_market and not values:
        values.append((avg_price * order.quantity, True))
    return values


def _position_qty(order: NewOrder, avg_price: Decimal) -> Decimal:
    if order.quantity is not None:
        return order.quantity
    if order.quote_order_qty is not None and avg_price > 0:
        return down8(order.quote_order_qty / avg_price)
    return ZERO


# ----------------------------------------------------------- counts and position


def check_account_limits(spec: SymbolSpec, state: AccountState, adds: NewOrders, *,
                         exchange_filters: ExchangeFilters) -> None:
    """MAX_NUM_* and MAX_POSITION of the symbol, then the EXCHANGE_MAX_NUM_* filters."""
    f = spec.filters
    symbol_counts = {
        "MAX_NUM_ORDERS": (state.open_on_symbol, adds.orders),
        "MAX_NUM_ALGO_ORDERS": (state.algo_on_symbol, adds.algo),
        "MAX_NUM_ICEBERG_ORDERS": (state.iceberg_on_symbol, adds.iceberg),
        "MAX_NUM_ORDER_LISTS": (state.lists_on_symbol, adds.lists),
    }
    for raw in f.raw:
        kind = raw["filterType"]
        if kind in symbol_counts:
            current, added = symbol_counts[kind]
            if added and current + added > f.counts[kind]:
                raise errors.filter_failure(kind)
        elif kind == "MAX_POSITION" and f.max_position and adds.buy_qty is not None:
            # Every BUY: one whose quantity rounds to nothing still fails over the limit.
            position = state.base_held + state.open_buy_qty + adds.buy_qty
            if position > f.max_position.max_position:
                raise errors.filter_failure("MAX_POSITION")
    exchange_counts = {
        "EXCHANGE_MAX_NUM_ORDERS": (state.open_total, adds.orders),
        "EXCHANGE_MAX_NUM_ALGO_ORDERS": (state.algo_total, adds.algo),
        "EXCHANGE_MAX_NUM_ICEBERG_ORDERS": (state.iceberg_total, adds.iceberg),
        "EXCHANGE_MAX_NUM_ORDER_LISTS": (state.lists_total, adds.lists),
    }
    for raw in exchange_filters.raw:
        kind = raw["filterType"]
        current, added = exchange_counts[kind]
        if added and current + added > exchange_filters.counts[kind]:
            raise errors.filter_failure(kind)


def check_asset_limits(spec: SymbolSpec, order: NewOrder, avg_price: Decimal,
                       limits: dict[str, Decimal]) -> None:
    """MAX_ASSET: the base asset bounds the quantity, the quote asset the notional."""
    if not limits:
        return
    base_limit, quote_limit = limits.get(spec.base), limits.get(spec.quote)
    quantity = order.quantity if order.quantity is not None else _position_qty(order, avg_price)
    if base_limit is not None and quantity > base_limit:
        raise errors.filter_failure("MAX_ASSET")
    if quote_limit is not None:
        price = order.price if order.price is not None else (order.stop_price or avg_price)
        notional = order.quote_order_qty if order.quote_order_qty is not None else price * quantity
        if notional > quote_limit:
            raise errors.filter_failure("MAX_ASSET")


class AveragePrice:
    """Volume-weighted price of the trades of the last ``minutes`` (the seed's avgPriceMins).

    Falls back to the last trade price when the window is empty, and to the
    ``initial`` price before any trade; ``minutes=0`` means the last price.
    """

    def __init__(self, minutes: int, initial: Decimal) -> None:
        self._window_ms = minutes * 60_000
        self.minutes = minutes
        self._trades: deque[tuple[int, Decimal, Decimal]] = deque()
        self._notional = Decimal(0)
        self._volume = Decimal(0)
        self.last_price = initial
        self.last_time = 0

    def add(self, time_ms: int, price: Decimal, quantity: Decimal) -> None:
        self.last_price = price
        self.last_time = time_ms
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
