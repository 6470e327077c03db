"""Binance's order rules as pure functions over ``Decimal``.

Why a module of its own: the gateway must refuse an order *before* it costs
a request, a rate-limit unit and an exchange rejection, and the simulator
(which shares no rule code with the daemon) must agree with it for the tests
to mean anything.  So every rule is a small function with no I/O, no trio and
no database, that returns ``Rejection | None``.  A rejection's ``reason``
names the rule, the limit and the offending value, and ``detail`` carries the
same as strings, so the persisted record explains itself.

The formulas are the spec's (seed ``Filters`` section; ``filters.md`` today):

* PRICE_FILTER on price and stopPrice: ``price >= minPrice``, ``price <= maxPrice``,
  ``(price - minPrice) % tickSize == 0``; each part disabled when its value is 0.
* LOT_SIZE on quantity and icebergQty: ``minQty``, ``maxQty``,
  ``(quantity - minQty) % stepSize == 0``.
* MIN_NOTIONAL: ``price * quantity >= minNotional`` (also stopPrice * quantity for
  algo orders, price * icebergQty for icebergs); MARKET orders use the caller's
  average price, and only when ``applyToMarket``.
* NOTIONAL (today's): ``minNotional <= notional <= maxNotional`` with
  ``applyMinToMarket`` / ``applyMaxToMarket``.

Filters of any other type are not evaluated by this first version; each is
logged once per symbol and type so the gap is visible in the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation, localcontext

from daemon.orders import OrderRequest, OrderType, RejectCode, Rejection, Side, TimeInForce
from daemon.venues.binance.models import SymbolInfo

__all__ = [
    "ALGO_TYPES", "EVALUATED_FILTERS", "check_lot_size", "check_min_notional", "check_notional",
    "check_parameters", "check_price_filter", "check_symbol", "floor_quantity",
    "min_quantity", "reject", "round_price", "show", "validate", "validate_all",
]

log = logging.getLogger(__name__)

# Enough digits that products and quotients of 8-decimal exchange values never round.
_PRECISION = 60

EVALUATED_FILTERS = ("PRICE_FILTER", "LOT_SIZE", "MIN_NOTIONAL", "NOTIONAL")
_reported_unknown: set[tuple[str, str]] = set()


# Orders that carry a stopPrice ("algo" orders in the spec's words).
ALGO_TYPES = frozenset({OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT,
                        OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT})

# Wire name -> OrderRequest attribute, in the order the spec lists them.
_PARAMETERS = {
    "timeInForce": "time_in_force",
    "quantity": "quantity",
    "quoteOrderQty": "quote_order_qty",
    "price": "price",
    "stopPrice": "stop_price",
    "icebergQty": "iceberg_qty",
}

# The seed's "Additional mandatory parameters based on type" table, plus what each
# type may also take (icebergQty on the limit family).  MARKET is special-cased:
# exactly one of quantity and quoteOrderQty.
_REQUIRED: dict[OrderType, tuple[str, ...]] = {
    OrderType.LIMIT: ("timeInForce", "quantity", "price"),
    OrderType.MARKET: (),
    OrderType.LIMIT_MAKER: ("quantity", "price"),
    OrderType.STOP_LOSS: ("quantity", "stopPrice"),
    OrderType.STOP_LOSS_LIMIT: ("timeInForce", "quantity", "price", "stopPrice"),
    OrderType.TAKE_PROFIT: ("quantity", "stopPrice"),
    OrderType.TAKE_PROFIT_LIMIT: ("timeInForce", "quantity", "price", "stopPrice"),
}
_OPTIONAL: dict[OrderType, tuple[str, ...]] = {
    OrderType.LIMIT: ("icebergQty",),
    OrderType.MARKET: ("quantity", "quoteOrderQty"),
    OrderType.LIMIT_MAKER: ("icebergQty",),
    OrderType.STOP_LOSS_LIMIT: ("icebergQty",),
    OrderType.TAKE_PROFIT_LIMIT: ("icebergQty",),
}


def show(value: Decimal) -> str:
    """A Decimal as people and the wire write it: no exponent, no trailing zeros."""
    if not value.is_finite():
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def reject(code: RejectCode, request: OrderRequest, reason: str,
           detail: Mapping[str, Decimal | str]) -> Rejection:
    """A Rejection for ``request`` with every detail value rendered as a string."""
    return Rejection(code=code, reason=reason, symbol=request.symbol,
                     client_order_id=request.client_order_id or "",
                     detail={k: show(v) if isinstance(v, Decimal) else str(v) for k, v in detail.items()})


# ------------------------------------------------------------------ symbol and parameters


def check_symbol(info: SymbolInfo, request: OrderRequest) -> Rejection | None:
    """The symbol must be this one, TRADING, and offer the order type (and iceberg, if used)."""
    if info.symbol != request.symbol:
        return reject(RejectCode.UNKNOWN_SYMBOL, request,
                      f"UNKNOWN_SYMBOL: rules of {info.symbol} do not apply to {request.symbol}",
                      {"symbol": request.symbol})
    if info.status != "TRADING" or not info.is_spot_trading_allowed:
        state = info.status if info.status != "TRADING" else "TRADING without spot trading"
        return reject(RejectCode.SYMBOL_NOT_TRADING, request,
                      f"SYMBOL_NOT_TRADING: {info.symbol} status is {state}",
                      {"status": info.status, "isSpotTradingAllowed": str(info.is_spot_trading_allowed)})
    kind = str(getattr(request.type, "value", request.type))
    if kind not in info.order_types:
        return reject(RejectCode.ORDER_TYPE_NOT_ALLOWED, request,
                      f"ORDER_TYPE_NOT_ALLOWED: {kind} is not among the order types of {info.symbol} "
                      f"({', '.join(info.order_types) or 'none'})",
                      {"type": kind, "orderTypes": ",".join(info.order_types)})
    if request.iceberg_qty is not None and not info.iceberg_allowed:
        return reject(RejectCode.ORDER_TYPE_NOT_ALLOWED, request,
                      f"ORDER_TYPE_NOT_ALLOWED: iceberg orders are not allowed on {info.symbol}",
                      {"type": kind, "icebergAllowed": "False"})
    return None


def check_parameters(request: OrderRequest) -> Rejection | None:
    """The per-type mandatory parameters, no parameter the type does not take, positive values.

    Catching these here turns an exchange error (-1102 mandatory parameter,
    -1106 parameter sent when not required) into a precise local rejection.
    """
    for enum_type, field, value in ((Side, "side", request.side), (OrderType, "type", request.type),
                                    (TimeInForce, "timeInForce", request.time_in_force)):
        if value is not None and value not in enum_type.__members__.values():
            return reject(RejectCode.INVALID_PARAMETERS, request,
                          f"INVALID_PARAMETERS: {field} {value!r} is not one of "
                          f"{', '.join(m.value for m in enum_type)}",
                          {"parameter": field, field: str(value)})
    kind = OrderType(request.type)
    given = [name for name, attr in _PARAMETERS.items() if getattr(request, attr) is not None]

    def invalid(reason: str, detail: Mapping[str, Decimal | str]) -> Rejection:
        return reject(RejectCode.INVALID_PARAMETERS, request, f"INVALID_PARAMETERS: {reason}",
                      {"type": kind.value, **detail})

    for name in _REQUIRED[kind]:
        if name not in given:
            return invalid(f"{kind.value} order requires {name}", {"missing": name})
    if kind is OrderType.MARKET:
        sizes = [name for name in ("quantity", "quoteOrderQty") if name in given]
        if not sizes:
            return invalid("MARKET order requires quantity or quoteOrderQty",
                           {"missing": "quantity|quoteOrderQty"})
        if len(sizes) == 2:
            return invalid("MARKET order takes quantity or quoteOrderQty, not both",
                           {"extra": "quoteOrderQty"})
    allowed = _REQUIRED[kind] + _OPTIONAL.get(kind, ())
    for name in given:
        if name not in allowed:
            return invalid(f"{kind.value} order does not take {name}", {"extra": name})
    for name in given:
        value = getattr(request, _PARAMETERS[name])
        if name == "timeInForce":
            continue
        if not isinstance(value, Decimal):
            return invalid(f"{name} must be a Decimal, got {type(value).__name__} {value!r}",
                           {"parameter": name, name: str(value)})
        if not value.is_finite() or value <= 0:
            return invalid(f"{name} must be a positive number, got {value}",
                           {"parameter": name, name: str(value)})
    if request.iceberg_qty is not None:
        tif = request.time_in_force
        if tif is not None and TimeInForce(tif) is not TimeInForce.GTC:
            return invalid(f"an iceberg order needs timeInForce GTC, got {TimeInForce(tif).value}",
                           {"parameter": "timeInForce", "timeInForce": TimeInForce(tif).value})
        if request.iceberg_qty >= request.quantity:
            return invalid(f"icebergQty {show(request.iceberg_qty)} must be less than quantity "
                           f"{show(request.quantity)}",
                           {"parameter": "icebergQty", "icebergQty": request.iceberg_qty,
                            "quantity": request.quantity})
    return None


# ------------------------------------------------------------------ reading filters


def _limits(name: str, spec: Mapping, keys: tuple[str, ...],
            request: OrderRequest) -> dict[str, Decimal] | Rejection:
    """The filter's numeric limits, or a rejection when one is missing or not a number.

    A malformed filter fails closed: trading on a rule we cannot read is how an
    order gets refused by the exchange (or worse, accepted at a wrong size).
    """
    values: dict[str, Decimal] = {}
    for key in keys:
        raw = spec.get(key)
        try:
            value = Decimal(str(raw)) if raw is not None and not isinstance(raw, bool) else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            return reject(RejectCode(name), request,
                          f"{name}: {key} is missing or not a number ({raw!r})",
                          {"filter": name, key: str(raw)})
        values[key] = value
    return values


def _flag(spec: Mapping, key: str) -> bool:
    """A boolean filter field; absent means True so a rule is applied rather than skipped."""
    value = spec.get(key, True)
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return bool(value)


def _on_grid(value: Decimal, base: Decimal, step: Decimal) -> bool:
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return (value - base) % step == 0


def _snap(value: Decimal, base: Decimal, step: Decimal, rounding: str) -> Decimal:
    """``value`` moved onto the grid ``base + k * step`` in the direction ``rounding``."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        steps = ((value - base) / step).to_integral_value(rounding=rounding)
        return base + steps * step


# ------------------------------------------------------------------ the filters


def check_price_filter(spec: Mapping, request: OrderRequest) -> Rejection | None:
    """PRICE_FILTER on ``price`` and ``stopPrice``; a limit of 0 disables its rule."""
    limits = _limits("PRICE_FILTER", spec, ("minPrice", "maxPrice", "tickSize"), request)
    if isinstance(limits, Rejection):
        return limits
    low, high, tick = limits["minPrice"], limits["maxPrice"], limits["tickSize"]
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
        if tick > 0 and not _on_grid(value, low, tick):
            return reject(RejectCode.PRICE_FILTER, request,
                          f"PRICE_FILTER: {field} {show(value)} is not a multiple of tickSize "
                          f"{show(tick)} above minPrice {show(low)}",
                          {"filter": "PRICE_FILTER", "tickSize": tick, "minPrice": low, field: value})
    return None


def check_lot_size(spec: Mapping, request: OrderRequest) -> Rejection | None:
    """LOT_SIZE on ``quantity`` and ``icebergQty``.

    The spec gives no "0 disables" rule here, so minQty and maxQty apply as
    published; only a stepSize of 0 is skipped, because ``x % 0`` has no meaning.
    """
    limits = _limits("LOT_SIZE", spec, ("minQty", "maxQty", "stepSize"), request)
    if isinstance(limits, Rejection):
        return limits
    low, high, step = limits["minQty"], limits["maxQty"], limits["stepSize"]
    for field, value in (("quantity", request.quantity), ("icebergQty", request.iceberg_qty)):
        if value is None:
            continue
        if value < low:
            return reject(RejectCode.LOT_SIZE, request,
                          f"LOT_SIZE: {field} {show(value)} is below minQty {show(low)}",
                          {"filter": "LOT_SIZE", "minQty": low, field: value})
        if value > high:
            return reject(RejectCode.LOT_SIZE, request,
                          f"LOT_SIZE: {field} {show(value)} is above maxQty {show(high)}",
                          {"filter": "LOT_SIZE", "maxQty": high, field: value})
        if step > 0 and not _on_grid(value, low, step):
            return reject(RejectCode.LOT_SIZE, request,
                          f"LOT_SIZE: {field} {show(value)} is not a multiple of stepSize "
                          f"{show(step)} above minQty {show(low)}",
                          {"filter": "LOT_SIZE", "stepSize": step, "minQty": low, field: value})
    return None


def _notionals(request: OrderRequest,
               reference_price: Decimal | None) -> list[tuple[str, Decimal]] | None:
    """Every (explanation, notional) pair the exchange evaluates for this order.

    ``None`` means a MARKET order sized in base quantity with no average price:
    the seed says such an order cannot be placed, so callers reject it.
    """
    qty = request.quantity
    if request.type is OrderType.MARKET:
        if request.quote_order_qty is not None:
            return [(f"quoteOrderQty {show(request.quote_order_qty)}", request.quote_order_qty)]
        if qty is None:
            return []
        if reference_price is None:
            return None
        return [(f"average price {show(reference_price)} * quantity {show(qty)}", reference_price * qty)]
    terms: list[tuple[str, Decimal]] = []
    if qty is None:
        return terms
    if request.price is not None:
        terms.append((f"price {show(request.price)} * quantity {show(qty)}", request.price * qty))
    if request.type in ALGO_TYPES and request.stop_price is not None:
        terms.append((f"stopPrice {show(request.stop_price)} * quantity {show(qty)}",
                      request.stop_price * qty))
    if request.iceberg_qty is not None and request.price is not None:
        terms.append((f"price {show(request.price)} * icebergQty {show(request.iceberg_qty)}",
                      request.price * request.iceberg_qty))
    return terms


def _no_average_price(name: str, spec: Mapping, request: OrderRequest) -> Rejection:
    return reject(RejectCode(name), request,
                  f"{name}: MARKET order needs an average price (avgPriceMins "
                  f"{spec.get('avgPriceMins', '?')}) and none is available",
                  {"filter": name, "avgPriceMins": str(spec.get("avgPriceMins", ""))})


def check_min_notional(spec: Mapping, request: OrderRequest, *,
                       reference_price: Decimal | None = None) -> Rejection | None:
    """MIN_NOTIONAL; ``reference_price`` is the average (or last) price for MARKET orders."""
    limits = _limits("MIN_NOTIONAL", spec, ("minNotional",), request)
    if isinstance(limits, Rejection):
        return limits
    if request.type is OrderType.MARKET and not _flag(spec, "applyToMarket"):
        return None
    terms = _notionals(request, reference_price)
    if terms is None:
        return _no_average_price("MIN_NOTIONAL", spec, request)
    floor = limits["minNotional"]
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        for basis, notional in terms:
            if notional < floor:
                return reject(RejectCode.MIN_NOTIONAL, request,
                              f"MIN_NOTIONAL: notional {show(notional)} ({basis}) is below "
                              f"minNotional {show(floor)}",
                              {"filter": "MIN_NOTIONAL", "minNotional": floor, "notional": notional})
    return None


def check_notional(spec: Mapping, request: OrderRequest, *,
                   reference_price: Decimal | None = None) -> Rejection | None:
    """NOTIONAL: the notional range; MARKET orders are held to each bound only if it applies."""
    limits = _limits("NOTIONAL", spec, ("minNotional", "maxNotional"), request)
    if isinstance(limits, Rejection):
        return limits
    is_market = request.type is OrderType.MARKET
    apply_min = not is_market or _flag(spec, "applyMinToMarket")
    apply_max = not is_market or _flag(spec, "applyMaxToMarket")
    if not (apply_min or apply_max):
        return None
    terms = _notionals(request, reference_price)
    if terms is None:
        return _no_average_price("NOTIONAL", spec, request)
    low, high = limits["minNotional"], limits["maxNotional"]
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        for basis, notional in terms:
            if apply_min and notional < low:
                return reject(RejectCode.NOTIONAL, request,
                              f"NOTIONAL: notional {show(notional)} ({basis}) is below minNotional {show(low)}",
                              {"filter": "NOTIONAL", "minNotional": low, "notional": notional})
            if apply_max and notional > high:
                return reject(RejectCode.NOTIONAL, request,
                              f"NOTIONAL: notional {show(notional)} ({basis}) is above maxNotional {show(high)}",
                              {"filter": "NOTIONAL", "maxNotional": high, "notional": notional})
    return None


# ------------------------------------------------------------------ all together


def _report_unknown_filters(info: SymbolInfo) -> None:
    for spec in info.filters:
        kind = str(spec.get("filterType", "?"))
        if kind in EVALUATED_FILTERS or (info.symbol, kind) in _reported_unknown:
            continue
        _reported_unknown.add((info.symbol, kind))
        log.warning("filter.not_evaluated symbol=%s type=%s", info.symbol, kind)


def _run(info: SymbolInfo, request: OrderRequest,
         reference_price: Decimal | None) -> Iterator[Rejection]:
    """Every rule in a stable order, lazily, so ``validate`` stops at the first failure."""
    _report_unknown_filters(info)
    if (found := check_symbol(info, request)) is not None:
        yield found
    if (found := check_parameters(request)) is not None:
        yield found
        return  # filters compare numbers; on malformed parameters they would only add noise
    checks = (
        ("PRICE_FILTER", lambda spec: check_price_filter(spec, request)),
        ("LOT_SIZE", lambda spec: check_lot_size(spec, request)),
        ("MIN_NOTIONAL", lambda spec: check_min_notional(spec, request, reference_price=reference_price)),
        ("NOTIONAL", lambda spec: check_notional(spec, request, reference_price=reference_price)),
    )
    for kind, check in checks:
        spec = info.filter(kind)
        if spec is not None and (found := check(spec)) is not None:
            yield found


def validate(info: SymbolInfo, request: OrderRequest, *,
             reference_price: Decimal | None) -> Rejection | None:
    """The first rule ``request`` breaks (symbol, parameters, then each filter), or None."""
    return next(_run(info, request, reference_price), None)


def validate_all(info: SymbolInfo, request: OrderRequest, *,
                 reference_price: Decimal | None) -> list[Rejection]:
    """Every rule ``request`` breaks, in the same order, to explain an order in full."""
    return list(_run(info, request, reference_price))


# ------------------------------------------------------------------ strategy helpers


def _helper_limits(info: SymbolInfo, kind: str, keys: tuple[str, ...]) -> dict[str, Decimal] | None:
    """A filter's limits for the helpers; None when absent or malformed (validate reports those)."""
    spec = info.filter(kind)
    if spec is None:
        return None
    probe = OrderRequest(symbol=info.symbol, side=Side.BUY)
    limits = _limits(kind, spec, keys, probe)
    return None if isinstance(limits, Rejection) else limits


def round_price(info: SymbolInfo, price: Decimal, side: Side) -> Decimal:
    """``price`` on the tick grid, never more aggressive than asked.

    BUY rounds down and SELL rounds up, so rounding can only make an order
    less likely to fill, never pay more or sell for less.  The result is not
    clamped into [minPrice, maxPrice]: an order outside the band is refused by
    ``validate`` rather than silently moved to a price nobody chose.
    """
    limits = _helper_limits(info, "PRICE_FILTER", ("minPrice", "maxPrice", "tickSize"))
    if limits is None or limits["tickSize"] <= 0:
        return price
    rounding = ROUND_FLOOR if Side(side) is Side.BUY else ROUND_CEILING
    return _snap(price, limits["minPrice"], limits["tickSize"], rounding)


def floor_quantity(info: SymbolInfo, qty: Decimal) -> Decimal:
    """The largest LOT_SIZE-valid quantity not above ``qty``; ``Decimal(0)`` when none exists.

    Flooring (never rounding up) keeps a strategy inside its balance and its
    own size limit.  Above maxQty the result is the largest valid lot.
    """
    limits = _helper_limits(info, "LOT_SIZE", ("minQty", "maxQty", "stepSize"))
    if limits is None:
        return qty
    low, high, step = limits["minQty"], limits["maxQty"], limits["stepSize"]
    if qty < low or high < low:
        return Decimal(0)
    capped = min(qty, high)
    return capped if step <= 0 else _snap(capped, low, step, ROUND_FLOOR)


def min_quantity(info: SymbolInfo, price: Decimal) -> Decimal | None:
    """The smallest quantity that passes LOT_SIZE and the minimum notional at ``price``.

    ``None`` when no quantity can: a non-positive price, a minimum above
    maxQty or a minimum notional whose lot already breaks maxNotional.
    The notional minimum is applied as for a LIMIT order (regardless of the
    ``apply*ToMarket`` flags) so the answer is safe for every order type.
    """
    if not price.is_finite() or price <= 0:
        return None
    lot = _helper_limits(info, "LOT_SIZE", ("minQty", "maxQty", "stepSize"))
    low, step = (lot["minQty"], lot["stepSize"]) if lot else (Decimal(0), Decimal(0))
    min_notional = Decimal(0)
    max_notional: Decimal | None = None
    if (old := _helper_limits(info, "MIN_NOTIONAL", ("minNotional",))) is not None:
        min_notional = old["minNotional"]
    if (new := _helper_limits(info, "NOTIONAL", ("minNotional", "maxNotional"))) is not None:
        min_notional = max(min_notional, new["minNotional"])
        max_notional = new["maxNotional"]
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        ctx.rounding = ROUND_CEILING  # the quotient must never fall short of the notional
        needed = max(low, min_notional / price)
        if step > 0:
            needed = _snap(needed, low, step, ROUND_CEILING)
            if needed <= 0:
                needed = low + step if low <= 0 else low
        elif needed <= 0:
            return None  # no minimum and no grid: there is no smallest positive quantity
        if lot is not None and needed > lot["maxQty"]:
            return None
        if max_notional is not None and needed * price > max_notional:
            return None
    return needed
