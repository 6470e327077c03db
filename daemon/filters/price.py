"""Price rules: PRICE_FILTER, PERCENT_PRICE, PERCENT_PRICE_BY_SIDE, TRAILING_DELTA.

The formulas are the spec's (seed "Filters"; ``filters.md`` today):

* PRICE_FILTER on price and stopPrice: ``price >= minPrice``, ``price <= maxPrice``,
  ``(price - minPrice) % tickSize == 0``; each part disabled when its value is 0.
* PERCENT_PRICE: ``averagePrice * multiplierDown <= price <= averagePrice * multiplierUp``,
  where the average is over ``avgPriceMins`` minutes and 0 minutes means the last price.
* PERCENT_PRICE_BY_SIDE: the same with bid multipliers for BUY, ask multipliers for SELL.
* TRAILING_DELTA: ``trailingDelta`` within [minTrailingAboveDelta, maxTrailingAboveDelta]
  for STOP_LOSS(_LIMIT) BUY and TAKE_PROFIT(_LIMIT) SELL (trigger above the market),
  within the Below bounds for the other four combinations.

The percent filters judge ``price`` only: a MARKET or stop-market order has
none, and the exchange evaluates those against the book when they execute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from daemon.filters.base import ABOVE_MARKET, PRICED_TYPES, Filter, integer, number, reject, show
from daemon.filters.inputs import AVERAGE_PRICE, LAST_PRICE, MarketInputs
from daemon.orders import OrderRequest, OrderType, RejectCode, Rejection, Side

__all__ = ["PercentPrice", "PercentPriceBySide", "PriceFilter", "TrailingDelta"]


@dataclass(frozen=True, slots=True)
class PriceFilter(Filter):
    """PRICE_FILTER on ``price`` and ``stopPrice``; a limit of 0 disables its rule."""

    name: ClassVar[str] = "PRICE_FILTER"
    needs: ClassVar[frozenset[str]] = frozenset()
    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal

    @classmethod
    def parse(cls, spec: Mapping) -> PriceFilter:
        return cls(number(spec, "minPrice"), number(spec, "maxPrice"), number(spec, "tickSize"))

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        low, high, tick = self.min_price, self.max_price, self.tick_size
        for field, value in (("price", request.price), ("stopPrice", request.stop_price)):
            if value is None:
                continue
            if low > 0 and value < low:
                return reject(RejectCode.PRICE_FILTER, request,
                              f"PRICE_FILTER: {field} {show(value)} is below minPrice {show(low)}",
                              {"filter": "PRICE_FILTER", "minPrice": low, field: value})
            if high > 0 and value > high:
                return reject(RejectCode.PRICE_FILTER, request,
                              f"PRICE_FILTER: {field} {show(value)} is above maxPrice {show(high)}",
                              {"filter": "PRICE_FILTER", "maxPrice": high, field: value})
            if tick > 0 and (value - low) % tick:
                return reject(RejectCode.PRICE_FILTER, request,
                              f"PRICE_FILTER: {field} {show(value)} is not a multiple of tickSize "
                              f"{show(tick)} above minPrice {show(low)}",
                              {"filter": "PRICE_FILTER", "tickSize": tick, "minPrice": low, field: value})
        return None


def _band(name: str, request: OrderRequest, market: MarketInputs, minutes: int, up: Decimal,
          down: Decimal, up_key: str, down_key: str) -> Rejection | None:
    """``price`` inside [reference * down, reference * up]; the shared body of both percent filters."""
    price = request.price
    if price is None:
        return None
    reference = market.last_price if minutes == 0 else market.average_price
    basis = "last price" if minutes == 0 else f"average price ({minutes} min)"
    if reference is None:
        return reject(RejectCode(name), request,
                      f"{name}: needs the {basis} of {request.symbol} and none is available",
                      {"filter": name, "avgPriceMins": minutes})
    ceiling = reference * up
    if price > ceiling:
        return reject(RejectCode(name), request,
                      f"{name}: price {show(price)} is above {show(ceiling)} "
                      f"({basis} {show(reference)} * {up_key} {show(up)})",
                      {"filter": name, up_key: up, "referencePrice": reference,
                       "limit": ceiling, "price": price})
    floor = reference * down
    if price < floor:
        return reject(RejectCode(name), request,
                      f"{name}: price {show(price)} is below {show(floor)} "
                      f"({basis} {show(reference)} * {down_key} {show(down)})",
                      {"filter": name, down_key: down, "referencePrice": reference,
                       "limit": floor, "price": price})
    return None


@dataclass(frozen=True, slots=True)
class PercentPrice(Filter):
    """PERCENT_PRICE: the price within a band around the average (or last) price."""

    name: ClassVar[str] = "PERCENT_PRICE"
    multiplier_up: Decimal
    multiplier_down: Decimal
    avg_price_mins: int
    needs: frozenset[str]

    @classmethod
    def parse(cls, spec: Mapping) -> PercentPrice:
        minutes = integer(spec, "avgPriceMins") if "avgPriceMins" in spec else 5
        return cls(number(spec, "multiplierUp"), number(spec, "multiplierDown"), minutes,
                   frozenset({LAST_PRICE if minutes == 0 else AVERAGE_PRICE}))

    def relevant(self, kind: OrderType, side: Side, iceberg: bool, trailing: bool, adding) -> bool:
        return kind in PRICED_TYPES

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        return _band(self.name, request, market, self.avg_price_mins, self.multiplier_up,
                     self.multiplier_down, "multiplierUp", "multiplierDown")


@dataclass(frozen=True, slots=True)
class PercentPriceBySide(Filter):
    """PERCENT_PRICE_BY_SIDE: bid multipliers bound BUY prices, ask multipliers SELL prices."""

    name: ClassVar[str] = "PERCENT_PRICE_BY_SIDE"
    bid_up: Decimal
    bid_down: Decimal
    ask_up: Decimal
    ask_down: Decimal
    avg_price_mins: int
    needs: frozenset[str]

    @classmethod
    def parse(cls, spec: Mapping) -> PercentPriceBySide:
        minutes = integer(spec, "avgPriceMins") if "avgPriceMins" in spec else 5
        return cls(number(spec, "bidMultiplierUp"), number(spec, "bidMultiplierDown"),
                   number(spec, "askMultiplierUp"), number(spec, "askMultiplierDown"), minutes,
                   frozenset({LAST_PRICE if minutes == 0 else AVERAGE_PRICE}))

    def relevant(self, kind: OrderType, side: Side, iceberg: bool, trailing: bool, adding) -> bool:
        return kind in PRICED_TYPES

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        if request.side is Side.BUY:
            return _band(self.name, request, market, self.avg_price_mins, self.bid_up,
                         self.bid_down, "bidMultiplierUp", "bidMultiplierDown")
        return _band(self.name, request, market, self.avg_price_mins, self.ask_up,
                     self.ask_down, "askMultiplierUp", "askMultiplierDown")


@dataclass(frozen=True, slots=True)
class TrailingDelta(Filter):
    """TRAILING_DELTA: the trailing stop's delta (in basis points) within the side's bounds."""

    name: ClassVar[str] = "TRAILING_DELTA"
    needs: ClassVar[frozenset[str]] = frozenset()
    min_above: int
    max_above: int
    min_below: int
    max_below: int

    @classmethod
    def parse(cls, spec: Mapping) -> TrailingDelta:
        return cls(integer(spec, "minTrailingAboveDelta"), integer(spec, "maxTrailingAboveDelta"),
                   integer(spec, "minTrailingBelowDelta"), integer(spec, "maxTrailingBelowDelta"))

    def relevant(self, kind: OrderType, side: Side, iceberg: bool, trailing: bool, adding) -> bool:
        return trailing

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        delta = request.trailing_delta
        if delta is None:
            return None
        above = (OrderType(request.type), Side(request.side)) in ABOVE_MARKET
        low, high = (self.min_above, self.max_above) if above else (self.min_below, self.max_below)
        word = "Above" if above else "Below"
        if low <= delta <= high:
            return None
        bound, key = (low, f"minTrailing{word}Delta") if delta < low else (high, f"maxTrailing{word}Delta")
        relation = "below" if delta < low else "above"
        return reject(RejectCode.TRAILING_DELTA, request,
                      f"TRAILING_DELTA: trailingDelta {delta} is {relation} {key} {bound} for "
                      f"{OrderType(request.type).value} {Side(request.side).value}",
                      {"filter": "TRAILING_DELTA", key: bound, "trailingDelta": delta})
