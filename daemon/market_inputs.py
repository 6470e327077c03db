"""Gathers the live state one validation needs (``daemon.filters.MarketInputs``).

Why a provider: the filters are pure and take plain values, but the values
live in different places: prices in the ``MarketCache`` (or an avgPrice
source), open orders and balances in the store, unacknowledged orders in the
gateway's ``InFlight``.  ``LiveMarketInputs.gather`` reads only what the
symbol's compiled rules ``need`` (``SymbolRules.needs``), so a symbol without
count filters never costs a database read per order.

Counting open orders: every open order of the store (all symbols, for the
EXCHANGE_* filters), plus the in-flight holds.  "Algo" = the four stop types;
an order list = a distinct ``orderListId`` among open orders; an iceberg = an
order whose stored row carries ``iceberg_qty > 0`` (the store records it from
executionReports, REST views and the order's intent, so icebergs placed before
a restart or elsewhere count too).

The position (MAX_POSITION): base free + locked + remaining quantity of open
BUY orders on the symbol + in-flight BUY quantity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, localcontext

from daemon.filters import (
    ALGO_TYPES,
    AVERAGE_PRICE,
    BOOK,
    EXCHANGE_OPEN,
    LAST_PRICE,
    POSITION,
    SYMBOL_OPEN,
    MarketInputs,
    OpenCounts,
    SymbolRules,
)
from daemon.filters.base import CTX, ZERO
from daemon.in_flight import InFlight
from daemon.orders import Side

__all__ = ["LiveMarketInputs"]

_ALGO_NAMES = frozenset(kind.value for kind in ALGO_TYPES)
_BUY = Side.BUY.value
_EVERY_KIND = OpenCounts(1, 1, 1, 1)

PriceSource = Callable[[str], Decimal | None]


class LiveMarketInputs:
    """Builds ``MarketInputs`` for a symbol from callables and the in-flight holds.

    * ``average_price(symbol)``: the exchange's average price (avgPrice endpoint
      or a stream); ``last_price(symbol)``: the last trade.
    * ``best_bid_ask(symbol) -> (bid, ask)``, either side None when unknown.
    * ``open_orders()``: every open order (``store.orders(open_only=True)``);
      None = counts unknown, and count filters then refuse (fail closed).
    * ``balances() -> {asset: (free, locked)}``.
    """

    def __init__(self, *, average_price: PriceSource, last_price: PriceSource,
                 best_bid_ask: Callable[[str], tuple[Decimal | None, Decimal | None]] | None,
                 open_orders: Callable[[], Iterable] | None,
                 balances: Callable[[], dict[str, tuple[Decimal, Decimal]]],
                 in_flight: InFlight) -> None:
        self._average_price = average_price
        self._last_price = last_price
        self._best_bid_ask = best_bid_ask
        self._open_orders = open_orders
        self._balances = balances
        self._in_flight = in_flight
        self._icebergs: set[str] = set()

    def note_iceberg(self, client_order_id: str) -> None:
        """Also count ``client_order_id`` as an iceberg while it is open.

        Not needed with the store (its rows carry ``iceberg_qty``); kept for
        open-order sources whose rows lack the field (test look-alikes).
        """
        self._icebergs.add(client_order_id)

    def gather(self, rules: SymbolRules, side: Side, adding: OpenCounts = _EVERY_KIND) -> MarketInputs:
        """The inputs ``rules`` need for an order on ``side`` adding ``adding``; the rest stay None.

        Open orders are counted only for the kinds the order adds (a plain
        LIMIT order never asks how many stop orders are open): the count
        filters ignore a kind the order does not add, so the others stay 0.
        """
        needs, symbol = rules.needs, rules.symbol
        average = self._average_price(symbol) if AVERAGE_PRICE in needs else None
        last = self._last_price(symbol) if LAST_PRICE in needs else None
        bid = ask = None
        if BOOK in needs and self._best_bid_ask is not None:
            bid, ask = self._best_bid_ask(symbol)
        symbol_open = exchange_open = position = None
        wants_here, wants_everywhere = SYMBOL_OPEN in needs, EXCHANGE_OPEN in needs
        wants_position = POSITION in needs and side is Side.BUY
        if (wants_here or wants_everywhere or wants_position) and self._open_orders is not None:
            orders = self._open_orders()
            if not isinstance(orders, list):
                orders = list(orders)
            mine = [order for order in orders if order.symbol == symbol]
            if wants_here:
                symbol_open = self._count(mine, adding).plus(self._in_flight.counts(symbol))
            if wants_everywhere:
                exchange_open = self._count(orders, adding).plus(self._in_flight.counts())
            if wants_position:
                position = self._position(mine, rules)
        return MarketInputs(average_price=average, last_price=last, best_bid=bid, best_ask=ask,
                            symbol_open=symbol_open, exchange_open=exchange_open, position=position)

    def _count(self, orders: list, adding: OpenCounts) -> OpenCounts:
        """Open orders by kind, counting only the kinds ``adding`` is non-zero for."""
        algo = sum(1 for order in orders if order.type in _ALGO_NAMES) if adding.algo else 0
        iceberg = sum(1 for order in orders if self._is_iceberg(order)) if adding.iceberg else 0
        lists = len({(order.symbol, order.order_list_id) for order in orders
                     if order.order_list_id >= 0}) if adding.lists else 0
        return OpenCounts(len(orders) if adding.orders else 0, algo, iceberg, lists)

    def _is_iceberg(self, order) -> bool:
        iceberg = getattr(order, "iceberg_qty", None)
        return (iceberg is not None and iceberg > 0) or order.client_order_id in self._icebergs

    def _position(self, mine: list, rules: SymbolRules) -> Decimal:
        free, locked = self._balances().get(rules.base_asset, (ZERO, ZERO))
        with localcontext(CTX):  # exact arithmetic; plain operators are the fast path
            to_buy = sum([order.quantity - order.executed_qty for order in mine if order.side == _BUY], ZERO)
            return free + locked + to_buy + self._in_flight.buy_quantity(rules.symbol)
