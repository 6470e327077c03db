"""The parts every filter shares: exact Decimal arithmetic, rendering, rejections, parsing.

Why a module of its own: each filter module (price, quantity, notional,
counts) needs the same four things, and they must behave identically
everywhere: a limit parsed from exchangeInfo the same way, a number shown
to a person the same way, a grid test done at the same precision.

Arithmetic runs in one private ``decimal.Context`` with 60 digits, far more
than the products and quotients of 8-decimal exchange values need, so no
comparison here ever depends on rounding.  ``validate`` makes it the current
context once per order (``enter_exact``/``leave_exact``: a contextvar, so
per trio task) and the rules then use plain operators, which cost a third of
a call to a context method; code outside a validation uses ``CTX``'s methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    getcontext,
    setcontext,
)

import msgspec

from daemon.orders import OcoRequest, OrderRequest, OrderType, RejectCode, Rejection, Side, TimeInForce

__all__ = [
    "ABOVE_MARKET", "ALGO_TYPES", "CTX", "Filter", "FilterSpecError", "PRICED_TYPES", "ZERO",
    "enter_exact", "flag", "integer", "leave_exact", "normalized", "number", "on_grid", "reject", "show",
]

#: Arithmetic context of every rule: wide enough that nothing rounds.
CTX = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])

ZERO = Decimal(0)


def enter_exact() -> Context:
    """Make ``CTX`` the current decimal context; returns the one to restore with ``leave_exact``."""
    saved = getcontext()
    setcontext(CTX)
    return saved


def leave_exact(saved: Context) -> None:
    setcontext(saved)

#: Orders that carry a stopPrice: "algo" orders in the exchange's words.
ALGO_TYPES = frozenset({OrderType.STOP_LOSS, OrderType.STOP_LOSS_LIMIT,
                        OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT})

#: Order types that carry a limit price (the percent-price filters judge it).
PRICED_TYPES = frozenset({OrderType.LIMIT, OrderType.LIMIT_MAKER, OrderType.STOP_LOSS_LIMIT,
                          OrderType.TAKE_PROFIT_LIMIT})

#: Stop orders whose trigger sits above the market (the seed's "Trigger order price rules").
ABOVE_MARKET = frozenset({(OrderType.STOP_LOSS, Side.BUY), (OrderType.STOP_LOSS_LIMIT, Side.BUY),
                          (OrderType.TAKE_PROFIT, Side.SELL), (OrderType.TAKE_PROFIT_LIMIT, Side.SELL)})


def show(value: Decimal) -> str:
    """A Decimal as people and the wire write it: no exponent, no trailing zeros."""
    if not value.is_finite():
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def reject(code: RejectCode, request: OrderRequest | OcoRequest, reason: str,
           detail: Mapping[str, Decimal | int | str]) -> Rejection:
    """A Rejection for ``request`` with every detail value rendered as a string.

    An OCO is identified by its list client id: that is the id the strategy
    chose for the pair and the one the journal keys the refusal by.
    """
    if isinstance(request, OcoRequest):
        client_id = request.list_client_order_id or ""
    else:
        client_id = request.client_order_id or ""
    return Rejection(code=code, reason=reason, symbol=request.symbol, client_order_id=client_id,
                     detail={k: show(v) if isinstance(v, Decimal) else str(v) for k, v in detail.items()})


def normalized(request: OrderRequest) -> OrderRequest:
    """``request`` with side, type and timeInForce as enum members when they were plain strings.

    Strategies may write ``side="BUY"``; every rule compares enum members by
    identity, so the spelling is settled once here.  A value that names no
    member is left alone for ``check_parameters`` to refuse.  An ``iceberg_qty``
    of 0 becomes None: "an ICEBERG order is any order where the icebergQty is > 0"
    (filters.md, MAX_NUM_ICEBERG_ORDERS), so the exchange reads 0 as a plain order.
    """
    side, kind, tif, iceberg = request.side, request.type, request.time_in_force, request.iceberg_qty
    if iceberg is not None and type(iceberg) is Decimal and iceberg.is_zero():
        request = msgspec.structs.replace(request, iceberg_qty=None)
    if type(side) is Side and type(kind) is OrderType and (tif is None or type(tif) is TimeInForce):
        return request
    changes = {}
    for attr, enum_type, value in (("side", Side, side), ("type", OrderType, kind),
                                   ("time_in_force", TimeInForce, tif)):
        if isinstance(value, str) and type(value) is not enum_type and value in enum_type._value2member_map_:
            changes[attr] = enum_type(value)
    return msgspec.structs.replace(request, **changes) if changes else request


def on_grid(value: Decimal, base: Decimal, step: Decimal) -> bool:
    """``(value - base) % step == 0``: the spec's tick and step rule (exact in any context)."""
    return CTX.remainder(CTX.subtract(value, base), step).is_zero()


# ------------------------------------------------------------------ reading exchangeInfo


class FilterSpecError(ValueError):
    """A filter field that is missing or not a number; the filter then refuses every order."""

    def __init__(self, key: str, raw: object) -> None:
        super().__init__(f"{key} is missing or not a number ({raw!r})")
        self.key = key
        self.raw = raw


def number(spec: Mapping, key: str) -> Decimal:
    """A finite Decimal field of a filter (exchangeInfo sends them as strings)."""
    raw = spec.get(key)
    if raw is None or isinstance(raw, bool):
        raise FilterSpecError(key, raw)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise FilterSpecError(key, raw) from None
    if not value.is_finite():
        raise FilterSpecError(key, raw)
    return value


def integer(spec: Mapping, key: str) -> int:
    """A whole-number field (limits of counts, trailing deltas, avgPriceMins)."""
    value = number(spec, key)
    if value != value.to_integral_value():
        raise FilterSpecError(key, spec.get(key))
    return int(value)


def flag(spec: Mapping, key: str) -> bool:
    """A boolean field; absent means True so that a rule is applied rather than skipped."""
    value = spec.get(key, True)
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return bool(value)


# ------------------------------------------------------------------ the filter shape


class Filter:
    """One exchange filter, parsed into Decimals once per exchangeInfo update.

    Subclasses are frozen slotted dataclasses with two class-level (or, where
    they vary, instance-level) attributes: ``name``, the exchangeInfo
    ``filterType`` (which is also the RejectCode), and ``needs``, the market
    inputs the rule reads (names from ``daemon.filters.inputs``), so the
    gateway only gathers what the symbol's filters use.

    ``check`` is the rule itself: a pure function of the order, the market
    inputs and how many open orders the request would add.  It returns
    ``None`` or the Rejection.
    """

    __slots__ = ()
    name: str
    needs: frozenset[str]

    def relevant(self, kind: OrderType, side: Side, iceberg: bool, trailing: bool, adding) -> bool:
        """Whether this filter can refuse an order of this shape (else ``validate`` skips it).

        Decided once per shape and cached, so that a BUY LIMIT never pays for
        MARKET_LOT_SIZE, ICEBERG_PARTS or the stop-order limits.  Default: always.
        """
        return True

    def check(self, request: OrderRequest, market, adding) -> Rejection | None:  # pragma: no cover
        raise NotImplementedError
