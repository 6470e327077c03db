"""Helpers for strategies: move prices and quantities onto the symbol's grids.

Why these exist: most refusals a strategy meets are PRICE_FILTER ticks and
LOT_SIZE steps, and each helper answers "what is the nearest valid value
that is never worse for me?".  The rounding directions are the point:

* a limit price rounds away from the market (BUY down, SELL up), so rounding
  can only make an order less likely to fill, never pay more or sell for less;
* a stop price rounds away from the market too (a trigger above the market
  rounds up, one below rounds down), so rounding never makes a stop fire at once;
* a quantity rounds down, so it stays inside the balance and the strategy's
  own size limit.

Nothing is clamped into [minPrice, maxPrice] or raised to minQty: an order
outside the bounds is refused by ``validate`` with a reason rather than
silently moved to a price or size nobody chose.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import msgspec

from daemon.filters.base import ABOVE_MARKET, CTX, ZERO, normalized, show
from daemon.filters.notional import MinNotional, Notional
from daemon.filters.price import PriceFilter
from daemon.filters.quantity import LotSize, MarketLotSize
from daemon.filters.rules import SymbolRules, as_rules
from daemon.orders import OrderRequest, OrderType, Side
from daemon.venues.binance.models import SymbolInfo

__all__ = ["adjust", "floor_quantity", "min_quantity", "round_price", "round_stop_price"]


def _snap(value: Decimal, base: Decimal, step: Decimal, rounding: str) -> Decimal:
    """``value`` moved onto the grid ``base + k * step`` in the direction ``rounding``."""
    steps = CTX.divide(CTX.subtract(value, base), step).to_integral_value(rounding=rounding)
    return CTX.add(base, CTX.multiply(steps, step))


def _tick(rules: SymbolRules, price: Decimal, rounding: str) -> Decimal:
    price_filter = rules.first(PriceFilter)
    if price_filter is None or price_filter.tick_size <= 0:
        return price
    return _snap(price, price_filter.min_price, price_filter.tick_size, rounding)


def round_price(rules: SymbolRules | SymbolInfo, price: Decimal, side: Side) -> Decimal:
    """``price`` on the tick grid, never more aggressive than asked (BUY down, SELL up)."""
    rounding = ROUND_FLOOR if Side(side) is Side.BUY else ROUND_CEILING
    return _tick(as_rules(rules), price, rounding)


def round_stop_price(rules: SymbolRules | SymbolInfo, stop_price: Decimal, order_type: OrderType,
                     side: Side) -> Decimal:
    """``stop_price`` on the tick grid, moved away from the market so it cannot fire at once."""
    above = (OrderType(order_type), Side(side)) in ABOVE_MARKET
    return _tick(as_rules(rules), stop_price, ROUND_CEILING if above else ROUND_FLOOR)


def _floor_lot(qty: Decimal, low: Decimal, high: Decimal, step: Decimal) -> Decimal:
    if qty < low or high < low:
        return ZERO
    capped = min(qty, high)
    return capped if step <= 0 else _snap(capped, low, step, ROUND_FLOOR)


def floor_quantity(rules: SymbolRules | SymbolInfo, qty: Decimal, *, market: bool = False) -> Decimal:
    """The largest valid quantity not above ``qty``; ``Decimal(0)`` when none exists.

    ``market=True`` also honours MARKET_LOT_SIZE (for MARKET orders).  Above
    maxQty the result is the largest valid lot.
    """
    rules = as_rules(rules)
    grids = [rules.first(LotSize)]
    if market:
        grids.append(rules.first(MarketLotSize))
    grids = [grid for grid in grids if grid is not None]
    if not grids:
        return qty
    # Flooring onto one grid can leave the other's; alternate until both agree.
    for _ in range(8):
        before = qty
        for grid in grids:
            qty = _floor_lot(qty, grid.min_qty, grid.max_qty, grid.step_size)
        if qty == before or qty == 0:
            return qty
    return ZERO


def min_quantity(rules: SymbolRules | SymbolInfo, price: Decimal) -> Decimal | None:
    """The smallest quantity that passes LOT_SIZE and the minimum notional at ``price``.

    ``None`` when no quantity can: a non-positive price, a minimum above
    maxQty, or a minimum notional whose lot already breaks maxNotional.  The
    notional minimum is applied as for a LIMIT order (regardless of the
    ``apply*ToMarket`` flags) so the answer is safe for every order type.
    """
    if not price.is_finite() or price <= 0:
        return None
    rules = as_rules(rules)
    lot = rules.first(LotSize)
    low, step = (lot.min_qty, lot.step_size) if lot else (ZERO, ZERO)
    min_notional, max_notional = ZERO, None
    if (old := rules.first(MinNotional)) is not None:
        min_notional = old.min_notional
    if (new := rules.first(Notional)) is not None:
        min_notional = max(min_notional, new.min_notional)
        max_notional = new.max_notional
    needed = max(low, _ceil_div(min_notional, price))  # never short of the notional
    if step > 0:
        needed = _snap(needed, low, step, ROUND_CEILING)
        if needed <= 0:
            needed = CTX.add(low, step) if low <= 0 else low
    elif needed <= 0:
        return None  # no minimum and no grid: there is no smallest positive quantity
    if lot is not None and needed > lot.max_qty:
        return None
    if max_notional is not None and CTX.multiply(needed, price) > max_notional:
        return None
    return needed


def _ceil_div(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` rounded up at the context's precision (never short)."""
    quotient = CTX.divide(numerator, denominator)
    if CTX.multiply(quotient, denominator) < numerator:
        quotient = quotient.next_plus(CTX)
    return quotient


def adjust(rules: SymbolRules | SymbolInfo, request: OrderRequest) -> tuple[OrderRequest, dict[str, str]]:
    """``request`` with its price, stopPrice, quantity and icebergQty moved onto the grids.

    Returns the adjusted request and what changed (``{"price": "100.004 -> 100"}``).
    A quantity below the minimum is left as it is (flooring cannot fix it, and
    ``validate`` then explains the minimum); nothing is ever rounded up in size.
    """
    rules = as_rules(rules)
    request = normalized(request)
    changes: dict[str, Decimal] = {}
    if not isinstance(request.side, Side) or not isinstance(request.type, OrderType):
        return request, {}
    if isinstance(request.price, Decimal) and request.price.is_finite():
        changes["price"] = round_price(rules, request.price, request.side)
    if isinstance(request.stop_price, Decimal) and request.stop_price.is_finite():
        changes["stop_price"] = round_stop_price(rules, request.stop_price, request.type, request.side)
    is_market = request.type is OrderType.MARKET
    for attr in ("quantity", "iceberg_qty"):
        value = getattr(request, attr)
        if isinstance(value, Decimal) and value.is_finite():
            floored = floor_quantity(rules, value, market=is_market and attr == "quantity")
            if floored > 0:
                changes[attr] = floored
    changed = {attr: value for attr, value in changes.items() if value != getattr(request, attr)}
    if not changed:
        return request, {}
    wire = {"price": "price", "stop_price": "stopPrice", "quantity": "quantity", "iceberg_qty": "icebergQty"}
    report = {wire[attr]: f"{show(getattr(request, attr))} -> {show(value)}" for attr, value in changed.items()}
    return msgspec.structs.replace(request, **changed), report
