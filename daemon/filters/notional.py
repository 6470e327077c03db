"""Notional rules: MIN_NOTIONAL (the seed's) and NOTIONAL (today's min/max range).

The formulas are the spec's (seed "Filters"; ``filters.md`` today):

* MIN_NOTIONAL: ``price * quantity >= minNotional``; for algo orders also
  ``stopPrice * quantity``, for icebergs also ``price * icebergQty``.  MARKET
  orders use the average price over ``avgPriceMins`` (0: the last price), and
  only when ``applyToMarket``.  With no average price at all a MARKET order
  cannot be placed (the seed: "market orders cannot be placed until there is
  at least 1 trade"), so it is refused here too.  A STOP_LOSS or TAKE_PROFIT
  with neither price nor stopPrice (a trailing stop from the current price)
  is a MARKET order once triggered and is judged as one.
* NOTIONAL: ``minNotional <= notional <= maxNotional``; ``applyMinToMarket`` and
  ``applyMaxToMarket`` say which bound holds MARKET orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from daemon.filters.base import ALGO_TYPES, Filter, flag, integer, number, reject, show
from daemon.filters.inputs import AVERAGE_PRICE, LAST_PRICE, MarketInputs
from daemon.orders import OrderRequest, OrderType, RejectCode, Rejection

__all__ = ["MinNotional", "Notional", "Term", "basis", "notionals", "trades_at_market"]


# One evaluated notional: (what, value, times what, times value, product).  The text
# is only built for a refusal: rendering Decimals costs more than the rule itself.
Term = tuple[str, Decimal, str, Decimal | None, Decimal]


def basis(term: Term) -> str:
    """How a notional was computed, for the refusal's reason."""
    what, value, times, factor, _ = term
    if factor is None:
        return f"{what} {show(value)}"
    return f"{what} {show(value)} * {times} {show(factor)}"


def trades_at_market(request: OrderRequest) -> bool:
    """MARKET, or a stop-market order with no stopPrice to price it (a trailing stop)."""
    kind = request.type
    return kind is OrderType.MARKET or (request.stop_price is None and request.price is None
                                        and kind in ALGO_TYPES)


def notionals(request: OrderRequest, reference_price: Decimal | None) -> list[Term] | None:
    """Every notional the exchange evaluates for this order (see the module docstring).

    ``None`` means an order priced at the market (``trades_at_market``) sized in
    base quantity with no average price.
    """
    qty = request.quantity
    if trades_at_market(request):
        quote = request.quote_order_qty
        if quote is not None:
            return [("quoteOrderQty", quote, "", None, quote)]
        if qty is None:
            return []
        if reference_price is None:
            return None
        return [("average price", reference_price, "quantity", qty, reference_price * qty)]
    terms: list[Term] = []
    if qty is None:
        return terms
    price = request.price
    if price is not None:
        terms.append(("price", price, "quantity", qty, price * qty))
    if request.stop_price is not None and request.type in ALGO_TYPES:
        terms.append(("stopPrice", request.stop_price, "quantity", qty, request.stop_price * qty))
    if request.iceberg_qty is not None and price is not None:
        terms.append(("price", price, "icebergQty", request.iceberg_qty, price * request.iceberg_qty))
    return terms


def _plain(request: OrderRequest) -> bool:
    """A priced order with a quantity and no stop or iceberg term: its only notional is price * qty."""
    return (request.price is not None and request.quantity is not None and request.stop_price is None
            and request.iceberg_qty is None)


def _minutes(spec: Mapping) -> int:
    return integer(spec, "avgPriceMins") if "avgPriceMins" in spec else 5


def _no_average_price(name: str, minutes: int, request: OrderRequest) -> Rejection:
    return reject(RejectCode(name), request,
                  f"{name}: {request.type.value} order needs an average price (avgPriceMins {minutes}) "
                  f"and none is available",
                  {"filter": name, "avgPriceMins": minutes})


def _reference(minutes: int, market: MarketInputs) -> Decimal | None:
    return market.last_price if minutes == 0 else market.average_price


@dataclass(frozen=True, slots=True)
class MinNotional(Filter):
    """MIN_NOTIONAL: the order's value (price * quantity, and the algo/iceberg variants)."""

    name: ClassVar[str] = "MIN_NOTIONAL"
    min_notional: Decimal
    apply_to_market: bool
    avg_price_mins: int
    needs: frozenset[str]

    @classmethod
    def parse(cls, spec: Mapping) -> MinNotional:
        minutes = _minutes(spec)
        return cls(number(spec, "minNotional"), flag(spec, "applyToMarket"), minutes,
                   frozenset({LAST_PRICE if minutes == 0 else AVERAGE_PRICE}))

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        if not self.apply_to_market and trades_at_market(request):
            return None
        if _plain(request) and request.price * request.quantity >= self.min_notional:
            return None  # the common case: one term, computed without building the list
        terms = notionals(request, _reference(self.avg_price_mins, market))
        if terms is None:
            return _no_average_price(self.name, self.avg_price_mins, request)
        floor = self.min_notional
        for term in terms:
            notional = term[4]
            if notional < floor:
                return reject(RejectCode.MIN_NOTIONAL, request,
                              f"MIN_NOTIONAL: notional {show(notional)} ({basis(term)}) is below "
                              f"minNotional {show(floor)}",
                              {"filter": "MIN_NOTIONAL", "minNotional": floor, "notional": notional})
        return None


@dataclass(frozen=True, slots=True)
class Notional(Filter):
    """NOTIONAL: the notional range; MARKET orders are held to each bound only if it applies."""

    name: ClassVar[str] = "NOTIONAL"
    min_notional: Decimal
    max_notional: Decimal
    apply_min_to_market: bool
    apply_max_to_market: bool
    avg_price_mins: int
    needs: frozenset[str]

    @classmethod
    def parse(cls, spec: Mapping) -> Notional:
        minutes = _minutes(spec)
        return cls(number(spec, "minNotional"), number(spec, "maxNotional"),
                   flag(spec, "applyMinToMarket"), flag(spec, "applyMaxToMarket"), minutes,
                   frozenset({LAST_PRICE if minutes == 0 else AVERAGE_PRICE}))

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        is_market = trades_at_market(request)
        apply_min = not is_market or self.apply_min_to_market
        apply_max = not is_market or self.apply_max_to_market
        if not (apply_min or apply_max):
            return None
        if _plain(request) and self.min_notional <= request.price * request.quantity <= self.max_notional:
            return None  # the common case: one term, computed without building the list
        terms = notionals(request, _reference(self.avg_price_mins, market))
        if terms is None:
            return _no_average_price(self.name, self.avg_price_mins, request)
        low, high = self.min_notional, self.max_notional
        for term in terms:
            notional = term[4]
            if apply_min and notional < low:
                return reject(RejectCode.NOTIONAL, request,
                              f"NOTIONAL: notional {show(notional)} ({basis(term)}) is below "
                              f"minNotional {show(low)}",
                              {"filter": "NOTIONAL", "minNotional": low, "notional": notional})
            if apply_max and notional > high:
                return reject(RejectCode.NOTIONAL, request,
                              f"NOTIONAL: notional {show(notional)} ({basis(term)}) is above "
                              f"maxNotional {show(high)}",
                              {"filter": "NOTIONAL", "maxNotional": high, "notional": notional})
        return None
