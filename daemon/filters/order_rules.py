"""Order rules that are not filters: the symbol's permissions, the parameters of each
order type, and the two rules that compare an order with the market.

Sources: the seed's ``POST /api/v3/order`` ("Additional mandatory parameters
based on type", "Other info") and "Order Rejection Issues"; ``rest-api.md``
today (trailingDelta as an alternative to stopPrice; the trigger rules).
Catching these locally turns an exchange error (-1102 mandatory parameter,
-1106 parameter not required, -2010 "Order would trigger immediately", "Order
would immediately match and take") into a precise rejection that costs no
request and no rate-limit unit.

* Symbol: status TRADING, spot trading allowed (``permissions`` containing
  SPOT when the symbol lists permissions), the order type among ``orderTypes``,
  ``icebergAllowed`` for icebergs, trailing stops and quoteOrderQty MARKET
  orders only where the symbol allows them.
* Parameters: each type's mandatory ones, nothing the type does not take,
  positive Decimals, timeInForce only where the type takes it, icebergs GTC;
  no more decimals than the asset's precision (-1111); a ``price * quantity``
  that is not at least 1e-8 ("Price * QTY is zero or less.").
* Stop direction (against the last price): STOP_LOSS BUY and TAKE_PROFIT SELL
  trigger above the market, STOP_LOSS SELL and TAKE_PROFIT BUY below; a stop
  on the wrong side (or at the last price) would trigger immediately.
* LIMIT_MAKER: a BUY at or above the best ask, or a SELL at or below the best
  bid, would take liquidity and is refused.  Without a known book this is not
  checked: the exchange refuses such an order itself, at no risk.
"""

from __future__ import annotations

from decimal import Decimal

from daemon.filters.base import ABOVE_MARKET, ALGO_TYPES, CTX, normalized, reject, show
from daemon.orders import OrderRequest, OrderType, RejectCode, Rejection, Side, TimeInForce

__all__ = ["check_limit_maker", "check_parameters", "check_precision", "check_price_quantity",
           "check_stop_direction", "check_symbol"]

# Wire name -> OrderRequest attribute, in the order the spec lists them.
PARAMETERS = (
    ("timeInForce", "time_in_force"),
    ("quantity", "quantity"),
    ("quoteOrderQty", "quote_order_qty"),
    ("price", "price"),
    ("stopPrice", "stop_price"),
    ("icebergQty", "iceberg_qty"),
    ("trailingDelta", "trailing_delta"),
)

# The seed's table of mandatory parameters.  The four trigger types need
# stopPrice *or* trailingDelta (today's docs), checked separately.
_REQUIRED: dict[OrderType, tuple[str, ...]] = {
    OrderType.LIMIT: ("timeInForce", "quantity", "price"),
    OrderType.MARKET: (),
    OrderType.LIMIT_MAKER: ("quantity", "price"),
    OrderType.STOP_LOSS: ("quantity",),
    OrderType.STOP_LOSS_LIMIT: ("timeInForce", "quantity", "price"),
    OrderType.TAKE_PROFIT: ("quantity",),
    OrderType.TAKE_PROFIT_LIMIT: ("timeInForce", "quantity", "price"),
}
_TRIGGER = ("stopPrice", "trailingDelta")
# What each type may take besides its mandatory parameters (icebergQty on the limit family).
_OPTIONAL: dict[OrderType, tuple[str, ...]] = {
    OrderType.LIMIT: ("icebergQty",),
    OrderType.MARKET: ("quantity", "quoteOrderQty"),
    OrderType.LIMIT_MAKER: ("icebergQty",),
    OrderType.STOP_LOSS: _TRIGGER,
    OrderType.STOP_LOSS_LIMIT: ("icebergQty",) + _TRIGGER,
    OrderType.TAKE_PROFIT: _TRIGGER,
    OrderType.TAKE_PROFIT_LIMIT: ("icebergQty",) + _TRIGGER,
}
_ALLOWED = {kind: frozenset(_REQUIRED[kind] + _OPTIONAL[kind]) for kind in OrderType}
# What each type must not carry, as (wire name, attribute): checked without a lookup per parameter.
_FORBIDDEN = {kind: tuple((wire, attr) for wire, attr in PARAMETERS if wire not in _ALLOWED[kind])
              for kind in OrderType}
_DECIMALS = ("quantity", "quote_order_qty", "price", "stop_price", "iceberg_qty")
_WIRE = {attr: wire for wire, attr in PARAMETERS}


# ------------------------------------------------------------------ symbol


def check_symbol(rules, request: OrderRequest) -> Rejection | None:
    """The symbol must be this one, TRADING for spot, and offer what the order uses.

    ``rules`` is a ``daemon.filters.rules.SymbolRules`` (its flags are read
    once per exchangeInfo update).
    """
    if rules.symbol != request.symbol:
        return reject(RejectCode.UNKNOWN_SYMBOL, request,
                      f"UNKNOWN_SYMBOL: rules of {rules.symbol} do not apply to {request.symbol}",
                      {"symbol": request.symbol})
    if rules.not_trading is not None:
        return reject(RejectCode.SYMBOL_NOT_TRADING, request,
                      f"SYMBOL_NOT_TRADING: {rules.symbol} {rules.not_trading}",
                      {"status": rules.info.status,
                       "isSpotTradingAllowed": str(rules.info.is_spot_trading_allowed),
                       "permissions": ",".join(rules.info.permissions)})
    kind = str(getattr(request.type, "value", request.type))
    if kind not in rules.order_types:
        return reject(RejectCode.ORDER_TYPE_NOT_ALLOWED, request,
                      f"ORDER_TYPE_NOT_ALLOWED: {kind} is not among the order types of {rules.symbol} "
                      f"({', '.join(rules.info.order_types) or 'none'})",
                      {"type": kind, "orderTypes": ",".join(rules.info.order_types)})
    if request.iceberg_qty is not None and not rules.iceberg_allowed:
        return reject(RejectCode.ORDER_TYPE_NOT_ALLOWED, request,
                      f"ORDER_TYPE_NOT_ALLOWED: iceberg orders are not allowed on {rules.symbol}",
                      {"type": kind, "icebergAllowed": "False"})
    if request.trailing_delta is not None and not rules.trailing_allowed:
        return reject(RejectCode.ORDER_TYPE_NOT_ALLOWED, request,
                      f"ORDER_TYPE_NOT_ALLOWED: trailing stops are not allowed on {rules.symbol}",
                      {"type": kind, "allowTrailingStop": "False"})
    if request.quote_order_qty is not None and not rules.quote_order_qty_allowed:
        return reject(RejectCode.ORDER_TYPE_NOT_ALLOWED, request,
                      f"ORDER_TYPE_NOT_ALLOWED: MARKET orders by quoteOrderQty are not allowed on "
                      f"{rules.symbol}",
                      {"type": kind, "quoteOrderQtyMarketAllowed": "False"})
    return None


# ------------------------------------------------------------------ parameters


def _invalid(request: OrderRequest, kind: str, reason: str, detail: dict) -> Rejection:
    return reject(RejectCode.INVALID_PARAMETERS, request, f"INVALID_PARAMETERS: {reason}",
                  {"type": kind, **detail})


def _bad_enum(request: OrderRequest) -> Rejection:
    """The refusal for a side, type or timeInForce that is not a member of its enum."""
    for enum_type, field, value in ((Side, "side", request.side), (OrderType, "type", request.type),
                                    (TimeInForce, "timeInForce", request.time_in_force)):
        if value is None and field != "timeInForce":
            return reject(RejectCode.INVALID_PARAMETERS, request,
                          f"INVALID_PARAMETERS: {field} is required ({', '.join(m.value for m in enum_type)})",
                          {"parameter": field, "missing": field})
        if value is not None and type(value) is not enum_type:
            return reject(RejectCode.INVALID_PARAMETERS, request,
                          f"INVALID_PARAMETERS: {field} {value!r} is not one of "
                          f"{', '.join(m.value for m in enum_type)}",
                          {"parameter": field, field: str(value)})
    raise AssertionError("_bad_enum called for a request whose enums are valid")


def check_parameters(request: OrderRequest) -> Rejection | None:
    """The per-type mandatory parameters, no parameter the type does not take, valid values.

    Side, type and timeInForce may be enum members or their string values; a
    value that names no member is refused.
    """
    request = normalized(request)
    kind, tif = request.type, request.time_in_force
    if (type(request.side) is not Side or type(kind) is not OrderType
            or (tif is not None and type(tif) is not TimeInForce)):
        return _bad_enum(request)
    for wire in _REQUIRED[kind]:
        if getattr(request, _ATTR[wire]) is None:
            return _invalid(request, kind.value, f"{kind.value} order requires {wire}", {"missing": wire})
    if kind in ALGO_TYPES and request.stop_price is None and request.trailing_delta is None:
        return _invalid(request, kind.value, f"{kind.value} order requires stopPrice or trailingDelta",
                        {"missing": "stopPrice|trailingDelta"})
    if kind is OrderType.MARKET:
        has_qty, has_quote = request.quantity is not None, request.quote_order_qty is not None
        if not (has_qty or has_quote):
            return _invalid(request, kind.value, "MARKET order requires quantity or quoteOrderQty",
                            {"missing": "quantity|quoteOrderQty"})
        if has_qty and has_quote:
            return _invalid(request, kind.value, "MARKET order takes quantity or quoteOrderQty, not both",
                            {"extra": "quoteOrderQty"})
    for wire, attr in _FORBIDDEN[kind]:
        if getattr(request, attr) is not None:
            return _invalid(request, kind.value, f"{kind.value} order does not take {wire}", {"extra": wire})
    for attr in _DECIMALS:
        value = getattr(request, attr)
        if value is None or (type(value) is Decimal and value.is_finite() and value > 0):
            continue
        wire = _WIRE[attr]
        if type(value) is not Decimal:
            return _invalid(request, kind.value,
                            f"{wire} must be a Decimal, got {type(value).__name__} {value!r}",
                            {"parameter": wire, wire: str(value)})
        if not value.is_finite() or value <= 0:
            return _invalid(request, kind.value, f"{wire} must be a positive number, got {value}",
                            {"parameter": wire, wire: str(value)})
    delta = request.trailing_delta
    if delta is not None and (type(delta) is not int or delta <= 0):
        return _invalid(request, kind.value, f"trailingDelta must be a positive whole number of basis "
                        f"points, got {delta!r}", {"parameter": "trailingDelta", "trailingDelta": str(delta)})
    if request.iceberg_qty is not None:
        tif = request.time_in_force
        if tif is not None and tif is not TimeInForce.GTC:
            return _invalid(request, kind.value, f"an iceberg order needs timeInForce GTC, got {tif.value}",
                            {"parameter": "timeInForce", "timeInForce": tif.value})
        if request.iceberg_qty >= request.quantity:
            return _invalid(request, kind.value, f"icebergQty {show(request.iceberg_qty)} must be less "
                            f"than quantity {show(request.quantity)}",
                            {"parameter": "icebergQty", "icebergQty": request.iceberg_qty,
                             "quantity": request.quantity})
    return None


_ATTR = dict(PARAMETERS)

# Amounts and the exchangeInfo field bounding their decimals (quotePrecision's duplicate,
# quoteAssetPrecision, for prices: the seed's changelog).
_PRECISIONS = (("quantity", "quantity", "baseAssetPrecision"),
               ("icebergQty", "iceberg_qty", "baseAssetPrecision"),
               ("price", "price", "quoteAssetPrecision"),
               ("stopPrice", "stop_price", "quoteAssetPrecision"),
               ("quoteOrderQty", "quote_order_qty", "quoteAssetPrecision"))


def _decimals(value: Decimal) -> int:
    """Decimals of ``value`` as the wire writes it (``show``: no trailing zeros); exact."""
    _, digits, exponent = value.as_tuple()
    if not any(digits):
        return 0
    zeros = 0
    for digit in reversed(digits):
        if digit or exponent + zeros >= 0:
            break
        zeros += 1
    return max(0, -(exponent + zeros))


def check_precision(rules, request: OrderRequest) -> Rejection | None:
    """No amount more precise than its asset (-1111 "Precision is over the maximum defined
    for this asset."): baseAssetPrecision for quantities, quoteAssetPrecision for the rest.

    Call after ``check_parameters`` (the amounts are then positive finite Decimals).
    """
    info = rules.info
    for wire, attr, field in _PRECISIONS:
        value = getattr(request, attr)
        if value is None:
            continue
        places = info.base_asset_precision if field == "baseAssetPrecision" else info.quote_asset_precision
        if _decimals(value) > places:
            return _invalid(request, request.type.value,
                            f"{wire} {show(value)} has more than {places} decimals ({field} of "
                            f"{rules.symbol})", {"parameter": wire, wire: value, field: places})
    return None


_ATOM = Decimal("0.00000001")


def check_price_quantity(request: OrderRequest) -> Rejection | None:
    """``price * quantity`` of at least 1e-8, the smallest amount of the quote asset
    (the seed's -2010 "Price * QTY is zero or less.": the product truncates to nothing).

    Call after ``check_parameters`` (the amounts are then positive finite Decimals).
    """
    price, qty = request.price, request.quantity
    if price is None or qty is None or CTX.multiply(price, qty) >= _ATOM:
        return None
    return _invalid(request, request.type.value,
                    f"price {show(price)} * quantity {show(qty)} is below 0.00000001, the smallest "
                    f"amount the exchange settles", {"parameter": "price", "price": price, "quantity": qty})


# ------------------------------------------------------------------ against the market


def check_stop_direction(request: OrderRequest, last_price: Decimal | None) -> Rejection | None:
    """A stopPrice on the side of the last price where it waits, never where it fires at once."""
    stop = request.stop_price
    if stop is None or request.type not in ALGO_TYPES:
        return None
    kind, side = request.type, request.side
    above = (kind, side) in ABOVE_MARKET
    where = "above" if above else "below"
    if last_price is None:
        return reject(RejectCode.STOP_PRICE_DIRECTION, request,
                      f"STOP_PRICE_DIRECTION: cannot check: no last price of {request.symbol} to "
                      f"place the {kind.value} {side.value} stopPrice {show(stop)} {where}",
                      {"rule": "STOP_PRICE_DIRECTION", "stopPrice": stop, "required": where})
    if (stop > last_price) if above else (stop < last_price):
        return None
    return reject(RejectCode.STOP_PRICE_DIRECTION, request,
                  f"STOP_PRICE_DIRECTION: {kind.value} {side.value} needs stopPrice {where} the last "
                  f"price {show(last_price)}; {show(stop)} would trigger immediately",
                  {"rule": "STOP_PRICE_DIRECTION", "stopPrice": stop, "lastPrice": last_price,
                   "required": where})


def check_limit_maker(request: OrderRequest, best_bid: Decimal | None,
                      best_ask: Decimal | None) -> Rejection | None:
    """A LIMIT_MAKER must rest on the book: refuse one that would cross the local best price."""
    if request.type is not OrderType.LIMIT_MAKER or request.price is None:
        return None
    price = request.price
    if request.side is Side.BUY:
        if best_ask is None or price < best_ask:
            return None
        touched, label = best_ask, "best ask"
    else:
        if best_bid is None or price > best_bid:
            return None
        touched, label = best_bid, "best bid"
    key = "bestAsk" if request.side is Side.BUY else "bestBid"
    return reject(RejectCode.LIMIT_MAKER_WOULD_TAKE, request,
                  f"LIMIT_MAKER_WOULD_TAKE: {request.side.value} LIMIT_MAKER at {show(price)} would "
                  f"match the {label} {show(touched)} and trade as a taker",
                  {"rule": "LIMIT_MAKER_WOULD_TAKE", "price": price, key: touched})
