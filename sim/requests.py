"""Parsing and checking the parameters of the order endpoints, per the seed's tables.

Why separate from the exchange: "which parameters are mandatory for which order
type" is pure request grammar (the seed's "Additional mandatory parameters
based on type"), answered with -11xx codes before the matching engine is
involved; the exchange then works on typed values only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sim import errors
from sim.numbers import parse_decimal, parse_int

SIDES = frozenset({"BUY", "SELL"})
TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK"})
RESPONSE_TYPES = frozenset({"ACK", "RESULT", "FULL"})
SUPPORTED_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "MARKET"})
# Known to the seed but not enabled on the simulated symbols: the seed's rejection texts.
UNSUPPORTED_TYPES = {
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}
# The live exchange's rule for client order ids.
_CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


@dataclass(frozen=True)
class NewOrder:
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal | None
    quote_order_qty: Decimal | None
    price: Decimal | None
    client_order_id: str | None
    response_type: str


@dataclass(frozen=True)
class OrderRef:
    """Which order a cancel or query is about."""

    symbol: str
    order_id: int | None
    orig_client_order_id: str | None
    new_client_order_id: str | None = None


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise errors.mandatory_missing(name)
    return value


def optional(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    return None if value is None or value == "" else value


def parse_new_order(params: dict[str, str]) -> NewOrder:
    symbol = required(params, "symbol")
    side = required(params, "side")
    if side not in SIDES:
        raise errors.invalid_side()
    order_type = required(params, "type")
    if order_type in UNSUPPORTED_TYPES:
        raise errors.order_rejected(UNSUPPORTED_TYPES[order_type])
    if order_type not in SUPPORTED_TYPES:
        raise errors.invalid_order_type()
    if optional(params, "icebergQty") is not None:
        raise errors.order_rejected("Iceberg orders are not supported for this symbol.")
    _refuse(params, "stopPrice")

    tif = optional(params, "timeInForce")
    price = quantity = quote_qty = None
    if order_type == "LIMIT":
        tif = required(params, "timeInForce")
        if tif not in TIME_IN_FORCE:
            raise errors.invalid_tif()
        quantity = parse_decimal("quantity", required(params, "quantity"))
        price = parse_decimal("price", required(params, "price"))
        _refuse(params, "quoteOrderQty")
    elif order_type == "LIMIT_MAKER":
        _refuse(params, "timeInForce")
        quantity = parse_decimal("quantity", required(params, "quantity"))
        price = parse_decimal("price", required(params, "price"))
        _refuse(params, "quoteOrderQty")
        tif = "GTC"
    else:  # MARKET
        _refuse(params, "timeInForce")
        _refuse(params, "price")
        raw_qty, raw_quote = optional(params, "quantity"), optional(params, "quoteOrderQty")
        if raw_qty is None and raw_quote is None:
            raise errors.one_of_missing("quantity", "quoteOrderQty")
        if raw_qty is not None and raw_quote is not None:
            raise errors.parameter_not_required("quoteOrderQty")
        if raw_qty is not None:
            quantity = parse_decimal("quantity", raw_qty)
        else:
            quote_qty = parse_decimal("quoteOrderQty", raw_quote or "")
        tif = "GTC"

    client_id = params.get("newClientOrderId")
    if client_id is not None:
        _check_client_id(client_id)
    response_type = params.get("newOrderRespType") or "FULL"
    if response_type not in RESPONSE_TYPES:
        raise errors.invalid_parameter("newOrderRespType")
    if "newOrderRespType" not in params and order_type == "LIMIT_MAKER":
        response_type = "ACK"  # the seed: only MARKET and LIMIT default to FULL
    return NewOrder(
        symbol=symbol, side=side, order_type=order_type, time_in_force=tif,
        quantity=quantity, quote_order_qty=quote_qty, price=price,
        client_order_id=client_id, response_type=response_type,
    )


def parse_order_ref(params: dict[str, str], *, for_cancel: bool) -> OrderRef:
    symbol = required(params, "symbol")
    raw_id = optional(params, "orderId")
    orig = optional(params, "origClientOrderId")
    if raw_id is None and orig is None:
        raise errors.one_of_missing("orderId", "origClientOrderId")
    new_id = None
    if for_cancel:
        new_id = params.get("newClientOrderId")
        if new_id is not None:
            _check_client_id(new_id)
    order_id = parse_int("orderId", raw_id) if raw_id is not None else None
    return OrderRef(symbol, order_id, orig, new_id)


def _refuse(params: dict[str, str], name: str) -> None:
    if optional(params, name) is not None:
        raise errors.parameter_not_required(name)


def _check_client_id(client_id: str) -> None:
    if client_id == "":
        raise errors.SimApiError(-1118, "New client order ID was empty.")
    if not _CLIENT_ID_RE.match(client_id):
        raise errors.SimApiError(-1100, "Illegal characters found in parameter 'newClientOrderId'; "
                                        "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
