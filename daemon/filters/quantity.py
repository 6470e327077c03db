"""Quantity rules: LOT_SIZE, MARKET_LOT_SIZE, ICEBERG_PARTS, MAX_POSITION, MAX_ASSET.

The formulas are the spec's (seed "Filters"; ``filters.md`` today):

* LOT_SIZE on quantity and icebergQty: ``minQty <= q <= maxQty``,
  ``(q - minQty) % stepSize == 0``.  The spec gives no "0 disables" rule here,
  so the bounds apply as published; only a stepSize of 0 skips the grid
  (``x % 0`` has no meaning).
* MARKET_LOT_SIZE: the same bounds on the quantity of MARKET orders.  A MARKET
  order sized by quoteOrderQty has no quantity to judge; the exchange fills
  what the book allows.
* ICEBERG_PARTS: ``ceil(quantity / icebergQty) <= limit``.
* MAX_POSITION (BUY only): base free + locked + open BUY quantity + this
  order's quantity must not exceed ``maxPosition``.
* MAX_ASSET (``/api/v3/myFilters`` asset filters): an order's quantity when
  the asset is the symbol's base, its notional when it is the quote, at most
  ``limit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import ClassVar

from daemon.filters.base import ALGO_TYPES, Filter, integer, number, reject, show
from daemon.filters.inputs import AVERAGE_PRICE, POSITION, MarketInputs
from daemon.orders import OrderRequest, OrderType, RejectCode, Rejection, Side

__all__ = ["IcebergParts", "LotSize", "MarketLotSize", "MaxAsset", "MaxPosition", "base_quantity",
           "quote_notional"]

_ATOM = Decimal("0.00000001")


def _lot(name: str, request: OrderRequest, field: str, value: Decimal, low: Decimal,
         high: Decimal, step: Decimal) -> Rejection | None:
    code = RejectCode(name)
    if value < low:
        return reject(code, request, f"{name}: {field} {show(value)} is below minQty {show(low)}",
                      {"filter": name, "minQty": low, field: value})
    if value > high:
        return reject(code, request, f"{name}: {field} {show(value)} is above maxQty {show(high)}",
                      {"filter": name, "maxQty": high, field: value})
    if step > 0 and (value - low) % step:
        return reject(code, request,
                      f"{name}: {field} {show(value)} is not a multiple of stepSize {show(step)} "
                      f"above minQty {show(low)}",
                      {"filter": name, "stepSize": step, "minQty": low, field: value})
    return None


@dataclass(frozen=True, slots=True)
class LotSize(Filter):
    """LOT_SIZE on ``quantity`` and ``icebergQty`` (every order type)."""

    name: ClassVar[str] = "LOT_SIZE"
    needs: ClassVar[frozenset[str]] = frozenset()
    min_qty: Decimal
    max_qty: Decimal
    step_size: Decimal

    @classmethod
    def parse(cls, spec: Mapping) -> LotSize:
        return cls(number(spec, "minQty"), number(spec, "maxQty"), number(spec, "stepSize"))

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        found = None
        if request.quantity is not None:
            found = _lot(self.name, request, "quantity", request.quantity,
                         self.min_qty, self.max_qty, self.step_size)
        if found is None and request.iceberg_qty is not None:
            found = _lot(self.name, request, "icebergQty", request.iceberg_qty,
                         self.min_qty, self.max_qty, self.step_size)
        return found


@dataclass(frozen=True, slots=True)
class MarketLotSize(Filter):
    """MARKET_LOT_SIZE on the ``quantity`` of MARKET orders."""

    name: ClassVar[str] = "MARKET_LOT_SIZE"
    needs: ClassVar[frozenset[str]] = frozenset()
    min_qty: Decimal
    max_qty: Decimal
    step_size: Decimal

    @classmethod
    def parse(cls, spec: Mapping) -> MarketLotSize:
        return cls(number(spec, "minQty"), number(spec, "maxQty"), number(spec, "stepSize"))

    def relevant(self, kind: OrderType, side: Side, iceberg: bool, trailing: bool, adding) -> bool:
        return kind is OrderType.MARKET

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        if request.type is not OrderType.MARKET or request.quantity is None:
            return None
        return _lot(self.name, request, "quantity", request.quantity,
                    self.min_qty, self.max_qty, self.step_size)


@dataclass(frozen=True, slots=True)
class IcebergParts(Filter):
    """ICEBERG_PARTS: an iceberg may not be cut into more than ``limit`` visible parts."""

    name: ClassVar[str] = "ICEBERG_PARTS"
    needs: ClassVar[frozenset[str]] = frozenset()
    limit: int

    @classmethod
    def parse(cls, spec: Mapping) -> IcebergParts:
        return cls(integer(spec, "limit"))

    def relevant(self, kind: OrderType, side: Side, iceberg: bool, trailing: bool, adding) -> bool:
        return iceberg

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        iceberg, qty = request.iceberg_qty, request.quantity
        if iceberg is None or qty is None or iceberg <= 0:
            return None
        parts = int((qty / iceberg).to_integral_value(rounding=ROUND_CEILING))
        if parts <= self.limit:
            return None
        return reject(RejectCode.ICEBERG_PARTS, request,
                      f"ICEBERG_PARTS: quantity {show(qty)} / icebergQty {show(iceberg)} makes "
                      f"{parts} parts, above the limit of {self.limit}",
                      {"filter": "ICEBERG_PARTS", "limit": self.limit, "parts": parts,
                       "quantity": qty, "icebergQty": iceberg})


def base_quantity(request: OrderRequest, market: MarketInputs) -> Decimal | None:
    """The base quantity an order trades; None when it cannot be known.

    Only a MARKET order sized in quote asset needs an estimate: quoteOrderQty
    divided by the average price, which is how the exchange prices MARKET orders
    in its own filters, truncated to 1e-8 (no order can fill a fraction of the
    smallest unit an amount has).
    """
    if request.quantity is not None:
        return request.quantity
    quote, average = request.quote_order_qty, market.average_price
    if quote is None or average is None or average <= 0:
        return None
    return (quote / average).quantize(_ATOM, rounding=ROUND_DOWN)


def _quantity_basis(request: OrderRequest, market: MarketInputs) -> str:
    """How ``base_quantity`` was found, for a refusal's reason."""
    if request.quantity is not None:
        return f"quantity {show(request.quantity)}"
    if request.quote_order_qty is None or market.average_price is None:
        return "quantity unknown without an average price"
    return f"quoteOrderQty {show(request.quote_order_qty)} / average price {show(market.average_price)}"


def _trade_price(request: OrderRequest, market: MarketInputs) -> Decimal | None:
    """The price a quote amount is computed at: the limit, a stop-market's trigger, else the average."""
    if request.type is OrderType.MARKET:
        return market.average_price
    if request.price is None and request.type in ALGO_TYPES:
        # A stop-market order trades near its trigger; a trailing one with no stopPrice
        # triggers off the current price.
        return request.stop_price if request.stop_price is not None else market.average_price
    return request.price


def quote_notional(request: OrderRequest, market: MarketInputs) -> Decimal | None:
    """The quote amount an order trades, as the exchange's filters price it; None when unknown."""
    if request.type is OrderType.MARKET and request.quote_order_qty is not None:
        return request.quote_order_qty
    price, qty = _trade_price(request, market), request.quantity
    if price is None or qty is None:
        return None
    return price * qty


def _notional_basis(request: OrderRequest, market: MarketInputs) -> str:
    """How ``quote_notional`` was found, for a refusal's reason."""
    if request.type is OrderType.MARKET and request.quote_order_qty is not None:
        return f"quoteOrderQty {show(request.quote_order_qty)}"
    price = _trade_price(request, market)
    if price is None:
        return "no average price" if request.type is OrderType.MARKET else "no price"
    label = "average price" if request.type is OrderType.MARKET else (
        "price" if request.price is not None else "stopPrice")
    return f"{label} {show(price)} * quantity {show(request.quantity)}"


@dataclass(frozen=True, slots=True)
class MaxPosition(Filter):
    """MAX_POSITION: a BUY may not take the base position above ``maxPosition``."""

    name: ClassVar[str] = "MAX_POSITION"
    needs: ClassVar[frozenset[str]] = frozenset({POSITION, AVERAGE_PRICE})
    max_position: Decimal

    @classmethod
    def parse(cls, spec: Mapping) -> MaxPosition:
        return cls(number(spec, "maxPosition"))

    def relevant(self, kind: OrderType, side: Side, iceberg: bool, trailing: bool, adding) -> bool:
        return side is Side.BUY

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        if request.side is not Side.BUY:
            return None
        position = market.position
        qty = base_quantity(request, market)
        if position is None or qty is None:
            missing = ("the account's position" if position is None
                       else f"the order's size ({_quantity_basis(request, market)})")
            return reject(RejectCode.MAX_POSITION, request,
                          f"MAX_POSITION: cannot check: {missing} is not known",
                          {"filter": "MAX_POSITION", "maxPosition": self.max_position})
        after = position + qty
        if after <= self.max_position:
            return None
        return reject(RejectCode.MAX_POSITION, request,
                      f"MAX_POSITION: position {show(position)} + {_quantity_basis(request, market)} "
                      f"= {show(after)} "
                      f"would exceed maxPosition {show(self.max_position)}",
                      {"filter": "MAX_POSITION", "maxPosition": self.max_position,
                       "position": position, "quantity": qty})


@dataclass(frozen=True, slots=True)
class MaxAsset(Filter):
    """MAX_ASSET for one asset of the symbol: quantity (base) or notional (quote) per order."""

    name: ClassVar[str] = "MAX_ASSET"
    needs: ClassVar[frozenset[str]] = frozenset({AVERAGE_PRICE})
    asset: str
    limit: Decimal
    is_base: bool

    @classmethod
    def parse(cls, spec: Mapping, *, base_asset: str) -> MaxAsset:
        asset = str(spec.get("asset", ""))
        return cls(asset, number(spec, "limit"), asset == base_asset)

    def check(self, request: OrderRequest, market: MarketInputs, adding) -> Rejection | None:
        if self.is_base:
            amount, what, explain = base_quantity(request, market), "quantity", _quantity_basis
        else:
            amount, what, explain = quote_notional(request, market), "notional", _notional_basis
        if amount is None:
            return reject(RejectCode.MAX_ASSET, request,
                          f"MAX_ASSET: cannot check the {self.asset} {what} of this order "
                          f"({explain(request, market)})",
                          {"filter": "MAX_ASSET", "asset": self.asset, "limit": self.limit})
        if amount <= self.limit:
            return None
        return reject(RejectCode.MAX_ASSET, request,
                      f"MAX_ASSET: {what} {show(amount)} {self.asset} ({explain(request, market)}) "
                      f"is above the "
                      f"limit of {show(self.limit)} {self.asset} per order",
                      {"filter": "MAX_ASSET", "asset": self.asset, "limit": self.limit, what: amount})
